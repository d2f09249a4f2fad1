"""Places and needs made concrete: a place in `region` becomes the cloud's region, and a pool
given by what it needs (a GPU model and count, or a size) gets the catalog's instance type."""

from __future__ import annotations

from typing import Any, Optional

from .. import catalog
from ..catalog import resolve
from .model import CpuPool, GpuPool, NotebookSignIn, StackConfig, SystemPool


def gpu_need(pool: GpuPool) -> Optional[resolve.GpuNeed]:
    if pool.gpu is None and pool.min_gpu_memory_gb is None:
        return None
    return resolve.GpuNeed(
        gpu=pool.gpu, gpus=pool.gpus_per_node, min_gpu_memory_gb=pool.min_gpu_memory_gb,
        min_vcpus=pool.min_vcpus, min_memory_gb=pool.min_memory_gb, arch=pool.arch, disk_gb=pool.disk_gb,
        mig_profile=pool.sharing.mig.profile if pool.sharing is not None and pool.sharing.mig is not None else None,
    )


def size_need(pool: SystemPool | CpuPool) -> Optional[resolve.SizeNeed]:
    if pool.min_vcpus is None and pool.min_memory_gb is None:
        return None
    return resolve.SizeNeed(min_vcpus=pool.min_vcpus, min_memory_gb=pool.min_memory_gb, arch=pool.arch, disk_gb=pool.disk_gb)


def resolve_gpu_pool(pool: GpuPool, where: str, cloud: str, region: Optional[str]) -> tuple[GpuPool, Optional[resolve.Choice], Optional[str]]:
    """The pool with a concrete instance type, the choice made, or the problem (one line)."""
    need = gpu_need(pool)
    if pool.instance_type is not None:
        if need is None:
            return pool, None, None
        why = "instanceType is set, and wins over the needs"
        itype = catalog.instance_type(cloud, pool.instance_type) or catalog.find_instance_type(pool.instance_type)
        if itype is not None and itype.gpu and (itype.gpus, itype.gpu) != (need.gpus, need.gpu or itype.gpu):
            why += f" (it has {itype.gpus} x {itype.gpu})"
        return pool, resolve.Choice(where, need.describe(), pool.instance_type, why), None
    if need is None:
        return pool, None, f"{where}: sets neither instanceType nor gpu; allowed: instanceType (a GPU type of {cloud}), or gpu (a GPU model) with gpusPerNode"
    try:
        if cloud == "existing":
            itype, why = resolve.gpu_type_any_cloud(catalog.CLOUDS.values(), need)
        elif region is None:
            return pool, None, None  # the region's own problem is reported
        else:
            itype, why = resolve.gpu_type(catalog.cloud(cloud), region, need)
    except resolve.NotOffered as err:
        key = f"{where}.gpu" if "GPU model" in str(err) else where
        return pool, None, f"{key}: {err}"
    return pool.model_copy(update={"instance_type": itype.name}), resolve.Choice(where, need.describe(), itype.name, why), None


def resolve_size_pool(pool: SystemPool | CpuPool, where: str, cloud: str, region: Optional[str]) -> tuple[Any, Optional[resolve.Choice], Optional[str]]:
    need = size_need(pool)
    if pool.instance_type is not None:
        choice = None if need is None else resolve.Choice(where, need.describe(), pool.instance_type, "instanceType is set, and wins over the needs")
        return pool, choice, None
    if need is None:
        if isinstance(pool, SystemPool):
            return pool, None, None  # the cloud's default system type
        return pool, None, f"{where}: sets neither instanceType nor minVcpus/minMemoryGb; allowed: instanceType (a CPU type of {cloud}), or minVcpus and/or minMemoryGb"
    if cloud == "existing" or region is None:
        return pool, None, None  # existing: not ours to size; no region: reported on its own
    try:
        itype, why = resolve.cpu_type(catalog.cloud(cloud), region, need)
    except resolve.NotOffered as err:
        return pool, None, f"{where}: {err}"
    return pool.model_copy(update={"instance_type": itype.name}), resolve.Choice(where, need.describe(), itype.name, why), None


def resolved_region(cloud: str, region: Optional[str]) -> Optional[str]:
    """The cloud's region for `region` (a region or a place), or None when it is neither."""
    if cloud == "existing" or region is None:
        return region
    try:
        return resolve.region_of(catalog.cloud(cloud), region)
    except resolve.NotOffered:
        return None


def resolved_sign_in(cfg: StackConfig) -> Optional[NotebookSignIn]:
    """The notebooks' sign-in with what it leaves unset taken from the identity provider the
    teams already sign in with (aws.identityProvider), else the OIDC defaults."""
    sign_in = cfg.platform.workloads.notebooks.sign_in
    if sign_in is None:
        return None
    idp = cfg.aws.identity_provider if cfg.aws is not None else None
    return sign_in.model_copy(update={
        "issuer_url": sign_in.issuer_url or (idp.issuer_url if idp else None),
        "groups_claim": sign_in.groups_claim or (idp.groups_claim if idp else "groups"),
        "username_claim": sign_in.username_claim or (idp.username_claim if idp else "email"),
    })


def resolve_config(cfg: StackConfig) -> StackConfig:
    """`cfg` with a place in `region` replaced by the cloud's region and every pool given
    by what it needs (GPU model and count, or a size) given a concrete instance type of the
    stack's cloud; the choices are recorded on it (`choices`). Best effort: what cannot be
    resolved stays as written, and `semantic_problems` reports it."""
    choices: list[resolve.Choice] = []
    update: dict[str, Any] = {}
    region = resolved_region(cfg.cloud, cfg.region)
    if region is not None and region != cfg.region:
        cat = catalog.cloud(cfg.cloud)
        pair = cat.regions[region].pair
        choices.append(resolve.Choice("region", str(cfg.region), region, f"place {cfg.region} on {cfg.cloud}" + (f"; its DR pair is {pair}" if pair else "")))
        update["region"] = region
    system, choice, _ = resolve_size_pool(cfg.system_pool, "systemPool", cfg.cloud, region)
    choices += [choice] if choice else []
    gpu_pools, cpu_pools = [], []
    for i, pool in enumerate(cfg.gpu_pools):
        pool, choice, _ = resolve_gpu_pool(pool, f"gpuPools[{i}]", cfg.cloud, region)
        if pool.capacity is not None and not pool.spot:
            # `spot` says whether every node is spot: `capacity: [spot]` is `spot: true`, so the
            # backends that read `spot` (node groups, labels, the cost) build the same pool.
            pool = pool.model_copy(update={"spot": [t.kind for t in pool.capacity] == ["spot"]})
        gpu_pools.append(pool)
        choices += [choice] if choice else []
    for i, cpu_pool in enumerate(cfg.cpu_pools):
        cpu_pool, choice, _ = resolve_size_pool(cpu_pool, f"cpuPools[{i}]", cfg.cloud, region)
        cpu_pools.append(cpu_pool)
        choices += [choice] if choice else []
    update.update(system_pool=system, gpu_pools=gpu_pools, cpu_pools=cpu_pools)
    # The DR pair follows the same map: a place in dr.recoveryRegion / dr.primaryRegion is
    # the cloud's region there (unset, the DR plan takes the cloud's pair of `region`).
    if cfg.dr is not None and cfg.cloud != "existing":
        dr_update = {}
        for field, key in (("recovery_region", "dr.recoveryRegion"), ("primary_region", "dr.primaryRegion")):
            value = getattr(cfg.dr, field)
            mapped = resolved_region(cfg.cloud, value) if value else None
            if mapped is not None and mapped != value:
                dr_update[field] = mapped
                choices.append(resolve.Choice(key, value, mapped, f"place {value} on {cfg.cloud}"))
        if dr_update:
            update["dr"] = cfg.dr.model_copy(update=dr_update)
    sign_in = resolved_sign_in(cfg)
    if sign_in is not None:
        workloads = cfg.platform.workloads
        notebooks = workloads.notebooks.model_copy(update={"sign_in": sign_in})
        update["platform"] = cfg.platform.model_copy(update={"workloads": workloads.model_copy(update={"notebooks": notebooks})})
    resolved = cfg.model_copy(update=update)
    resolved._choices = tuple(choices)
    return resolved

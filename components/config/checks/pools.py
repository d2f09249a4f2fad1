"""systemPool, cpuPools and gpuPools: names, sizes, and types the stack's cloud offers in its region."""

from __future__ import annotations

import difflib
from typing import Optional

from ... import catalog
from ..model import POOL_NAME_RE, POOL_NAME_RULE, RESERVED_POOL_NAMES, GpuPool, StackConfig
from ..resolve import resolve_gpu_pool, resolve_size_pool, resolved_region, size_need


def system_pool_problems(cfg: StackConfig) -> list[str]:
    sp = cfg.system_pool
    out = []
    if sp.min_nodes > sp.max_nodes:
        out.append(f"systemPool.maxNodes: {sp.max_nodes} is less than minNodes {sp.min_nodes}")
    if cfg.cloud == "existing":
        return out
    cat = catalog.cloud(cfg.cloud)
    if sp.spot and not cat.system_pool_spot_allowed:
        out.append(f"systemPool.spot: true is not allowed on {cfg.cloud}: system pools cannot run on spot capacity there; allowed: false")
    if sp.instance_type is None and size_need(sp) is not None:
        _, _, problem = resolve_size_pool(sp, "systemPool", cfg.cloud, resolved_region(cfg.cloud, cfg.region))
        out += [problem] if problem else []
    elif sp.instance_type is not None:
        cpu_types = sorted(n for n, t in cat.instance_types.items() if not t.gpu)
        itype = cat.instance_types.get(sp.instance_type)
        if itype is None or itype.gpu:
            why = "has GPUs" if itype else f"is not a known {cfg.cloud} type"
            out.append(f"systemPool.instanceType: {sp.instance_type!r} {why}; allowed: {', '.join(cpu_types)}")
        elif itype.ephemeral_os_disk_gb is not None and sp.disk_gb > itype.ephemeral_os_disk_gb:
            out.append(f"systemPool.diskGb: {sp.disk_gb} is larger than the {itype.ephemeral_os_disk_gb} GB ephemeral OS disk {sp.instance_type} can hold; allowed: 30 to {itype.ephemeral_os_disk_gb}")
    else:
        itype = cat.instance_types[cat.default_system_instance_type]
        if itype.ephemeral_os_disk_gb is not None and sp.disk_gb > itype.ephemeral_os_disk_gb:
            out.append(f"systemPool.diskGb: {sp.disk_gb} is larger than the {itype.ephemeral_os_disk_gb} GB ephemeral OS disk {itype.name} can hold; allowed: 30 to {itype.ephemeral_os_disk_gb}")
    return out


def pool_name_problems(name: str, where: str, names: dict[str, str]) -> list[str]:
    """A CPU or TPU pool's name: valid, not reserved, and unique among `names` (pool name -> the
    key path that has it), which it then joins."""
    out = []
    if not POOL_NAME_RE.match(name):
        out.append(f"{where}.name: {name!r} is not a valid pool name; allowed: {POOL_NAME_RULE}")
    elif name in RESERVED_POOL_NAMES:
        out.append(f"{where}.name: {name!r} is reserved; allowed: any other name")
    elif name in names:
        out.append(f"{where}.name: {name!r} is already used by {names[name]}; pool names must be unique")
    names.setdefault(name, where)
    return out


def cpu_pools_problems(cfg: StackConfig, region: Optional[str] = None) -> list[str]:
    """CPU pools: a CPU type of the stack's cloud, a sane range, and names unique across every pool."""
    out: list[str] = []
    names = {p.name: f"gpuPools[{i}]" for i, p in enumerate(cfg.gpu_pools)}
    if cfg.cloud == "existing" and cfg.cpu_pools:
        return [f"cpuPools: {len(cfg.cpu_pools)} pool(s) set on cloud existing, whose node pools are managed outside this stack; allowed: leave cpuPools out"]
    cat = catalog.cloud(cfg.cloud) if cfg.cloud != "existing" else None
    for i, pool in enumerate(cfg.cpu_pools):
        where = f"cpuPools[{i}]"
        out += pool_name_problems(pool.name, where, names)
        if pool.min_nodes > pool.max_nodes:
            out.append(f"{where}.maxNodes: {pool.max_nodes} is less than minNodes {pool.min_nodes}")
        if cat is None:
            continue
        if pool.instance_type is None:
            _, _, problem = resolve_size_pool(pool, where, cfg.cloud, region)
            out += [problem] if problem else []
            continue
        cpu_types = sorted(n for n, t in cat.instance_types.items() if not t.gpu)
        itype = cat.instance_types.get(pool.instance_type)
        if itype is None or itype.gpu:
            why = "has GPUs (use gpuPools)" if itype else f"is not a known {cfg.cloud} CPU type"
            hint = difflib.get_close_matches(pool.instance_type, cpu_types, n=1)
            maybe = f" (did you mean {hint[0]!r}?)" if hint and itype is None else ""
            out.append(f"{where}.instanceType: {pool.instance_type!r} {why}{maybe}; allowed: {', '.join(cpu_types)}")
        elif itype.ephemeral_os_disk_gb is not None and pool.disk_gb > itype.ephemeral_os_disk_gb:
            out.append(f"{where}.diskGb: {pool.disk_gb} is larger than the {itype.ephemeral_os_disk_gb} GB ephemeral OS disk {pool.instance_type} can hold; allowed: 30 to {itype.ephemeral_os_disk_gb}")
    return out


def gpu_pools_problems(pools: list[GpuPool | None], cloud: Optional[str], region: Optional[str]) -> list[str]:
    """Per-pool checks plus unique names. A None entry is a pool pydantic already rejected.
    A pool given by what it needs is checked as the type the catalog picks for it."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, pool in enumerate(pools):
        if pool is None:
            continue
        if pool.instance_type is None and cloud is not None:
            pool, _, problem = resolve_gpu_pool(pool, f"gpuPools[{i}]", cloud, region)
            out += [problem] if problem else []
        out += _gpu_pool_problems(pool, i, cloud, region)
        if pool.name in seen:
            out.append(f"gpuPools[{i}].name: {pool.name!r} is already used by gpuPools[{seen[pool.name]}]; pool names must be unique")
        seen.setdefault(pool.name, i)
    return out


def _gpu_pool_problems(pool: GpuPool, i: int, cloud: Optional[str], region: Optional[str]) -> list[str]:
    out = []
    where = f"gpuPools[{i}]"
    if not POOL_NAME_RE.match(pool.name):
        out.append(f"{where}.name: {pool.name!r} is not a valid pool name; allowed: {POOL_NAME_RULE}")
    elif pool.name in RESERVED_POOL_NAMES:
        out.append(f"{where}.name: {pool.name!r} is reserved for the system pool; choose another name")
    if pool.min_nodes > pool.max_nodes:
        out.append(f"{where}.maxNodes: {pool.max_nodes} is less than minNodes {pool.min_nodes}")
    elif pool.max_nodes == 0:
        out.append(f"{where}.maxNodes: 0 leaves the pool without nodes; allowed: 1 to 1000 (remove the pool to drop it)")
    if pool.sharing is not None and pool.sharing.time_slicing and pool.sharing.mig:
        out.append(f"{where}.sharing: sets both timeSlicing and mig; choose one")
    if cloud is None or pool.instance_type is None:
        return out  # an unresolved need is reported by gpu_pools_problems
    if cloud == "existing":
        # An existing cluster's nodes are not ours to size; the pool only names a GPU model.
        itype = catalog.find_instance_type(pool.instance_type)
        if itype is None:
            out.append(f"{where}.instanceType: {pool.instance_type!r} is not in the catalog of any cloud; use a type listed in docs/config.md (GPU types in the catalog)")
            return out
    else:
        cat = catalog.cloud(cloud)
        itype = cat.instance_types.get(pool.instance_type)
        gpu_types = sorted(n for n, t in cat.instance_types.items() if t.gpu)
        if itype is None:
            hint = difflib.get_close_matches(pool.instance_type, gpu_types, n=1)
            maybe = f" (did you mean {hint[0]}?)" if hint else ""
            out.append(f"{where}.instanceType: {pool.instance_type!r} is not a known {cloud} GPU type{maybe}; allowed: {', '.join(gpu_types)}")
            return out
        if itype.gpu is None:
            out.append(f"{where}.instanceType: {pool.instance_type!r} has no GPU; allowed: {', '.join(gpu_types)}")
            return out
        if region is not None and region in cat.regions:
            offered = cat.regions_offering(pool.instance_type)
            if region not in offered:
                out.append(f"{where}.instanceType: {pool.instance_type!r} ({catalog.gpu_model(itype.gpu).name}) is not offered in {region}; regions with it: {', '.join(offered) or 'none'}")
        if itype.ephemeral_os_disk_gb is not None and pool.disk_gb > itype.ephemeral_os_disk_gb:
            out.append(f"{where}.diskGb: {pool.disk_gb} is larger than the {itype.ephemeral_os_disk_gb} GB ephemeral OS disk {pool.instance_type} can hold; allowed: 50 to {itype.ephemeral_os_disk_gb}")
    if itype.gpu is None:
        out.append(f"{where}.instanceType: {pool.instance_type!r} has no GPU")
        return out
    gpu = catalog.gpu_model(itype.gpu)
    mig = pool.sharing.mig if pool.sharing else None
    if mig is not None:
        if not gpu.mig_profiles:
            mig_gpus = sorted(k for k, g in catalog.GPU_MODELS.items() if g.mig_profiles)
            out.append(f"{where}.sharing.mig: {gpu.name} ({pool.instance_type}) does not support MIG; MIG GPUs: {', '.join(mig_gpus)}")
        elif mig.profile not in gpu.mig_profiles:
            out.append(f"{where}.sharing.mig.profile: {mig.profile!r} is not a MIG profile of {gpu.name}; allowed: {', '.join(gpu.mig_profiles)}")
    return out

"""platform.workloads: queues and notebook profiles name real teams and pools, quotas add up,
borrowing stays within the cohort, and each part has what it needs."""

from __future__ import annotations

from ... import catalog
from pydantic.alias_generators import to_camel

from ..model import StackConfig
from ..queue_plan import queue_plans


def workloads_problems(cfg: "StackConfig") -> list[str]:
    """The workload layer: queues and profiles name real teams and pools, quotas add up,
    borrowing stays within the cohort, and each part has what it needs."""
    wl = cfg.platform.workloads
    out: list[str] = []
    pools = {p.name: p for p in cfg.gpu_pools}
    pool_names = ", ".join(pools) or "none (no gpuPools)"
    teams: dict[str, int] = {}
    for ns in cfg.namespaces:
        teams[ns.team] = teams.get(ns.team, 0) + ns.gpus
    key = "platform.workloads"
    q = wl.queueing
    if q.enabled and not cfg.namespaces:
        out.append(f"{key}.queueing.enabled: true has no team to queue for: namespaces is empty; allowed: add namespaces, or set queueing.enabled false")
    seen: dict[str, int] = {}
    ok = True
    for i, queue in enumerate(q.queues):
        where = f"{key}.queueing.queues[{i}]"
        if queue.team in seen:
            out.append(f"{where}.team: {queue.team!r} is already configured by queues[{seen[queue.team]}]; one entry per team")
            ok = False
        seen.setdefault(queue.team, i)
        if queue.team not in teams:
            out.append(f"{where}.team: {queue.team!r} owns no namespace; allowed: {', '.join(teams) or 'none (namespaces is empty)'}")
            ok = False
            continue
        for field, per_pool in (("gpus", queue.gpus), ("reservedGpus", queue.reserved_gpus)):
            for pool, gpus in per_pool.items():
                if pool not in pools:
                    out.append(f"{where}.{field}.{pool}: no GPU pool is named {pool!r}; allowed: {pool_names}")
                    ok = False
                elif gpus < 0:
                    out.append(f"{where}.{field}.{pool}: {gpus} is negative; allowed: 0 or more GPUs")
                    ok = False
        reserved = sum(queue.reserved_gpus.values())
        if reserved and namespace_count(cfg, queue.team) > 1:
            out.append(
                f"{where}.reservedGpus: team {queue.team!r} has {namespace_count(cfg, queue.team)} namespaces, and a ResourceQuota "
                "can hold the reserved GPUs in only one; allowed: a team with one namespace, or no reservedGpus"
            )
            ok = False
        if (queue.gpus or reserved) and ok and sum(queue.gpus.values()) + reserved != teams[queue.team]:
            what = f"{where}.reservedGpus: gpus and reservedGpus add" if reserved else f"{where}.gpus: adds"
            out.append(
                f"{what} up to {sum(queue.gpus.values()) + reserved} GPUs, "
                f"but team {queue.team!r}'s namespaces have a quota of {teams[queue.team]}; the per-pool GPUs must add up to namespaces[].gpus"
            )
            ok = False
    if ok and cfg.namespaces:
        # The queue plan (components/config/queue_plan.py) guarantees each team
        # its namespaces' GPUs across the pools (none without a GPU pool); the rest of the
        # cohort holds everything else, and that is all a team can borrow.
        cohort = sum(teams.values())
        for i, queue in enumerate(q.queues):
            if queue.borrowing_limit is None:
                continue
            rest = cohort - (teams[queue.team] if pools else 0)
            if queue.borrowing_limit > rest:
                out.append(
                    f"{key}.queueing.queues[{i}].borrowingLimit: {queue.borrowing_limit} is more than the {rest} GPUs the rest of "
                    f"cohort {q.cohort!r} holds; allowed: 0 to {rest}"
                )
    if ok and q.enabled and cfg.namespaces:
        out += capacity_problems(cfg)
    if wl.training.enabled and not q.enabled:
        out.append(f"{key}.training.enabled: true needs queueing (TrainJobs are admitted by Kueue); allowed: set {key}.queueing.enabled true")
    if wl.tuning.enabled and not q.enabled:
        out.append(f"{key}.tuning.enabled: true needs queueing (Katib's trial Jobs are admitted by Kueue); allowed: set {key}.queueing.enabled true")
    if wl.serving.enabled and wl.serving.cert_manager == "none":
        out.append(
            f"{key}.serving.certManager: 'none' leaves KServe's webhooks without certificates; allowed: install, or existing where cert-manager already runs"
        )
    nb = wl.notebooks
    if nb.enabled and nb.storage_class not in ("ml-block", "ml-block-retain"):
        why = "is the shared file system class, not block storage" if nb.storage_class == "ml-shared" else "is not a block storage class the platform creates"
        out.append(f"{key}.notebooks.storageClass: {nb.storage_class!r} {why}; allowed: ml-block, ml-block-retain")
    if nb.enabled and cfg.existing is not None and not cfg.existing.block_storage_provisioner.strip():
        out.append("existing.blockStorageProvisioner: empty, but notebooks keep each user's home on the block class; allowed: a block provisioner such as rancher.io/local-path")
    out += sign_in_problems(cfg)
    names: dict[str, int] = {}
    for i, profile in enumerate(nb.profiles):
        where = f"{key}.notebooks.profiles[{i}]"
        if profile.name in names or profile.name == "cpu":
            out.append(f"{where}.name: {profile.name!r} is already used; profile names must be unique (and 'cpu' is the built-in CPU profile)")
        names.setdefault(profile.name, i)
        pool = pools.get(profile.pool)
        if pool is None:
            out.append(f"{where}.pool: no GPU pool is named {profile.pool!r}; allowed: {pool_names}")
            continue
        itype = catalog.instance_type(cfg.cloud, pool.instance_type) or catalog.find_instance_type(pool.instance_type)
        if itype is not None and itype.gpus and profile.gpus > itype.gpus:
            out.append(f"{where}.gpus: {profile.gpus} is more than the {itype.gpus} GPU(s) a {pool.instance_type} node has; allowed: 1 to {itype.gpus}")
    return out


def sign_in_problems(cfg: "StackConfig") -> list[str]:
    """Notebooks are reachable only through a sign-in: JupyterHub's chart default
    (z2jh 4.4.0 values.yaml hub.config.JupyterHub.authenticator_class: dummy) lets anyone in
    under any name, so enabling notebooks without an OIDC sign-in is refused."""
    nb = cfg.platform.workloads.notebooks
    key = "platform.workloads.notebooks"
    if not nb.enabled:
        return []
    if nb.sign_in is None:
        return [f"{key}.signIn: unset, but the hub's default authenticator lets anyone sign in under any name; "
                "allowed: an OIDC client (clientId, authorizeUrl, tokenUrl, userdataUrl, adminGroup, url), or notebooks.enabled false"]
    out: list[str] = []
    sign_in = nb.sign_in
    for field in ("authorize_url", "token_url", "userdata_url", "url", "issuer_url"):
        value = getattr(sign_in, field)
        if value is not None and not value.startswith("https://"):
            out.append(f"{key}.signIn.{to_camel(field)}: {value!r} is not an https URL; allowed: https://...")
    idp = cfg.aws.identity_provider if cfg.aws is not None else None
    if sign_in.issuer_url is None and idp is None:
        out.append(f"{key}.signIn.issuerUrl: unset, and no aws.identityProvider names the teams' issuer; allowed: the https issuer of your OIDC provider")
    return out


def namespace_count(cfg: "StackConfig", team: str) -> int:
    return sum(1 for ns in cfg.namespaces if ns.team == team)


def pool_capacity(cfg: "StackConfig", pool) -> int | None:
    """GPUs (or time-slice replicas) a pool holds at maxNodes; None where it cannot be
    counted (an existing cluster's own nodes, MIG slices, an unknown type)."""
    if cfg.cloud == "existing" or (pool.sharing is not None and pool.sharing.mig is not None):
        return None
    itype = catalog.instance_type(cfg.cloud, pool.instance_type) if pool.instance_type else None
    if itype is None or not itype.gpus:
        return None
    replicas = pool.sharing.time_slicing.replicas if pool.sharing is not None and pool.sharing.time_slicing is not None else 1
    return pool.max_nodes * itype.gpus * replicas


def capacity_problems(cfg: "StackConfig") -> list[str]:
    """One account of GPUs: per pool, what Kueue guarantees the teams plus what they hold
    outside Kueue fits the pool at its largest. Kueue admits against its own quota only;
    past the pool's size an admitted job's pods stay Pending until waitForPodsReady evicts it."""
    q = cfg.platform.workloads.queueing
    names = [p.name for p in cfg.gpu_pools]
    plans = queue_plans(tuple(cfg.namespaces), names, q)
    out = []
    for pool in cfg.gpu_pools:
        capacity = pool_capacity(cfg, pool)
        if capacity is None:
            continue
        queued = sum(p.gpus_per_pool.get(pool.name, 0) for p in plans)
        reserved = sum(p.reserved_per_pool.get(pool.name, 0) for p in plans)
        if queued + reserved > capacity:
            by_team = ", ".join(f"{p.team} {p.gpus_per_pool.get(pool.name, 0) + p.reserved_per_pool.get(pool.name, 0)}" for p in plans)
            out.append(
                f"platform.workloads.queueing.queues: pool {pool.name!r} would hold {queued + reserved} GPUs of the teams ({by_team}), "
                f"but has {capacity} at maxNodes {pool.max_nodes}; allowed: at most {capacity} (set queues[].gpus per pool, or raise maxNodes)"
            )
    return out


def workload_warnings(cfg: StackConfig) -> list[str]:
    """Pipelines and tuning that are valid but have nowhere to run as the user likely meant."""
    out = []
    wl, key = cfg.platform.workloads, "platform.workloads"
    if wl.pipelines.enabled and cfg.namespaces and not any(ns.model_store == "readwrite" for ns in cfg.namespaces):
        out.append(
            f"{key}.pipelines.enabled: no team namespace has modelStore 'readwrite', so workflows have no namespace to run in "
            "(their artifacts go to the model store); allowed: set namespaces[].modelStore readwrite where pipelines run"
        )
    if wl.tuning.enabled and cfg.namespaces and all(ns.pod_security == "restricted" for ns in cfg.namespaces):
        out.append(
            f"{key}.tuning.enabled: every team namespace enforces Pod Security 'restricted', but Katib v0.19.0 adds its "
            "early-stopping container to an Experiment's suggestion pod without a securityContext, so Experiments with "
            "earlyStopping are refused there; allowed: set podSecurity baseline on the namespace that tunes"
        )
    return out

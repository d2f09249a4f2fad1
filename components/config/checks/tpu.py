"""tpuPools: GKE only, a topology the generation allows, offered in the stack's region, the
slice rules GKE sets for multi-host node pools; and the TPU chips of namespaces and queues."""

from __future__ import annotations

from typing import Any, Optional

from ...catalog import tpus
from ..model import StackConfig, TpuPool
from .pools import pool_name_problems


def allowed_topologies(generation: str) -> str:
    gen = tpus.TPU_GENERATIONS[generation]
    return f"{', '.join(gen.single_host)} (single-host), {', '.join(gen.multi_host)} (multi-host)"


def tpu_pools_problems(cfg: StackConfig, region: Optional[str]) -> list[str]:
    if not cfg.tpu_pools:
        return []
    if cfg.cloud != "gcp":
        return [f"tpuPools: {len(cfg.tpu_pools)} pool(s) set on cloud {cfg.cloud}, but Cloud TPUs run only on GKE; "
                "allowed: cloud gcp, or leave tpuPools out"]
    out: list[str] = []
    names = {p.name: f"gpuPools[{i}]" for i, p in enumerate(cfg.gpu_pools)}
    names.update({p.name: f"cpuPools[{i}]" for i, p in enumerate(cfg.cpu_pools)})
    for i, pool in enumerate(cfg.tpu_pools):
        where = f"tpuPools[{i}]"
        out += pool_name_problems(pool.name, where, names)
        out += _pool_problems(pool, where, region)
    return out


def _pool_problems(pool: TpuPool, where: str, region: Optional[str]) -> list[str]:
    gen = tpus.TPU_GENERATIONS[pool.generation]
    out = []
    if region is not None and region not in gen.zones:
        out.append(f"{where}.generation: {pool.generation!r} ({gen.name}) is not offered in {region}; regions with it: {', '.join(sorted(gen.zones))}")
    if pool.topology not in gen.topologies:
        out.append(f"{where}.topology: {pool.topology!r} is not a {gen.name} slice; allowed: {allowed_topologies(pool.generation)}")
        return out
    tslice = tpus.tpu_slice(pool.generation, pool.topology)
    if pool.min_slices > pool.max_slices:
        out.append(f"{where}.maxSlices: {pool.max_slices} is less than minSlices {pool.min_slices}")
    elif tslice.multi_host and pool.max_slices > 1:
        # GKE: a multi-host slice is one node pool of chips / chips-per-VM nodes; it cannot
        # grow by another slice (GKE "About TPUs in GKE", multi-host TPU slice node pools).
        out.append(
            f"{where}.maxSlices: {pool.max_slices} for the multi-host topology {pool.topology} ({tslice.nodes} nodes of "
            f"{tslice.machine_type}); one GKE node pool holds exactly one multi-host slice; allowed: 1 (add a tpuPools entry per slice)"
        )
    if pool.spot and pool.reservation is not None:
        out.append(f"{where}.reservation: {pool.reservation!r} together with spot: true; a specific reservation holds on-demand capacity; "
                   "allowed: spot false with a reservation, or no reservation")
    return out


def without_tpu_chips(raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` with the TPU chips of namespaces and queues left out: what is checked when
    pydantic rejected tpuPools, so the rejected pools do not read as missing ones."""
    out = dict(raw)
    if isinstance(out.get("namespaces"), list):
        out["namespaces"] = [{k: v for k, v in ns.items() if k != "tpus"} if isinstance(ns, dict) else ns for ns in out["namespaces"]]
    try:
        queues = out["platform"]["workloads"]["queueing"]["queues"]
    except (KeyError, TypeError):
        return out
    if isinstance(queues, list):
        queueing = {**out["platform"]["workloads"]["queueing"],
                    "queues": [{k: v for k, v in q.items() if k != "tpus"} if isinstance(q, dict) else q for q in queues]}
        out["platform"] = {**out["platform"], "workloads": {**out["platform"]["workloads"], "queueing": queueing}}
    return out


def tpu_chips(pool: TpuPool) -> int:
    """TPU chips the pool holds at maxSlices."""
    gen = tpus.TPU_GENERATIONS[pool.generation]
    if pool.topology not in gen.topologies:
        return 0
    return tpus.chips(pool.topology) * pool.max_slices


def tpu_quota_problems(cfg: StackConfig) -> list[str]:
    """Namespaces' TPU chips need a TPU pool; queues name TPU pools, add up to their team's
    namespace chips, and the guaranteed chips fit each pool."""
    out: list[str] = []
    pools = {p.name: p for p in cfg.tpu_pools}
    for i, ns in enumerate(cfg.namespaces):
        if ns.tpus and not pools:
            out.append(f"namespaces[{i}].tpus: {ns.tpus} TPU chips, but the stack has no tpuPools; allowed: 0, or add tpuPools (GKE)")
    teams: dict[str, int] = {}
    for ns in cfg.namespaces:
        teams[ns.team] = teams.get(ns.team, 0) + ns.tpus
    pool_names = ", ".join(pools) or "none (no tpuPools)"
    ok = True
    for i, queue in enumerate(cfg.platform.workloads.queueing.queues):
        where = f"platform.workloads.queueing.queues[{i}].tpus"
        if queue.team not in teams:
            continue  # reported by the workload checks
        for pool, chips in queue.tpus.items():
            if pool not in pools:
                out.append(f"{where}.{pool}: no TPU pool is named {pool!r}; allowed: {pool_names}")
                ok = False
            elif chips < 0:
                out.append(f"{where}.{pool}: {chips} is negative; allowed: 0 or more TPU chips")
                ok = False
        if queue.tpus and ok and sum(queue.tpus.values()) != teams[queue.team]:
            out.append(f"{where}: adds up to {sum(queue.tpus.values())} TPU chips, but team {queue.team!r}'s namespaces have a quota of "
                       f"{teams[queue.team]}; the per-pool chips must add up to namespaces[].tpus")
            ok = False
    if ok and cfg.platform.workloads.queueing.enabled and pools:
        from ..queue_plan import queue_plans

        plans = queue_plans(tuple(cfg.namespaces), [], cfg.platform.workloads.queueing, list(pools))
        for pool in cfg.tpu_pools:
            capacity = tpu_chips(pool)
            queued = sum(p.tpus_per_pool.get(pool.name, 0) for p in plans)
            if capacity and queued > capacity:
                by_team = ", ".join(f"{p.team} {p.tpus_per_pool.get(pool.name, 0)}" for p in plans)
                out.append(
                    f"platform.workloads.queueing.queues: TPU pool {pool.name!r} would hold {queued} chips of the teams ({by_team}), "
                    f"but has {capacity} at maxSlices {pool.max_slices}; allowed: at most {capacity} (set queues[].tpus per pool, or add slices)"
                )
    return out

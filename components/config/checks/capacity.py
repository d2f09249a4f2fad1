"""gpuPools[].capacity and provisioner: a chain each cloud and provisioner can honour.

One line per problem: the key, the bad value, what is allowed."""

from __future__ import annotations

from ...catalog import capacity as facts
from ..capacity import asked_provisioner, pool_provisioner
from ..model import GpuPool, StackConfig

_ORDER = {kind: i for i, kind in enumerate(facts.TIERS)}


def _provisioner_problem(key: str, value: str, cloud: str) -> list[str]:
    if cloud == "existing":
        return [f"{key}: {value!r} is set on cloud existing, whose nodes and autoscaler are the cluster's own; allowed: leave it out"]
    names = facts.provisioners_of(cloud)
    allowed = ", ".join(("auto", *(n for n in names if facts.PROVISIONERS[(cloud, n)].available)))
    if value not in names:
        owner = next(c for (c, n) in facts.PROVISIONERS if n == value)
        return [f"{key}: {value!r} is a {owner} provisioner, not one of {cloud}; allowed: {allowed}"]
    if not facts.PROVISIONERS[(cloud, value)].available:
        return [f"{key}: {value!r} is not built by this version on {cloud}; allowed: {allowed}"]
    return []


def provisioner_problems(cfg: StackConfig) -> list[str]:
    """`provisioner` and each `gpuPools[].provisioner` name one of the stack's cloud."""
    out = _provisioner_problem("provisioner", cfg.provisioner, cfg.cloud) if cfg.provisioner != "auto" else []
    for i, pool in enumerate(cfg.gpu_pools):
        if pool.provisioner is not None and (pool.provisioner != "auto" or cfg.cloud == "existing"):
            out += _provisioner_problem(f"gpuPools[{i}].provisioner", pool.provisioner, cfg.cloud)
    return out


def _reservation_problems(pool: GpuPool, where: str, cloud: str) -> list[str]:
    out = []
    form = facts.RESERVATION_FORMS[cloud]
    for j, tier in enumerate(pool.capacity or []):
        res = tier.reserved
        if res is None:
            continue
        at = f"{where}.capacity[{j}].reserved"
        if (res.id is None) == (res.name is None):
            given = "both id and name" if res.id is not None else "neither id nor name"
            which = "id" if form.name_re is None else "name" if form.id_re is None else "id or name"
            out.append(f"{at}: sets {given}; allowed: one of them ({cloud} takes {which})")
            continue
        for key, value, pattern, rule in (("id", res.id, form.id_re, form.id_rule), ("name", res.name, form.name_re, form.name_rule)):
            if value is None:
                continue
            if pattern is None:
                out.append(f"{at}.{key}: {value!r} is not taken on {cloud}: {rule}")
            elif not pattern.match(value):
                out.append(f"{at}.{key}: {value!r} is not valid on {cloud}; allowed: {rule}")
        if res.capacity_block and cloud != "aws":
            out.append(f"{at}.capacityBlock: true is set on {cloud}; Capacity Blocks are EC2's; allowed: false (leave it out)")
    return out


def _chain_problems(pool: GpuPool, where: str, cloud: str) -> list[str]:
    if pool.capacity is None:
        return []
    if not pool.capacity:
        return [f"{where}.capacity: [] names no tier; allowed: reserved tiers, spot, onDemand in that order (or leave capacity out)"]
    out = []
    kinds = []
    for j, tier in enumerate(pool.capacity):
        if not tier.kind:
            out.append(f"{where}.capacity[{j}]: names {'no' if not tier.reserved and not tier.spot and not tier.on_demand else 'more than one'} tier; allowed: spot, onDemand, or {{reserved: {{id: ...}}}}")
            continue
        kinds.append(tier.kind)
    if out:
        return out
    listed = ", ".join(t.spelled() for t in pool.capacity)
    if kinds != sorted(kinds, key=_ORDER.__getitem__):
        out.append(f"{where}.capacity: [{listed}] is out of order; allowed: reserved tiers first, then spot, then onDemand (the order every provisioner tries them in)")
    for kind in ("spot", "onDemand"):
        if kinds.count(kind) > 1:
            out.append(f"{where}.capacity: lists {kind} {kinds.count(kind)} times; allowed: once")
    reserved = [(t.reserved.id, t.reserved.name) for t in pool.capacity if t.reserved is not None]
    if len(set(reserved)) < len(reserved):
        out.append(f"{where}.capacity: [{listed}] names the same reservation twice; allowed: each once")
    if "spot" in kinds and any(t.reserved is not None and t.reserved.capacity_block for t in pool.capacity):
        out.append(f"{where}.capacity: [{listed}] pairs a Capacity Block with spot: a job sized for the block's fixed window would spill onto reclaimable nodes; allowed: the block, then onDemand (or no spot)")
    return out + _reservation_problems(pool, where, cloud)


def spot_conflicts(cfg: StackConfig) -> list[str]:
    """`spot: true` beside `capacity`, on the stack as written (resolving sets `spot` from the chain)."""
    return [
        f"gpuPools[{i}].spot: true is set together with capacity; spot: true is short for capacity: [spot]; allowed: one of them (add spot to the chain)"
        for i, pool in enumerate(cfg.gpu_pools) if pool.spot and pool.capacity is not None
    ]


def capacity_problems(cfg: StackConfig) -> list[str]:
    """The provisioners fit the cloud, and each GPU pool's chain fits the cloud and the
    provisioner the pool resolves to."""
    out = provisioner_problems(cfg)
    if cfg.cloud == "existing":
        for i, pool in enumerate(cfg.gpu_pools):
            if pool.capacity is not None:
                out.append(f"gpuPools[{i}].capacity: is set on cloud existing, whose nodes are managed outside this stack; allowed: leave capacity out")
        return out
    if out:
        return out
    node = facts.PROVISIONERS[(cfg.cloud, facts.NODE_PROVISIONER[cfg.cloud])]
    instead = f"provisioner: {node.name}" if node.available else f"a single tier ({node.name} is not built by this version on {cfg.cloud})"
    for i, pool in enumerate(cfg.gpu_pools):
        where = f"gpuPools[{i}]"
        problems = _chain_problems(pool, where, cfg.cloud)
        out += problems
        chosen = facts.PROVISIONERS[(cfg.cloud, pool_provisioner(cfg, pool))]
        if chosen.name == "karpenter" and pool.min_nodes > 0:
            out.append(f"{where}.minNodes: {pool.min_nodes} with provisioner karpenter, which starts nodes for pending pods and keeps no minimum; allowed: 0, or provisioner: cluster-autoscaler on this pool")
        if problems or pool.capacity is None:
            continue
        chain = pool.capacity_chain()
        listed = ", ".join(t.spelled() for t in chain)
        how = "" if asked_provisioner(cfg, pool) != "auto" else " (provisioner auto)"
        if any(t.reserved is not None for t in chain) and not chosen.reserved:
            gap = f" ({chosen.reserved_gap})" if chosen.reserved_gap else ""
            way = instead if chosen.name != node.name else f"provisioner: {facts.NODE_GROUPS} (a node group that takes the reservation)"
            out.append(f"{where}.capacity: [{listed}] names a reservation, which {chosen.name}{how} on {cfg.cloud} cannot launch into{gap}; allowed: {way}, or no reserved tier")
        elif len(chain) > 1 and not chosen.fallback:
            out.append(f"{where}.capacity: [{listed}] falls back across {len(chain)} tiers, which {chosen.name}{how} on {cfg.cloud} cannot ({chosen.summary}); allowed: {instead}, or one tier")
    return out

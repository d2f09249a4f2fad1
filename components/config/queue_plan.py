"""The queue plan: each team's Kueue ClusterQueue worked out from its namespaces' quotas and
the queueing settings (guaranteed GPUs per pool, borrowing within the cohort, weight)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .model import QUANTITY_RE, Queueing, ServingNamespace


_QUANTITY_FACTORS = {
    "": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}


def sum_quantities(values: list[str]) -> str:
    """The sum of Kubernetes quantities (already checked against QUANTITY_RE), written in
    their common suffix when they share one, else as a plain number (millicores as `m`)."""
    parsed = [QUANTITY_RE.match(v) for v in values]
    suffixes = {m.group(3) or "" for m in parsed if m}
    if len(suffixes) == 1:
        total = sum((Decimal(m.group(1)) for m in parsed if m), Decimal(0))
        return f"{total.normalize():f}{suffixes.pop()}"
    total = sum((Decimal(m.group(1)) * Decimal(_QUANTITY_FACTORS[m.group(3) or ""]) for m in parsed if m), Decimal(0))
    if total == total.to_integral_value():
        return str(int(total))
    return f"{int(total * 1000)}m"


def split_quantity(value: str, part: int, whole: int) -> tuple[str, str]:
    """`value` split in the ratio part : (whole - part), the first share rounded down to a
    millicore / byte, the second the rest, so the two add up to `value` exactly."""
    match = QUANTITY_RE.match(value)
    assert match, value
    total = Decimal(match.group(1)) * Decimal(_QUANTITY_FACTORS[match.group(3) or ""])
    milli = int(total * 1000)
    first = milli * part // whole if whole else milli
    second = milli - first

    def write(m: int) -> str:
        return str(m // 1000) if m % 1000 == 0 else f"{m}m"

    return write(first), write(second)


@dataclass(frozen=True)
class TeamQueuePlan:
    """One team's ClusterQueue, worked out from its namespaces and the queueing settings."""

    team: str
    namespaces: tuple[str, ...]
    gpus: int  # the sum of the team's namespace GPU quotas
    gpus_per_pool: dict[str, int]  # guaranteed (nominal) GPUs per GPU pool, in pool order
    borrowing_limit: int  # GPUs the team may borrow beyond its own, across the cohort
    borrowing_per_pool: dict[str, int]  # the same, capped by what the others hold in each pool
    reserved_per_pool: dict[str, int]  # GPUs held outside Kueue (model servers, notebooks)
    weight: int
    cpu: str  # the ClusterQueue's CPU: the namespaces' share for queued work
    memory: str
    reserved_cpu: str = "0"  # the rest of the namespace quota, for pods outside Kueue
    reserved_memory: str = "0"
    # TPU chips (google.com/tpu) per TPU pool: guaranteed, and what the team may borrow there
    # (everything the rest of the cohort holds in the pool: no separate limit).
    tpus_per_pool: dict[str, int] = field(default_factory=dict)
    tpu_borrowing_per_pool: dict[str, int] = field(default_factory=dict)

    @property
    def tpu_borrowing_limit(self) -> int:
        """TPU chips the team may borrow across the cohort: all the others hold."""
        return sum(self.tpu_borrowing_per_pool.values())


def _even_split(total: int, pools: list[str]) -> dict[str, int]:
    if not pools:
        return {}
    base, extra = divmod(total, len(pools))
    return {p: base + (1 if i < extra else 0) for i, p in enumerate(pools)}


def queue_plans(namespaces: Sequence[ServingNamespace], pools: list[str], queueing: Queueing,
                tpu_pools: Sequence[str] = ()) -> list[TeamQueuePlan]:
    """A ClusterQueue per team (teams in the order their first namespace appears) over the
    GPU pools named `pools` and the TPU pools named `tpu_pools`. Assumes the config passed
    its checks (components/config/checks/workloads.py, checks/tpu.py)."""
    overrides = {q.team: q for q in queueing.queues}
    teams: dict[str, list[ServingNamespace]] = {}
    for ns in namespaces:
        teams.setdefault(ns.team, []).append(ns)
    nominal: dict[str, dict[str, int]] = {}
    for team, spaces in teams.items():
        override = overrides.get(team)
        total = sum(ns.gpus for ns in spaces) - (sum(override.reserved_gpus.values()) if override else 0)
        if override is not None and override.gpus:
            nominal[team] = {p: override.gpus.get(p, 0) for p in pools}
        else:
            nominal[team] = _even_split(total, pools)
    cohort_per_pool = {p: sum(n[p] for n in nominal.values()) for p in pools}
    cohort_total = sum(cohort_per_pool.values())
    tpu_nominal: dict[str, dict[str, int]] = {}
    for team, spaces in teams.items():
        override = overrides.get(team)
        if override is not None and override.tpus:
            tpu_nominal[team] = {p: override.tpus.get(p, 0) for p in tpu_pools}
        else:
            tpu_nominal[team] = _even_split(sum(ns.tpus for ns in spaces), list(tpu_pools))
    tpu_cohort = {p: sum(n[p] for n in tpu_nominal.values()) for p in tpu_pools}
    plans = []
    for team, spaces in teams.items():
        mine = nominal[team]
        others = cohort_total - sum(mine.values())
        override = overrides.get(team)
        wanted = override.borrowing_limit if override and override.borrowing_limit is not None else others
        limit = min(wanted, others)
        plans.append(TeamQueuePlan(
            team=team,
            namespaces=tuple(ns.name for ns in spaces),
            gpus=sum(ns.gpus for ns in spaces),
            gpus_per_pool=mine,
            borrowing_limit=limit,
            borrowing_per_pool={p: min(limit, cohort_per_pool[p] - mine[p]) for p in pools},
            reserved_per_pool={p: override.reserved_gpus.get(p, 0) for p in pools} if override else {p: 0 for p in pools},
            weight=override.weight if override else 1,
            tpus_per_pool=tpu_nominal[team],
            tpu_borrowing_per_pool={p: tpu_cohort[p] - tpu_nominal[team][p] for p in tpu_pools},
            **_compute_split(spaces, sum(mine.values()), override.reserved_gpus if override else {}),
        ))
    return plans


def _compute_split(spaces: Sequence[ServingNamespace], queued_gpus: int, reserved: dict[str, int]) -> dict[str, str]:
    """CPU and memory of the team's namespaces, shared between queued work and the pods it
    runs outside Kueue in proportion to the GPUs each holds (all queued without a reservation)."""
    cpu = sum_quantities([ns.cpu for ns in spaces])
    memory = sum_quantities([ns.memory for ns in spaces])
    held = sum(reserved.values())
    if not held:
        return {"cpu": cpu, "memory": memory}
    whole = queued_gpus + held
    queued_cpu, reserved_cpu = split_quantity(cpu, queued_gpus, whole)
    queued_memory, reserved_memory = split_quantity(memory, queued_gpus, whole)
    return {"cpu": queued_cpu, "memory": queued_memory, "reserved_cpu": reserved_cpu, "reserved_memory": reserved_memory}


def reserved_gpus(plan: TeamQueuePlan) -> int:
    return sum(plan.reserved_per_pool.values())

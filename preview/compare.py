"""`python -m preview STACK --compare`: the same stack evaluated on aws, gcp and azure.

Only `cloud` changes, plus what a cloud needs to evaluate at all: the settings block of
every other cloud is dropped (each cloud's block keeps its defaults), GCP gets a
placeholder project when neither `gcp.project` nor the provider's `gcp:project` is set,
and a pool pinned to another cloud's instance type is compared by the needs it states, or
else by what that type has (its GPU model and count, or its vCPUs and memory), so the
catalog can pick the nearest type; a region of another cloud (`region`, the `dr` regions)
is compared at the place it stands for (us-east-1 at us-east). Each cloud runs the real program under the mock engine, like the preview itself.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from rich.console import Console
from rich.markup import escape

from components import catalog
from components.catalog import resolve
from components.config import PROJECT, ConfigError, StackConfig, load, raw_from_pulumi
from components.config.checks.namespaces import PAYLOAD_LOGGING_CLOUDS

from . import capacity, cost, engine, ready, report, tpu
from . import fold

CLOUDS = ("aws", "gcp", "azure")
HOURS_PER_MONTH = 730  # the month the clouds' price calculators use
PLACEHOLDER_PROJECT = "ml-compare-placeholder"
SETTINGS_BLOCKS = ("aws", "gcp", "azure", "existing")


@dataclass
class PoolRow:
    key: str  # systemPool, cpuPools[0], gpuPools[1]
    name: str
    instance_type: Optional[str]
    gpu_model: str  # catalog key, "" for CPU pools
    gpus_per_node: int
    min_nodes: int
    max_nodes: int
    tpu: str = ""  # a TPU pool: "4x4 v5e, 16 chips"; empty for CPU and GPU pools
    fabric: str = ""  # the GPU pool's fabric as the preview table shows it (cost.fabric_text); "" CPU pools


@dataclass
class CloudResult:
    cloud: str
    region: Optional[str] = None
    available: bool = True
    problems: list[str] = field(default_factory=list)  # why the stack cannot run there, one line each
    substitutions: list[str] = field(default_factory=list)  # what compare changed besides `cloud`
    choices: list[dict[str, str]] = field(default_factory=list)
    pools: list[PoolRow] = field(default_factory=list)
    gpus_min: int = 0
    gpus_max: int = 0
    usd_per_hour_min: Optional[float] = None  # the preview's full cost (report.stack_cost) at the pools' min sizes
    usd_per_hour_max: Optional[float] = None
    not_priced: list[str] = field(default_factory=list)
    mandatory_policy_findings: int = 0
    time_to_ready_seconds: Optional[int] = None  # the preview's estimate (ready.estimate)
    # GPU pool key -> its provisioner and capacity chain with prices per node-hour (preview/capacity.py).
    capacity: dict[str, str] = field(default_factory=dict)
    # Quotas a new account must raise first: "name (code) in region: N unit".
    quota_increases: list[str] = field(default_factory=list)
    # GPU pool key -> its warm nodes and what they cost there (preview/warm.py).
    warm_nodes: dict[str, str] = field(default_factory=dict)

    @property
    def usd_per_month_min(self) -> Optional[float]:
        return None if self.usd_per_hour_min is None else round(self.usd_per_hour_min * HOURS_PER_MONTH, 2)

    @property
    def usd_per_month_max(self) -> Optional[float]:
        return None if self.usd_per_hour_max is None else round(self.usd_per_hour_max * HOURS_PER_MONTH, 2)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["pools"] = [{_camel(k): v for k, v in asdict(p).items()} for p in self.pools]
        doc["usd_per_month_min"], doc["usd_per_month_max"] = self.usd_per_month_min, self.usd_per_month_max
        return {_camel(k): v for k, v in doc.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


# --- the stack on another cloud -------------------------------------------------------------


def _key(name: str) -> str:
    return f"{PROJECT}:{name}"


def _structured(values: dict[str, str], name: str) -> Any:
    text = values.get(_key(name))
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


NEED_KEYS = {True: ("gpu", "minGpuMemoryGb"), False: ("minVcpus", "minMemoryGb")}


def _has_need(pool: dict[str, Any], gpu: bool) -> bool:
    return any(pool.get(k) is not None for k in NEED_KEYS[gpu])


def _as_need(pool: dict[str, Any], itype: catalog.InstanceType, gpu: bool) -> dict[str, Any]:
    """The pool without its instance type, asking for what it already says it needs, or
    else for what the type has."""
    out = {k: v for k, v in pool.items() if k != "instanceType"}
    if _has_need(pool, gpu):
        return out
    if gpu:
        out.update(gpu=itype.gpu, gpusPerNode=itype.gpus, arch=itype.arch)
    else:
        out.update(minVcpus=itype.vcpus, minMemoryGb=int(itype.memory_gb), arch=itype.arch)
    return out


def _need_text(pool: dict[str, Any], itype: catalog.InstanceType, gpu: bool) -> str:
    if _has_need(pool, gpu):
        return "by its own " + "/".join(k for k in NEED_KEYS[gpu] if pool.get(k) is not None)
    if gpu:
        return f"as {itype.gpus} x {itype.gpu}"
    return f"as >= {itype.vcpus} vCPUs, >= {int(itype.memory_gb)} GB ({itype.arch})"


def _source_type(source_cloud: str, name: str) -> Optional[catalog.InstanceType]:
    return catalog.instance_type(source_cloud, name) or catalog.find_instance_type(name)


def values_for(values: dict[str, str], cloud: str) -> tuple[dict[str, str], list[str]]:
    """The stack's flat config as it would be on `cloud`, and what was changed besides `cloud`."""
    source = values.get(_key("cloud"), "")
    out = dict(values)
    notes: list[str] = []
    out[_key("cloud")] = cloud
    for block in SETTINGS_BLOCKS:
        if block != cloud and out.pop(_key(block), None) is not None:
            notes.append(f"{block}: block left out")
    if cloud == "gcp" and not values.get("gcp:project") and not (_structured(values, "gcp") or {}).get("project"):
        block = _structured(values, "gcp") or {}
        out[_key("gcp")] = engine.config_string({**block, "project": PLACEHOLDER_PROJECT})
        notes.append(f"gcp.project: none set, {PLACEHOLDER_PROJECT!r} used")
    if source == cloud:
        return out, notes
    target = catalog.CLOUDS[cloud]
    def as_place(key: str, region: object) -> Optional[str]:
        """A region of the stack's own cloud that `cloud` lacks, as the place it stands for."""
        if not isinstance(region, str) or region in target.regions or source not in catalog.CLOUDS:
            return None
        place = resolve.place_of(source, region) if region in catalog.CLOUDS[source].regions else None
        if place is not None:
            notes.append(f"{key}: {region} is not a region of {cloud}; compared at its place {place}")
        return place

    place = as_place("region", values.get(_key("region")))
    if place is not None:
        out[_key("region")] = place
    dr = _structured(values, "dr")
    if isinstance(dr, dict):
        changed_dr = dict(dr)
        for key in ("recoveryRegion", "primaryRegion"):
            place = as_place(f"dr.{key}", dr.get(key))
            if place is not None:
                changed_dr[key] = place
        if changed_dr != dr:
            out[_key("dr")] = engine.config_string(changed_dr)
    for name, gpu in (("gpuPools", True), ("cpuPools", False)):
        pools = _structured(values, name)
        if not isinstance(pools, list):
            continue
        changed = False
        for i, pool in enumerate(pools):
            if gpu and isinstance(pool, dict) and _drop_reservations(pool, cloud, i, notes):
                changed = True
            if not isinstance(pool, dict) or not isinstance(pool.get("instanceType"), str) or pool["instanceType"] in target.instance_types:
                continue
            itype = _source_type(source, pool["instanceType"])
            if itype is None or bool(itype.gpu) != gpu:
                continue  # unknown or wrong kind: the config check reports it
            pools[i] = _as_need(pool, itype, gpu)
            notes.append(f"{name}[{i}]: {pool['instanceType']} is not a type of {cloud}; compared {_need_text(pool, itype, gpu)}")
            changed = True
        if changed:
            out[_key(name)] = engine.config_string(pools)
    notes += _without_tpus(out, values, cloud)
    system = _structured(values, "systemPool")
    if isinstance(system, dict) and isinstance(system.get("instanceType"), str) and system["instanceType"] not in target.instance_types:
        itype = _source_type(source, system["instanceType"])
        if itype is not None and not itype.gpu:
            out[_key("systemPool")] = engine.config_string(_as_need(system, itype, gpu=False))
            notes.append(f"systemPool: {system['instanceType']} is not a type of {cloud}; compared {_need_text(system, itype, False)}")
    notes += _without_payload_logging(out, cloud)
    return out, notes


def _without_tpus(out: dict[str, str], values: dict[str, str], cloud: str) -> list[str]:
    """TPU pools exist on GKE only: elsewhere the stack is compared without them, and without
    the TPU chips its namespaces and queues ask for."""
    pools = _structured(values, "tpuPools")
    if cloud == "gcp" or not isinstance(pools, list) or not pools:
        return []
    out.pop(_key("tpuPools"), None)
    notes = [f"tpuPools: no TPU on {cloud}; compared without its {len(pools)} TPU pool(s)"]
    namespaces = _structured(values, "namespaces")
    if isinstance(namespaces, list) and any(isinstance(ns, dict) and ns.get("tpus") for ns in namespaces):
        out[_key("namespaces")] = engine.config_string([{k: v for k, v in ns.items() if k != "tpus"} if isinstance(ns, dict) else ns for ns in namespaces])
        notes.append("namespaces[].tpus: left out (no TPU pool to hold them)")
    platform = _structured(values, "platform")
    queues = (((platform or {}).get("workloads") or {}).get("queueing") or {}).get("queues") if isinstance(platform, dict) else None
    if isinstance(queues, list) and any(isinstance(q, dict) and "tpus" in q for q in queues):
        queueing = {**platform["workloads"]["queueing"], "queues": [{k: v for k, v in q.items() if k != "tpus"} if isinstance(q, dict) else q for q in queues]}
        out[_key("platform")] = engine.config_string({**platform, "workloads": {**platform["workloads"], "queueing": queueing}})
        notes.append("platform.workloads.queueing.queues[].tpus: left out")
    return notes


def _without_payload_logging(out: dict[str, str], cloud: str) -> list[str]:
    """Payload logging to the model store is an AWS capability (KServe's logger signs in to S3
    only, components/config/checks/namespaces.py): elsewhere the namespaces go without it."""
    namespaces = _structured(out, "namespaces")
    if cloud in PAYLOAD_LOGGING_CLOUDS or not isinstance(namespaces, list):
        return []
    logging = [i for i, ns in enumerate(namespaces) if isinstance(ns, dict) and ns.get("payloadLogging")]
    if not logging:
        return []
    out[_key("namespaces")] = engine.config_string(
        [{k: v for k, v in ns.items() if k != "payloadLogging"} if i in logging else ns for i, ns in enumerate(namespaces)])
    return [f"namespaces[{i}].payloadLogging: KServe's logger writes to the model store on aws only; on {cloud} compared without it"
            for i in logging]


def _drop_reservations(pool: dict[str, Any], cloud: str, i: int, notes: list[str]) -> bool:
    """A reservation belongs to one cloud: on another, the pool's chain is compared without
    it (on-demand when nothing else is left), and the note says so."""
    chain = pool.get("capacity")
    if not isinstance(chain, list):
        return False
    kept = [t for t in chain if not (isinstance(t, dict) and "reserved" in t)]
    if len(kept) == len(chain):
        return False
    pool["capacity"] = kept or ["onDemand"]
    notes.append(f"gpuPools[{i}].capacity: a reservation is one cloud's; on {cloud} compared without it ({', '.join(map(str, pool['capacity']))})")
    return True


# --- evaluating and summing up ----------------------------------------------------------------


def _pool_rows(cfg: StackConfig) -> list[PoolRow]:
    cat = catalog.CLOUDS.get(cfg.cloud)
    rows = []
    system = cfg.system_instance_type()
    rows.append(PoolRow("systemPool", "system", system, "", 0, cfg.system_pool.min_nodes, cfg.system_pool.max_nodes))
    for i, cpu in enumerate(cfg.cpu_pools):
        rows.append(PoolRow(f"cpuPools[{i}]", cpu.name, cpu.instance_type, "", 0, cpu.min_nodes, cpu.max_nodes))
    for i, gpu in enumerate(cfg.gpu_pools):
        itype = cat.instance_types.get(gpu.instance_type or "") if cat else None
        fields = cost.fabric_fields(gpu, cfg.cloud) if itype else {}
        rows.append(PoolRow(
            f"gpuPools[{i}]", gpu.name, gpu.instance_type, (itype.gpu or "") if itype else "", itype.gpus if itype else 0,
            gpu.min_nodes, gpu.max_nodes,
            fabric=cost.fabric_text(fields.get("fabric", ""), fields.get("fabric_nics", 0), fields.get("line_rate_gbps", 0),
                                    fields.get("expected_busbw_gbs")),
        ))
    for i, tpu_cost in enumerate(tpu.tpu_pool_costs(cfg)):
        rows.append(PoolRow(
            f"tpuPools[{i}]", tpu_cost.name, tpu_cost.machine_type, "", 0, tpu_cost.min_nodes, tpu_cost.max_nodes,
            tpu=f"{tpu_cost.topology} {tpu_cost.generation}, {tpu_cost.chips_max} chips",
        ))
    return rows


def evaluate_on(stack: str, values: dict[str, str], secret_keys: list[str], cloud: str, policies: bool = True) -> CloudResult:
    """The stack evaluated on `cloud` under the mock engine."""
    changed, notes = values_for(values, cloud)
    result = CloudResult(cloud=cloud, substitutions=notes)
    try:
        plan = engine.run_program(stack, changed, secret_keys)
    except ConfigError as err:
        result.available = False
        result.problems = list(err.problems)
        return result
    cfg = load(raw_from_pulumi(changed)[0])
    result.region = cfg.region
    result.choices = [c.to_json() for c in cfg.choices]
    result.pools = _pool_rows(cfg)
    costs = report.pool_costs(cfg)
    result.gpus_min = sum(c.gpus_per_node * c.min_nodes for c in costs)
    result.gpus_max = sum(c.gpus_per_node * c.max_nodes for c in costs)
    # The same figures the preview prints for the stack on that cloud.
    full = report.stack_cost(cfg, plan, costs)
    result.usd_per_hour_min, result.usd_per_hour_max = full.hourly_min, full.hourly_max
    result.not_priced = list(full.not_priced)
    warm = {w.pool: w.text() for w in full.warm}
    result.warm_nodes = {f"gpuPools[{i}]": warm[p.name] for i, p in enumerate(cfg.gpu_pools) if p.name in warm}
    result.time_to_ready_seconds = ready.estimate(plan, [p.name for p in cfg.gpu_pools], [p.name for p in cfg.tpu_pools]).seconds
    tiers = capacity.capacity_rows(cfg)
    for i, pool in enumerate(cfg.gpu_pools):
        own = [t for t in tiers if t.pool == pool.name]
        chain = " -> ".join(f"{t.tier} {t.price_text()}" for t in own)
        result.capacity[f"gpuPools[{i}]"] = f"{own[0].provisioner}: {chain}" if own else "-"
    result.quota_increases = [f"{q.quota} ({q.code}) {q.region or 'all regions'}: {q.needed} {q.unit}"
                              for q in capacity.quota_rows(cfg) if q.increase]
    if policies:
        violations = report.evaluate_policies(plan, cfg.environment)
        result.mandatory_policy_findings = sum(1 for v in violations if v.level == "mandatory")
        if result.mandatory_policy_findings:
            result.available = False
            result.problems = [f"policy: {v.policy}: {v.message}" for v in violations if v.level == "mandatory"]
    return result


def compare(stack: str, values: dict[str, str], secret_keys: list[str], clouds: tuple[str, ...] = CLOUDS) -> list[CloudResult]:
    return [evaluate_on(stack, values, secret_keys, cloud) for cloud in clouds]


# --- output ------------------------------------------------------------------------------------


def _usd(value: Optional[float]) -> str:
    return "-" if value is None else f"${value:,.2f}"


def print_table(con: Console, stack: str, results: list[CloudResult]) -> None:
    rows: list[list[str]] = []

    def row(label: str, cells: list[str]) -> None:
        rows.append([escape(cell) for cell in (label, *cells)])

    row("region", [r.region or "-" for r in results])
    keys: list[tuple[str, str]] = []
    for r in results:
        for p in r.pools:
            if (p.key, p.name) not in keys:
                keys.append((p.key, p.name))
    for key, name in keys:
        cells = []
        for r in results:
            pool = next((p for p in r.pools if p.key == key), None)
            if pool is None:
                cells.append("no TPU" if key.startswith("tpuPools") and r.available else "-")
            elif pool.tpu:
                cells.append(f"{pool.instance_type} ({pool.tpu}) {pool.min_nodes}-{pool.max_nodes}")
            elif pool.gpu_model:
                cells.append(f"{pool.instance_type} ({pool.gpus_per_node} x {pool.gpu_model}) {pool.min_nodes}-{pool.max_nodes}")
            else:
                cells.append(f"{pool.instance_type} {pool.min_nodes}-{pool.max_nodes}")
        row(f"{key} {name}", cells)
        if key.startswith("gpuPools"):
            # Its fabric on each cloud: NICs, line rate, the 2-node NCCL bus bandwidth expected.
            pools = [next((p for p in r.pools if p.key == key), None) for r in results]
            row("  fabric", [p.fabric if p is not None else "-" for p in pools])
    for key, name in keys:
        if key.startswith("gpuPools"):
            row(f"{key} {name} capacity (USD/h per node)", [r.capacity.get(key, "-") for r in results])
    for key, name in keys:
        if any(key in r.warm_nodes for r in results):
            row(f"{key} {name} warm nodes", [r.warm_nodes.get(key, "-") for r in results])
    row("quota increases before up", ["; ".join(r.quota_increases) or "none" if r.available else "-" for r in results])
    row("GPUs at min-max", [f"{r.gpus_min}-{r.gpus_max}" if r.available else "-" for r in results])
    row("USD/h at min", [_usd(r.usd_per_hour_min) for r in results])
    row("USD/h at max", [_usd(r.usd_per_hour_max) for r in results])
    row(f"USD/month at min ({HOURS_PER_MONTH} h)", [_usd(r.usd_per_month_min) for r in results])
    row(f"USD/month at max ({HOURS_PER_MONTH} h)", [_usd(r.usd_per_month_max) for r in results])
    row("time to ready", [ready.minutes(r.time_to_ready_seconds) if r.time_to_ready_seconds is not None else "-" for r in results])
    row("runs here", ["yes" if r.available else f"no: {len(r.problems)} problem{'s' if len(r.problems) != 1 else ''} below" for r in results])
    title = f"stack {stack} on every cloud (cost as the preview prices it: on demand, or a spot-first pool at its spot reading; what the catalog prices)"
    fold.print_table(con, title, [fold.Col("", wrap=True), *(fold.Col(r.cloud, wrap=True) for r in results)], rows)
    # Whole lines, never wrapped, so each reads (and greps) as the config check wrote it.
    for r in results:
        for problem in r.problems:
            con.print(f"{r.cloud}: not available: {problem}", style="red", markup=False)
    for r in results:
        for note in r.substitutions:
            con.print(f"{r.cloud}: {note}", markup=False)


def run(con: Console, stack: str, values: dict[str, str], secret_keys: list[str], json_path: Optional[Path] = None) -> int:
    """`python -m preview STACK --compare [--json FILE]`: exit 0 when at least one cloud runs the stack."""
    results = compare(stack, values, secret_keys)
    print_table(con, stack, results)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(compare_json(stack, results), encoding="utf-8")
    runs = [r.cloud for r in results if r.available]
    con.print(f"stack {stack} runs on: {', '.join(runs) or 'none'}", markup=False)
    return 0 if runs else 1


def compare_json(stack: str, results: list[CloudResult]) -> str:
    doc = {
        "stack": stack,
        "hoursPerMonth": HOURS_PER_MONTH,
        "priceBasis": {c: {"region": cat.price_region, "date": cat.price_date} for c, cat in sorted(catalog.CLOUDS.items())},
        "clouds": [r.to_json() for r in results],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"

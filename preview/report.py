"""What the offline preview prints and writes."""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

import yaml
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from components.config import StackConfig

from components.catalog import timings
from components.catalog.prices import HOURS_PER_MONTH

from .cost import PoolCost, StackCost, pool_costs, stack_cost
from .engine import Plan, PlannedResource, is_secret, redact
from .fold import Col, print_line, print_table
from .ready import TimeToReady, minutes

__all__ = ["pool_costs", "stack_cost"]

K8S_NON_OBJECTS = ("kubernetes:helm.sh/", "pulumi:providers:")


def console() -> Console:
    # Tables fit the terminal (COLUMNS when set; 120 columns when the output is not a
    # terminal, e.g. CI logs and tests); soft wrap keeps every message (a config problem,
    # a policy finding) on one line however long it is.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
    return Console(width=width, highlight=False, soft_wrap=True)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def evaluate_policies(plan: Plan, environment: str) -> list:
    from policies.offline import evaluate

    return evaluate(plan.resources, environment)


# --- terminal ----------------------------------------------------------------------------


def where(cfg: StackConfig) -> str:
    if cfg.cloud == "existing":
        context = cfg.existing.context if cfg.existing is not None else None
        return f"an existing cluster (context {context})" if context else "an existing cluster"
    return f"{cfg.cloud} {cfg.region}"


def print_header(con: Console, plan: Plan, cfg: StackConfig) -> None:
    custom = sum(1 for r in plan.resources if r.custom)
    print_line(
        con,
        f"[bold]ml-clusters[/] stack [bold]{escape(plan.stack)}[/]: {escape(where(cfg))}, {cfg.environment}, "
        f"Kubernetes {cfg.kubernetes_version}; {plural(len(plan.resources), 'resource')} "
        f"({custom} custom, {len(plan.resources) - custom} components)",
        hang=2,
    )


def _children(plan: Plan) -> dict[str | None, list[PlannedResource]]:
    urns = {r.urn for r in plan.resources}
    kids: dict[str | None, list[PlannedResource]] = {}
    for r in plan.resources:
        parent = r.parent if r.parent in urns else None
        kids.setdefault(parent, []).append(r)
    for items in kids.values():
        items.sort(key=lambda r: (r.custom, r.type, r.name))
    return kids


def _count(kids: dict, urn: str) -> int:
    return sum(1 + _count(kids, c.urn) for c in kids.get(urn, []))


def print_tree(con: Console, plan: Plan) -> None:
    kids = _children(plan)
    custom = sum(1 for r in plan.resources if r.custom)
    tree = Tree(f"[bold]{plural(len(plan.resources), 'resource')}[/] ({custom} custom, {len(plan.resources) - custom} components)")

    def add(node: Tree, parent: str | None) -> None:
        for r in kids.get(parent, []):
            if r.custom:
                node.add(f"{escape(r.type)}  [cyan]{escape(r.name)}[/]")
            else:
                add(node.add(f"[bold]{escape(r.type)}[/]  [cyan]{escape(r.name)}[/]  ({plural(_count(kids, r.urn), 'resource')})"), r.urn)

    add(tree, None)
    con.print(tree)
    by_type = Counter(r.type for r in plan.resources)
    print_table(con, "resources by type", [Col("type"), Col("count", justify="right")],
                [[escape(type_), str(n)] for type_, n in sorted(by_type.items())])


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def print_pools(con: Console, costs: list[PoolCost]) -> None:
    if not costs:
        con.print("GPU pools: none")
        return
    existing = all(c.cloud == "existing" for c in costs)
    headers = ["pool", "instance type", "GPU", "GPUs", "sharing"]
    # The fabric each pool gets (gpuPools[].interconnect), its NICs, line rate and the 2-node
    # NCCL all-reduce bus bandwidth the catalog expects (the acceptance test passes at 80%).
    fabric_headers = ["fabric", "NICs", "Gbit/s", "busbw GB/s"]
    headers += [] if existing else ["nodes", "spot", *fabric_headers, "USD/h min", "USD/h max"]
    rows = []
    for c in costs:
        row = [c.name, c.instance_type, c.gpu_model, str(c.gpus_per_node), c.sharing or "-"]
        if not existing:
            fabric = [c.fabric, str(c.fabric_nics), f"{c.line_rate_gbps:,}", f"{c.expected_busbw_gbs:g}"] if c.fabric else ["-"] * 4
            row += [f"{c.min_nodes}-{c.max_nodes}", "yes" if c.spot else "no", *fabric, _usd(c.usd_per_hour_min), _usd(c.usd_per_hour_max)]
        rows.append([escape(cell) for cell in row])
    if not existing:
        rows.append(["total", "", "", f"{sum(c.gpus_per_node * c.max_nodes for c in costs)} max", "", "", "", "", "", "", "",
                     _usd(sum(c.usd_per_hour_min or 0 for c in costs)), _usd(sum(c.usd_per_hour_max or 0 for c in costs))])
    columns = [Col(h, justify="right" if h.startswith(("GPUs", "USD", "NICs", "Gbit", "busbw")) else "left") for h in headers]
    print_table(con, "GPU pools", columns, rows, title_justify="left")
    if existing:
        print_line(con, "  node counts and prices: the existing cluster's own (nothing here scales or bills them)")


def print_cost(con: Console, cost: StackCost) -> None:
    if not cost.lines and not cost.not_priced:
        return
    if cost.lines:
        columns = [Col("item", wrap=True)]
        columns += [Col(h, justify="right") for h in ("per hour at min", "per hour at max", "per month at min", "per month at max")]
        rows = [
            [escape(line.item), _usd(line.usd_per_hour_min), _usd(line.usd_per_hour_max),
             _usd(line.usd_per_hour_min * HOURS_PER_MONTH), _usd(line.usd_per_hour_max * HOURS_PER_MONTH)]
            for line in cost.lines
        ]
        rows.append(["[bold]total[/]", _usd(cost.hourly_min), _usd(cost.hourly_max),
                     _usd(cost.hourly_min * HOURS_PER_MONTH), _usd(cost.hourly_max * HOURS_PER_MONTH)])
        print_table(con, "cost (USD, on-demand list prices)", columns, rows, title_justify="left")
    for item in cost.not_priced:
        print_line(con, f"  not priced: {item}", markup=False)


TTR_TYPE_COLUMN = 17  # where a critical-path step's type starts: "  {start:>6} +{duration:>5}  "


def print_time_to_ready(con: Console, ttr: TimeToReady) -> None:
    print_line(con, f"[bold]time to ready[/]: about {minutes(ttr.seconds)} (min:s) for a new stack; critical path:")
    for step in ttr.path:
        # Too wide: the name goes under the type.
        print_line(con, f"  {minutes(step.start):>6} +{minutes(step.seconds):>5}  {escape(step.type)}  [cyan]{escape(step.name)}[/]",
                   hang=TTR_TYPE_COLUMN)
    for s in ttr.serializations:
        print_line(con, f"  [yellow]serialized[/]: {escape(s.what)}; ready {minutes(s.saves_seconds)} sooner without")
    print_cold_starts(con, ttr.cold_starts)


def print_cold_starts(con: Console, starts: list) -> None:
    """Per GPU pool: the first GPU pod's wait, part by part (components/catalog/timings.py): on
    a warm node where the pool keeps some (gpuPools[].warmNodes), else from zero nodes; and the
    wait from zero nodes, which pods beyond the warm nodes still have."""
    if not starts:
        return
    parts = [name for name, _, _ in starts[0].first_parts]
    columns = [Col("pool"), Col("warm nodes", justify="right"), *(Col(p, justify="right") for p in parts),
               Col("first pod", justify="right"), Col("from zero", justify="right"),
               Col("before", justify="right"), Col("image pull")]
    rows = [[escape(c.pool), str(c.warm_nodes), *(minutes(s) for _, s, _ in c.first_parts), minutes(c.first_seconds),
             minutes(c.seconds), minutes(c.before_seconds), c.image_pull] for c in starts]
    print_table(con, f"GPU cold start (min:s): a vLLM pod, {timings.REFERENCE_MODEL}; parts: the first pod's wait "
                "(on a warm node where the pool keeps some)", columns, rows, title_justify="left")


def _display(value: Any) -> str:
    text = json.dumps(redact(value), sort_keys=True)
    return text if len(text) <= 110 else text[:107] + "..."


def print_outputs(con: Console, plan: Plan) -> None:
    print_table(con, "stack outputs", [Col("output"), Col("value", wrap=True)],
                [[escape(key), escape(_display(value))] for key, value in sorted(plan.outputs.items())])


def print_policy(con: Console, violations: list) -> None:
    if not violations:
        con.print("policy: no findings", style="green")
        return
    for level, style in (("mandatory", "red"), ("advisory", "yellow")):
        group = [v for v in violations if v.level == level]
        if not group:
            continue
        con.print(f"policy: {plural(len(group), level + ' finding')}", style=f"bold {style}", markup=False)
        for v in group:
            con.print(f"  [{v.policy}] {v.type} {v.name}: {v.message}", style=style, markup=False)
            con.print(f"      fix: {v.fix}", markup=False)


# --- files -------------------------------------------------------------------------------


def plan_json(
    plan: Plan, costs: list[PoolCost], violations: Iterable, cost: StackCost | None = None, ttr: TimeToReady | None = None,
    dr: dict[str, Any] | None = None, choices: Iterable[dict] = (), tpu_pools: Iterable[dict] = (),
    capacity: dict[str, Any] | None = None,
) -> str:
    urns = {r.urn for r in plan.resources}
    doc = {
        "stack": plan.stack,
        "project": plan.project,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent if r.parent in urns else None,
                "inputs": r.plain_inputs(),
                # The `protect` resource option, so `python -m policies.offline` can check the plan.
                "protect": r.protect,
                # Every URN the engine was told this resource waits for: explicit
                # `depends_on` and the resources whose Outputs feed its inputs.
                "dependsOn": [d for d in r.dependencies if d in urns],
            }
            for r in plan.resources
        ],
        "outputs": redact(plan.outputs),
        "gpu_pools": [c.to_json() for c in costs],
        # TPU slice pools (preview/tpu.py), empty where the stack has none.
        "tpu_pools": list(tpu_pools),
        "policy": {"violations": [v.to_json() for v in violations]},
        # The disaster-recovery posture (preview/dr.py); null without `dr`.
        "dr": dr,
        # What the catalog chose while the stack loaded (a place's region, pools by need).
        "choices": list(choices),
    }
    if capacity is not None:
        # Each pool's capacity chain with prices, and the quotas it needs (preview/capacity.py).
        doc["capacity"] = capacity
    if cost is not None:
        doc["cost"] = cost.to_json()
    if ttr is not None:
        doc["timeToReady"] = ttr.to_json()
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def kubernetes_objects(plan: Plan) -> list[PlannedResource]:
    return [
        r for r in plan.resources
        if r.type.startswith("kubernetes:") and not r.type.startswith(K8S_NON_OBJECTS) and r.custom
    ]


def manifest_filename(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    parts = [obj.get("kind", "object"), meta.get("namespace") or "cluster", meta.get("name") or "unnamed"]
    return re.sub(r"[^a-z0-9.-]+", "-", "-".join(parts).lower()) + ".yaml"


SECRET_MASK = "[secret]"
SECRET_MASK_B64 = base64.b64encode(SECRET_MASK.encode()).decode()  # a Secret's `data` holds base64


def _mask(value: Any, b64: bool) -> Any:
    """A secret value with its shape kept: every leaf replaced by the mask."""
    if is_secret(value):
        return _mask(value["value"], b64)
    if isinstance(value, dict):
        return {k: _mask(v, b64) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_mask(v, b64) for v in value]
    return SECRET_MASK_B64 if b64 else SECRET_MASK


def _manifest(r: PlannedResource) -> dict[str, Any]:
    """The object as `kubectl apply` takes it: secrets masked leaf by leaf, so a Secret keeps
    its keys (and `data` stays base64)."""
    def walk(value: Any, key: str = "") -> Any:
        if is_secret(value):
            return _mask(value["value"], b64=key == "data")
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in sorted(value.items())}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        return redact(value)

    return walk(r.inputs)


# libyaml's emitter when PyYAML was built with it (the pinned wheels are): the same YAML as the
# pure-Python SafeDumper, several times faster on a stack's hundreds of objects.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=True)


def write_manifests(plan: Plan, directory: Path) -> tuple[int, int]:
    """One YAML file per Kubernetes object, and each Helm release's values in
    `helm-values/<release>.yaml`; files an earlier run left behind are removed."""
    directory.mkdir(parents=True, exist_ok=True)
    values_dir = directory / "helm-values"
    written: set[Path] = set()
    objects = kubernetes_objects(plan)
    for r in objects:
        obj = _manifest(r)
        path = directory / manifest_filename(obj)
        path.write_text(_dump(obj), encoding="utf-8")
        written.add(path)
    for r in plan.by_type("kubernetes:helm.sh/v3:Release"):
        inputs = _manifest(r)
        release = inputs.get("name") or r.name
        values_dir.mkdir(exist_ok=True)
        path = values_dir / f"{release}.yaml"
        header = f"# Helm release {release}: chart {inputs.get('chart')} {inputs.get('version', '')}, namespace {inputs.get('namespace')}\n"
        path.write_text(header + _dump(inputs.get("values") or {}), encoding="utf-8")
        written.add(path)
    for stale in [*directory.glob("*.yaml"), *(values_dir.glob("*.yaml") if values_dir.exists() else [])]:
        if stale not in written:
            stale.unlink()
    return len(objects), len(written) - len(objects)

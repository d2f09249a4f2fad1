"""What the offline preview prints and writes."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from components.config import StackConfig

from .cost import PoolCost, pool_costs
from .engine import Plan, PlannedResource, redact

__all__ = ["pool_costs"]

K8S_NON_OBJECTS = ("kubernetes:helm.sh/", "pulumi:providers:")


def console() -> Console:
    # A fixed width keeps tables stable in CI logs and tests; soft wrap keeps every message
    # (a config problem, a policy finding) on one line however long it is.
    return Console(width=150, highlight=False, soft_wrap=True)


def evaluate_policies(plan: Plan, environment: str) -> list:
    from policies.offline import evaluate

    return evaluate(plan.resources, environment)


# --- terminal ----------------------------------------------------------------------------


def print_header(con: Console, plan: Plan, cfg: StackConfig) -> None:
    where = cfg.region or "existing cluster"
    con.print(
        f"[bold]ml-clusters[/] stack [bold]{plan.stack}[/]: {cfg.cloud} {where}, {cfg.environment}, "
        f"Kubernetes {cfg.kubernetes_version}"
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
    tree = Tree(f"[bold]{len(plan.resources)} resources[/] ({custom} custom, {len(plan.resources) - custom} components)")

    def add(node: Tree, parent: str | None) -> None:
        for r in kids.get(parent, []):
            if r.custom:
                node.add(f"{escape(r.type)}  [cyan]{escape(r.name)}[/]")
            else:
                add(node.add(f"[bold]{escape(r.type)}[/]  [cyan]{escape(r.name)}[/]  ({_count(kids, r.urn)} resources)"), r.urn)

    add(tree, None)
    con.print(tree)
    by_type = Counter(r.type for r in plan.resources)
    table = Table(title="resources by type", show_edge=False)
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_, n in sorted(by_type.items()):
        table.add_row(type_, str(n))
    con.print(table)


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def print_pools(con: Console, costs: list[PoolCost]) -> None:
    if not costs:
        con.print("GPU pools: none")
        return
    table = Table(title="GPU pools", show_edge=False)
    for col in ("pool", "cloud", "instance type", "GPU", "GPUs/node", "nodes", "spot", "USD/h at min", "USD/h at max", "price basis"):
        table.add_column(col, justify="right" if col.startswith(("GPUs", "USD")) else "left")
    for c in costs:
        table.add_row(
            c.name, c.cloud, c.instance_type, c.gpu_model, str(c.gpus_per_node), f"{c.min_nodes}-{c.max_nodes}",
            "yes" if c.spot else "no", _usd(c.usd_per_hour_min), _usd(c.usd_per_hour_max), c.price_basis,
        )
    priced = [c for c in costs if c.usd_per_hour_max is not None]
    if priced:
        table.add_row(
            "total", "", "", "", str(sum(c.gpus_per_node * c.max_nodes for c in costs)) + " max", "", "",
            _usd(sum(c.usd_per_hour_min or 0 for c in priced)), _usd(sum(c.usd_per_hour_max or 0 for c in priced)),
            f"{priced[0].price_region}, {priced[0].price_date}",
        )
    con.print(table)


def _display(value: Any) -> str:
    text = json.dumps(redact(value), sort_keys=True)
    return text if len(text) <= 110 else text[:107] + "..."


def print_outputs(con: Console, plan: Plan) -> None:
    table = Table(title="stack outputs", show_edge=False)
    table.add_column("output")
    table.add_column("value", overflow="fold")
    for key, value in sorted(plan.outputs.items()):
        table.add_row(escape(key), escape(_display(value)))
    con.print(table)


def print_policy(con: Console, violations: list) -> None:
    if not violations:
        con.print("policy: no findings", style="green")
        return
    for level, style in (("mandatory", "red"), ("advisory", "yellow")):
        group = [v for v in violations if v.level == level]
        if not group:
            continue
        con.print(f"policy: {len(group)} {level} finding(s)", style=f"bold {style}", markup=False)
        for v in group:
            con.print(f"  [{v.policy}] {v.type} {v.name}: {v.message}", style=style, markup=False)
            con.print(f"      fix: {v.fix}", markup=False)


# --- files -------------------------------------------------------------------------------


def plan_json(plan: Plan, costs: list[PoolCost], violations: Iterable, dr: dict[str, Any] | None = None) -> str:
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
        "policy": {"violations": [v.to_json() for v in violations]},
        # The disaster-recovery posture (preview/dr.py); null without `dr`.
        "dr": dr,
    }
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


def write_manifests(plan: Plan, directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for r in kubernetes_objects(plan):
        obj = r.plain_inputs()
        (directory / manifest_filename(obj)).write_text(yaml.safe_dump(obj, sort_keys=True), encoding="utf-8")
        count += 1
    return count

"""Reading the workload layer out of a plan."""

from __future__ import annotations

from decimal import Decimal
import re
from typing import Any

from preview import engine
from tests.conftest import inputs

RELEASE = "kubernetes:helm.sh/v3:Release"
_FACTORS = {"": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(value: Any) -> Decimal:
    """A Kubernetes quantity as a number (cores, bytes, GPUs)."""
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value))
    assert match, value
    return Decimal(match.group(1)) * Decimal(_FACTORS[match.group(2)])


def releases(plan: engine.Plan) -> dict[str, engine.PlannedResource]:
    """Helm releases by release name."""
    return {r.inputs["name"]: r for r in plan.by_type(RELEASE)}


def values(plan: engine.Plan, release: str) -> dict[str, Any]:
    return inputs(releases(plan)[release])["values"]


def objects(plan: engine.Plan, kind: str) -> dict[str, tuple[engine.PlannedResource, dict[str, Any]]]:
    """Custom resources (or any objects) of `kind` by `namespace/name` (or name)."""
    out = {}
    for r in plan.resources:
        if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}"):
            obj = inputs(r)
            meta = obj["metadata"]
            key = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]
            out[key] = (r, obj)
    return out


def depends(dependent: engine.PlannedResource, dependency: engine.PlannedResource) -> bool:
    return dependency.urn in dependent.dependencies

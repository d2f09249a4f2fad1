"""The rule registry: every rule of the pack, in a stable order (domain, then definition).

Importable both as `policies.rules` (repo root on sys.path: tests, the offline preview)
and as `rules` (policies/ on sys.path: the Pulumi CLI running the pack).
"""

from __future__ import annotations

from types import ModuleType

from . import aws, azure, dr, fabric, gcp, gpu, kubernetes, protection, workloads
from .base import ENVIRONMENTS, LEVELS, SEVERITIES, Rule

DOMAIN_MODULES: tuple[ModuleType, ...] = (aws, gcp, azure, gpu, fabric, kubernetes, protection, dr, workloads)
DOMAIN_TITLES = {
    "eks": "AWS / EKS",
    "gke": "Google Cloud / GKE",
    "aks": "Azure / AKS",
    "gpu": "GPU pools (any cloud)",
    "fabric": "GPU fabric (multi-node networking, any cloud)",
    "kubernetes": "Kubernetes objects",
    "protection": "Production protection",
    "dr": "Disaster recovery",
    "workloads": "ML workload layer",
}


def _collect() -> tuple[Rule, ...]:
    found: list[Rule] = []
    for module in DOMAIN_MODULES:
        own = [obj.rule for obj in vars(module).values() if isinstance(getattr(obj, "rule", None), Rule) and obj.rule.check is obj]
        found.extend(sorted(own, key=lambda r: r.order))
    ids = [r.id for r in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate policy ids: {', '.join(duplicates)}")
    return tuple(found)


RULES: tuple[Rule, ...] = _collect()
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}

__all__ = ["BY_ID", "DOMAIN_TITLES", "ENVIRONMENTS", "LEVELS", "RULES", "Rule", "SEVERITIES"]

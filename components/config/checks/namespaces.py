"""namespaces and the platform block: valid, unique names clear of the platform's own."""

from __future__ import annotations

from ... import catalog
from ..model import DNS_LABEL_RE, QUANTITY_RE, StackConfig


def namespace_problems(cfg: StackConfig) -> list[str]:
    """Serving namespaces and the platform block's ingress namespace and feature discovery."""
    out: list[str] = []
    seen: dict[str, int] = {}
    reserved = ("default", "kube-system", "kube-public", "kube-node-lease", "monitoring", "gpu-system", "velero")
    ingress = cfg.platform.ingress_namespace
    if not DNS_LABEL_RE.match(ingress):
        out.append(f"platform.ingressNamespace: {ingress!r} is not a valid namespace name; allowed: lowercase letters, digits and '-', at most 63")
    elif ingress in ("monitoring", "gpu-system", "velero"):
        out.append(f"platform.ingressNamespace: {ingress!r} is used by the platform itself; allowed: the namespace your ingress controller runs in")
    if cfg.platform.gpu_feature_discovery and "node-feature-discovery" not in catalog.CHARTS:
        out.append(
            "platform.gpuFeatureDiscovery: true needs Node Feature Discovery, which the catalog does not pin "
            "(components/catalog/versions.py CHARTS['node-feature-discovery']); allowed: false until it is pinned"
        )
    for i, ns in enumerate(cfg.namespaces):
        where = f"namespaces[{i}]"
        if not DNS_LABEL_RE.match(ns.name):
            out.append(f"{where}.name: {ns.name!r} is not a valid namespace name; allowed: lowercase letters, digits and '-', at most 63")
        elif ns.name in reserved:
            out.append(f"{where}.name: {ns.name!r} is reserved by the platform; choose another name")
        elif ns.name == ingress:
            out.append(f"{where}.name: {ns.name!r} is the ingress namespace (platform.ingressNamespace); choose another name")
        if ns.name in seen:
            out.append(f"{where}.name: {ns.name!r} is already used by namespaces[{seen[ns.name]}]; names must be unique")
        seen.setdefault(ns.name, i)
        if not DNS_LABEL_RE.match(ns.team):
            out.append(f"{where}.team: {ns.team!r} is not a valid label value; allowed: lowercase letters, digits and '-'")
        if not ns.group.strip() or ns.group != ns.group.strip():
            out.append(f"{where}.group: {ns.group!r} is not a group name; allowed: the identity provider's group name or id, without surrounding spaces")
        for key in ("cpu", "memory"):
            value = getattr(ns, key)
            if not QUANTITY_RE.match(value):
                out.append(f"{where}.{key}: {value!r} is not a Kubernetes quantity, e.g. 16, 500m, 64Gi")
    return out

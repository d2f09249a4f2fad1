"""namespaces and the platform block: valid, unique names clear of the platform's own."""

from __future__ import annotations

from ... import catalog
from ..model import DNS_LABEL_RE, QUANTITY_RE, ServingNamespace, StackConfig


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
        out += payload_logging_problems(cfg, ns, where)
    return out


# Where KServe v0.20.0's logger can write to the model store with workload identity
# (pkg/agent/storage/utils.go GetProvider: S3 through the AWS SDK's default credential chain;
# GCS unauthenticated without GOOGLE_APPLICATION_CREDENTIALS; Azure only with
# AZURE_STORAGE_ACCESS_KEY or AZURE_ACCESS_TOKEN).
PAYLOAD_LOGGING_CLOUDS = ("aws",)


def payload_logging_problems(cfg: StackConfig, ns: ServingNamespace, where: str) -> list[str]:
    """A namespace asking for payload logging must be able to write it where KServe's logger
    can sign in with the namespace's identity (components/platform/modelstore.py)."""
    if not ns.payload_logging:
        return []
    key = f"{where}.payloadLogging"
    if not cfg.platform.workloads.serving.enabled:
        return [f"{key}: true, but model serving is off; allowed: false, or set platform.workloads.serving.enabled true"]
    if ns.model_store != "readwrite":
        return [f"{key}: true needs write access to the model store, but modelStore is {ns.model_store!r}; "
                "allowed: set modelStore readwrite on this namespace, or payloadLogging false"]
    if ns.egress == "none":
        return [f"{key}: true, but egress is 'none', so the logger cannot reach the model store; "
                "allowed: egress cloud-apis or internet, or payloadLogging false"]
    if cfg.cloud not in PAYLOAD_LOGGING_CLOUDS:
        return [f"{key}: true is supported on cloud aws only (KServe v0.20.0's logger writes to GCS and Azure Blob "
                f"with keys, not workload identity), not {cfg.cloud!r}; allowed: false"]
    return []

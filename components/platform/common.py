"""What the platform's pieces share: namespace names, labels, security contexts and the
resource options every Kubernetes object gets. Nothing here knows which cloud it runs on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

import pulumi

from ..conventions import GPU_TAINT, LABEL_PREFIX
from ..handle import ClusterHandle

GPU_NAMESPACE = "gpu-system"
MONITORING_NAMESPACE = "monitoring"

SERVING_LABEL = f"{LABEL_PREFIX}/serving"
# Namespaces whose Jobs, JobSets and TrainJobs Kueue manages (its managedJobsNamespaceSelector):
# the team namespaces and the platform's NCCL acceptance namespace.
QUEUED_NAMESPACE_LABEL = f"{LABEL_PREFIX}/queued"
TEAM_LABEL = f"{LABEL_PREFIX}/team"
ENCRYPTED_ANNOTATION = f"{LABEL_PREFIX}/encrypted"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace
# Team access: each team namespace binds the team's group to the ClusterRole `ml-team`,
# whose rules kube-controller-manager's clusterrole-aggregation controller fills with the
# union of every ClusterRole carrying this label (the platform's core rules, plus one role
# per enabled workload part). Anything labelled so is granted in every team namespace.
TEAM_AGGREGATE_LABEL = f"{LABEL_PREFIX}/aggregate-to-team"
# RBAC verbs of the team roles: reading, and the writes of the built-in `edit` role.
READ_VERBS = ["get", "list", "watch"]
WRITE_VERBS = ["create", "delete", "deletecollection", "patch", "update"]

# The Helm release of kube-prometheus-stack, and the label the chart's own monitors carry.
# The release's Prometheus selects every monitor and rule in every namespace (empty
# selectors, "nil uses Helm values" off), so this label is not needed to be scraped; the
# platform's monitors and rules carry it anyway, to stay selected under a stricter selector.
PROMETHEUS_RELEASE = "kube-prometheus-stack"
PROMETHEUS_SELECTOR = {"release": PROMETHEUS_RELEASE}

# Grafana's dashboard sidecar loads ConfigMaps with this label from the release namespace.
GRAFANA_DASHBOARD_LABEL = ("grafana_dashboard", "1")


def sorted_dict(values: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping with sorted keys, so rendered objects are the same byte for byte."""
    return {k: values[k] for k in sorted(values)}


def labels(app: str, component: Optional[str] = None, extra: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    out = {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/part-of": "ml-clusters",
        "app.kubernetes.io/managed-by": "pulumi",
    }
    if component:
        out["app.kubernetes.io/component"] = component
    out.update(extra or {})
    return sorted_dict(out)


def selector_labels(app: str) -> dict[str, str]:
    """The immutable subset of `labels()` that DaemonSets and Services select on."""
    return {"app.kubernetes.io/name": app}


def metadata(name: str, namespace: Optional[str] = None, app: Optional[str] = None, component: Optional[str] = None,
             extra_labels: Optional[Mapping[str, str]] = None, annotations: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels(app or name, component, extra_labels)}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = sorted_dict(annotations)
    return meta


def team_rules_metadata(name: str, app: str) -> dict[str, Any]:
    """Metadata of a ClusterRole whose rules `ml-team` takes in (it carries the aggregation label)."""
    return metadata(name, app=app, component="identity", extra_labels={TEAM_AGGREGATE_LABEL: "true"})


def checkov_skips(reasons: Mapping[str, str]) -> dict[str, str]:
    """Checkov skip annotations, `checkov.io/skip<N>: <check id>=<reason>` (the form Checkov's
    kubernetes runner reads from metadata.annotations; the reason may not contain `=`)."""
    out = {}
    for i, (check, reason) in enumerate(sorted(reasons.items()), start=1):
        if "=" in reason:
            raise ValueError(f"a Checkov skip reason cannot contain '=': {reason!r}")
        out[f"checkov.io/skip{i}"] = f"{check}={reason}"
    return out


def container_security(read_only_root: bool = True, add_capabilities: Sequence[str] = (), run_as_root: bool = False) -> dict[str, Any]:
    """Least privilege for a container: never privileged, no privilege escalation, every
    capability dropped (and only the named ones added back), read-only root file system."""
    ctx: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": read_only_root,
    }
    if add_capabilities:
        ctx["capabilities"]["add"] = list(add_capabilities)
    if run_as_root:
        # Stated rather than implied, so a reader (and the policy pack) sees it is deliberate.
        ctx["runAsNonRoot"] = False
        ctx["runAsUser"] = 0
    return sorted_dict(ctx)


def pod_security() -> dict[str, Any]:
    return {"seccompProfile": {"type": "RuntimeDefault"}}


def resources(cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
        "requests": {"cpu": cpu_request, "memory": memory_request},
    }


def system_placement(handle: "ClusterHandle") -> dict[str, Any]:
    """nodeSelector and tolerations that put a platform controller on the system pool (the
    handle's selector: the system pool's labels, or nothing on an existing cluster)."""
    return {
        "nodeSelector": sorted_dict(dict(handle.system_node_selector)),
        "tolerations": [sorted_dict(t) for t in handle.system_tolerations],
    }


def gpu_tolerations(handle: "ClusterHandle") -> list[dict[str, str]]:
    """Tolerate the GPU taint whatever its value (GKE and ours use `present`), plus any taint
    the cloud itself puts on GPU nodes (e.g. AKS on spot nodes)."""
    extra = [dict(sorted(t.items())) for t in handle.gpu_node_tolerations]
    return [{"effect": GPU_TAINT.effect, "key": GPU_TAINT.key, "operator": "Exists"}, *extra]


def node_name_env() -> dict[str, Any]:
    return {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}


def namespace_labels(enforce: str, kubernetes_version: str, extra: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """Pod Security Admission labels: enforce `enforce` at the cluster's version; audit
    and warn always at `restricted`, so anything weaker shows up in audit logs and kubectl."""
    version = f"v{kubernetes_version}"
    out = {
        "pod-security.kubernetes.io/enforce": enforce,
        "pod-security.kubernetes.io/enforce-version": version,
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": version,
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": version,
        "app.kubernetes.io/part-of": "ml-clusters",
        "app.kubernetes.io/managed-by": "pulumi",
    }
    out.update(extra or {})
    return sorted_dict(out)


@dataclass(frozen=True)
class Scope:
    """Where a platform piece puts its children: under `parent`, after `ready`."""

    handle: ClusterHandle
    parent: pulumi.Resource
    ready: tuple[pulumi.Resource, ...] = ()

    def opts(self, *depends_on: Optional[pulumi.Resource], extra: Iterable[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        # Children do not inherit a component's depends_on, so every object waits for the
        # backend's `ready` resources (node pools, add-ons) explicitly.
        deps = [*self.ready, *(d for d in depends_on if d is not None), *extra]
        return pulumi.ResourceOptions(parent=self.parent, depends_on=deps)

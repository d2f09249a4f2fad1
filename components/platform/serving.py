"""Serving namespaces, one per team from config, each fenced in:

- Pod Security Admission: `restricted` by default (`baseline` where configured), audit
  and warn always at restricted;
- a ResourceQuota with the team's GPUs (`requests.nvidia.com/gpu`), CPU and memory, and a
  LimitRange giving containers default requests and a memory limit;
- NetworkPolicies: deny everything, then allow DNS, traffic inside the namespace, and
  ingress from the monitoring and ingress namespaces;
- a ServiceAccount for workloads, and the team's identity-provider group bound to `edit`.

Plus two cluster-wide PriorityClasses: serving (high) and batch (low, preemptible).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from ..config import ServingNamespace
from ..conventions import GPU_RESOURCE
from ..handle import ClusterHandle
from .common import (
    MONITORING_NAMESPACE,
    NAMESPACE_NAME_LABEL,
    SERVING_LABEL,
    TEAM_LABEL,
    Scope,
    metadata,
    namespace_labels,
    sorted_dict,
)

SERVING_PRIORITY = "ml-serving-high"
BATCH_PRIORITY = "ml-batch-low"
SERVING_PRIORITY_VALUE = 100000
# Below the default 0, so any ordinary pod may preempt batch work; above -10, Cluster
# Autoscaler's default cutoff for "expendable" pods, so batch pods still get nodes.
BATCH_PRIORITY_VALUE = -5
WORKLOAD_SERVICE_ACCOUNT = "workload"
DEFAULT_REQUESTS = {"cpu": "100m", "memory": "256Mi"}
DEFAULT_LIMITS = {"memory": "1Gi"}


@dataclass(frozen=True)
class ServingArgs:
    handle: ClusterHandle
    namespaces: Sequence[ServingNamespace] = ()
    ingress_namespace: str = "ingress"
    monitoring_namespace: str = MONITORING_NAMESPACE


def gpu_quota_resources(handle: ClusterHandle) -> list[str]:
    """Extended resources a GPU quota must cover: nvidia.com/gpu, plus the MIG slices that
    NVIDIA's plugin advertises under their own names with the mixed strategy."""
    names = {GPU_RESOURCE}
    if not handle.cloud_manages_device_plugin:
        for facts in handle.gpu_pools:
            mig = facts.pool.sharing.mig if facts.pool.sharing else None
            if mig is not None and mig.strategy == "mixed":
                names.add(f"nvidia.com/mig-{mig.profile}")
    return sorted(names)


def quota_hard(ns: ServingNamespace, gpu_resources: Sequence[str]) -> dict[str, str]:
    hard = {
        "requests.cpu": ns.cpu,
        "requests.memory": ns.memory,
        "limits.memory": ns.memory,
    }
    # Quota on extended resources exists only for requests (Kubernetes sets limit = request).
    for resource in gpu_resources:
        hard[f"requests.{resource}"] = str(ns.gpus)
    return sorted_dict(hard)


def network_policies(ns: ServingNamespace, ingress_namespace: str, monitoring_namespace: str) -> dict[str, dict[str, Any]]:
    """NetworkPolicy specs by name."""

    def from_namespace(name: str) -> dict[str, Any]:
        return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: name}}}

    return {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [{**from_namespace("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
            }],
        },
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]}],
        },
        "allow-from-monitoring": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [from_namespace(monitoring_namespace)]}],
        },
        "allow-from-ingress": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [from_namespace(ingress_namespace)]}],
        },
    }


class Serving(pulumi.ComponentResource):
    """`.namespaces`: the Namespace resources by name."""

    def __init__(self, name: str, args: ServingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:platform:Serving", name, None, opts)
        handle = args.handle
        scope = Scope(handle, self, tuple(handle.ready))

        k8s.scheduling.v1.PriorityClass(
            f"{name}-priority-serving",
            metadata=metadata(SERVING_PRIORITY, app="scheduling", component="serving"),
            value=SERVING_PRIORITY_VALUE,
            global_default=False,
            preemption_policy="PreemptLowerPriority",
            description="Online model serving: scheduled first, may preempt batch work.",
            opts=scope.opts(),
        )
        k8s.scheduling.v1.PriorityClass(
            f"{name}-priority-batch",
            metadata=metadata(BATCH_PRIORITY, app="scheduling", component="batch"),
            value=BATCH_PRIORITY_VALUE,
            global_default=False,
            preemption_policy="Never",
            description="Training and batch jobs: preemptible, never preempt others.",
            opts=scope.opts(),
        )

        gpu_resources = gpu_quota_resources(handle)
        self.namespaces: dict[str, k8s.core.v1.Namespace] = {}
        for ns in args.namespaces:
            self.namespaces[ns.name] = self._namespace(name, scope, handle, ns, gpu_resources, args)
        self.register_outputs({"namespaces": sorted(self.namespaces)})

    def _namespace(self, name: str, scope: Scope, handle: ClusterHandle, ns: ServingNamespace,
                   gpu_resources: Sequence[str], args: ServingArgs) -> k8s.core.v1.Namespace:
        base = f"{name}-{ns.name}"
        team = {TEAM_LABEL: ns.team}
        namespace = k8s.core.v1.Namespace(
            f"{base}-namespace",
            metadata={"name": ns.name, "labels": namespace_labels(ns.pod_security, handle.kubernetes_version, {SERVING_LABEL: "true", **team})},
            opts=scope.opts(),
        )
        k8s.core.v1.ResourceQuota(
            f"{base}-quota",
            metadata=metadata("compute", ns.name, "serving", "quota", team),
            spec={"hard": quota_hard(ns, gpu_resources)},
            opts=scope.opts(namespace),
        )
        k8s.core.v1.LimitRange(
            f"{base}-limits",
            metadata=metadata("defaults", ns.name, "serving", "quota", team),
            spec={"limits": [{"type": "Container", "default": dict(DEFAULT_LIMITS), "defaultRequest": dict(DEFAULT_REQUESTS)}]},
            opts=scope.opts(namespace),
        )
        for policy, spec in network_policies(ns, args.ingress_namespace, args.monitoring_namespace).items():
            k8s.networking.v1.NetworkPolicy(
                f"{base}-{policy}",
                metadata=metadata(policy, ns.name, "serving", "network", team),
                spec=spec,
                opts=scope.opts(namespace),
            )
        k8s.core.v1.ServiceAccount(
            f"{base}-workload",
            metadata=metadata(WORKLOAD_SERVICE_ACCOUNT, ns.name, "serving", "identity", team),
            automount_service_account_token=False,  # opt in per pod when a workload needs the API
            opts=scope.opts(namespace),
        )
        k8s.rbac.v1.RoleBinding(
            f"{base}-team-edit",
            metadata=metadata("team-edit", ns.name, "serving", "identity", team),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": ns.group}],
            opts=scope.opts(namespace),
        )
        return namespace

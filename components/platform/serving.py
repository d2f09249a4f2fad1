"""Serving namespaces, one per team from config, each fenced in:

- Pod Security Admission: `restricted` by default (`baseline` where configured), audit
  and warn always at restricted;
- a ResourceQuota with the team's GPUs (`requests.nvidia.com/gpu`), CPU and memory requests,
  and a LimitRange giving containers default requests (no default limit: see below);
- NetworkPolicies: deny everything, then allow DNS, traffic inside the namespace, ingress
  from the monitoring and ingress namespaces, and the egress the namespace chose;
- a ServiceAccount for workloads, and the team's identity-provider group bound to the
  `ml-team` ClusterRole: everything `edit` allows on workloads, but only read access to the
  namespace's fences (NetworkPolicies, ResourceQuotas, LimitRanges).

`ml-team` is an aggregated ClusterRole: it holds no rules of its own, and Kubernetes'
clusterrole-aggregation controller (kube-controller-manager) writes into it the rules of
every ClusterRole labelled `TEAM_AGGREGATE_LABEL`: `ml-team-core` here (the rules below),
and the role each enabled workload part adds for its own APIs (`workloads/`). The rules of
`ml-team` are left out of what Pulumi applies, so the controller's stay (server-side apply:
a field the program does not send is not claimed).

Plus two cluster-wide PriorityClasses: serving (high) and batch (low, preemptible).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from ..config import ServingNamespace
from ..conventions import GPU_RESOURCE
from ..handle import ClusterHandle, EgressRule
from .common import (
    MONITORING_NAMESPACE,
    NAMESPACE_NAME_LABEL,
    READ_VERBS,
    QUEUED_NAMESPACE_LABEL,
    SERVING_LABEL,
    TEAM_AGGREGATE_LABEL,
    TEAM_LABEL,
    WRITE_VERBS,
    Scope,
    metadata,
    namespace_labels,
    sorted_dict,
    team_rules_metadata,
)

SERVING_PRIORITY = "ml-serving-high"
BATCH_PRIORITY = "ml-batch-low"
# Notebook servers (JupyterHub sets it on each one): above batch, below serving; they never
# preempt, since Kueue keeps their GPUs free (queueing.reservedGpus).
NOTEBOOK_PRIORITY = "ml-notebook"
NOTEBOOK_PRIORITY_VALUE = 1000
# The pods that run outside Kueue on the team's reserved share: a second ResourceQuota,
# scoped to these priority classes (ResourceQuota scopeSelector PriorityClass In), holds
# them to that share, so they cannot take what Kueue admits jobs against.
OUTSIDE_QUEUE_PRIORITIES = (SERVING_PRIORITY, NOTEBOOK_PRIORITY)
OUTSIDE_QUEUE_QUOTA = "outside-queue"
SERVING_PRIORITY_VALUE = 100000
# Below the default 0, so any ordinary pod may preempt batch work; above -10, Cluster
# Autoscaler's default cutoff for "expendable" pods, so batch pods still get nodes.
BATCH_PRIORITY_VALUE = -5
WORKLOAD_SERVICE_ACCOUNT = "workload"
# Only default *requests*. Kubernetes' LimitRanger admission fills a container's missing
# limits from `default` and its missing requests from `defaultRequest` (or, when unset, from
# the limit), then validation rejects a container whose request exceeds its limit: a
# `default` memory limit of 1Gi rejected every pod that asked for 2Gi with no limit of its
# own (Kubernetes docs, "Limit Ranges": a container that requests more than the default
# limit is not admitted). So no default limit, and the quota caps requests, not limits
# (a quota on limits.memory would make every pod state a limit).
DEFAULT_REQUESTS = {"cpu": "100m", "memory": "256Mi"}
TEAM_ROLE = "ml-team"  # aggregated: what the namespaces' RoleBindings reference
TEAM_CORE_ROLE = "ml-team-core"  # TEAM_RULES, labelled into TEAM_ROLE
# What a team may write in its namespace: the workload and config kinds of the built-in
# `edit` role (kubernetes/pkg/apis/rbac bootstrappolicy), minus the fences the platform owns.
TEAM_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "configmaps", "secrets",
                                      "services", "services/proxy", "persistentvolumeclaims", "serviceaccounts", "endpoints",
                                      "replicationcontrollers", "replicationcontrollers/scale"], "verbs": READ_VERBS + WRITE_VERBS},
    {"apiGroups": [""], "resources": ["pods/log", "pods/status", "events", "resourcequotas", "resourcequotas/status", "limitranges",
                                      "namespaces", "namespaces/status", "bindings", "replicationcontrollers/status"], "verbs": READ_VERBS},
    {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale", "deployments/rollback", "statefulsets", "statefulsets/scale",
                                          "replicasets", "replicasets/scale", "daemonsets", "controllerrevisions"], "verbs": READ_VERBS + WRITE_VERBS},
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": READ_VERBS + WRITE_VERBS},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": READ_VERBS + WRITE_VERBS},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": READ_VERBS + WRITE_VERBS},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": READ_VERBS + WRITE_VERBS},
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": READ_VERBS},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ_VERBS},
    {"apiGroups": ["monitoring.coreos.com"], "resources": ["servicemonitors", "podmonitors", "prometheusrules"], "verbs": READ_VERBS + WRITE_VERBS},
]


@dataclass(frozen=True)
class ServingArgs:
    handle: ClusterHandle
    namespaces: Sequence[ServingNamespace] = ()
    ingress_namespace: str = "ingress"
    monitoring_namespace: str = MONITORING_NAMESPACE
    # Per namespace: annotations binding its `workload` ServiceAccount to a cloud identity.
    workload_annotations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # With queueing: per namespace, the share held outside Kueue (GPUs, and the CPU and
    # memory that go with them); None: no queueing, one quota for everything.
    outside_queue: Optional[Mapping[str, "OutsideQueueShare"]] = None


@dataclass(frozen=True)
class OutsideQueueShare:
    gpus: int
    cpu: Optional[str] = None  # None: CPU and memory are not split (no reserved GPUs)
    memory: Optional[str] = None


def outside_queue_quota(share: OutsideQueueShare, gpu_resources: Sequence[str]) -> dict[str, Any]:
    """The ResourceQuota spec holding pods of the serving and notebook classes to the share."""
    hard = {f"requests.{r}": str(share.gpus) for r in gpu_resources}
    if share.cpu is not None and share.memory is not None:
        hard.update({"requests.cpu": share.cpu, "requests.memory": share.memory})
    return {
        "hard": sorted_dict(hard),
        "scopeSelector": {"matchExpressions": [
            {"scopeName": "PriorityClass", "operator": "In", "values": list(OUTSIDE_QUEUE_PRIORITIES)},
        ]},
    }


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
    }
    # Quota on extended resources exists only for requests (Kubernetes sets limit = request).
    for resource in gpu_resources:
        hard[f"requests.{resource}"] = str(ns.gpus)
    return sorted_dict(hard)


def _egress_peer(rule: EgressRule) -> dict[str, Any]:
    block: dict[str, Any] = {"cidr": rule.cidr}
    if rule.except_cidrs:
        block["except"] = list(rule.except_cidrs)
    return {"to": [{"ipBlock": block}], "ports": [{"port": rule.port, "protocol": rule.protocol}]}


def identity_rule(endpoint: str) -> EgressRule:
    host, port = endpoint.rsplit(":", 1)
    return EgressRule(f"{host}/32", int(port))


def egress_policies(ns: ServingNamespace, handle: ClusterHandle) -> dict[str, dict[str, Any]]:
    """The egress a namespace chose, beyond DNS and its own pods."""
    if ns.egress == "none":
        return {}
    if ns.egress == "internet":
        return {"allow-egress-internet": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}}
    rules = [*((identity_rule(handle.identity_endpoint),) if handle.identity_endpoint else ()), *handle.object_storage_egress]
    return {"allow-egress-cloud-apis": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [_egress_peer(r) for r in rules]}}


def network_policies(ns: ServingNamespace, ingress_namespace: str, monitoring_namespace: str,
                     handle: Optional[ClusterHandle] = None) -> dict[str, dict[str, Any]]:
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
        **(egress_policies(ns, handle) if handle is not None else {}),
    }


class Serving(pulumi.ComponentResource):
    """`.namespaces`: the Namespace resources by name."""

    def __init__(self, name: str, args: ServingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:platform:Serving", name, None, opts)
        handle = args.handle
        scope = Scope(handle, self, tuple(handle.ready))

        # (resource suffix, class, value, preemption policy, component, description)
        classes = (
            ("serving", SERVING_PRIORITY, SERVING_PRIORITY_VALUE, "PreemptLowerPriority", "serving",
             "Online model serving: scheduled first, may preempt batch work."),
            ("batch", BATCH_PRIORITY, BATCH_PRIORITY_VALUE, "Never", "batch",
             "Training and batch jobs: preemptible, never preempt others."),
            ("notebook", NOTEBOOK_PRIORITY, NOTEBOOK_PRIORITY_VALUE, "Never", "notebooks",
             "Notebook servers: on the team's reserved GPUs, never preempt."),
        )
        for suffix, class_name, value, policy, component, description in classes:
            k8s.scheduling.v1.PriorityClass(
                f"{name}-priority-{suffix}",
                metadata=metadata(class_name, app="scheduling", component=component),
                value=value,
                global_default=False,
                preemption_policy=policy,
                description=description,
                opts=scope.opts(),
            )

        gpu_resources = gpu_quota_resources(handle)
        self.team_role = None
        if args.namespaces:
            core = k8s.rbac.v1.ClusterRole(
                f"{name}-team-core-role",
                metadata=team_rules_metadata(TEAM_CORE_ROLE, "serving"),
                rules=TEAM_RULES,
                opts=scope.opts(),
            )
            # No `rules`: the aggregation controller owns them. Created after the core role,
            # so that a stack whose `ml-team` still carried the rules itself is never left
            # with an empty role for longer than the controller takes to fill it.
            self.team_role = k8s.rbac.v1.ClusterRole(
                f"{name}-team-role",
                metadata=metadata(TEAM_ROLE, app="serving", component="identity"),
                aggregation_rule={"clusterRoleSelectors": [{"matchLabels": {TEAM_AGGREGATE_LABEL: "true"}}]},
                opts=scope.opts(core),
            )
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
            metadata={"name": ns.name, "labels": namespace_labels(ns.pod_security, handle.kubernetes_version, {SERVING_LABEL: "true", QUEUED_NAMESPACE_LABEL: "true", **team})},
            opts=scope.opts(),
        )
        k8s.core.v1.ResourceQuota(
            f"{base}-quota",
            metadata=metadata("compute", ns.name, "serving", "quota", team),
            spec={"hard": quota_hard(ns, gpu_resources)},
            opts=scope.opts(namespace),
        )
        share = (args.outside_queue or {}).get(ns.name)
        if share is not None:
            k8s.core.v1.ResourceQuota(
                f"{base}-outside-queue-quota",
                metadata=metadata(OUTSIDE_QUEUE_QUOTA, ns.name, "serving", "quota", team),
                spec=outside_queue_quota(share, gpu_resources),
                opts=scope.opts(namespace),
            )
        k8s.core.v1.LimitRange(
            f"{base}-limits",
            metadata=metadata("defaults", ns.name, "serving", "quota", team),
            spec={"limits": [{"type": "Container", "defaultRequest": dict(DEFAULT_REQUESTS)}]},
            opts=scope.opts(namespace),
        )
        for policy, spec in network_policies(ns, args.ingress_namespace, args.monitoring_namespace, handle).items():
            k8s.networking.v1.NetworkPolicy(
                f"{base}-{policy}",
                metadata=metadata(policy, ns.name, "serving", "network", team),
                spec=spec,
                opts=scope.opts(namespace),
            )
        k8s.core.v1.ServiceAccount(
            f"{base}-workload",
            metadata=metadata(WORKLOAD_SERVICE_ACCOUNT, ns.name, "serving", "identity", team, args.workload_annotations.get(ns.name)),
            automount_service_account_token=False,  # opt in per pod when a workload needs the API
            opts=scope.opts(namespace),
        )
        k8s.rbac.v1.RoleBinding(
            f"{base}-team",
            metadata=metadata("team", ns.name, "serving", "identity", team),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": TEAM_ROLE},
            subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": ns.group}],
            # Was `<ns>-team-edit` bound to `edit`: the same binding, renamed.
            opts=pulumi.ResourceOptions.merge(scope.opts(namespace, self.team_role), pulumi.ResourceOptions(aliases=[pulumi.Alias(name=f"{base}-team-edit")])),
        )
        return namespace

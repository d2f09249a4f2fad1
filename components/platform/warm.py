"""Warm GPU nodes: per GPU pool with `warmNodes: N`, N placeholder pods that each hold a whole
node of the pool, so the pool keeps N nodes up with their GPUs reported and the serving image
pulled, and the first pods that need the pool start at once instead of after a cold start.

The chain a user's pod goes through, each step with the upstream fact it relies on:
1. The placeholders run at priority WARM_PRIORITY_VALUE (a PriorityClass, preemptionPolicy
   Never, never the default). Below 0, so a pod with no class (priority 0) or the serving
   class (ml-serving-high) preempts them: kube-scheduler's preemption (Kubernetes docs, "Pod
   Priority and Preemption") evicts lower-priority pods from a node when that lets a pending
   pod with `preemptionPolicy: PreemptLowerPriority` (the default) fit there. The placeholder
   asks for every GPU the node advertises, so one eviction frees the whole node.
2. The evicted placeholder is recreated by its Deployment and is Pending: no node of the pool
   has room. Its priority is not below Cluster Autoscaler's `--expendable-pods-priority-cutoff`
   (default -10, kubernetes/autoscaler cluster-autoscaler config/flags/flags.go; a pod is
   expendable when its priority is strictly below the cutoff, core/utils/expendable.go
   IsExpendablePod; both read in the public source, unchanged across recent releases, not
   diffed against the pinned 1.34/1.35 tags), so the autoscaler starts a node for it: a fresh warm node. GKE's and
   AKS's managed autoscalers keep the same default; this program sets no other cutoff. The
   user's pod, which names the node it preempts on (nominatedNodeName), is not one the
   autoscaler scales up for (FilterOutExpendableAndSplit: "waiting for lower priority pods
   preemption"). Karpenter (kubernetes-sigs/karpenter pkg/utils/pod/scheduling.go
   IsProvisionable, under karpenter-provider-aws v1.14.1) provisions for every unschedulable
   pod whatever its priority, except one that is preempting: the same chain on Karpenter pools.
3. A warm node is never taken away as idle: Cluster Autoscaler counts a GPU node's utilization
   by its GPUs (all requested), and Karpenter's `WhenEmpty` consolidation (the GPU NodePools',
   components/clouds/aws/capacity.py) removes only nodes without workload pods; the
   placeholder is one.

Only pods that may preempt benefit: the batch and notebook classes (ml-batch-low,
ml-notebook) have `preemptionPolicy: Never` by design (they never evict anyone), so they wait
for a fresh node as before, and at the pool's `maxNodes` they cannot use the nodes the
placeholders hold (docs/platform.md#warm-gpu-nodes).

The placeholders live in the platform namespace `gpu-warm` (Pod Security restricted, deny all
traffic): Kueue manages no job there (its managedJobsNamespaceSelector selects the queued team
namespaces, and it integrates no plain pods or Deployments), and no team's ResourceQuota counts
them. `pulumi up` does not wait for their rollout (`pulumi.com/skipAwait`): a GPU node's boot
is the autoscaler's business, not the deployment's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from .. import catalog
from ..catalog import timings
from ..conventions import POOL_LABEL, gpu_resources
from ..handle import ClusterHandle, GpuPoolFacts
from .common import Scope, checkov_skips, container_security, gpu_tolerations, labels, metadata, namespace_labels, sorted_dict
from .workloads.queueing import pool_resource

WARM_NAMESPACE = "gpu-warm"
WARM_PRIORITY = "ml-gpu-warm"
# Cluster Autoscaler's default --expendable-pods-priority-cutoff: pods strictly below it never
# cause a scale-up (see the module docstring).
CA_EXPENDABLE_CUTOFF = -10
# Below every workload class (the lowest, ml-batch-low, is -5: components/platform/serving.py),
# not below the cutoff: the placeholder yields to everyone and still gets a node.
WARM_PRIORITY_VALUE = -9
APP = "gpu-warm"
# The image the cold-start estimate assumes (timings.COLD_START_IMAGE), pre-pulled onto each warm node.
IMAGE_KEY = timings.COLD_START_IMAGE
# nobody: the placeholder only sleeps.
RUN_AS = 65534
# Not the DaemonSet-free pause container: the point is the serving image on the node's disk.
COMMAND = ["sleep", "infinity"]

CHECKOV_SKIPS = {
    "CKV_K8S_8": "a placeholder that only sleeps: nothing to probe",
    "CKV_K8S_9": "a placeholder that only sleeps: nothing to probe",
    "CKV_K8S_15": "IfNotPresent: the image cached on the node is the point of the placeholder",
    "CKV_K8S_43": "the serving image is pinned by tag where no public source gives a digest (TAG_ONLY_IMAGES)",
}


def expendable(priority: int, cutoff: int = CA_EXPENDABLE_CUTOFF) -> bool:
    """Cluster Autoscaler's reading of a pending pod's priority: True when it never causes a
    scale-up (IsExpendablePod: priority strictly below the cutoff)."""
    return priority < cutoff


def warm_pools(handle: ClusterHandle) -> list[GpuPoolFacts]:
    return [f for f in handle.gpu_pools if f.pool.warm_nodes > 0]


def node_gpus(facts: GpuPoolFacts, handle: ClusterHandle) -> dict[str, str]:
    """What one node of the pool advertises, as the resource a pod requests it by: its GPUs,
    or, with sharing, the time-sliced replicas or MIG slices of all of them."""
    itype = catalog.instance_type(handle.cloud, facts.pool.instance_type)
    assert itype is not None, facts.pool.instance_type  # config validation checked it
    (count,) = gpu_resources(facts.pool, itype).values()
    return {pool_resource(facts, handle): count}


def priority_class() -> dict[str, Any]:
    return {
        "metadata": metadata(WARM_PRIORITY, app="scheduling", component="gpu-warm"),
        "value": WARM_PRIORITY_VALUE,
        "global_default": False,
        "preemption_policy": "Never",
        "description": "Warm GPU node placeholders: any pod that may preempt evicts them; still scaled up for.",
    }


def network_policy() -> dict[str, Any]:
    """The placeholders talk to nothing and nothing to them."""
    return {
        "metadata": metadata("default-deny", WARM_NAMESPACE, APP, "gpu-warm"),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def deployment(facts: GpuPoolFacts, handle: ClusterHandle) -> dict[str, Any]:
    pool = facts.pool
    name = f"warm-{pool.name}"
    pod_labels = labels(APP, "gpu-warm", {POOL_LABEL: pool.name})
    gpus = node_gpus(facts, handle)
    container = {
        "name": "placeholder",
        "image": catalog.IMAGES[IMAGE_KEY],
        "imagePullPolicy": "IfNotPresent",
        "command": COMMAND,
        "resources": {
            "limits": {"cpu": "10m", "memory": "16Mi", **gpus},
            "requests": {"cpu": "10m", "memory": "16Mi", **gpus},
        },
        "securityContext": container_security(),
    }
    spec = {
        "automountServiceAccountToken": False,
        "containers": [container],
        "enableServiceLinks": False,
        # The pool's own nodes: its portable label, and what its capacity needs selected (GKE ComputeClass).
        "nodeSelector": sorted_dict({POOL_LABEL: pool.name, **facts.placement_labels}),
        "priorityClassName": WARM_PRIORITY,
        "securityContext": {"runAsGroup": RUN_AS, "runAsNonRoot": True, "runAsUser": RUN_AS,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        # Evicted for a user's pod: gone at once (sleep ignores SIGTERM), the node free for it.
        "terminationGracePeriodSeconds": 0,
        "tolerations": gpu_tolerations(handle),
    }
    return {
        "metadata": metadata(name, WARM_NAMESPACE, APP, "gpu-warm", extra_labels={POOL_LABEL: pool.name},
                             annotations={"pulumi.com/skipAwait": "true", **checkov_skips(CHECKOV_SKIPS)}),
        "spec": {
            "replicas": pool.warm_nodes,
            "selector": {"matchLabels": {"app.kubernetes.io/name": APP, POOL_LABEL: pool.name}},
            # A new image (a catalog bump) replaces placeholders one node at a time.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            "template": {"metadata": {"labels": pod_labels}, "spec": spec},
        },
    }


@dataclass(frozen=True)
class WarmArgs:
    handle: ClusterHandle


class Warm(pulumi.ComponentResource):
    """`.namespace`, `.priority_class`, `.deployments` (pool name -> Deployment)."""

    def __init__(self, name: str, args: WarmArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:platform:Warm", name, None, opts)
        handle = args.handle
        scope = Scope(handle, self, tuple(handle.ready))
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": WARM_NAMESPACE, "labels": namespace_labels("restricted", handle.kubernetes_version)},
            opts=scope.opts(),
        )
        self.network_policy = k8s.networking.v1.NetworkPolicy(f"{name}-default-deny", **network_policy(), opts=scope.opts(self.namespace))
        self.priority_class = k8s.scheduling.v1.PriorityClass(f"{name}-priority", **priority_class(), opts=scope.opts())
        self.deployments: dict[str, k8s.apps.v1.Deployment] = {}
        for facts in warm_pools(handle):
            self.deployments[facts.pool.name] = k8s.apps.v1.Deployment(
                f"{name}-{facts.pool.name}", **deployment(facts, handle),
                opts=scope.opts(self.namespace, self.network_policy, self.priority_class),
            )
        self.register_outputs({})


__all__ = ["Warm", "WarmArgs", "WARM_NAMESPACE", "WARM_PRIORITY", "warm_pools"]

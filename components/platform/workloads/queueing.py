"""Kueue: GPU job queues per team.

- one ResourceFlavor per GPU pool, carrying the pool's portable labels (Kueue turns them
  into the admitted pods' nodeSelector), the GPU taint its nodes have, and the toleration
  Kueue adds to the pods it admits there; plus one flavor without labels for CPU and memory;
- one ClusterQueue per team, all in one cohort with fair sharing: the team's guaranteed
  GPUs per pool are its namespaces' GPU quota less what it reserves outside Kueue for model
  servers and notebooks (`reservedGpus`), own pools first; it may borrow what other teams
  leave idle (up to `borrowingLimit`), which they reclaim by preemption for their own
  queued jobs;
- with TPU slice pools (handle.tpu_pools): a ResourceFlavor per pool selecting its slice
  (the pool label and the cloud's slice labels) with the TPU taint and toleration, and in
  every ClusterQueue a group covering the chips (google.com/tpu): the team's own chips per
  pool, the rest of the cohort's borrowable;
- a LocalQueue named `default` in each team namespace: jobs carry the label
  `kueue.x-k8s.io/queue-name: default`, and Kueue sets it on a Job, JobSet or TrainJob
  created there without one (Kueue's default-LocalQueue name).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import yaml

from ...config import ServingNamespace
from ...conventions import GPU_TAINT, POOL_LABEL, GPU_MODEL_LABEL
from ...handle import ClusterHandle, GpuPoolFacts, TpuPoolFacts
from ..common import QUEUED_NAMESPACE_LABEL, READ_VERBS, TEAM_LABEL, gpu_tolerations, sorted_dict
from ..serving import OutsideQueueShare, gpu_quota_resources
from ..common import system_placement
from ...config.queue_plan import TeamQueuePlan, reserved_gpus, sum_quantities
from .releases import image_parts

NAMESPACE = "kueue-system"
API_VERSION = "kueue.x-k8s.io/v1beta2"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
LOCAL_QUEUE = "default"
CPU_FLAVOR = "default-cpu"
# Ports the API server must reach on the controller's pods (chart values / templates at
# v0.19.2): the admission webhooks (webhookService targetPort 9443) and the visibility API,
# an aggregated APIService whose Service targets 8082.
WEBHOOK_PORT = 9443
VISIBILITY_PORT = 8082
# The chart's default manager requests (values.yaml controllerManager.manager.resources).
REQUESTS = {"cpu": "500m", "memory": "512Mi"}
# Job kinds Kueue manages here: plain Jobs (sweeps), JobSets and Trainer v2 TrainJobs.
FRAMEWORKS = ("batch/job", "jobset.x-k8s.io/jobset", "trainer.kubeflow.org/trainjob")
# Resources Kueue lets through without a quota check. At v0.19.2 Kueue checks every
# resource a workload requests against the ClusterQueue (resources.quotaCheckStrategy
# defaults to BlockUndeclared, apis/config/v1beta2/configuration_types.go) and leaves a job
# that asks for an uncovered one pending for ever. Node-local disk and hugepages are bounded
# by the node and, for disk, the LimitRange; they are not a shared budget worth queueing on.
# The GPU-fabric devices are covered instead (fabric_resources): a job that asks for them
# fits only the flavors of the pools that have them, so Kueue places it on a fabric pool.
EXCLUDED_RESOURCE_PREFIXES = ("ephemeral-storage", "hugepages-")
# Two controller replicas (leader election picks the active one) behind a disruption budget:
# Kueue's Job, JobSet and TrainJob webhooks fail closed in team namespaces (chart
# webhook/manifests.yaml failurePolicy: Fail), so with one replica a node drain stops every
# job creation there, including the JobSet controller's child Jobs of running TrainJobs.
REPLICAS = 2
# What a team gets in its namespaces (aggregated into `ml-team`): Kueue's own batch-user
# role at v0.19.2 (charts/kueue/templates/rbac/batch_user_role.yaml aggregates the
# workload, localqueue and pending-workloads-lq viewer roles): read Workloads and
# LocalQueues and their status, and a LocalQueue's pending workloads from the visibility
# API, which this release serves (feature gate VisibilityOnDemand, beta and on by default
# since 0.9, pkg/features/kube_features.go; the chart always registers the APIService).
# The job kinds come from the parts that install them (batch Jobs from the core role).
# No ClusterQueues: cluster-scoped, and batch-user leaves them to batch-admin; a team
# sees its queue through its LocalQueue's status.
TEAM_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["kueue.x-k8s.io"], "resources": ["localqueues", "workloads"], "verbs": READ_VERBS},
    {"apiGroups": ["kueue.x-k8s.io"], "resources": ["localqueues/status", "workloads/status"], "verbs": ["get"]},
    {"apiGroups": ["visibility.kueue.x-k8s.io"], "resources": ["localqueues/pendingworkloads"], "verbs": READ_VERBS},
]


def flavor_name(pool: str) -> str:
    return f"gpu-{pool}"


def pool_resource(facts: GpuPoolFacts, handle: ClusterHandle) -> str:
    """The extended resource a pool's GPUs are requested as (a mixed-MIG pool advertises its slices)."""
    mig = facts.pool.sharing.mig if facts.pool.sharing else None
    if mig is not None and mig.strategy == "mixed" and not handle.cloud_manages_device_plugin:
        return f"nvidia.com/mig-{mig.profile}"
    return "nvidia.com/gpu"


def fabric_resources(pools: Sequence[GpuPoolFacts]) -> list[str]:
    """The fabric devices pods request on any pool (e.g. vpc.amazonaws.com/efa), sorted."""
    return sorted({r for f in pools if f.fabric is not None for r in f.fabric.resources})


def fabric_quota(facts: GpuPoolFacts, resource: str, gpus: int) -> int:
    """The fabric devices that go with `gpus` of the pool's GPUs: a node's devices per node's
    GPUs, rounded up (p4d has 4 EFA interfaces for 8 GPUs), so the GPU quota binds first."""
    per_node = facts.fabric.resources.get(resource, 0) if facts.fabric is not None else 0
    return math.ceil(gpus * per_node / max(1, facts.gpus_per_node))


def manager_config() -> str:
    """The controller's Configuration (config.kueue.x-k8s.io/v1beta2): the chart's defaults
    for probes, metrics, webhook and leader election, plus fair sharing and our frameworks."""
    config = {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": ":8081"},
        "metrics": {"bindAddress": ":8443"},
        "webhook": {"port": WEBHOOK_PORT},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        "clientConnection": {"qps": 300, "burst": 500},
        "integrations": {"frameworks": list(FRAMEWORKS)},
        "resources": {"excludeResourcePrefixes": list(EXCLUDED_RESOURCE_PREFIXES)},
        # Kueue acts in team namespaces (and the NCCL acceptance namespace) only: at v0.19.2
        # its job reconciler skips every job elsewhere (pkg/controller/jobframework/reconciler.go).
        # There, its webhook gives a Job, JobSet or TrainJob created without a queue label
        # the namespace's LocalQueue `default` (pkg/controller/jobframework/defaults.go), so
        # no GPU job in a team namespace skips the queue.
        "managedJobsNamespaceSelector": {"matchLabels": {QUEUED_NAMESPACE_LABEL: "true"}},
        # v1beta2 turns fair sharing on by the block's presence (cmd/kueue/main.go).
        "fairSharing": {"preemptionStrategies": ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]},
        # A job whose pods are not all ready within the timeout (a gang that cannot start)
        # is evicted and requeued instead of holding quota. 30 minutes covers a GPU pool
        # scaling up from zero and pulling multi-GB images.
        "waitForPodsReady": {"timeout": "30m", "blockAdmission": False,
                             "requeuingStrategy": {"timestamp": "Eviction", "backoffBaseSeconds": 60, "backoffMaxSeconds": 3600}},
    }
    return yaml.safe_dump(config, sort_keys=True)


def release_values(handle: ClusterHandle) -> dict[str, Any]:
    repository, tag = image_parts("kueue")
    return {
        "fullnameOverride": "kueue",
        "enablePrometheus": False,
        "enableCertManager": False,  # Kueue manages its own webhook certificate
        "controllerManager": {
            "manager": {
                "image": {"repository": repository, "tag": tag, "pullPolicy": "IfNotPresent"},
                "resources": {"requests": dict(REQUESTS), "limits": {"cpu": "2", "memory": "512Mi"}},
            },
            **system_placement(handle),
            "replicas": REPLICAS,
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            # Spread the replicas over system nodes where there are several.
            "topologySpreadConstraints": [{
                "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"control-plane": "controller-manager"}},
            }],
        },
        "managerConfig": {"controllerManagerConfigYaml": manager_config()},
    }


def resource_flavor(facts: GpuPoolFacts, handle: ClusterHandle) -> dict[str, Any]:
    """CustomResource keyword arguments of the pool's ResourceFlavor. The labels the pool's
    capacity needs selected (a GKE ComputeClass) join the portable ones."""
    labels = {k: v for k, v in facts.node_labels.items() if k in (POOL_LABEL, GPU_MODEL_LABEL)}
    labels.update(facts.placement_labels)
    return {
        "api_version": API_VERSION,
        "kind": "ResourceFlavor",
        "metadata": {"name": flavor_name(facts.pool.name), "labels": {POOL_LABEL: facts.pool.name}},
        "spec": {
            "nodeLabels": sorted_dict(labels),
            "nodeTaints": [{"key": GPU_TAINT.key, "value": GPU_TAINT.value, "effect": GPU_TAINT.effect}],
            "tolerations": [GPU_TAINT.toleration(), *gpu_tolerations(handle)[1:]],
        },
    }


def tpu_flavor_name(pool: str) -> str:
    return f"tpu-{pool}"


def tpu_resource_flavor(facts: TpuPoolFacts) -> dict[str, Any]:
    """The TPU pool's ResourceFlavor: its nodes' labels (the pool and the cloud's slice labels,
    which Kueue adds to an admitted pod's nodeSelector), the TPU taint its nodes carry, and the
    toleration Kueue adds to the pods it admits there."""
    taint = facts.taint
    return {
        "api_version": API_VERSION,
        "kind": "ResourceFlavor",
        "metadata": {"name": tpu_flavor_name(facts.pool), "labels": {POOL_LABEL: facts.pool}},
        "spec": {
            "nodeLabels": sorted_dict(facts.node_labels),
            "nodeTaints": [{"key": taint.key, "value": taint.value, "effect": taint.effect}],
            "tolerations": [taint.toleration()],
        },
    }


def admission_check_name(facts: GpuPoolFacts) -> str:
    return f"{flavor_name(facts.pool.name)}-provisioning"


def provisioning_request_config(facts: GpuPoolFacts) -> dict[str, Any]:
    """The ProvisioningRequestConfig (kueue.x-k8s.io/v1beta2 @ v0.19.2,
    apis/kueue/v1beta2/provisioningrequestconfig_types.go) of a pool whose nodes come through
    the cloud's ProvisioningRequest class: Kueue asks for the GPU pod sets of an admitted-to-be
    job (managedResources nvidia.com/gpu) and retries a failed request with its defaults
    (3 times, 60 s doubling to 1800 s)."""
    assert facts.provisioning_class is not None
    return {
        "api_version": API_VERSION,
        "kind": "ProvisioningRequestConfig",
        "metadata": {"name": admission_check_name(facts), "labels": {POOL_LABEL: facts.pool.name}},
        "spec": {"provisioningClassName": facts.provisioning_class, "managedResources": ["nvidia.com/gpu"]},
    }


def admission_check(facts: GpuPoolFacts) -> dict[str, Any]:
    """The pool's AdmissionCheck: Kueue's built-in provisioning controller
    (ProvisioningRequestControllerName `kueue.x-k8s.io/provisioning-request`,
    provisioningrequestconfig_types.go @ v0.19.2) with the pool's config as parameters."""
    return {
        "api_version": API_VERSION,
        "kind": "AdmissionCheck",
        "metadata": {"name": admission_check_name(facts), "labels": {POOL_LABEL: facts.pool.name}},
        "spec": {
            "controllerName": "kueue.x-k8s.io/provisioning-request",
            "parameters": {"apiGroup": "kueue.x-k8s.io", "kind": "ProvisioningRequestConfig", "name": admission_check_name(facts)},
        },
    }


def tpu_resource_group(plan: TeamQueuePlan, pools: Sequence[TpuPoolFacts]) -> dict[str, Any]:
    """The ClusterQueue's TPU group: chips per TPU pool (own pools first), borrowable up to what
    the rest of the cohort holds there. A multi-host job asks for a whole slice, so a team
    whose own share is smaller runs it on chips it borrows."""
    resource = pools[0].resource
    indexed = list(enumerate(pools))
    ordered = [f for _, f in sorted(indexed, key=lambda item: (-plan.tpus_per_pool.get(item[1].pool, 0), item[0]))]
    return {
        "coveredResources": [resource],
        "flavors": [{"name": tpu_flavor_name(f.pool), "resources": [{
            "name": resource,
            "nominalQuota": str(plan.tpus_per_pool.get(f.pool, 0)),
            "borrowingLimit": str(plan.tpu_borrowing_per_pool.get(f.pool, 0)),
        }]} for f in ordered],
    }


def cpu_flavor() -> dict[str, Any]:
    return {"api_version": API_VERSION, "kind": "ResourceFlavor", "metadata": {"name": CPU_FLAVOR}, "spec": {}}


def cluster_queue(plan: TeamQueuePlan, cohort: str, handle: ClusterHandle) -> dict[str, Any]:
    """The team's ClusterQueue: CPU and memory as its namespaces' quota (not borrowed: the
    namespaces' ResourceQuota caps them anyway), GPUs per pool plus what it may borrow."""
    groups: list[dict[str, Any]] = [{
        "coveredResources": ["cpu", "memory"],
        "flavors": [{"name": CPU_FLAVOR, "resources": [
            {"name": "cpu", "nominalQuota": plan.cpu, "borrowingLimit": "0"},
            {"name": "memory", "nominalQuota": plan.memory, "borrowingLimit": "0"},
        ]}],
    }]
    gpu_resources = gpu_quota_resources(handle)
    fabric = fabric_resources(handle.gpu_pools)
    if handle.gpu_pools:
        flavors = []
        # The team's own pools first (most guaranteed GPUs first), then the ones it may only
        # borrow: Kueue tries flavors in this order (flavorassigner.go), and with
        # whenCanBorrow TryNextFlavor it moves past a flavor it would have to borrow in.
        for facts in team_flavor_order(plan, handle.gpu_pools):
            pool = facts.pool.name
            provides = pool_resource(facts, handle)
            resources = []
            for resource in gpu_resources:
                own = plan.gpus_per_pool.get(pool, 0) if resource == provides else 0
                borrow = plan.borrowing_per_pool.get(pool, 0) if resource == provides else 0
                resources.append({"name": resource, "nominalQuota": str(own), "borrowingLimit": str(borrow)})
            # The pool's fabric devices in step with its GPUs; 0 where the pool has none.
            own, borrow = plan.gpus_per_pool.get(pool, 0), plan.borrowing_per_pool.get(pool, 0)
            for resource in fabric:
                resources.append({"name": resource, "nominalQuota": str(fabric_quota(facts, resource, own)),
                                  "borrowingLimit": str(fabric_quota(facts, resource, borrow))})
            flavors.append({"name": flavor_name(pool), "resources": resources})
        groups.append({"coveredResources": [*gpu_resources, *fabric], "flavors": flavors})
    if handle.tpu_pools:
        groups.append(tpu_resource_group(plan, handle.tpu_pools))
    spec_extra: dict[str, Any] = {}
    # A pool whose nodes come through a ProvisioningRequest: its flavor admits a job only once
    # the cloud provisioned all of its nodes (admissionChecksStrategy onFlavors, v1beta2).
    checks = [{"name": admission_check_name(f), "onFlavors": [flavor_name(f.pool.name)]}
              for f in handle.gpu_pools if f.provisioning_class is not None]
    if checks:
        spec_extra["admissionChecksStrategy"] = {"admissionChecks": checks}
    return {
        "api_version": API_VERSION,
        "kind": "ClusterQueue",
        "metadata": {"name": plan.team, "labels": {TEAM_LABEL: plan.team}},
        "spec": {
            "cohortName": cohort,
            # Only the team's own namespaces may submit to its queue.
            "namespaceSelector": {"matchLabels": {TEAM_LABEL: plan.team}},
            "queueingStrategy": "BestEffortFIFO",
            # The default (whenCanBorrow MayStopSearch, clusterqueue_types.go @ v0.19.2) stops
            # at the first flavor that fits by borrowing, before the team's own pools.
            "flavorFungibility": {"whenCanBorrow": "TryNextFlavor", "whenCanPreempt": "TryNextFlavor"},
            "fairSharing": {"weight": str(plan.weight)},
            # Take back lent GPUs from borrowers; within the team, higher priority first.
            # borrowWithinCohort stays unset: Kueue forbids it together with fair sharing.
            "preemption": {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"},
            "resourceGroups": groups,
            **spec_extra,
        },
    }


def team_flavor_order(plan: TeamQueuePlan, pools: Sequence[GpuPoolFacts]) -> list[GpuPoolFacts]:
    """The GPU pools in the order Kueue should try them for `plan`'s team: own quota first."""
    indexed = list(enumerate(pools))
    return [f for _, f in sorted(indexed, key=lambda item: (-plan.gpus_per_pool.get(item[1].pool.name, 0), item[0]))]


def local_queue(namespace: str, team: str) -> dict[str, Any]:
    return {
        "api_version": API_VERSION,
        "kind": "LocalQueue",
        "metadata": {"name": LOCAL_QUEUE, "namespace": namespace, "labels": {TEAM_LABEL: team}},
        "spec": {"clusterQueue": team},
    }


def namespace_gpu_ceilings(namespaces: Sequence[ServingNamespace], plans: Sequence[TeamQueuePlan]) -> dict[str, int]:
    """The GPU ResourceQuota each team namespace needs so that what Kueue admits can start:
    everything its team may be admitted (own plus borrowed, which can all land in any one of
    its namespaces) plus the team's GPUs held outside Kueue (one namespace only)."""
    by_team = {p.team: p for p in plans}
    out = {}
    for ns in namespaces:
        plan = by_team.get(ns.team)
        out[ns.name] = ns.gpus if plan is None else sum(plan.gpus_per_pool.values()) + plan.borrowing_limit + reserved_gpus(plan)
    return out


def namespace_quotas(namespaces: Sequence[ServingNamespace], plans: Sequence[TeamQueuePlan]) -> tuple[ServingNamespace, ...]:
    """Team namespaces with quotas that agree with Kueue: GPUs as above, CPU and memory the
    team's whole (Kueue admits a job of up to the team's ClusterQueue into any one of its
    namespaces, and never consults a ResourceQuota)."""
    by_team = {p.team: p for p in plans}
    ceilings = namespace_gpu_ceilings(namespaces, plans)
    out = []
    for ns in namespaces:
        plan = by_team.get(ns.team)
        if plan is None:
            out.append(ns)
            continue
        cpu = sum_quantities([plan.cpu, plan.reserved_cpu]) if reserved_gpus(plan) else plan.cpu
        memory = sum_quantities([plan.memory, plan.reserved_memory]) if reserved_gpus(plan) else plan.memory
        update: dict = {"gpus": ceilings[ns.name], "cpu": cpu, "memory": memory}
        if plan.tpus_per_pool:
            # As for GPUs: all the team may be admitted (own and borrowed) can land in one namespace.
            update["tpus"] = sum(plan.tpus_per_pool.values()) + plan.tpu_borrowing_limit
        out.append(ns.model_copy(update=update))
    return tuple(out)


def outside_queue_shares(namespaces: Sequence[ServingNamespace], plans: Sequence[TeamQueuePlan]) -> dict[str, OutsideQueueShare]:
    """Per team namespace, what pods of the serving and notebook classes may hold."""
    by_team = {p.team: p for p in plans}
    out = {}
    for ns in namespaces:
        plan = by_team.get(ns.team)
        if plan is None:
            continue
        held = reserved_gpus(plan)
        out[ns.name] = OutsideQueueShare(held, plan.reserved_cpu, plan.reserved_memory) if held else OutsideQueueShare(0)
    return out

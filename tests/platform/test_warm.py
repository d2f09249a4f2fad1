"""Warm GPU nodes (components/platform/warm.py) on the reference stacks' cached plans, plus one
changed config (a MIG pool on EKS) for the shared-resource form.

Upstream facts each test relies on:
- kubernetes/autoscaler (cluster-autoscaler, read in the public source, not diffed against the
  pinned 1.34/1.35 tags): `--expendable-pods-priority-cutoff` defaults to -10 (config/flags/flags.go); a pod is expendable, and never causes a scale-up, when its
  priority is strictly below it (core/utils/expendable.go IsExpendablePod; a pending pod that
  names a node it preempts on is left out of scale-up, FilterOutExpendableAndSplit).
- kubernetes-sigs/karpenter pkg/utils/pod/scheduling.go IsProvisionable (the core under
  karpenter-provider-aws v1.14.1): every unschedulable pod that is not preempting, whatever its
  priority; aws/karpenter-provider-aws v1.14.1 website/content/en/v1.14/concepts/disruption.md:
  `WhenEmpty` consolidates only nodes without workload pods.
- Kubernetes "Pod Priority and Preemption": a pending pod whose class allows preemption (the
  default PreemptLowerPriority) evicts lower-priority pods from a node it then fits on;
  `preemptionPolicy: Never` pods never preempt.
- pulumi-kubernetes: the `pulumi.com/skipAwait` annotation leaves a Deployment's rollout unawaited.
- Kueue v0.19.2: its job reconciler acts only in namespaces its managedJobsNamespaceSelector
  selects, and only on the frameworks it integrates (components/platform/workloads/queueing.py).
"""

from __future__ import annotations

import pytest
import yaml

from components import catalog
from components.catalog import timings
from components.config import load
from components.config.read import raw_from_pulumi
from components.conventions import GPU_MODEL_LABEL, GPU_RESOURCE, GPU_TAINT, POOL_LABEL, gpu_resources, mig_devices_per_gpu
from components.platform import warm
from components.platform.common import QUEUED_NAMESPACE_LABEL
from components.platform.serving import BATCH_PRIORITY_VALUE, NOTEBOOK_PRIORITY_VALUE, SERVING_PRIORITY_VALUE
from components.platform.workloads.queueing import FRAMEWORKS, manager_config
from preview import engine, report
from tests.conftest import inputs, plan_for, plan_for_stack

STACKS = ("prod-aws", "prod-gcp", "prod-azure")
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NODE_POOL_TYPES = (*timings.NODE_POOL_CLOUDS,)


def config(stack: str):
    return load(raw_from_pulumi(engine.read_stack_config(stack)[0])[0])


def placeholders(plan: engine.Plan) -> dict[str, engine.PlannedResource]:
    return {r.inputs["metadata"]["labels"][POOL_LABEL]: r for r in plan.by_type(DEPLOYMENT)
            if r.inputs["metadata"].get("namespace") == warm.WARM_NAMESPACE}


def one(plan: engine.Plan, type_: str, name: str) -> engine.PlannedResource:
    """The object `name` of `type_`, in the warm namespace where it is namespaced."""
    (found,) = [r for r in plan.by_type(type_) if r.inputs["metadata"]["name"] == name
                and r.inputs["metadata"].get("namespace", warm.WARM_NAMESPACE) == warm.WARM_NAMESPACE]
    return found


@pytest.fixture(scope="module", params=STACKS)
def stack(request) -> str:
    return request.param


# --- what is created, per pool ---------------------------------------------------------------------


def test_a_placeholder_per_pool_with_warm_nodes_holding_the_whole_node(stack):
    plan, cfg = plan_for_stack(stack), config(stack)
    found = placeholders(plan)
    assert set(found) == {p.name for p in cfg.gpu_pools if p.warm_nodes}
    for pool in cfg.gpu_pools:
        if not pool.warm_nodes:
            continue
        spec = inputs(found[pool.name])["spec"]
        assert spec["replicas"] == pool.warm_nodes
        itype = catalog.instance_type(cfg.cloud, pool.instance_type)
        # The whole node as it advertises it: its GPUs, or with time-slicing replicas x GPUs.
        per_node = itype.gpus * (pool.sharing.time_slicing.replicas if pool.sharing else 1)
        (container,) = spec["template"]["spec"]["containers"]
        assert container["resources"]["requests"][GPU_RESOURCE] == str(per_node) == container["resources"]["limits"][GPU_RESOURCE]
        assert {GPU_RESOURCE: str(per_node)} == gpu_resources(pool, itype)
        # The image the cold-start estimate assumes, pulled onto the node by the placeholder.
        assert container["image"] == catalog.IMAGES[timings.COLD_START_IMAGE]
        assert container["imagePullPolicy"] == "IfNotPresent" and container["command"] == ["sleep", "infinity"]


def test_the_placeholder_lands_on_its_pool_as_kueue_places_the_pools_pods(stack):
    """It selects the pool by the portable label plus what the pool's capacity needs (a GKE
    ComputeClass): the same labels as the pool's Kueue ResourceFlavor."""
    plan = plan_for_stack(stack)
    flavors = {r.inputs["metadata"]["name"]: inputs(r)["spec"].get("nodeLabels") for r in plan.resources
               if r.type.endswith("kueue.x-k8s.io/v1beta2:ResourceFlavor")}
    for pool, deployment in placeholders(plan).items():
        pod = inputs(deployment)["spec"]["template"]["spec"]
        assert pod["nodeSelector"][POOL_LABEL] == pool
        # The flavor's labels but the GPU model, which the pool label already implies.
        assert pod["nodeSelector"] == {k: v for k, v in flavors[f"gpu-{pool}"].items() if k != GPU_MODEL_LABEL}, pool
        assert {"effect": GPU_TAINT.effect, "key": GPU_TAINT.key, "operator": "Exists"} in pod["tolerations"]


def test_the_placeholder_is_least_privilege(stack):
    for deployment in placeholders(plan_for_stack(stack)).values():
        doc = inputs(deployment)
        pod = doc["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert pod["automountServiceAccountToken"] is False and "serviceAccountName" not in pod
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] >= 10000
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                                "privileged": False, "readOnlyRootFilesystem": True}
        assert container["resources"]["requests"]["cpu"] == "10m" and container["resources"]["limits"]["memory"] == "16Mi"
        # Evicted for a user's pod: gone at once; and `pulumi up` never waits for a GPU node to boot.
        assert pod["terminationGracePeriodSeconds"] == 0
        assert doc["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"


def test_the_namespace_is_restricted_and_denies_all_traffic(stack):
    plan = plan_for_stack(stack)
    labels = inputs(one(plan, "kubernetes:core/v1:Namespace", warm.WARM_NAMESPACE))["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    policy = inputs(one(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "default-deny"))
    assert policy["metadata"]["namespace"] == warm.WARM_NAMESPACE
    assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


# --- order ----------------------------------------------------------------------------------------------


def test_placeholders_wait_for_their_namespace_fence_and_class_never_for_a_gpu_pool(stack):
    plan = plan_for_stack(stack)
    namespace = one(plan, "kubernetes:core/v1:Namespace", warm.WARM_NAMESPACE)
    fence = one(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "default-deny")
    priority = one(plan, "kubernetes:scheduling.k8s.io/v1:PriorityClass", warm.WARM_PRIORITY)
    assert namespace.urn in fence.dependencies
    gpu_pools = {r.urn for r in plan.resources if r.type in NODE_POOL_TYPES and r.name.rsplit("-", 1)[-1] != "system"}
    assert gpu_pools
    for deployment in placeholders(plan).values():
        assert {namespace.urn, fence.urn, priority.urn} <= set(deployment.dependencies)
        # The platform never waits for GPU pools (DESIGN.md, deploy order): the autoscaler brings the nodes.
        assert not gpu_pools & set(deployment.dependencies)


# --- priority: below every workload, not below the autoscaler's cutoff -----------------------------------


def test_expendable_is_strictly_below_the_cutoff():
    assert warm.expendable(warm.CA_EXPENDABLE_CUTOFF - 1) is True
    assert warm.expendable(warm.CA_EXPENDABLE_CUTOFF) is False
    assert warm.CA_EXPENDABLE_CUTOFF == -10


def test_the_class_yields_to_every_workload_and_still_gets_a_node(stack):
    doc = inputs(one(plan_for_stack(stack), "kubernetes:scheduling.k8s.io/v1:PriorityClass", warm.WARM_PRIORITY))
    assert doc["value"] == warm.WARM_PRIORITY_VALUE
    assert (doc["preemptionPolicy"], doc["globalDefault"]) == ("Never", False)
    # A pending placeholder still causes a scale-up (a fresh warm node) ...
    assert not warm.expendable(doc["value"])
    # ... and every pod preempts it: no class (0), and each workload class the platform defines.
    assert doc["value"] < min(0, BATCH_PRIORITY_VALUE, NOTEBOOK_PRIORITY_VALUE, SERVING_PRIORITY_VALUE)
    classes = [inputs(r)["value"] for r in plan_for_stack(stack).by_type("kubernetes:scheduling.k8s.io/v1:PriorityClass")
               if r.inputs["metadata"]["name"] != warm.WARM_PRIORITY]
    assert classes and all(v > doc["value"] for v in classes)


# --- nothing else counts them -----------------------------------------------------------------------------


def test_kueue_and_team_quotas_leave_the_placeholders_alone(stack):
    plan = plan_for_stack(stack)
    labels = inputs(one(plan, "kubernetes:core/v1:Namespace", warm.WARM_NAMESPACE))["metadata"]["labels"]
    selector = yaml.safe_load(manager_config())["managedJobsNamespaceSelector"]
    assert selector == {"matchLabels": {QUEUED_NAMESPACE_LABEL: "true"}} and QUEUED_NAMESPACE_LABEL not in labels
    assert not {"pod", "deployment"} & {f.rsplit("/", 1)[-1] for f in FRAMEWORKS}
    quotas = [r for r in plan.by_type("kubernetes:core/v1:ResourceQuota")]
    assert quotas and all(r.inputs["metadata"]["namespace"] != warm.WARM_NAMESPACE for r in quotas)


def test_the_policy_pack_passes_the_warm_objects(stack):
    plan = plan_for_stack(stack)
    ours = {r.urn for r in plan.resources if "-warm" in r.name}
    assert ours
    assert [v for v in report.evaluate_policies(plan, "prod") if v.urn in ours] == []


def test_stacks_without_warm_nodes_get_nothing():
    for stack in ("dev-aws", "prod-aws-dr", "staging-gcp"):
        assert not [r for r in plan_for_stack(stack).resources if "-warm" in r.name], stack


# --- a shared pool: the resource the pool advertises ------------------------------------------------------

MIG = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True},
       "gpuPools": [{"name": "a100", "instanceType": "p4d.24xlarge", "maxNodes": 2, "warmNodes": 2,
                     "sharing": {"mig": {"strategy": "mixed", "profile": "1g.5gb"}}}]}


def test_a_mixed_mig_pool_is_held_by_all_its_slices():
    (deployment,) = placeholders(plan_for(MIG)).values()
    spec = inputs(deployment)["spec"]
    itype = catalog.instance_type("aws", "p4d.24xlarge")
    slices = str(itype.gpus * mig_devices_per_gpu(itype.gpu, "1g.5gb"))
    (container,) = spec["template"]["spec"]["containers"]
    assert spec["replicas"] == 2
    assert container["resources"]["limits"] == {"cpu": "10m", "memory": "16Mi", "nvidia.com/mig-1g.5gb": slices}
    assert GPU_RESOURCE not in container["resources"]["requests"]

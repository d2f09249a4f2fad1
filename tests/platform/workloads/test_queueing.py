"""Kueue: a flavor per GPU pool, a ClusterQueue per team matching its namespaces' quota,
a LocalQueue per team namespace, borrowing, and the release (kubernetes-sigs/kueue v0.19.2)."""

from __future__ import annotations

import math
from functools import cache

import pytest
import yaml

from components import catalog
from components.conventions import GPU_MODEL_LABEL, POOL_LABEL, system_pool_labels
from components.platform.workloads import nccl, queueing
from examples.sweep.make_sweep import sweep
from tests.conftest import plan_for_stack
from tests.platform import harness
from tests.platform.workloads.crds import SERVED
from tests.platform.workloads.helpers import depends, objects, quantity, releases, values

QUEUEING = {"workloads": {"queueing": {"enabled": True}}}


@cache
def prod_aws():
    return plan_for_stack("prod-aws")


def test_kueue_serves_the_v1beta2_api_the_platform_renders():
    # kubernetes-sigs/kueue config/components/crd/bases/*.yaml @ v0.19.2: v1beta2 is served
    # and is the storage version of all three kinds.
    assert queueing.API_VERSION == "kueue.x-k8s.io/v1beta2"
    for kind in ("ResourceFlavor", "ClusterQueue", "LocalQueue"):
        assert SERVED[(queueing.API_VERSION, kind)] == (True, True)


def test_a_resource_flavor_per_gpu_pool_with_its_labels_taint_and_toleration():
    pools = [harness.pool("l4", "g6.xlarge", sharing={"timeSlicing": {"replicas": 4}}), harness.pool("h100", "p5.48xlarge")]
    result = harness.run_platform(harness.eks_shape(pools), QUEUEING, harness.namespaces({"name": "team-a", "team": "a", "group": "g", "gpus": 2}))
    flavors = objects(result.plan, "ResourceFlavor")
    assert sorted(flavors) == ["default-cpu", "gpu-h100", "gpu-l4"]
    _, l4 = flavors["gpu-l4"]
    # The pool's portable labels become the admitted pods' node selector (Kueue copies
    # spec.nodeLabels into the pod template when it admits a workload on the flavor).
    assert l4["spec"]["nodeLabels"] == {GPU_MODEL_LABEL: "l4", POOL_LABEL: "l4"}
    assert l4["spec"]["nodeTaints"] == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "value": "present"}]
    # Kueue matches nodeTaints against the pod's tolerations plus the flavor's own
    # (pkg/scheduler/flavorassigner/flavorassigner.go @ v0.19.2), and adds these to the pods:
    # a job need not tolerate the GPU taint itself.
    assert l4["spec"]["tolerations"] == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}]
    assert flavors["default-cpu"][1]["spec"] == {}


def test_flavors_tolerate_the_extra_taints_the_cloud_puts_on_gpu_nodes():
    shape = harness.aks_shape([harness.pool("t4", "Standard_NC4as_T4_v3")])
    spot = {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"}

    def build():
        from components.platform import Platform, PlatformArgs
        from components.config import Platform as Settings
        handle = shape.handle()
        handle.gpu_node_tolerations = [spot]
        Platform(handle.name, PlatformArgs(handle, Settings.model_validate(QUEUEING), harness.namespaces({"name": "a", "team": "a", "group": "g"})))

    plan, _ = harness.run(build)
    _, flavor = objects(plan, "ResourceFlavor")["gpu-t4"]
    assert dict(sorted(spot.items())) in flavor["spec"]["tolerations"]


def test_a_cluster_queue_per_team_whose_gpu_quota_is_the_namespace_quota():
    cqs = objects(prod_aws(), "ClusterQueue")
    # The teams' queues, and the NCCL acceptance test's (tests/platform/workloads/test_nccl.py).
    assert sorted(cqs) == ["fabric-acceptance", "research", "serving"]
    _, research = cqs["research"]
    spec = research["spec"]
    assert spec["cohortName"] == "ml-teams" and objects(prod_aws(), "ClusterQueue")["serving"][1]["spec"]["cohortName"] == "ml-teams"
    assert spec["namespaceSelector"] == {"matchLabels": {"ml-clusters.io/team": "research"}}
    cpu_group, gpu_group = spec["resourceGroups"]
    assert cpu_group["coveredResources"] == ["cpu", "memory"]
    # namespaces[training]: gpus 32, cpu "384", memory 4Ti (stacks/Pulumi.prod-aws.yaml)
    assert cpu_group["flavors"][0]["resources"] == [
        {"name": "cpu", "nominalQuota": "384", "borrowingLimit": "0"},
        {"name": "memory", "nominalQuota": "4Ti", "borrowingLimit": "0"},
    ]
    gpus = {f["name"]: f["resources"] for f in gpu_group["flavors"]}
    # The h100 pool's EFA interfaces go with its GPUs (tests/platform/workloads/test_fabric.py).
    efa = catalog.cloud("aws").fabric("p5.48xlarge").nics * 32 // 8
    assert gpus == {
        "gpu-h100": [{"name": "nvidia.com/gpu", "nominalQuota": "32", "borrowingLimit": "0"},
                     {"name": "vpc.amazonaws.com/efa", "nominalQuota": str(efa), "borrowingLimit": "0"}],
        # research may borrow every l4infer GPU the serving team queues (queues[serving].gpus
        # 2); the 4 it holds outside Kueue (reservedGpus) are in no ClusterQueue.
        "gpu-l4infer": [{"name": "nvidia.com/gpu", "nominalQuota": "0", "borrowingLimit": "2"},
                        {"name": "vpc.amazonaws.com/efa", "nominalQuota": "0", "borrowingLimit": "0"}],
    }
    total = sum(int(r[0]["nominalQuota"]) for r in gpus.values())
    assert total == 32  # == namespaces[training].gpus
    # Fair sharing across the cohort; lent GPUs are reclaimed by preemption.
    assert spec["fairSharing"] == {"weight": "1"}
    assert spec["preemption"] == {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"}
    # Kueue v0.19.2 forbids borrowWithinCohort with fair sharing (CRD field description).
    assert "borrowWithinCohort" not in spec["preemption"]


def test_borrowing_limit_caps_borrowing_per_pool():
    _, serving = objects(prod_aws(), "ClusterQueue")["serving"]
    gpus = {f["name"]: f["resources"][0] for f in serving["spec"]["resourceGroups"][1]["flavors"]}
    # queues[serving].borrowingLimit 8: at most 8 of research's 32 idle H100s.
    assert gpus["gpu-h100"] == {"name": "nvidia.com/gpu", "nominalQuota": "0", "borrowingLimit": "8"}
    assert gpus["gpu-l4infer"] == {"name": "nvidia.com/gpu", "nominalQuota": "2", "borrowingLimit": "0"}


def test_gpus_are_spread_evenly_over_the_pools_without_an_override():
    pools = [harness.pool("l4", "g2-standard-8"), harness.pool("a100", "a2-highgpu-1g")]
    teams = harness.namespaces({"name": "inference", "team": "serving", "group": "s", "gpus": 8},
                               {"name": "experiments", "team": "research", "group": "r", "gpus": 2})
    plan = harness.run_platform(harness.gke_shape(pools), QUEUEING, teams).plan
    quotas = {
        team: {f["name"]: f["resources"][0]["nominalQuota"] for f in cq["spec"]["resourceGroups"][1]["flavors"]}
        for team, (_, cq) in objects(plan, "ClusterQueue").items()
    }
    assert quotas == {"serving": {"gpu-l4": "4", "gpu-a100": "4"}, "research": {"gpu-l4": "1", "gpu-a100": "1"}}


def test_mixed_mig_pools_are_quota_d_as_their_slices():
    pools = [harness.pool("h100", "p5.48xlarge", sharing={"mig": {"strategy": "mixed", "profile": "1g.10gb"}})]
    result = harness.run_platform(harness.eks_shape(pools), QUEUEING, harness.namespaces({"name": "a", "team": "a", "group": "g", "gpus": 7}))
    _, cq = objects(result.plan, "ClusterQueue")["a"]
    group = cq["spec"]["resourceGroups"][1]
    assert group["coveredResources"] == ["nvidia.com/gpu", "nvidia.com/mig-1g.10gb"]
    assert group["flavors"][0]["resources"] == [
        {"name": "nvidia.com/gpu", "nominalQuota": "0", "borrowingLimit": "0"},
        {"name": "nvidia.com/mig-1g.10gb", "nominalQuota": "7", "borrowingLimit": "0"},
    ]


def test_a_local_queue_in_each_team_namespace():
    plan = prod_aws()
    lqs = objects(plan, "LocalQueue")
    assert sorted(lqs) == ["fabric-acceptance/fabric-acceptance", "inference/default", "training/default"]
    cqs = objects(plan, "ClusterQueue")
    namespaces = objects(plan, "Namespace")
    for key, team in (("inference/default", "serving"), ("training/default", "research")):
        resource, lq = lqs[key]
        assert lq["spec"] == {"clusterQueue": team}
        assert depends(resource, cqs[team][0])
        assert depends(resource, namespaces[key.split("/")[0]][0])


def test_namespace_gpu_quota_leaves_room_for_what_the_team_may_borrow():
    quotas = {key: obj["spec"]["hard"]["requests.nvidia.com/gpu"] for key, (_, obj) in objects(prod_aws(), "ResourceQuota").items()}
    # training: 32 own + 2 borrowable; inference: 2 queued + borrowingLimit 8 + 4 held outside Kueue.
    # The outside-queue quotas hold serving and notebook pods to the reserved share.
    assert quotas == {"inference/compute": "14", "training/compute": "34", "inference/outside-queue": "4", "training/outside-queue": "0"}


def test_without_queueing_the_namespace_quota_is_the_configured_gpus():
    quotas = {key: obj["spec"]["hard"]["requests.nvidia.com/gpu"] for key, (_, obj) in objects(plan_for_stack("dev-aws"), "ResourceQuota").items()}
    assert quotas and not objects(plan_for_stack("dev-aws"), "ClusterQueue")


def test_a_50_trial_sweep_fits_and_borrows_idle_gpus():
    """What Kueue can run at once for the research team: per resource, its quota plus what
    it may borrow, divided by one trial's request; the namespace's ResourceQuota must let
    that many pods start. All 50 trials are admissible (each fits alone) and run in waves."""
    plan = prod_aws()
    _, cq = objects(plan, "ClusterQueue")["research"]
    _, rq = objects(plan, "ResourceQuota")["training/compute"]
    trials = sweep(50)
    request = trials[0]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    assert all(t["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == request for t in trials)
    cpu_group, gpu_group = cq["spec"]["resourceGroups"]
    cpu = {r["name"]: quantity(r["nominalQuota"]) + quantity(r["borrowingLimit"]) for r in cpu_group["flavors"][0]["resources"]}
    gpus_reachable = sum(quantity(r["nominalQuota"]) + quantity(r["borrowingLimit"]) for f in gpu_group["flavors"] for r in f["resources"]
                         if r["name"] == "nvidia.com/gpu")
    gpus_own = sum(quantity(r["nominalQuota"]) for f in gpu_group["flavors"] for r in f["resources"] if r["name"] == "nvidia.com/gpu")
    at_once = min(
        gpus_reachable // quantity(request["nvidia.com/gpu"]),
        cpu["cpu"] // quantity(request["cpu"]),
        cpu["memory"] // quantity(request["memory"]),
        quantity(rq["spec"]["hard"]["requests.nvidia.com/gpu"]) // quantity(request["nvidia.com/gpu"]),
    )
    assert at_once == gpus_reachable > gpus_own  # borrowing adds the serving team's idle queued L4s
    assert math.ceil(len(trials) / at_once) == 2  # 50 trials in two waves
    assert all(t["metadata"]["labels"][queueing.QUEUE_LABEL] == queueing.LOCAL_QUEUE for t in trials)


def test_kueue_release_pins_the_chart_and_image_and_runs_on_the_system_pool():
    shape = harness.aks_shape([harness.pool("t4", "Standard_NC4as_T4_v3")])
    result = harness.run_platform(shape, QUEUEING, harness.namespaces({"name": "a", "team": "a", "group": "g"}))
    release = releases(result.plan)["kueue"]
    assert release.inputs["chart"] == "oci://registry.k8s.io/kueue/charts/kueue"
    assert release.inputs["version"] == catalog.CHARTS["kueue"].version == "0.19.2"
    vals = values(result.plan, "kueue")
    manager = vals["controllerManager"]
    # charts/kueue/values.yaml @ v0.19.2 names a staging image (release-0.19, pullPolicy
    # Always) that hack/helm-chart-package.sh swaps at release: set the released one.
    assert manager["manager"]["image"] == {"repository": "registry.k8s.io/kueue/kueue", "tag": "v0.19.2", "pullPolicy": "IfNotPresent"}
    assert manager["nodeSelector"] == system_pool_labels()
    assert manager["tolerations"] == [dict(sorted(harness.AKS_SYSTEM_TOLERATION.items()))]
    config = yaml.safe_load(vals["managerConfig"]["controllerManagerConfigYaml"])
    assert config["apiVersion"] == "config.kueue.x-k8s.io/v1beta2"
    # The chart's webhook Service targets 9443 (webhookService.ports); the config must match.
    assert config["webhook"] == {"port": 9443}
    assert set(config["integrations"]["frameworks"]) == {"batch/job", "jobset.x-k8s.io/jobset", "trainer.kubeflow.org/trainjob"}
    # apis/config/v1beta2: fair sharing is on when the fairSharing block is present.
    assert config["fairSharing"]["preemptionStrategies"]
    # Kueue labels unlabelled jobs with the LocalQueue named "default" (pkg/controller/
    # constants DefaultLocalQueueName) in namespaces the selector matches: the team ones.
    assert queueing.LOCAL_QUEUE == "default"
    assert config["managedJobsNamespaceSelector"] == {"matchLabels": {"ml-clusters.io/queued": "true"}}


@pytest.mark.parametrize("kind", ["ResourceFlavor", "ClusterQueue", "LocalQueue"])
def test_queue_objects_wait_for_the_release_that_installs_their_crds(kind):
    plan = prod_aws()
    kueue = releases(plan)["kueue"]
    found = objects(plan, kind)
    assert found
    for resource, _ in found.values():
        assert depends(resource, kueue), resource.name
    # Kueue starts after the trainer's TrainJob and JobSet CRDs exist.
    assert depends(kueue, releases(plan)["kubeflow-trainer"])


def test_manager_config_uses_only_fields_of_the_v1beta2_configuration():
    # apis/config/v1beta2/configuration_types.go @ v0.19.2 (json tags of Configuration,
    # WaitForPodsReady and RequeuingStrategy); a misspelt key would be ignored silently.
    config = yaml.safe_load(queueing.manager_config())
    assert set(config) <= {"apiVersion", "kind", "health", "metrics", "webhook", "leaderElection", "clientConnection",
                           "integrations", "fairSharing", "waitForPodsReady", "controller", "resources", "namespace",
                           "managedJobsNamespaceSelector", "manageJobsWithoutQueueName"}
    assert set(config["waitForPodsReady"]) <= {"timeout", "blockAdmission", "requeuingStrategy", "recoveryTimeout"}
    assert set(config["waitForPodsReady"]["requeuingStrategy"]) <= {"timestamp", "backoffLimitCount", "backoffBaseSeconds", "backoffMaxSeconds"}
    # Long enough for a GPU pool to scale up from zero before Kueue evicts the job.
    assert config["waitForPodsReady"]["timeout"] == "30m"


def test_the_crds_validation_rules_hold():
    """The x-kubernetes-validations (CEL) rules of the CRDs at v0.19.2, which JSON Schema
    validation does not run, checked on what every stack renders."""
    for stack in ("prod-aws", "staging-gcp", "prod-azure", "local"):
        plan = plan_for_stack(stack)
        for _, cq in objects(plan, "ClusterQueue").values():
            spec = cq["spec"]
            # "borrowingLimit must be nil when cohort is empty"
            assert spec["cohortName"]
            for group in spec["resourceGroups"]:
                # "flavors must have the same number of resources as the coveredResources"
                assert all([r["name"] for r in f["resources"]] == group["coveredResources"] for f in group["flavors"])
        for _, flavor in objects(plan, "ResourceFlavor").values():
            # "supported taint effect values", "a value must be empty when 'operator' is 'Exists'"
            assert all(t["effect"] in ("NoSchedule", "PreferNoSchedule", "NoExecute") for t in flavor["spec"].get("nodeTaints", []))
            for toleration in flavor["spec"].get("tolerations", []):
                assert toleration.get("operator", "Equal") in ("Equal", "Exists")
                assert not (toleration.get("operator") == "Exists" and "value" in toleration)


# --- One account of GPUs (docs/workloads.md "One account of GPUs") ----------------------


def first_fitting_flavor(cq: dict, gpus: int, resource: str = "nvidia.com/gpu") -> str:
    """The flavor Kueue v0.19.2 assigns a GPU podset on an idle cohort: flavors in the
    queue's order (pkg/scheduler/flavorassigner/flavorassigner.go), stopping at the first
    that fits without borrowing, or that fits by borrowing unless whenCanBorrow is
    TryNextFlavor (shouldTryNextFlavor); when every flavor needs borrowing, the first."""
    fungibility = cq["spec"].get("flavorFungibility", {}).get("whenCanBorrow", "MayStopSearch")
    borrowing = None
    for flavor in cq["spec"]["resourceGroups"][1]["flavors"]:
        quota = {r["name"]: r for r in flavor["resources"]}[resource]
        nominal, limit = int(quota["nominalQuota"]), int(quota["borrowingLimit"])
        if gpus <= nominal:
            return flavor["name"]
        if gpus <= nominal + limit:
            if fungibility == "MayStopSearch":
                return flavor["name"]
            borrowing = borrowing or flavor["name"]
    assert borrowing, "fits nowhere"
    return borrowing


def test_a_teams_jobs_use_its_own_pool_before_borrowing_another():
    for stack in ("prod-aws", "prod-azure", "staging-gcp"):
        for team, (_, cq) in objects(plan_for_stack(stack), "ClusterQueue").items():
            if team == nccl.QUEUE:
                continue  # the acceptance test's queue has no GPUs of its own to prefer
            flavors = cq["spec"]["resourceGroups"][1]["flavors"]
            own = [f["name"] for f in flavors if any(int(r["nominalQuota"]) for r in f["resources"])]
            assert [f["name"] for f in flavors][:len(own)] == own, (stack, team)
            assert cq["spec"]["flavorFungibility"]["whenCanBorrow"] == "TryNextFlavor"
            if own:
                assert first_fitting_flavor(cq, 1) == own[0], (stack, team)
    # The defect this guards: serving's 1-GPU job on prod-aws went to borrowed H100s.
    _, serving = objects(prod_aws(), "ClusterQueue")["serving"]
    assert first_fitting_flavor(serving, 1) == "gpu-l4infer"


def test_kueue_does_not_hand_out_the_gpus_held_outside_it_and_the_pool_holds_both():
    """Per pool: what the ClusterQueues guarantee plus the outside-queue quotas fit the pool
    at maxNodes (GPUs per node from the catalog, times time-slice replicas)."""
    from components.config import load_from_pulumi  # noqa: F401  (the stack's own reader)
    from preview import engine
    from components import config as config_module
    for stack in ("prod-aws", "prod-azure", "staging-gcp"):
        plan = plan_for_stack(stack)
        values_, _ = engine.read_stack_config(stack)
        raw, _ = config_module.raw_from_pulumi(values_)
        cfg = config_module.resolve_config(config_module.load(raw))
        outside = {k.split("/")[0]: quantity(obj["spec"]["hard"]["requests.nvidia.com/gpu"])
                   for k, (_, obj) in objects(plan, "ResourceQuota").items() if k.endswith("/outside-queue")}
        reserved = {q.team: q.reserved_gpus for q in cfg.platform.workloads.queueing.queues}
        team_of = {ns.name: ns.team for ns in cfg.namespaces}
        # The outside-queue quota is exactly the team's reservation.
        assert outside == {ns: sum(reserved.get(team_of[ns], {}).values()) for ns in outside}, stack
        for pool in cfg.gpu_pools:
            itype = catalog.instance_type(cfg.cloud, pool.instance_type)
            replicas = pool.sharing.time_slicing.replicas if pool.sharing and pool.sharing.time_slicing else 1
            capacity = pool.max_nodes * itype.gpus * replicas
            queued = sum(int(r["nominalQuota"]) for _, cq in objects(plan, "ClusterQueue").values()
                         for f in cq["spec"]["resourceGroups"][1]["flavors"] if f["name"] == queueing.flavor_name(pool.name)
                         for r in f["resources"] if r["name"] == "nvidia.com/gpu")
            held = sum(r.get(pool.name, 0) for r in reserved.values())
            assert queued + held <= capacity, (stack, pool.name)


def test_the_outside_queue_quota_and_the_queue_share_the_namespace_exactly():
    plan = prod_aws()
    quotas = {k: obj["spec"] for k, (_, obj) in objects(plan, "ResourceQuota").items()}
    outside, total = quotas["inference/outside-queue"], quotas["inference/compute"]
    # Kubernetes ResourceQuota scopes: PriorityClass In [...] counts only pods of those classes.
    assert outside["scopeSelector"] == {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["ml-serving-high", "ml-notebook"]}]}
    _, cq = objects(plan, "ClusterQueue")["serving"]
    queue_cpu = {r["name"]: quantity(r["nominalQuota"]) for r in cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"]}
    for resource in ("cpu", "memory"):
        assert queue_cpu[resource] + quantity(outside["hard"][f"requests.{resource}"]) == quantity(total["hard"][f"requests.{resource}"])


def test_a_team_with_two_namespaces_gets_quotas_that_admit_what_kueue_admits():
    teams = harness.namespaces(
        {"name": "demo", "team": "ml-demo", "group": "g", "gpus": 4, "cpu": "8", "memory": "32Gi"},
        {"name": "demo2", "team": "ml-demo", "group": "g", "gpus": 4, "cpu": "8", "memory": "32Gi"},
    )
    plan = harness.run_platform(harness.eks_shape([harness.pool("l4", "g6.xlarge")]), QUEUEING, teams).plan
    _, cq = objects(plan, "ClusterQueue")["ml-demo"]
    cpu_group, gpu_group = cq["spec"]["resourceGroups"]
    admits = {r["name"]: quantity(r["nominalQuota"]) + quantity(r["borrowingLimit"]) for r in cpu_group["flavors"][0]["resources"]}
    admits["nvidia.com/gpu"] = sum(quantity(r["nominalQuota"]) + quantity(r["borrowingLimit"]) for f in gpu_group["flavors"] for r in f["resources"])
    # Kueue admits up to the whole team queue into either namespace and never reads a
    # ResourceQuota; the quota admission plugin then refuses pods over the namespace's hard.
    for ns in ("demo", "demo2"):
        hard = objects(plan, "ResourceQuota")[f"{ns}/compute"][1]["spec"]["hard"]
        for resource, amount in admits.items():
            assert quantity(hard[f"requests.{resource}"]) >= amount, (ns, resource)


def test_resources_the_queues_do_not_cover_are_let_through_explicitly():
    config = yaml.safe_load(queueing.manager_config())
    # BlockUndeclared is the default quotaCheckStrategy (configuration_types.go @ v0.19.2):
    # an undeclared resource not excluded leaves the job pending for ever.
    assert "quotaCheckStrategy" not in config.get("resources", {})
    excluded = config["resources"]["excludeResourcePrefixes"]
    # The GPU-fabric devices (EFA, RDMA) are covered by the queues of clusters whose pools
    # have them (queueing.fabric_resources; tests/platform/workloads/test_fabric.py).
    covered = {"cpu", "memory", "nvidia.com/gpu", "vpc.amazonaws.com/efa"}
    # What the examples request, plus node-local disk.
    from tests.examples.test_examples import submitted
    asked = {"ephemeral-storage", "hugepages-2Mi"}
    for obj in submitted():
        text = yaml.safe_dump(obj)
        for block in ("requests", "limits"):
            for found in _resource_blocks(obj, block):
                asked |= set(found)
    assert "nvidia.com/gpu" in asked and text
    for resource in asked - covered:
        assert any(resource.startswith(prefix) for prefix in excluded), resource


def test_kueue_runs_two_replicas_behind_a_disruption_budget():
    vals = values(prod_aws(), "kueue")["controllerManager"]
    # charts/kueue values.yaml @ v0.19.2: replicas 1 and podDisruptionBudget.enabled false by default.
    assert vals["replicas"] == queueing.REPLICAS == 2
    assert vals["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    # Only one replica acts: leader election in the Configuration.
    assert yaml.safe_load(queueing.manager_config())["leaderElection"]["leaderElect"] is True


def test_reservations_are_checked_against_the_pools():
    from tests.platform.workloads.test_config import with_workloads
    from tests.conftest import config_errors
    # The stacks/Pulumi.staging-gcp.yaml numbers before queues were set: the even split put
    # 5 GPUs on an a100 pool of 2.
    raw = with_workloads()
    raw["gpuPools"] = [{"name": "l4", "instanceType": "g2-standard-8", "maxNodes": 4, "sharing": {"timeSlicing": {"replicas": 2}}},
                       {"name": "a100", "instanceType": "a2-highgpu-1g", "maxNodes": 2}]
    raw.update(cloud="gcp", region="us-central1", gcp={"project": "ml-staging-123"})
    del raw["aws"]
    raw["namespaces"][0]["gpus"], raw["namespaces"][1]["gpus"] = 2, 8
    errors = config_errors(raw)
    assert errors == ["platform.workloads.queueing.queues: pool 'a100' would hold 5 GPUs of the teams (research 1, serving 4), "
                      "but has 2 at maxNodes 2; allowed: at most 2 (set queues[].gpus per pool, or raise maxNodes)"]


def _resource_blocks(value, key):
    """Every mapping under `key` (requests/limits) in a manifest."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, dict):
                yield v
            else:
                yield from _resource_blocks(v, key)
    elif isinstance(value, list):
        for item in value:
            yield from _resource_blocks(item, key)

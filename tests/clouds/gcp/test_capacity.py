"""GKE capacity on the plan (components/clouds/gcp/capacity.py): reservation affinity on node
pools, a ComputeClass per `compute-classes` pool whose priorities follow the chain, DWS
flex-start pools behind Kueue's provisioning admission check, and the config errors.

Upstream facts, each where a test relies on it:
- F1 pulumi-gcp 10.2.0 container/_inputs.py NodePoolNodeConfigReservationAffinityArgs: a
  SPECIFIC_RESERVATION names the reservation under key compute.googleapis.com/reservation-name,
  a shared one as projects/<project>/reservations/<name>.
- F2 GKE docs reference/crds/computeclass: priorities are tried in order; `nodepools` names
  manually created node pools, later priorities set machineType, gpu {type, count,
  driverVersion}, spot, reservations {affinity: Specific, specific: [{name, project}]},
  storage; nodePoolAutoCreation.enabled lets GKE create pools for them; whenUnsatisfiable
  DoNotScaleUp creates nothing else.
- F3 GKE about-custom-compute-classes: a manually created node pool joins a class with the node
  label and the NoSchedule taint cloud.google.com/compute-class=<class>; pods select the class
  by that label.
- F4 pulumi-gcp 10.2.0 NodePoolQueuedProvisioningArgs ("nodes obtainable through the
  ProvisioningRequest API exclusively") and NodePoolNodeConfigArgs.flex_start;
  GoogleCloudPlatform/cluster-toolkit modules/compute/gke-node-pool/main.tf: queued
  provisioning needs NO_RESERVATION and total min 0, flex-start needs auto_repair false and no
  spot; examples/gke-consumption-options/dws-flex-start-queued-provisioning/README.md: queued
  provisioning needs auto_upgrade false.
- F5 kubernetes-sigs/kueue v0.19.2 apis/kueue/v1beta2/provisioningrequestconfig_types.go
  (ProvisioningRequestControllerName kueue.x-k8s.io/provisioning-request), admissioncheck_types.go
  (parameters apiGroup/kind/name), clusterqueue_types.go (admissionChecksStrategy
  admissionChecks[] {name, onFlavors}); site/.../admission_check/provisioning_request.md: a
  workload is admitted once its ProvisioningRequest is Provisioned.
"""

from __future__ import annotations

import pytest

from components import catalog
from components.clouds.gcp import capacity
from components.config import load
from components.config.capacity import pool_provisioner
from tests.clouds.gcp.test_cluster import PROD
from tests.conftest import config_errors, inputs, plan_for
from tests.platform.workloads import crds

NODE_POOL = "gcp:container/nodePool:NodePool"
COMPUTE_CLASS = "kubernetes:cloud.google.com/v1:ComputeClass"
KUEUE = "kubernetes:kueue.x-k8s.io/v1beta2"

STACK = {
    "cloud": "gcp", "region": "us-central1", "environment": "prod",
    "gcp": {"project": "ml-platform-prod", "flexStartPools": ["batch"]},
    "network": {"privateApi": True},
    "gpuPools": [
        # Reserved first, a shared reservation next, then spot and on-demand: a ComputeClass.
        # Its fabric off: a fabric pool keeps one tier on compute-classes (checks/gke_capacity.py).
        {"name": "h100", "instanceType": "a3-highgpu-8g", "maxNodes": 4, "interconnect": "none",
         "interconnectWaiver": "chains of ComputeClass priorities under test",
         "capacity": [{"reserved": {"name": "h100-res"}}, {"reserved": {"name": "projects/capacity-hub/reservations/h100-shared"}},
                      "spot", "onDemand"]},
        # One reserved tier on node groups: the node pool alone consumes the reservation.
        {"name": "l4", "instanceType": "g2-standard-8", "maxNodes": 2, "provisioner": "cluster-autoscaler",
         "capacity": [{"reserved": {"name": "projects/capacity-hub/reservations/l4-res"}}]},
        # Spot first, on-demand behind it.
        {"name": "a100", "instanceType": "a2-highgpu-1g", "maxNodes": 2, "capacity": ["spot", "onDemand"]},
        # DWS flex-start with queued provisioning.
        {"name": "batch", "instanceType": "a2-highgpu-1g", "maxNodes": 8},
    ],
    "namespaces": [{"name": "research", "team": "research", "group": "research@corp.io", "gpus": 16, "cpu": "64", "memory": "256Gi"}],
    "platform": {"workloads": {"queueing": {"enabled": True, "queues": [{"team": "research", "gpus": {"h100": 8, "batch": 8}}]}}},
}


@pytest.fixture(scope="module")
def plan():
    return plan_for(STACK)


def node_pool(plan, pool):
    return plan.one(NODE_POOL, f"ml-test-{pool}")


def kueue_object(plan, kind, name):
    found = [r for r in plan.by_type(f"{KUEUE}:{kind}") if inputs(r)["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def test_reserved_first_pool_consumes_its_specific_reservation_in_any_zone(plan):
    # F1: SPECIFIC_RESERVATION by name under compute.googleapis.com/reservation-name; ANY lets
    # the autoscaler start nodes in the zone the (zonal) reservation is in.
    cfg = inputs(node_pool(plan, "h100"))
    assert cfg["nodeConfig"]["reservationAffinity"] == {
        "consumeReservationType": "SPECIFIC_RESERVATION", "key": "compute.googleapis.com/reservation-name", "values": ["h100-res"]}
    assert cfg["nodeConfig"]["spot"] is False
    assert cfg["autoscaling"]["locationPolicy"] == "ANY"
    # A shared reservation of another project keeps its project path (F1).
    l4 = inputs(node_pool(plan, "l4"))["nodeConfig"]["reservationAffinity"]
    assert l4["values"] == ["projects/capacity-hub/reservations/l4-res"]


def test_compute_class_priorities_follow_the_chain(plan):
    # F2: the node pool first, then one auto-created priority per later tier, same machine and GPUs.
    cc = inputs(plan.one(COMPUTE_CLASS, "ml-test-ml-gpu-h100"))
    itype = catalog.cloud("gcp").instance_types["a3-highgpu-8g"]
    gpu = {"type": itype.accelerator, "count": itype.gpus, "driverVersion": "latest"}
    pool_name = inputs(node_pool(plan, "h100"))["namePrefix"]
    priorities = cc["spec"]["priorities"]
    assert len(priorities[0]["nodepools"]) == 1 and priorities[0]["nodepools"][0].startswith(pool_name.rstrip("-"))
    assert priorities[1]["reservations"] == {"affinity": "Specific", "specific": [{"name": "h100-shared", "project": "capacity-hub"}]}
    assert [p.get("spot") for p in priorities[1:]] == [False, True, False]
    assert all(p["machineType"] == "a3-highgpu-8g" and p["gpu"] == gpu for p in priorities[1:])
    assert cc["spec"]["whenUnsatisfiable"] == "DoNotScaleUp"
    assert cc["spec"]["nodePoolAutoCreation"] == {"enabled": True}
    # Running training pods are never moved back to a higher priority.
    assert cc["spec"]["activeMigration"] == {"optimizeRulePriority": False}
    assert cc["spec"]["priorityDefaults"]["location"]["zones"] == list(catalog.cloud("gcp").zones_offering("a3-highgpu-8g", "us-central1"))


def test_auto_created_nodes_are_configured_like_the_node_pool(plan):
    # Our node identity, the pool's portable labels (not its spot label), the pool's disk and
    # the prod disk key, so selectors, Kueue flavors and encryption hold on fallback nodes.
    cc = inputs(plan.one(COMPUTE_CLASS, "ml-test-ml-gpu-h100"))["spec"]
    pool = inputs(node_pool(plan, "h100"))["nodeConfig"]
    assert cc["nodePoolConfig"]["serviceAccount"] == pool["serviceAccount"]
    expected = {k: v for k, v in pool["labels"].items() if k.startswith("ml-clusters.io/") and k != "ml-clusters.io/spot"}
    assert cc["nodePoolConfig"]["nodeLabels"] == expected
    for priority in cc["priorities"][1:]:
        assert priority["storage"] == {"bootDiskKMSKey": pool["bootDiskKmsKey"], "bootDiskSize": pool["diskSizeGb"], "bootDiskType": pool["diskType"]}


def test_class_node_pool_carries_the_class_label_and_taint_and_its_own_tier(plan):
    # F3: label and NoSchedule taint cloud.google.com/compute-class=<class> on the manual pool.
    for pool, spot in (("h100", False), ("a100", True)):
        cfg = inputs(node_pool(plan, pool))["nodeConfig"]
        name = capacity.compute_class_name(pool)
        assert cfg["labels"]["cloud.google.com/compute-class"] == name
        assert {"key": "cloud.google.com/compute-class", "value": name, "effect": "NO_SCHEDULE"} in cfg["taints"]
        assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in cfg["taints"]
        assert cfg["spot"] is spot and cfg["labels"]["ml-clusters.io/spot"] == str(spot).lower()
    a100 = inputs(plan.one(COMPUTE_CLASS, "ml-test-ml-gpu-a100"))["spec"]["priorities"]
    assert [set(p) & {"nodepools", "spot"} for p in a100] == [{"nodepools"}, {"spot"}] and a100[1]["spot"] is False


def test_single_tier_pools_get_no_class(plan):
    # l4 is on cluster-autoscaler, batch is flex-start: no ComputeClass, no class label.
    names = {r.name for r in plan.by_type(COMPUTE_CLASS)}
    assert names == {"ml-test-ml-gpu-h100", "ml-test-ml-gpu-a100"}
    for pool in ("l4", "batch"):
        assert "cloud.google.com/compute-class" not in inputs(node_pool(plan, pool))["nodeConfig"]["labels"]


def test_compute_class_waits_for_its_node_pool_and_the_cluster_provider(plan):
    cc = plan.one(COMPUTE_CLASS, "ml-test-ml-gpu-h100")
    assert node_pool(plan, "h100").urn in cc.dependencies
    assert cc.provider.split("::")[-1].startswith("ml-test-k8s")


def test_flex_start_pool_is_queued_provisioning_only(plan):
    # F4: queued provisioning + flex-start, NO_RESERVATION, min 0, repair and upgrade off.
    cfg = inputs(node_pool(plan, "batch"))
    assert cfg["queuedProvisioning"] == {"enabled": True}
    assert cfg["nodeConfig"]["flexStart"] is True and cfg["nodeConfig"]["spot"] is False
    assert cfg["nodeConfig"]["reservationAffinity"] == {"consumeReservationType": "NO_RESERVATION"}
    assert cfg["autoscaling"]["totalMinNodeCount"] == 0
    assert cfg["management"] == {"autoRepair": False, "autoUpgrade": False}
    for pool in ("h100", "l4", "a100"):
        other = inputs(node_pool(plan, pool))
        assert "queuedProvisioning" not in other and "flexStart" not in other["nodeConfig"]
        assert other["management"] == {"autoRepair": True, "autoUpgrade": True}


def test_kueue_asks_gke_for_a_flex_start_jobs_nodes_before_admitting_it(plan):
    # F5: ProvisioningRequestConfig with GKE's class, an AdmissionCheck of Kueue's provisioning
    # controller naming it, and the ClusterQueue running the check on the pool's flavor only.
    prc = inputs(kueue_object(plan, "ProvisioningRequestConfig", "gpu-batch-provisioning"))
    assert prc["spec"] == {"provisioningClassName": "queued-provisioning.gke.io", "managedResources": ["nvidia.com/gpu"]}
    check = inputs(kueue_object(plan, "AdmissionCheck", "gpu-batch-provisioning"))
    assert check["spec"] == {"controllerName": "kueue.x-k8s.io/provisioning-request",
                             "parameters": {"apiGroup": "kueue.x-k8s.io", "kind": "ProvisioningRequestConfig", "name": "gpu-batch-provisioning"}}
    cq = inputs(kueue_object(plan, "ClusterQueue", "research"))
    assert cq["spec"]["admissionChecksStrategy"] == {"admissionChecks": [{"name": "gpu-batch-provisioning", "onFlavors": ["gpu-batch"]}]}
    flavors = [f["name"] for g in cq["spec"]["resourceGroups"] for f in g["flavors"]]
    assert "gpu-batch" in flavors


def test_kueue_objects_are_ordered_config_check_queue(plan):
    prc = kueue_object(plan, "ProvisioningRequestConfig", "gpu-batch-provisioning")
    check = kueue_object(plan, "AdmissionCheck", "gpu-batch-provisioning")
    cq = kueue_object(plan, "ClusterQueue", "research")
    kueue = [r for r in plan.resources if r.type == "kubernetes:helm.sh/v3:Release" and r.name.endswith("-kueue")][0]
    assert kueue.urn in prc.dependencies and prc.urn in check.dependencies and check.urn in cq.dependencies


def test_flavors_select_the_class_and_tolerate_the_capacity_taints(plan):
    # F3: pods select the class label; GKE taints queued-provisioning nodes
    # cloud.google.com/gke-queued (cluster-toolkit consumption-options docs).
    h100 = inputs(kueue_object(plan, "ResourceFlavor", "gpu-h100"))["spec"]
    assert h100["nodeLabels"]["cloud.google.com/compute-class"] == "ml-gpu-h100"
    batch = inputs(kueue_object(plan, "ResourceFlavor", "gpu-batch"))["spec"]
    assert "cloud.google.com/compute-class" not in batch["nodeLabels"]
    for spec in (h100, batch):
        assert {"effect": "NoSchedule", "key": "cloud.google.com/compute-class", "operator": "Exists"} in spec["tolerations"]
        assert {"effect": "NoSchedule", "key": "cloud.google.com/gke-queued", "operator": "Exists"} in spec["tolerations"]


def test_capacity_objects_pass_their_crd_tables(plan):
    kinds = {"ComputeClass", "ProvisioningRequestConfig", "AdmissionCheck", "ClusterQueue", "ResourceFlavor"}
    checked = 0
    for r in plan.resources:
        obj = inputs(r)
        if r.type.startswith("kubernetes:") and obj.get("kind") in kinds:
            assert not crds.errors(obj), (r.name, crds.errors(obj))
            checked += 1
    assert checked >= 9


def test_the_table_refuses_a_misspelt_compute_class_field():
    bad = {"apiVersion": "cloud.google.com/v1", "kind": "ComputeClass", "metadata": {"name": "x"},
           "spec": {"priorities": [{"nodepool": ["p"]}], "whenUnsatisfiable": "DoNotScaleUp"}}
    assert crds.errors(bad) == ["spec.priorities[0]: unknown field 'nodepool'"]


def test_a_stack_without_chains_gets_no_class_and_keeps_its_pools():
    plan = plan_for(PROD)
    assert plan.by_type(COMPUTE_CLASS) == []
    for r in plan.by_type(NODE_POOL):
        cfg = inputs(r)
        assert "reservationAffinity" not in cfg["nodeConfig"] and "queuedProvisioning" not in cfg
        assert not any(t["key"] == "cloud.google.com/compute-class" for t in cfg["nodeConfig"]["taints"])


BAD = {**STACK, "environment": "dev", "network": {"apiAllowedCidrs": ["10.0.0.0/8"]}}


@pytest.mark.parametrize("change, message", [
    ({"gcp": {"project": "p", "flexStartPools": ["nope"]}},
     "gcp.flexStartPools[0]: 'nope' is not a GPU pool of this stack; allowed: h100, l4, a100, batch"),
    ({"gcp": {"project": "p", "flexStartPools": ["batch", "batch"]}},
     "gcp.flexStartPools[1]: 'batch' is listed twice; allowed: each pool once"),
    ({"platform": {"workloads": {"queueing": {"enabled": False}}}},
     "gcp.flexStartPools: needs platform.workloads.queueing.enabled: true (Kueue asks GKE for a job's flex-start nodes "
     "through a ProvisioningRequest); allowed: enable queueing, or no flex-start pools"),
    ({"gpuPools": [*STACK["gpuPools"][:3], {"name": "batch", "instanceType": "a2-highgpu-1g", "minNodes": 1, "maxNodes": 8}]},
     "gpuPools[3].minNodes: 1 on flex-start pool 'batch': queued provisioning starts nodes only for a job's request; allowed: 0"),
    ({"gpuPools": [*STACK["gpuPools"][:3], {"name": "batch", "instanceType": "a2-highgpu-1g", "spot": True}]},
     "gpuPools[3].spot: true on flex-start pool 'batch': flex-start VMs are not spot VMs; allowed: false"),
    ({"gpuPools": [*STACK["gpuPools"][:3], {"name": "batch", "instanceType": "a2-highgpu-1g", "capacity": ["onDemand"]}]},
     "gpuPools[3].capacity: set on flex-start pool 'batch': its nodes come from DWS flex-start only (no reservation, spot "
     "or on-demand tier); allowed: unset"),
    ({"gpuPools": [{"name": "l4", "instanceType": "g2-standard-8", "capacity": ["spot", "onDemand"],
                    "sharing": {"timeSlicing": {"replicas": 2}}}], "gcp": {"project": "p"}},
     "gpuPools[0].capacity: [spot, onDemand] with sharing on compute-classes: the nodes GKE creates for the later tiers "
     "have no GPU time-sharing or MIG partition; allowed: one tier for a pool with sharing"),
    # A fabric pool (a3-highgpu-8g: GPUDirect-TCPX, catalog): a priority has no additional node
    # networks, so fallback nodes would train over plain TCP.
    ({"gpuPools": [{"name": "h100", "instanceType": "a3-highgpu-8g", "capacity": [{"reserved": {"name": "h100-res"}}, "onDemand"]}],
      "gcp": {"project": "p"}},
     "gpuPools[0].capacity: [reserved h100-res, onDemand] on fabric pool 'h100' (tcpx) on compute-classes: the nodes GKE "
     "creates for the later tiers lack the pool's fabric networks; allowed: one tier for a fabric pool, or interconnect: none"),
])
def test_bad_capacity_config_is_one_line(change, message):
    assert message in config_errors({**BAD, **change})


def test_sharing_is_refused_only_where_fallback_nodes_would_lack_it():
    # The other side of the sharing rule: one tier on compute-classes, or a chain on a pool
    # without sharing, loads (the node pool itself carries the sharing, F2 has no sharing field).
    base = {"cloud": "gcp", "region": "us-central1", "gcp": {"project": "ml-platform-dev"}, "network": {"privateApi": True}}
    shared = {"name": "l4", "instanceType": "g2-standard-8", "sharing": {"timeSlicing": {"replicas": 2}}}
    cfg = load({**base, "provisioner": "compute-classes", "gpuPools": [{**shared, "capacity": ["spot"]}]})
    assert pool_provisioner(cfg, cfg.gpu_pools[0]) == "compute-classes"
    cfg = load({**base, "gpuPools": [{**shared, "sharing": None, "capacity": ["spot", "onDemand"]}]})
    assert pool_provisioner(cfg, cfg.gpu_pools[0]) == "compute-classes"
    # The fabric rule's other sides: a fabric pool on its reservation alone (prod-gcp's h100),
    # and a chain on one whose fabric is off, both load on compute-classes.
    h100 = {"name": "h100", "instanceType": "a3-highgpu-8g"}
    cfg = load({**base, "gpuPools": [{**h100, "capacity": [{"reserved": {"name": "h100-res"}}]}]})
    assert pool_provisioner(cfg, cfg.gpu_pools[0]) == "compute-classes" and cfg.gpu_pools[0].fabric("gcp") is not None
    cfg = load({**base, "gpuPools": [{**h100, "interconnect": "none", "capacity": [{"reserved": {"name": "h100-res"}}, "onDemand"]}]})
    assert pool_provisioner(cfg, cfg.gpu_pools[0]) == "compute-classes" and cfg.gpu_pools[0].fabric("gcp") is None


def test_a_standby_need_not_copy_the_primarys_reservation():
    # components/dr.py parity: a reservation belongs to one region, so the DR standby's pools
    # must match the primary's in everything but where their nodes come from.
    from components.dr import parity
    base = {"cloud": "gcp", "region": "us-central1", "gcp": {"project": "ml-platform-dev"}, "network": {"privateApi": True}}
    pool = {"name": "h100", "instanceType": "a3-highgpu-8g", "maxNodes": 2, "interconnect": "none"}
    plain = load({**base, "gpuPools": [pool]})
    reserved = load({**base, "gpuPools": [{**pool, "capacity": [{"reserved": {"name": "h100-res"}}, "onDemand"]}]})
    bigger = load({**base, "gpuPools": [{**pool, "maxNodes": 4}]})
    assert parity(plain) == parity(reserved)
    assert parity(plain) != parity(bigger)


def test_a_reservation_named_placeholder_is_a_placeholder_only_there():
    # checks/placeholders.py: the program's marker for a GKE reservation not bought yet.
    from components.config.checks.placeholders import placeholder_lines
    lines = placeholder_lines({"gpuPools": [{"capacity": [{"reserved": {"name": "h100-placeholder"}}]}]}, set())
    assert len(lines) == 1 and lines[0].startswith("gpuPools[0].capacity[0].reserved.name: 'h100-placeholder' marks a reservation nobody has bought yet")
    assert placeholder_lines({"gpuPools": [{"capacity": [{"reserved": {"name": "h100-res"}}]}]}, set()) == []
    assert placeholder_lines({"namespaces": [{"name": "team-placeholder"}]}, set()) == []


def test_the_preview_shows_a_flex_start_pool_and_its_preemptible_quota():
    # preview/capacity.py: one flex-start row at most the on-demand price, drawn from the
    # preemptible GPU quota (GCP Cluster Director docs, "Obtain capacity").
    from preview.capacity import FLEX_START, capacity_rows, quota_rows
    cfg = load(STACK)
    batch = [r for r in capacity_rows(cfg) if r.pool == "batch"]
    price = catalog.cloud("gcp").instance_types["a2-highgpu-1g"].usd_per_hour
    assert [(r.tier, r.usd_per_node_hour, r.ceiling) for r in batch] == [(FLEX_START, price, True)]
    h100 = [r.tier for r in capacity_rows(cfg) if r.pool == "h100"]
    assert h100 == ["reserved h100-res", "reserved projects/capacity-hub/reservations/h100-shared", "spot", "on-demand"]
    preemptible = [q for q in quota_rows(cfg) if q.code == "PREEMPTIBLE_NVIDIA_A100_GPUS"]
    assert len(preemptible) == 1 and "batch" in preemptible[0].pools
    assert not [q for q in quota_rows(cfg) if q.code == "NVIDIA_A100_GPUS" and "batch" in q.pools]

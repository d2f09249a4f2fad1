"""The GKE day-2 change matrix on the plan (tests/workflows/day2.py classifies).

Facts, each with its source: hashicorp/terraform-provider-google (the provider pulumi-gcp 9.x/10.x
bridges), read at main as stored:
- mmv1/third_party/terraform/services/container/node_config.go schemaNodeConfig:
  guest_accelerator (type, count, gpu_partition_size, gpu_sharing_config,
  gpu_driver_installation_config) ForceNew; machine_type, disk_size_gb, disk_type, labels,
  taint update in place (GKE UpdateNodePool, a rolling node recreation by the pool's upgrade
  settings); spot is immutable (Config Connector ContainerNodePool spec.nodeConfig.spot
  "Immutable", generated from the same schema).
- resource_container_node_pool.go: placement_policy ForceNew (a TPU slice's topology is fixed
  with its node pool); name_prefix ForceNew (a unique suffix per pool, so a
  replacement comes up before the old pool goes); autoscaling and node_locations update in place.
- resource_container_cluster.go: min_master_version, master_authorized_networks_config,
  release_channel update in place.
"""

from __future__ import annotations


import pytest

from tests.conftest import config_errors, plan_for
from tests.workflows.day2 import (
    Fact, assert_replace_is_clash_free, assert_warm_nodes_toggle_only_their_objects, classify, plan_stack_changed, preview_change,
)

TF_NC = "terraform-provider-google services/container/node_config.go"
TF_NP = "terraform-provider-google services/container/resource_container_node_pool.go"
TF_GKE = "terraform-provider-google services/container/resource_container_cluster.go"
POOL = "gcp:container/nodePool:NodePool"
GKE = "gcp:container/cluster:Cluster"

FACTS = [
    Fact(POOL, "nodeConfig.guestAccelerators", "replace", TF_NC + " guest_accelerator ForceNew"),
    Fact(POOL, "nodeConfig.spot", "replace", "Config Connector ContainerNodePool nodeConfig.spot Immutable"),
    Fact(POOL, "namePrefix", "replace", TF_NP + " name_prefix ForceNew"),
    Fact(POOL, "placementPolicy", "replace", TF_NP + " placement_policy ForceNew"),
    Fact(POOL, "nodeConfig.machineType", "update", TF_NC + " machine_type (UpdateNodePool)"),
    Fact(POOL, "nodeConfig.diskSizeGb", "update", TF_NC + " disk_size_gb (UpdateNodePool)"),
    Fact(POOL, "nodeConfig.labels", "update", TF_NC + " labels (UpdateNodePool)"),
    Fact(POOL, "nodeConfig.gcfsConfig", "update", "terraform-google-conversion v7 node_config.go schemaGcfsConfig (no ForceNew; UpdateNodePool)"),
    Fact(POOL, "nodeConfig.taints", "update", TF_NC + " taint (UpdateNodePool)"),
    Fact(POOL, "nodeConfig.reservationAffinity", "replace", TF_NC + " reservation_affinity ForceNew"),
    Fact(POOL, "queuedProvisioning", "replace", TF_NP + " queued_provisioning ForceNew"),
    Fact(POOL, "autoscaling", "update", TF_NP + " autoscaling (SetNodePoolAutoscaling)"),
    Fact(POOL, "nodeLocations", "update", TF_NP + " node_locations (UpdateNodePool)"),
    Fact(GKE, "minMasterVersion", "update", TF_GKE + " min_master_version (UpdateMaster)"),
    Fact(GKE, "masterAuthorizedNetworksConfig", "update", TF_GKE + " (UpdateCluster)"),
    Fact(GKE, "releaseChannel", "update", TF_GKE + " release_channel (UpdateCluster)"),
    Fact("gcp:storage/bucket:Bucket", "name", "replace", "terraform-provider-google storage bucket name ForceNew"),
    Fact("gcp:storage/bucket:Bucket", "location", "replace", "terraform-provider-google storage bucket location ForceNew"),
    Fact("gcp:artifactregistry/repository:Repository", "repositoryId", "replace", "terraform-provider-google artifactregistry repository_id ForceNew"),
    Fact("gcp:artifactregistry/repository:Repository", "location", "replace", "terraform-provider-google artifactregistry location ForceNew"),
    Fact("gcp:kms/keyRing:KeyRing", "location", "replace", "terraform-provider-google kms key_ring location ForceNew"),
]
GENERATED_NAMES = {POOL: TF_NP + " name_prefix + unique suffix"}
STATEFUL = {"gcp:storage/bucket:Bucket", "gcp:kms/cryptoKey:CryptoKey", "gcp:artifactregistry/repository:Repository",
            GKE, "gcp:compute/network:Network"}

BASE = {
    "cloud": "gcp", "region": "us-central1",
    "gcp": {"project": "ml-platform-dev", "regional": False},
    "network": {"privateApi": False, "apiAllowedCidrs": ["203.0.113.0/24"]},
}
L4 = {"name": "l4", "instanceType": "g2-standard-4", "minNodes": 0, "maxNodes": 4, "diskGb": 200}
A100 = {"name": "a100", "instanceType": "a2-highgpu-1g", "maxNodes": 2, "sharing": {"mig": {"profile": "1g.5gb"}}}


def stack(**overrides):
    return {**BASE, "gpuPools": [L4, A100], **overrides}


@pytest.fixture(scope="module")
def before():
    return plan_for(stack())


def change(before, after_raw):
    return preview_change(before, after_raw, FACTS, STATEFUL)


@pytest.mark.parametrize("l4_change, path", [
    ({"instanceType": "a2-highgpu-1g"}, "nodeConfig.guestAccelerators"),   # another GPU model
    ({"spot": True}, "nodeConfig.spot"),
    ({"sharing": {"timeSlicing": {"replicas": 4}}}, "nodeConfig.guestAccelerators"),
])
def test_accelerator_and_spot_changes_replace_the_pool_under_a_new_name(before, l4_change, path):
    pool = change(before, stack(gpuPools=[{**L4, **l4_change}, A100]))["ml-test-l4"]
    assert any(p.startswith(path) for p in pool.paths)
    assert_replace_is_clash_free(pool, GENERATED_NAMES)


def test_mig_profile_change_replaces_the_pool_under_a_new_name(before):
    pool = change(before, stack(gpuPools=[L4, {**A100, "sharing": {"mig": {"profile": "2g.10gb"}}}]))["ml-test-a100"]
    assert any(p.startswith("nodeConfig.guestAccelerators") for p in pool.paths)
    assert_replace_is_clash_free(pool, GENERATED_NAMES)


@pytest.mark.parametrize("l4_change, prefix", [
    ({"instanceType": "g2-standard-8"}, "nodeConfig.machineType"),   # same GPU, bigger machine
    ({"diskGb": 300}, "nodeConfig.diskSizeGb"),
    ({"minNodes": 1, "maxNodes": 8}, "autoscaling"),
])
def test_machine_disk_and_size_update_the_pool_in_place(before, l4_change, prefix):
    pool = change(before, stack(gpuPools=[{**L4, **l4_change}, A100]))["ml-test-l4"]
    assert pool.action == "update" and any(p.startswith(prefix) for p in pool.paths), pool


def test_version_and_api_cidrs_update_the_cluster_in_place(before):
    cluster = change(before, stack(kubernetesVersion="1.34"))["ml-test-gke"]
    assert cluster.action == "update" and "minMasterVersion" in cluster.paths
    cluster = change(before, stack(network={"privateApi": False, "apiAllowedCidrs": ["198.51.100.0/24"]}))["ml-test-gke"]
    assert cluster.action == "update" and all(p.startswith("masterAuthorizedNetworksConfig") for p in cluster.paths)


def test_dr_off_on_prod_would_replace_the_stores_which_protect_refuses():
    """Turning DR off on prod-gcp moves the buckets and the registry from the dual-region /
    multi-region to the region: new names and locations, which GCS and Artifact Registry cannot
    change in place. They are protected in prod, so pulumi refuses the replacement (the data
    stays); leaving DR needs a data move first (docs/day2.md)."""
    before = plan_stack_changed("prod-gcp")
    outcomes = classify(before, plan_stack_changed("prod-gcp", drop=["dr"]), FACTS)
    risky = {urn for urn, o in outcomes.items() if o.action in ("delete", "replace") and o.type in STATEFUL | {"gcp:kms/keyRing:KeyRing"}}
    assert {o.type for u, o in outcomes.items() if u in risky} >= {"gcp:storage/bucket:Bucket", "gcp:artifactregistry/repository:Repository"}
    protected = {r.urn for r in before.resources if r.protect}
    assert risky <= protected, sorted(risky - protected)


def test_a_gpu_type_the_region_lacks_is_refused_at_config_time_with_one_line():
    problems = config_errors(stack(gpuPools=[{**L4, "instanceType": "g2-standard-5"}, A100]))
    assert len(problems) == 1 and problems[0].startswith("gpuPools[0].instanceType")


def test_release_channel_change_updates_the_cluster_in_place(before):
    cluster = change(before, stack(gcp={**BASE["gcp"], "releaseChannel": "RAPID"}))["ml-test-gke"]
    assert cluster.action == "update" and cluster.paths == ("releaseChannel.channel",)


# --- TPU slice pools (components/clouds/gcp/tpu.py) ---------------------------------------------

V5E = {"name": "v5e", "generation": "v5e", "topology": "4x4"}


def test_adding_a_tpu_pool_only_creates_its_node_pool(before):
    outcomes = change(before, stack(tpuPools=[V5E]))
    assert {(name, o.action) for name, o in outcomes.items()} == {("ml-test-v5e", "create")}


def test_a_new_slice_topology_replaces_the_pool_under_a_new_name_and_a_new_minimum_updates_it(before):
    """GKE cannot grow or reshape a multi-host slice: the provider replaces the pool
    (placement_policy ForceNew), under a new generated name so the old slice's pool goes after."""
    with_tpu = plan_for(stack(tpuPools=[V5E]))
    pool = change(with_tpu, stack(tpuPools=[{**V5E, "topology": "4x8"}]))["ml-test-v5e"]
    assert "placementPolicy.tpuTopology" in pool.paths
    assert_replace_is_clash_free(pool, GENERATED_NAMES)
    # Keeping the slice up (minSlices 1) is an autoscaling change, in place; the new initial
    # size (ForceNew in the provider) is ignored after creation (ignoreChanges), as on GPU pools.
    pool = change(with_tpu, stack(tpuPools=[{**V5E, "minSlices": 1}]))["ml-test-v5e"]
    assert pool.action == "update" and set(pool.paths) == {"autoscaling.totalMinNodeCount", "initialNodeCount"}, pool
    assert "initialNodeCount" in with_tpu.one(POOL, "ml-test-v5e").ignore_changes


def test_staging_gains_its_tpu_pool_and_team_chips_by_creates_and_in_place_updates_only():
    """staging-gcp as it was before its TPU pool (no tpuPools, no TPU chips in namespaces and
    queues) against the stack file: the pool and its flavor are created, the teams'
    ClusterQueues and the namespaces' quotas change in place, nothing is replaced or deleted."""
    from components.config import raw_from_pulumi
    from components.config.checks.tpu import without_tpu_chips
    from preview import engine

    values, _ = engine.read_stack_config("staging-gcp")
    raw, _ = raw_from_pulumi(values)
    before_tpu = {k: v for k, v in without_tpu_chips(raw).items() if k != "tpuPools"}
    outcomes = classify(plan_for(before_tpu, stack="staging-gcp"), plan_stack_changed("staging-gcp"), FACTS)
    actions = {(o.type.rsplit(":", 1)[-1], o.name.removeprefix("ml-staging-gcp-"), o.action) for o in outcomes.values()}
    assert {a for a in actions if a[2] == "create"} == {("NodePool", "v5e", "create"), ("ResourceFlavor", "workloads-flavor-tpu-v5e", "create")}
    assert {a[0] for a in actions if a[2] == "update"} == {"ClusterQueue", "ResourceQuota"}
    assert not [a for a in actions if a[2] in ("replace", "delete")]


def test_a_reservation_as_first_tier_replaces_the_pool_under_a_new_name(before):
    """reservation_affinity is ForceNew: the pool comes up anew (name_prefix) before the old goes;
    with a reservation `auto` moves the pool to compute-classes, so its ComputeClass is created."""
    outcomes = change(before, stack(gpuPools=[{**L4, "capacity": [{"reserved": {"name": "l4-res"}}, "onDemand"]}, A100]))
    pool = outcomes["ml-test-l4"]
    assert pool.action == "replace" and any(p.startswith("nodeConfig.reservationAffinity") for p in pool.paths)
    assert_replace_is_clash_free(pool, GENERATED_NAMES)
    assert outcomes["ml-test-ml-gpu-l4"].action == "create"
    assert "ml-test-a100" not in outcomes  # unchanged


def test_joining_a_compute_class_updates_the_pool_in_place(before):
    """A pool put on compute-classes with its one tier keeps its nodes' kind: only the class
    label and taint change (UpdateNodePool), and the ComputeClass is created."""
    outcomes = change(before, stack(gpuPools=[{**L4, "provisioner": "compute-classes"}, A100]))
    pool = outcomes["ml-test-l4"]
    assert pool.action == "update", pool
    assert set(pool.paths) <= {"nodeConfig.labels.cloud.google.com/compute-class", "nodeConfig.taints"} | {
        p for p in pool.paths if p.startswith("nodeConfig.taints")}
    assert outcomes["ml-test-ml-gpu-l4"].action == "create"



def test_warm_nodes_off_deletes_only_their_kubernetes_objects():
    """gpuPools[].warmNodes off and on again on prod-gcp (h100 on a reservation and l4infer serving keep one each, h200 none): no node pool, ComputeClass or anything else changes: the warm nodes
    are placeholder pods (components/platform/warm.py)."""
    assert_warm_nodes_toggle_only_their_objects("prod-gcp", FACTS, {"h100": 1, "h200": 0, "l4infer": 1})

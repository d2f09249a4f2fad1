"""GKE TPU slice node pools (components/clouds/gcp/tpu.py): the node pool each `tpuPools`
entry becomes, its order in the plan, and the TPU pool facts the handle carries.

Upstream facts relied on (each assertion says which):
- pulumi-gcp 10.2.0 container.NodePool: `placement_policy.tpu_topology` ("The TPU topology
  like 2x4 or 2x2x2"), `placement_policy.type`, `node_config.reservation_affinity`
  (`SPECIFIC_RESERVATION` with key compute.googleapis.com/reservation-name),
  `autoscaling.total_{min,max}_node_count`, `location_policy` ANY ("prioritize utilization of
  unused reservations, and reduce preemption risk for Spot VMs"), pulumi_gcp/container/_inputs.py.
- GoogleCloudPlatform/cluster-toolkit modules/compute/gke-node-pool/main.tf: COMPACT placement
  only for node pools in a single zone; modules/internal/tpu-definition/main.tf: chips per
  machine type, the google.com/tpu=present:NoSchedule taint, the accelerator label per family.
- GKE "About TPUs in GKE": a multi-host slice's nodes are one atomic unit (created, repaired
  and scaled together), so the autoscaler range is 0 or all of them; "Deploy TPU workloads in
  GKE Standard": max nodes = product of the topology / chips per VM.
- Machine type per topology: cloud.google.com/tpu/docs/v5e, v5p, v6e ("Configurations").
"""

from __future__ import annotations

import pytest

from components import conventions
from components.catalog import tpus
from components.clouds.gcp import tpu as gcp_tpu
from components.config import load
from tests.conftest import inputs, plan_for, plan_for_stack

NODE_POOL = "gcp:container/nodePool:NodePool"

# A v6e single-host pool (2x4 on one ct6e-standard-8t VM, 1-3 slices) on a reservation, and a
# v5p multi-host slice (2x2x2: 8 chips on 2 VMs) kept up; both in us-central1.
RAW = {
    "cloud": "gcp", "region": "us-central1", "environment": "staging",
    "gcp": {"project": "ml-platform-staging"},
    "network": {"privateApi": True},
    "tpuPools": [
        {"name": "v6e", "generation": "v6e", "topology": "2x4", "minSlices": 1, "maxSlices": 3, "reservation": "trillium-res"},
        {"name": "v5p", "generation": "v5p", "topology": "2x2x2", "minSlices": 1, "diskGb": 200},
    ],
    "namespaces": [
        {"name": "research", "team": "research", "group": "research@corp.internal", "tpus": 24},
        {"name": "vision", "team": "vision", "group": "vision@corp.internal", "tpus": 8},
    ],
    "platform": {"workloads": {"queueing": {"enabled": True, "queues": [
        {"team": "research", "tpus": {"v6e": 16, "v5p": 8}},
        {"team": "vision", "tpus": {"v6e": 8}},
    ]}}},
}


@pytest.fixture(scope="module")
def plan():
    return plan_for(RAW, stack="tpu-gcp")


@pytest.fixture(scope="module")
def staging():
    return plan_for_stack("staging-gcp")


def pool(plan, name):
    return plan.one(NODE_POOL, f"{plan.outputs['clusterName']}-{name}")


def test_a_multi_host_slice_is_one_compact_pool_scaling_between_zero_and_all_its_nodes(staging):
    """staging-gcp's v5e 4x4: 16 chips on ct5lp-hightpu-4t VMs (4 chips each) is 4 nodes."""
    tslice = tpus.tpu_slice("v5e", "4x4")
    p = inputs(pool(staging, "v5e"))
    node = p["nodeConfig"]
    assert node["machineType"] == tslice.machine_type == "ct5lp-hightpu-4t"
    # COMPACT with the topology: GKE builds the slice's ICI mesh from it (pulumi-gcp tpu_topology).
    assert p["placementPolicy"] == {"type": "COMPACT", "tpuTopology": "4x4"}
    # One zone (COMPACT placement is single-zone), the first one the catalog lists for v5e here.
    assert p["nodeLocations"] == [tpus.TPU_GENERATIONS["v5e"].zones["us-central1"][0]]
    # Atomic: 0 or all nodes; max = 16 chips / 4 per VM.
    assert p["autoscaling"] == {"totalMinNodeCount": 0, "totalMaxNodeCount": tslice.chips // tslice.chips_per_vm, "locationPolicy": "ANY"}
    assert p["initialNodeCount"] == 0
    assert node["spot"] is True and "reservationAffinity" not in node
    assert node["taints"] == [{"key": "google.com/tpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert node["labels"] == conventions.tpu_pool_labels(load_pool("staging-gcp", "v5e"))
    assert node["labels"][conventions.POOL_LABEL] == "v5e" and node["labels"][conventions.GPU_NODE_LABEL] == "false"
    assert "guestAccelerators" not in node  # TPU VMs come with their chips; no guest accelerator
    # A replacement (new topology) gets a new name before the old pool goes.
    assert p["namePrefix"] == "v5e-"
    # Like every pool: our node service account, shielded COS, the metadata server.
    assert node["imageType"] == "COS_CONTAINERD" and node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert node["serviceAccount"] == "ml-staging-gcp-nodes@ml-platform-staging.iam.gserviceaccount.com"


def load_pool(stack, name):
    from preview import engine
    from components.config import raw_from_pulumi

    values, _ = engine.read_stack_config(stack)
    cfg = load(raw_from_pulumi(values)[0])
    return next(p for p in cfg.tpu_pools if p.name == name)


def test_a_single_host_pool_has_no_placement_policy_and_scales_by_slices_on_its_reservation(plan):
    tslice = tpus.tpu_slice("v6e", "2x4")
    p = inputs(pool(plan, "v6e"))
    node = p["nodeConfig"]
    assert (node["machineType"], tslice.nodes) == ("ct6e-standard-8t", 1)
    assert "placementPolicy" not in p
    # One VM per slice: minSlices..maxSlices nodes; ANY prefers the unused reservation.
    assert p["autoscaling"] == {"totalMinNodeCount": 1, "totalMaxNodeCount": 3, "locationPolicy": "ANY"}
    assert p["initialNodeCount"] == 1
    assert node["reservationAffinity"] == {
        "consumeReservationType": "SPECIFIC_RESERVATION",
        "key": "compute.googleapis.com/reservation-name",
        "values": ["trillium-res"],
    }
    assert node["spot"] is False
    assert p["nodeLocations"] == [tpus.TPU_GENERATIONS["v6e"].zones["us-central1"][0]]


def test_a_multi_host_slice_kept_up_holds_all_its_nodes(plan):
    tslice = tpus.tpu_slice("v5p", "2x2x2")
    p = inputs(pool(plan, "v5p"))
    assert p["nodeConfig"]["machineType"] == "ct5p-hightpu-4t" and tslice.nodes == 2
    assert p["autoscaling"] == {"totalMinNodeCount": tslice.nodes, "totalMaxNodeCount": tslice.nodes, "locationPolicy": "BALANCED"}
    assert p["initialNodeCount"] == tslice.nodes
    assert p["placementPolicy"] == {"type": "COMPACT", "tpuTopology": "2x2x2"}
    assert p["nodeConfig"]["diskSizeGb"] == 200


def test_tpu_pools_wait_for_the_node_grants_and_nat_and_the_platform_never_waits_for_them(staging):
    tpu_pool = pool(staging, "v5e")
    gke = staging.one("mlclusters:clouds:GkeCluster")
    assert tpu_pool.parent == gke.urn
    roles = {b.urn for b in staging.by_type("gcp:projects/iAMMember:IAMMember")}
    nat = staging.one("gcp:compute/routerNat:RouterNat").urn
    assert roles | {nat} <= set(tpu_pool.dependencies)
    # Ignore the creation-time size afterwards: the autoscaler owns it.
    assert "initialNodeCount" in tpu_pool.ignore_changes
    # The Kubernetes side (provider, releases, Kueue objects) comes up in parallel.
    for r in staging.resources:
        if r.type.startswith("kubernetes:") or r.type == "pulumi:providers:kubernetes":
            assert tpu_pool.urn not in r.dependencies, r.name


def test_prod_encrypts_tpu_boot_disks_and_waits_for_the_key_grant():
    prod = plan_for({**RAW, "environment": "prod", "tpuPools": [RAW["tpuPools"][1]], "namespaces": [], "platform": {}}, stack="tpu-prod")
    p = pool(prod, "v5p")
    grant = next(r for r in prod.by_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember") if r.name.endswith("-disks-compute-system"))
    assert grant.urn in p.dependencies
    assert "bootDiskKmsKey" in inputs(p)["nodeConfig"]


def test_the_handle_carries_each_tpu_pool_in_cloud_agnostic_form():
    cfg = load(RAW)
    facts = {f.pool: f for f in gcp_tpu.tpu_pool_facts(cfg)}
    v6e, v5p = facts["v6e"], facts["v5p"]
    assert (v6e.chips_per_node, v6e.nodes_per_slice, v6e.max_slices, v6e.chips) == (8, 1, 3, 24)
    assert (v5p.chips_per_node, v5p.nodes_per_slice, v5p.max_slices, v5p.chips) == (4, 2, 1, 8)
    assert v6e.resource == tpus.TPU_RESOURCE == "google.com/tpu"
    assert v6e.taint == conventions.TPU_TAINT
    # What a flavor selects the nodes by: the pool and GKE's own slice labels.
    assert v6e.node_labels == {
        "cloud.google.com/gke-tpu-accelerator": "tpu-v6e-slice",
        "cloud.google.com/gke-tpu-topology": "2x4",
        conventions.POOL_LABEL: "v6e",
    }

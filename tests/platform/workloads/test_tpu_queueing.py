"""Kueue over TPU slice pools: a ResourceFlavor per TPU pool, google.com/tpu covered by every
team's ClusterQueue, and namespace quotas that agree with what Kueue admits. Figures are
derived from the config and the catalog.

Upstream facts relied on:
- kubernetes-sigs/kueue v0.19.2: an admitted pod gets its flavors' nodeLabels as nodeSelector
  and their tolerations (pkg/podset); a workload asking for a resource no ClusterQueue
  group covers stays pending (resources.quotaCheckStrategy BlockUndeclared,
  apis/config/v1beta2/configuration_types.go); flavors are tried in the queue's order
  (pkg/scheduler/flavorassigner/flavorassigner.go).
- GKE: TPU nodes carry cloud.google.com/gke-tpu-accelerator and cloud.google.com/gke-tpu-topology
  and the taint google.com/tpu=present:NoSchedule; the chips are the extended resource
  google.com/tpu ("Deploy TPU workloads in GKE Standard").
"""

from __future__ import annotations

import pytest

from components.catalog import tpus
from components.platform import serving as platform_serving
from components.platform.workloads import queueing
from tests.clouds.gcp.test_tpu import RAW
from tests.conftest import plan_for, plan_for_stack
from tests.platform.workloads import crds
from tests.platform.workloads.helpers import depends, objects, releases

TPU = tpus.TPU_RESOURCE


@pytest.fixture(scope="module")
def plan():
    return plan_for(RAW, stack="tpu-gcp")


def tpu_group(cq: dict) -> dict:
    (group,) = [g for g in cq["spec"]["resourceGroups"] if TPU in g["coveredResources"]]
    return group


def test_a_resource_flavor_per_tpu_pool_selects_its_slice_and_tolerates_the_tpu_taint(plan):
    flavors = objects(plan, "ResourceFlavor")
    for pool in RAW["tpuPools"]:
        resource, flavor = flavors[queueing.tpu_flavor_name(pool["name"])]
        gen = tpus.TPU_GENERATIONS[pool["generation"]]
        assert flavor["spec"]["nodeLabels"] == {
            "cloud.google.com/gke-tpu-accelerator": gen.accelerator,
            "cloud.google.com/gke-tpu-topology": pool["topology"],
            "ml-clusters.io/pool": pool["name"],
        }
        assert flavor["spec"]["nodeTaints"] == [{"key": "google.com/tpu", "value": "present", "effect": "NoSchedule"}]
        assert flavor["spec"]["tolerations"] == [{"key": "google.com/tpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]
        assert crds.errors(flavor) == []
        # Created once Kueue's release has installed the CRD.
        assert depends(resource, releases(plan)["kueue"])


def test_every_team_queue_covers_tpu_chips_own_first_and_borrows_the_rest_of_the_cohort(plan):
    queues = {team: cq for team, (_, cq) in objects(plan, "ClusterQueue").items()}
    assert set(queues) == {"research", "vision"}
    own = {q["team"]: q["tpus"] for q in RAW["platform"]["workloads"]["queueing"]["queues"]}
    cohort = {p["name"]: sum(t.get(p["name"], 0) for t in own.values()) for p in RAW["tpuPools"]}
    for team, cq in queues.items():
        assert crds.errors(cq) == []
        group = tpu_group(cq)
        assert group["coveredResources"] == [TPU]
        quotas = {f["name"]: f["resources"][0] for f in group["flavors"]}
        for pool in RAW["tpuPools"]:
            mine = own[team].get(pool["name"], 0)
            quota = quotas[queueing.tpu_flavor_name(pool["name"])]
            assert (quota["name"], int(quota["nominalQuota"]), int(quota["borrowingLimit"])) == (TPU, mine, cohort[pool["name"]] - mine)
        # The team's own chips first: Kueue tries flavors in this order.
        nominal = [int(f["resources"][0]["nominalQuota"]) for f in group["flavors"]]
        assert nominal == sorted(nominal, reverse=True)
    # vision holds no v5p chips but can borrow research's whole 2x2x2 slice when it is idle.
    v5p = {f["name"]: f["resources"][0] for f in tpu_group(queues["vision"])["flavors"]}["tpu-v5p"]
    assert (v5p["nominalQuota"], v5p["borrowingLimit"]) == ("0", str(tpus.chips("2x2x2")))


def test_stacks_without_tpu_pools_render_no_tpu_group():
    for _, cq in objects(plan_for_stack("prod-aws"), "ClusterQueue").values():
        assert all(TPU not in g["coveredResources"] for g in cq["spec"]["resourceGroups"])
    assert not any(name.startswith("tpu-") for name in objects(plan_for_stack("prod-aws"), "ResourceFlavor"))


def test_namespace_quota_admits_what_kueue_admits_and_nothing_outside_it(plan):
    quotas = objects(plan, "ResourceQuota")
    all_chips = sum(ns["tpus"] for ns in RAW["namespaces"])
    for ns in RAW["namespaces"]:
        # Own plus borrowable chips can all land in the team's one namespace.
        hard = quotas[f"{ns['name']}/compute"][1]["spec"]["hard"]
        assert hard[f"requests.{TPU}"] == str(all_chips)


def test_without_queueing_the_namespace_quota_is_the_configured_chips():
    raw = {**RAW, "platform": {}}
    quotas = objects(plan_for(raw, stack="tpu-gcp-noqueue"), "ResourceQuota")
    for ns in RAW["namespaces"]:
        assert quotas[f"{ns['name']}/compute"][1]["spec"]["hard"][f"requests.{TPU}"] == str(ns["tpus"])


def test_pods_outside_kueue_get_no_tpu_chips_where_a_team_reserves_gpus():
    """The outside-queue quota (serving and notebook classes) holds 0 chips: TPU slices are
    queued only. staging-gcp's serving team reserves L4 GPUs outside Kueue."""
    quotas = objects(plan_for_stack("staging-gcp"), "ResourceQuota")
    outside = quotas[f"inference/{platform_serving.OUTSIDE_QUEUE_QUOTA}"][1]["spec"]["hard"]
    assert outside[f"requests.{TPU}"] == "0"
    assert outside["requests.nvidia.com/gpu"] != "0"

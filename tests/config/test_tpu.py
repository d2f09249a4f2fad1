"""tpuPools and TPU quotas in the config: each rule with both sides of its boundary, one line
per problem naming the key, the bad value and what is allowed. Expected figures come from the
catalog (components/catalog/tpus.py).

Upstream facts relied on:
- Allowed topologies and machine types per generation: cloud.google.com/tpu/docs/v5e,
  /v5p and /v6e ("Configurations"); chips per machine type: GoogleCloudPlatform/cluster-toolkit
  modules/internal/tpu-definition/main.tf (tpu_chip_count_map).
- A multi-host slice is one GKE node pool that GKE scales as a unit; no node can be added to it
  (GKE "About TPUs in GKE": multi-host TPU slice node pools, atomicity).
- Zones: cloud.google.com/tpu/docs/regions-zones.
"""

from __future__ import annotations

import pytest

from components.catalog import tpus
from components.config import ConfigError, load

BASE = {
    "cloud": "gcp", "region": "us-central1",
    "gcp": {"project": "ml-platform-dev"},
    "network": {"privateApi": True},
}
V5E = {"name": "v5e", "generation": "v5e", "topology": "4x4"}


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(raw)
    return err.value.problems


def accepted(raw: dict):
    return load(raw)


@pytest.mark.parametrize("cloud, extra", [
    ("aws", {"region": "us-east-1"}),
    ("azure", {"region": "eastus"}),
    ("existing", {"existing": {"kubeconfig": "stacks/kubeconfigs/local-kind.yaml", "context": "kind-ml-local"}}),
])
def test_a_tpu_pool_on_another_cloud_is_one_line(cloud, extra):
    raw = {"cloud": cloud, **extra, "network": {"privateApi": True}, "tpuPools": [V5E]}
    assert problems(raw) == [
        f"tpuPools: 1 pool(s) set on cloud {cloud}, but Cloud TPUs run only on GKE; allowed: cloud gcp, or leave tpuPools out"
    ]
    # The same pool on GKE is accepted.
    assert accepted({**BASE, "tpuPools": [V5E]}).tpu_pools[0].topology == "4x4"


@pytest.mark.parametrize("generation", sorted(tpus.TPU_GENERATIONS))
def test_every_catalog_topology_is_accepted_and_a_foreign_one_refused(generation):
    gen = tpus.TPU_GENERATIONS[generation]
    region = next(iter(gen.zones))
    for topology in gen.topologies:
        cfg = accepted({**BASE, "region": region, "tpuPools": [{"name": "t", "generation": generation, "topology": topology}]})
        assert cfg.tpu_pools[0].topology == topology
    # A shape of another generation (2D for v5p, 3D for v5e/v6e) is refused, listing the allowed ones.
    foreign = "2x2" if generation == "v5p" else "2x2x2"
    assert foreign not in gen.topologies
    (line,) = problems({**BASE, "region": region, "tpuPools": [{"name": "t", "generation": generation, "topology": foreign}]})
    assert line == (f"tpuPools[0].topology: {foreign!r} is not a {gen.name} slice; allowed: "
                    f"{', '.join(gen.single_host)} (single-host), {', '.join(gen.multi_host)} (multi-host)")


def test_a_generation_the_region_lacks_is_refused_with_the_regions_that_have_it():
    v5p = tpus.TPU_GENERATIONS["v5p"]
    assert "us-east1" not in v5p.zones and "us-central1" in v5p.zones
    (line,) = problems({**BASE, "region": "us-east1", "tpuPools": [{"name": "p", "generation": "v5p", "topology": "2x2x2"}]})
    assert line == f"tpuPools[0].generation: 'v5p' (TPU v5p) is not offered in us-east1; regions with it: {', '.join(sorted(v5p.zones))}"
    accepted({**BASE, "tpuPools": [{"name": "p", "generation": "v5p", "topology": "2x2x2"}]})


def test_a_multi_host_slice_is_one_node_pool_and_a_single_host_pool_holds_many():
    # 4x4 v5e: 16 chips on 4-chip VMs, 4 nodes; maxSlices 2 would be a second slice in the same pool.
    tslice = tpus.tpu_slice("v5e", "4x4")
    assert (tslice.machine_type, tslice.nodes) == ("ct5lp-hightpu-4t", 4)
    (line,) = problems({**BASE, "tpuPools": [{**V5E, "maxSlices": 2}]})
    assert line == ("tpuPools[0].maxSlices: 2 for the multi-host topology 4x4 (4 nodes of ct5lp-hightpu-4t); one GKE node pool "
                    "holds exactly one multi-host slice; allowed: 1 (add a tpuPools entry per slice)")
    accepted({**BASE, "tpuPools": [{**V5E, "maxSlices": 1, "minSlices": 1}]})
    # 2x4 is single-host on v5e (one ct5lp-hightpu-8t VM): many slices in one pool are fine.
    assert tpus.tpu_slice("v5e", "2x4").nodes == 1
    accepted({**BASE, "tpuPools": [{"name": "s", "generation": "v5e", "topology": "2x4", "maxSlices": 8}]})


def test_min_slices_above_max_is_refused_and_equal_is_accepted():
    single = {"name": "s", "generation": "v6e", "topology": "2x4"}
    (line,) = problems({**BASE, "tpuPools": [{**single, "minSlices": 3, "maxSlices": 2}]})
    assert line == "tpuPools[0].maxSlices: 2 is less than minSlices 3"
    accepted({**BASE, "tpuPools": [{**single, "minSlices": 2, "maxSlices": 2}]})


def test_spot_with_a_reservation_is_refused_and_either_alone_accepted():
    (line,) = problems({**BASE, "tpuPools": [{**V5E, "spot": True, "reservation": "tpu-res"}]})
    assert line == ("tpuPools[0].reservation: 'tpu-res' together with spot: true; a specific reservation holds on-demand capacity; "
                    "allowed: spot false with a reservation, or no reservation")
    accepted({**BASE, "tpuPools": [{**V5E, "reservation": "tpu-res"}]})
    accepted({**BASE, "tpuPools": [{**V5E, "spot": True}]})


def test_a_reservation_name_must_be_a_resource_name():
    (line,) = problems({**BASE, "tpuPools": [{**V5E, "reservation": "Bad_Name"}]})
    assert line.startswith("tpuPools[0].reservation: 'Bad_Name'")


def test_pool_names_are_unique_across_gpu_cpu_and_tpu_pools():
    gpu = {"name": "v5e", "instanceType": "g2-standard-4"}
    (line,) = problems({**BASE, "gpuPools": [gpu], "tpuPools": [V5E]})
    assert line == "tpuPools[0].name: 'v5e' is already used by gpuPools[0]; pool names must be unique"
    (line,) = problems({**BASE, "tpuPools": [V5E, {**V5E, "topology": "4x8"}]})
    assert line == "tpuPools[1].name: 'v5e' is already used by tpuPools[0]; pool names must be unique"
    (line,) = problems({**BASE, "tpuPools": [{**V5E, "name": "system"}]})
    assert line == "tpuPools[0].name: 'system' is reserved; allowed: any other name"


def test_an_unknown_generation_names_the_allowed_ones_and_hides_nothing_else():
    (line,) = problems({**BASE, "tpuPools": [{**V5E, "generation": "v4"}]})
    assert line.startswith("tpuPools[0].generation: 'v4'") and all(g in line for g in tpus.TPU_GENERATIONS)
    # The namespaces' chips are not then reported as chips without a pool; their other
    # problems still are.
    ns = {"name": "Bad", "team": "r", "group": "g", "tpus": 16}
    lines = problems({**BASE, "tpuPools": [{**V5E, "generation": "v4"}], "namespaces": [ns]})
    assert lines[0].startswith("tpuPools[0].generation") and not any("no tpuPools" in x for x in lines)
    assert any(x.startswith("namespaces[0].name: 'Bad'") for x in lines), lines


# --- TPU chips of namespaces and queues ----------------------------------------------------------

NS = {"name": "research", "team": "research", "group": "g", "tpus": 16}
QUEUEING = {"platform": {"workloads": {"queueing": {"enabled": True}}}}


def _queues(*queues):
    return {"platform": {"workloads": {"queueing": {"enabled": True, "queues": list(queues)}}}}


def test_namespace_tpus_need_a_tpu_pool():
    (line,) = problems({**BASE, "namespaces": [NS]})
    assert line == "namespaces[0].tpus: 16 TPU chips, but the stack has no tpuPools; allowed: 0, or add tpuPools (GKE)"
    accepted({**BASE, "namespaces": [{**NS, "tpus": 0}]})
    accepted({**BASE, "namespaces": [NS], "tpuPools": [V5E]})


def test_queue_tpus_name_tpu_pools_and_add_up_to_the_teams_namespaces():
    (line,) = problems({**BASE, "namespaces": [NS], "tpuPools": [V5E], **_queues({"team": "research", "tpus": {"v6e": 16}})})
    assert line == "platform.workloads.queueing.queues[0].tpus.v6e: no TPU pool is named 'v6e'; allowed: v5e"
    (line,) = problems({**BASE, "namespaces": [NS], "tpuPools": [V5E], **_queues({"team": "research", "tpus": {"v5e": 8}})})
    assert line == ("platform.workloads.queueing.queues[0].tpus: adds up to 8 TPU chips, but team 'research''s namespaces have a quota "
                    "of 16; the per-pool chips must add up to namespaces[].tpus")
    accepted({**BASE, "namespaces": [NS], "tpuPools": [V5E], **_queues({"team": "research", "tpus": {"v5e": 16}})})


def test_guaranteed_chips_must_fit_the_pool_at_its_largest():
    chips = tpus.chips("4x4")  # one 4x4 slice: the pool's whole capacity
    over = {**NS, "tpus": chips + 4}
    (line,) = problems({**BASE, "namespaces": [over], "tpuPools": [V5E], **QUEUEING})
    assert line == (f"platform.workloads.queueing.queues: TPU pool 'v5e' would hold {chips + 4} chips of the teams (research {chips + 4}), "
                    f"but has {chips} at maxSlices 1; allowed: at most {chips} (set queues[].tpus per pool, or add slices)")
    accepted({**BASE, "namespaces": [{**NS, "tpus": chips}], "tpuPools": [V5E], **QUEUEING})

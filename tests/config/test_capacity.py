"""gpuPools[].capacity and provisioner (components/config/capacity.py, checks/capacity.py):
the chain each pool resolves to, the provisioner per pool, and the one line each bad
combination gets. Config only: nothing here evaluates a plan."""

from __future__ import annotations

import pytest

from components.catalog import capacity as facts
from components.config import CapacityTier, ConfigError, load, pool_provisioners
from components.config.capacity import chain_text

ODCR = "cr-0123456789abcdef0"
AZ_GROUP = ("/subscriptions/6c3e1b2a-1234-4000-8000-000000000001/resourceGroups/gpu-rg/providers/"
            "Microsoft.Compute/capacityReservationGroups/h100-crg")
CLOUDS = {
    "aws": {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True}},
    "gcp": {"cloud": "gcp", "region": "us-central1", "gcp": {"project": "ml-platform-1"}, "network": {"privateApi": True}},
    "azure": {"cloud": "azure", "region": "eastus", "network": {"privateApi": True}},
}
H100 = {"aws": "p5.48xlarge", "gcp": "a3-highgpu-8g", "azure": "Standard_ND96isr_H100_v5"}


def stack(cloud: str = "aws", provisioner: str | None = None, pool_provisioner: str | None = None, **pool) -> dict:
    if pool_provisioner:
        pool["provisioner"] = pool_provisioner
    # On gcp the H100 type has a fabric (GPUDirect-TCPX) whose pool keeps one tier on
    # compute-classes (checks/gke_capacity.py): these chain tests run it without.
    fabric_off = {"interconnect": "none"} if cloud == "gcp" else {}
    raw = {**CLOUDS[cloud], "gpuPools": [{"name": "h100", "instanceType": H100[cloud], "maxNodes": 2, **fabric_off, **pool}]}
    return {**raw, "provisioner": provisioner} if provisioner else raw


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(raw)
    return err.value.problems


def node_provisioner_available(cloud: str) -> bool:
    return facts.PROVISIONERS[(cloud, facts.NODE_PROVISIONER[cloud])].available


# --- spot is short for a chain ------------------------------------------------------------

@pytest.mark.parametrize("pool, chain", [
    ({}, (CapacityTier.model_validate("onDemand"),)),
    ({"spot": False}, (CapacityTier.model_validate("onDemand"),)),
    ({"spot": True}, (CapacityTier.model_validate("spot"),)),
    ({"capacity": ["spot"]}, (CapacityTier.model_validate("spot"),)),
    ({"capacity": ["onDemand"]}, (CapacityTier.model_validate("onDemand"),)),
])
def test_spot_stands_for_a_one_tier_chain_and_keeps_node_groups(pool, chain):
    cfg = load(stack(**pool))
    assert cfg.gpu_pools[0].capacity_chain() == chain
    # One tier asks for nothing node groups cannot do: auto keeps the pool's node group.
    assert pool_provisioners(cfg) == {"h100": "cluster-autoscaler"}


def test_every_reference_stack_keeps_a_pool_without_capacity_on_its_node_group():
    # auto moves a pool only when its chain needs a node provisioner.
    cfg = load(stack(capacity=None))
    assert pool_provisioners(cfg) == {"h100": facts.NODE_GROUPS}


def test_the_chain_reads_in_order_with_the_reservation_named():
    pool = load(stack(provisioner=None, capacity=["onDemand"])).gpu_pools[0]
    assert chain_text(pool) == "on-demand"
    tiers = [CapacityTier.model_validate(t) for t in ({"reserved": {"id": ODCR, "capacityBlock": True}}, "spot", "onDemand")]
    assert " -> ".join(t.label() for t in tiers) == f"reserved {ODCR} (Capacity Block) -> spot -> on-demand"


# --- reservation forms, both sides, per cloud ---------------------------------------------

@pytest.mark.parametrize("cloud, reserved, problem", [
    ("aws", {"id": ODCR}, None),
    ("aws", {"name": "h100-block-2026-12"}, None),
    ("aws", {"id": "cr-0123456789abcdef"}, f"gpuPools[0].capacity[0].reserved.id: 'cr-0123456789abcdef' is not valid on aws; allowed: {facts.RESERVATION_FORMS['aws'].id_rule}"),
    ("aws", {"id": "cr-0123456789ABCDEF0"}, f"gpuPools[0].capacity[0].reserved.id: 'cr-0123456789ABCDEF0' is not valid on aws; allowed: {facts.RESERVATION_FORMS['aws'].id_rule}"),
    ("aws", {"id": AZ_GROUP}, f"gpuPools[0].capacity[0].reserved.id: {AZ_GROUP!r} is not valid on aws; allowed: {facts.RESERVATION_FORMS['aws'].id_rule}"),
    ("gcp", {"name": "h100-reservation"}, None),
    ("gcp", {"name": "projects/shared-gpus-1/reservations/h100"}, None),
    ("gcp", {"name": "H100_Reservation"}, f"gpuPools[0].capacity[0].reserved.name: 'H100_Reservation' is not valid on gcp; allowed: {facts.RESERVATION_FORMS['gcp'].name_rule}"),
    ("gcp", {"id": ODCR}, f"gpuPools[0].capacity[0].reserved.id: {ODCR!r} is not taken on gcp: GKE consumes reservations by name; use name"),
    ("azure", {"id": AZ_GROUP}, None),
    ("azure", {"id": AZ_GROUP.replace("capacityReservationGroups", "availabilitySets")}, "gpuPools[0].capacity[0].reserved.id: "),
    ("azure", {"name": "h100-crg"}, "gpuPools[0].capacity[0].reserved.name: 'h100-crg' is not taken on azure: AKS takes a capacity reservation group by its resource id; use id"),
    ("aws", {}, "gpuPools[0].capacity[0].reserved: sets neither id nor name; allowed: one of them (aws takes id or name)"),
    ("aws", {"id": ODCR, "name": "x"}, "gpuPools[0].capacity[0].reserved: sets both id and name; allowed: one of them (aws takes id or name)"),
    ("gcp", {"name": "h100", "capacityBlock": True}, "gpuPools[0].capacity[0].reserved.capacityBlock: true is set on gcp; Capacity Blocks are EC2's; allowed: false (leave it out)"),
])
def test_a_reservation_takes_the_form_its_cloud_consumes(cloud, reserved, problem):
    raw = stack(cloud, capacity=[{"reserved": reserved}, "onDemand"])
    found = [p for p in (problems(raw) if problem else []) if ".reserved" in p]
    if problem is None:
        # The form is right; what remains is whether the cloud's provisioner can follow it.
        try:
            load(raw)
        except ConfigError as err:
            assert all(".reserved" not in p for p in err.problems), err.problems
            # No provisioner of the cloud both launches into reservations and falls back
            # (azure: agent pools take a group but keep one tier; NAP falls back, takes no group).
            node = facts.PROVISIONERS[(cloud, facts.NODE_PROVISIONER[cloud])]
            assert not (node.available and node.reserved)
        return
    assert any(p.startswith(problem) for p in found), found


# --- the chain itself -------------------------------------------------------------------

RES = {"reserved": {"id": ODCR}}
BLOCK = {"reserved": {"id": ODCR, "capacityBlock": True}}


@pytest.mark.parametrize("pool, line", [
    ({"capacity": ["spot"], "spot": True},
     "gpuPools[0].spot: true is set together with capacity; spot: true is short for capacity: [spot]; allowed: one of them (add spot to the chain)"),
    ({"capacity": []}, "gpuPools[0].capacity: [] names no tier; allowed: reserved tiers, spot, onDemand in that order (or leave capacity out)"),
    ({"capacity": ["ondemand"]},
     "gpuPools[0].capacity[0]: 'ondemand' is not valid; allowed: spot, onDemand, or {reserved: {id: ...}} / {reserved: {name: ...}}"),
    ({"capacity": [7]},
     "gpuPools[0].capacity[0]: 7 is not valid; allowed: spot, onDemand, or {reserved: {id: ...}} / {reserved: {name: ...}}"),
    ({"capacity": [{"reserved": {"id": ODCR}, "spot": True}]},
     "gpuPools[0].capacity[0]: names more than one tier; allowed: spot, onDemand, or {reserved: {id: ...}}"),
    ({"capacity": ["onDemand", "spot"]},
     "gpuPools[0].capacity: [onDemand, spot] is out of order; allowed: reserved tiers first, then spot, then onDemand (the order every provisioner tries them in)"),
    ({"capacity": ["spot", RES]},
     f"gpuPools[0].capacity: [spot, reserved {ODCR}] is out of order; allowed: reserved tiers first, then spot, then onDemand (the order every provisioner tries them in)"),
    ({"capacity": ["spot", "spot"]}, "gpuPools[0].capacity: lists spot 2 times; allowed: once"),
    ({"capacity": [RES, RES]}, f"gpuPools[0].capacity: [reserved {ODCR}, reserved {ODCR}] names the same reservation twice; allowed: each once"),
    ({"capacity": [BLOCK, "spot"]},
     f"gpuPools[0].capacity: [reserved {ODCR}, spot] pairs a Capacity Block with spot: a job sized for the block's fixed window would spill onto reclaimable nodes; allowed: the block, then onDemand (or no spot)"),
    ({"capacity": [BLOCK, "spot", "onDemand"]},
     f"gpuPools[0].capacity: [reserved {ODCR}, spot, onDemand] pairs a Capacity Block with spot: a job sized for the block's fixed window would spill onto reclaimable nodes; allowed: the block, then onDemand (or no spot)"),
])
def test_a_bad_chain_is_one_line(pool, line):
    assert line in problems(stack(**pool))


@pytest.mark.parametrize("capacity", [[RES, "spot"], [BLOCK, "onDemand"], [BLOCK], ["spot", "onDemand"]])
def test_a_fallback_under_cluster_autoscaler_is_refused_naming_the_way_out(capacity):
    raw = stack(provisioner="cluster-autoscaler", capacity=capacity)
    found = [p for p in problems(raw) if p.startswith("gpuPools[0].capacity: ")]
    assert len(found) == 1
    line = found[0]
    assert "cluster-autoscaler on aws cannot" in line
    instead = "provisioner: karpenter" if node_provisioner_available("aws") else "a single tier (karpenter is not built by this version on aws)"
    assert line.endswith((f"allowed: {instead}, or no reserved tier", f"allowed: {instead}, or one tier"))


# azure: NAP is built (tests/config/test_aks_capacity.py::test_nap_is_opt_in_auto_keeps_agent_pools_on_azure).
@pytest.mark.parametrize("cloud", ["gcp"])
def test_a_fallback_where_the_node_provisioner_is_not_built_yet_says_so(cloud):
    if node_provisioner_available(cloud):
        pytest.skip(f"{facts.NODE_PROVISIONER[cloud]} is built on {cloud}: tests/config for it cover the chain")
    line = next(p for p in problems(stack(cloud, capacity=["spot", "onDemand"])) if p.startswith("gpuPools[0].capacity"))
    assert line == (f"gpuPools[0].capacity: [spot, onDemand] falls back across 2 tiers, which cluster-autoscaler (provisioner auto) on {cloud} "
                    f"cannot ({facts.PROVISIONERS[(cloud, 'cluster-autoscaler')].summary}); allowed: a single tier "
                    f"({facts.NODE_PROVISIONER[cloud]} is not built by this version on {cloud}), or one tier")


# --- the provisioner --------------------------------------------------------------------

@pytest.mark.parametrize("cloud, value, line", [
    ("aws", "compute-classes", "provisioner: 'compute-classes' is a gcp provisioner, not one of aws; allowed: auto, cluster-autoscaler"),
    ("gcp", "karpenter", "provisioner: 'karpenter' is a aws provisioner, not one of gcp; allowed: auto, cluster-autoscaler"),
    ("azure", "compute-classes", "provisioner: 'compute-classes' is a gcp provisioner, not one of azure; allowed: auto, cluster-autoscaler"),
])
def test_a_provisioner_of_another_cloud_is_refused(cloud, value, line):
    found = problems(stack(cloud, provisioner=value))
    assert any(p.startswith(line) for p in found), found


def test_a_pool_provisioner_of_another_cloud_is_refused_with_its_key():
    found = problems(stack("gcp", pool_provisioner="karpenter"))
    assert any(p.startswith("gpuPools[0].provisioner: 'karpenter' is a aws provisioner, not one of gcp") for p in found), found


def test_a_misspelt_provisioner_lists_the_values():
    found = problems(stack(provisioner="karpenterr"))
    assert found == ["provisioner: 'karpenterr' is not allowed; allowed: auto, cluster-autoscaler, karpenter, compute-classes, node-auto-provisioning"]


def test_cluster_autoscaler_is_allowed_on_every_cloud():
    for cloud in CLOUDS:
        cfg = load(stack(cloud, provisioner="cluster-autoscaler", capacity=["spot"]))
        assert pool_provisioners(cfg) == {"h100": "cluster-autoscaler"}


EXISTING = {"cloud": "existing", "existing": {"kubeconfig": "stacks/kubeconfigs/local-kind.yaml"},
            "gpuPools": [{"name": "l4", "instanceType": "g6.xlarge"}]}


def test_cloud_existing_takes_no_capacity_and_no_provisioner():
    raw = {**EXISTING, "provisioner": "karpenter", "gpuPools": [{"name": "l4", "instanceType": "g6.xlarge", "capacity": ["spot"]}]}
    found = problems(raw)
    assert "provisioner: 'karpenter' is set on cloud existing, whose nodes and autoscaler are the cluster's own; allowed: leave it out" in found
    assert "gpuPools[0].capacity: is set on cloud existing, whose nodes are managed outside this stack; allowed: leave capacity out" in found


def test_dr_parity_leaves_out_where_a_pools_capacity_comes_from():
    """A reservation holds capacity in one region: the standby states its own chain and
    provisioner, and parity (components/dr.py) compares the rest of the pool."""
    from components.dr import parity

    primary = load(stack(capacity=[{"reserved": {"id": ODCR}}, "onDemand"]))
    assert parity(load(stack())) == parity(primary) == parity(load(stack(spot=True, pool_provisioner="cluster-autoscaler")))
    assert parity(load(stack(maxNodes=3))) != parity(primary)

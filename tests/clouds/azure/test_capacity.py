"""AKS capacity on the plan (components/clouds/azure/capacity.py): GPU pools that consume a
capacity reservation group, the cluster identity's grant and its order, and the config errors.

Upstream facts, each where a test relies on it:
- A1 pulumi-azure-native 3.29.0 containerservice/agent_pool.py capacity_reservation_group_id
  ("AKS will associate the specified agent pool with the Capacity Reservation Group"), engine
  name capacityReservationGroupID.
- A2 learn.microsoft.com/azure/aks/use-capacity-reservation-groups: the cluster's
  user-assigned managed identity needs Contributor on the resource group that contains the
  group (system-assigned identities do not work); the grant takes time to propagate.
- A3 learn.microsoft.com/azure/virtual-machines/capacity-reservation-remove-virtual-machine-scale-set:
  a regional scale set is deallocated to change its group, so a changed group replaces the pool.
- A4 Built-in role Contributor is b24988ac-6180-42a0-ad88-20c1d8e5e7e3
  (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from components.clouds.azure import capacity
from preview import mocks
from tests.conftest import config_errors, inputs, plan_for

AGENT_POOL = "azure-native:containerservice:AgentPool"
ROLE = "azure-native:authorization:RoleAssignment"
SLEEP = "time:index/sleep:Sleep"
SUB = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
GROUP = f"/subscriptions/{SUB}/resourceGroups/gpu-capacity/providers/Microsoft.Compute/capacityReservationGroups"
BASE = {"cloud": "azure", "region": "eastus", "network": {"apiAllowedCidrs": ["10.20.0.0/16"]}}
STACK = {**BASE, "gpuPools": [
    {"name": "h100", "instanceType": "Standard_ND96isr_H100_v5", "maxNodes": 2, "diskGb": 512,
     "capacity": [{"reserved": {"id": f"{GROUP}/nd-h100"}}]},
    # A second group in the same resource group: one grant covers both.
    {"name": "a100", "instanceType": "Standard_NC24ads_A100_v4", "maxNodes": 2, "diskGb": 64,
     "capacity": [{"reserved": {"id": f"{GROUP}/nc-a100"}}]},
    {"name": "t4", "instanceType": "Standard_NC4as_T4_v3", "maxNodes": 2, "diskGb": 100},
]}


@pytest.fixture(scope="module")
def plan():
    return plan_for(STACK)


def pool(plan, name):
    return plan.one(AGENT_POOL, f"ml-test-{name}")


def test_reserved_pools_consume_their_capacity_reservation_group(plan):
    # A1: the agent pool names the group; a pool without a reserved tier names none.
    assert inputs(pool(plan, "h100"))["capacityReservationGroupID"] == f"{GROUP}/nd-h100"
    assert inputs(pool(plan, "a100"))["capacityReservationGroupID"] == f"{GROUP}/nc-a100"
    assert "capacityReservationGroupID" not in inputs(pool(plan, "t4"))
    # Reserved capacity is regular (never spot) capacity.
    assert inputs(pool(plan, "h100"))["scaleSetPriority"] == "Regular"


def test_cluster_identity_gets_contributor_on_the_groups_resource_group_once(plan):
    # A2, A4: Contributor for the control-plane (cluster) identity, scoped to the resource group
    # holding the groups, one grant for both pools.
    grants = [r for r in plan.by_type(ROLE) if r.name.startswith("ml-test-capacity-reservations")]
    assert len(grants) == 1
    grant = inputs(grants[0])
    assert grant["scope"] == f"/subscriptions/{SUB}/resourceGroups/gpu-capacity"
    assert grant["roleDefinitionId"] == f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ad88-20c1d8e5e7e3"
    assert grant["principalType"] == "ServicePrincipal"
    identity = mocks._azure_identity(SimpleNamespace(name="ml-test-control-plane", inputs={}))
    assert grant["principalId"] == identity["principalId"]


def test_reserved_pools_wait_for_the_grant_to_propagate(plan):
    # A2: grant -> propagation wait -> pool; pools without a group do not wait for it.
    grant = plan.one(ROLE, "ml-test-capacity-reservations-0")
    wait = plan.one(SLEEP, "ml-test-capacity-reservations-0-propagation")
    assert grant.urn in wait.dependencies
    assert inputs(wait)["createDuration"] == "5m"
    for name in ("h100", "a100"):
        assert wait.urn in pool(plan, name).dependencies
    assert wait.urn not in pool(plan, "t4").dependencies


def test_a_changed_group_replaces_the_pool_without_a_name_clash(plan):
    # A3: the group is replace-on-change; the pool keeps its name, so the old one goes first.
    h100 = pool(plan, "h100")
    assert capacity.RESERVATION_PROPERTY in h100.replace_on_changes
    assert h100.delete_before_replace


def test_stacks_without_reservations_get_no_grant():
    # test_cluster.py's dev stack (the same config, so the cached plan): no reserved tier.
    from tests.clouds.azure.test_cluster import BASE as DEV_BASE, POOLS
    plan = plan_for({**DEV_BASE, "gpuPools": POOLS, "tags": {"team": "research"}})
    assert all("capacityReservationGroupID" not in inputs(r) for r in plan.by_type(AGENT_POOL))
    assert not [r for r in plan.by_type(ROLE) if r.name.startswith("ml-test-capacity-reservations")]
    assert not plan.by_type(SLEEP) or all("capacity" not in r.name for r in plan.by_type(SLEEP))


def test_resource_group_scope_of_a_group_id():
    assert capacity.resource_group_scope(f"{GROUP}/nd-h100") == f"/subscriptions/{SUB}/resourceGroups/gpu-capacity"


@pytest.mark.parametrize("tiers, message", [
    # The core's reservation form: Azure takes a group by id (components/catalog/capacity.py).
    ([{"reserved": {"name": "nd-h100"}}],
     "gpuPools[0].capacity[0].reserved.name: 'nd-h100' is not taken on azure: AKS takes a capacity reservation group by its resource id; use id"),
    # Node groups take one tier: a fallback needs node auto-provisioning, which cannot launch
    # into a reservation group.
    ([{"reserved": {"id": f"{GROUP}/nd-h100"}}, "onDemand"],
     "gpuPools[0].capacity: [reserved " + f"{GROUP}/nd-h100" + ", onDemand] falls back across 2 tiers"),
])
def test_bad_reservation_config_is_one_line(tiers, message):
    errors = config_errors({**BASE, "gpuPools": [{"name": "h100", "instanceType": "Standard_ND96isr_H100_v5", "capacity": tiers}]})
    assert any(e.startswith(message) for e in errors), errors


def test_a_group_under_the_all_zero_subscription_is_a_placeholder():
    # checks/placeholders.py: refused in a real prod deployment, a warning elsewhere.
    from components.config.checks.placeholders import placeholder_lines
    zero = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/g/providers/Microsoft.Compute/capacityReservationGroups/c"
    lines = placeholder_lines({"gpuPools": [{"capacity": [{"reserved": {"id": zero}}]}]}, set())
    assert lines == [f"gpuPools[0].capacity[0].reserved.id: {zero!r} is under the all-zero subscription id, not a resource of yours; "
                     "allowed: the id of a reservation you hold (aws: an ODCR or Capacity Block, cr- and 17 hex digits; azure: a "
                     "capacity reservation group's resource id), or drop the reserved tier"]
    assert placeholder_lines({"gpuPools": [{"capacity": [{"reserved": {"id": f"{GROUP}/nd-h100"}}]}]}, set()) == []


def test_the_preview_names_a_group_by_name_and_resource_group():
    # preview/capacity.py: the whole resource id does not fit a terminal's table.
    from components.config import load
    from preview.capacity import capacity_rows
    rows = capacity_rows(load(STACK))
    assert [(r.pool, r.tier) for r in rows] == [
        ("h100", "reserved group nd-h100 (resource group gpu-capacity)"),
        ("a100", "reserved group nc-a100 (resource group gpu-capacity)"),
        ("t4", "on-demand"),
    ]
    assert rows[0].billed == "while the reservation is held, used or not"

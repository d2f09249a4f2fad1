"""AKS capacity: GPU node pools that consume a capacity reservation group.

A pool whose chain starts with `{reserved: {id: <capacity reservation group id>}}` gets that
group on its agent pool (AgentPool capacityReservationGroupID, pulumi-azure-native 3.29.0
containerservice/agent_pool.py: "AKS will associate the specified agent pool with the
Capacity Reservation Group"). Its nodes then take the group's reserved capacity for the
pool's VM size (and zone) first. Azure lets a scale set run more VMs than the reservation
holds (overallocation): those start on ordinary on-demand capacity, without the reservation's
capacity guarantee, and are the first to fail in a stockout.

What AKS requires (learn.microsoft.com/azure/aks/use-capacity-reservation-groups): the group
exists with at least one reservation (else AKS adds the pool with a warning and no group);
the cluster runs as a user-assigned managed identity (ours: the control-plane identity) that
holds Contributor on the resource group containing the group, and the grant can take time to
propagate. Deleting a pool dissociates it from the group. Changing a regional scale set's
group needs the scale set deallocated (learn.microsoft.com/azure/virtual-machines/
capacity-reservation-remove-virtual-machine-scale-set), so a changed group replaces the pool.

The stack consumes a group the capacity owner bought; it never buys one (a reservation is
billed at the pay-as-you-go rate from its creation, used or not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumiverse_time as time
from pulumi_azure_native import authorization

from ...config import GpuPool

# Built-in Azure role "Contributor" (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
CONTRIBUTOR_ROLE = "b24988ac-6180-42a0-ad88-20c1d8e5e7e3"
# The agent pool property a group change replaces the pool for (see the module docstring).
RESERVATION_PROPERTY = "capacityReservationGroupID"
_GROUP_RE = re.compile(r"^(/subscriptions/[^/]+/resourceGroups/[^/]+)/providers/Microsoft\.Compute/capacityReservationGroups/[^/]+$", re.IGNORECASE)


def reservation_group(pool: GpuPool) -> Optional[str]:
    """The capacity reservation group the pool's first tier names, or None."""
    first = pool.capacity_chain()[0]
    return first.reserved.id if first.reserved is not None and first.reserved.id else None


def resource_group_scope(group_id: str) -> str:
    """`/subscriptions/<s>/resourceGroups/<g>` of a capacity reservation group's id (the config
    check holds it to that form)."""
    match = _GROUP_RE.match(group_id)
    assert match, group_id
    return match.group(1)


@dataclass
class ReservationAccess:
    """The cluster identity's grant on one resource group holding reservation groups, and the
    wait for it to propagate, which the pools using them come after."""

    grant: authorization.RoleAssignment
    ready: time.Sleep


def reservation_access(cluster_name: str, pools: list[GpuPool], principal_id: pulumi.Input[str], propagation: str,
                       opts: pulumi.ResourceOptions, parent: pulumi.Resource) -> dict[str, ReservationAccess]:
    """One Contributor grant per resource group that holds a group some pool consumes (by
    scope), for the control-plane identity AKS associates node pools as."""
    scopes = sorted({resource_group_scope(g) for g in (reservation_group(p) for p in pools) if g})
    out: dict[str, ReservationAccess] = {}
    for i, scope in enumerate(scopes):
        name = f"{cluster_name}-capacity-reservations-{i}"
        grant = authorization.RoleAssignment(
            name,
            principal_id=principal_id,
            principal_type="ServicePrincipal",
            # The built-in role as the scope's own subscription names it.
            role_definition_id=f"{scope.split('/resourceGroups/')[0]}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR_ROLE}",
            scope=scope,
            opts=opts,
        )
        ready = time.Sleep(
            f"{name}-propagation",
            create_duration=propagation,
            triggers={"roleAssignment": grant.id},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[grant]),
        )
        out[scope] = ReservationAccess(grant, ready)
    return out


__all__ = ["CONTRIBUTOR_ROLE", "RESERVATION_PROPERTY", "ReservationAccess", "reservation_access", "reservation_group", "resource_group_scope"]

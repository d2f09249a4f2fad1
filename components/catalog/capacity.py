"""How GPU capacity is obtained on each cloud: the provisioners a stack may choose, what each
can express of a pool's capacity chain, and how each cloud names a reservation.

Data, not logic: components/config/capacity.py resolves a stack's chain and provisioner
against it; the backends build what it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The tiers of a capacity chain, in the one order every provisioner honours: reserved
# capacity first, then spot, then on-demand. Karpenter always launches into a matching
# reservation before anything else and, with spot and on-demand both allowed, prefers spot
# (karpenter-provider-aws v1.14.1 website/content/en/v1.14/concepts/nodepools.md,
# "karpenter.sh/capacity-type"; docs/aws.md says what happens when a tier runs dry).
TIERS: tuple[str, ...] = ("reserved", "spot", "onDemand")


@dataclass(frozen=True)
class Provisioner:
    """A node autoscaler a stack can choose for its GPU pools on one cloud."""

    name: str
    cloud: str
    # It launches into reserved capacity (ODCRs/Capacity Blocks, reservations, capacity
    # reservation groups) named by the pool.
    reserved: bool
    # It falls back along a chain of more than one tier on its own.
    fallback: bool
    # AWS: it launches into EC2 Capacity Blocks for ML.
    capacity_block: bool = False
    # This version of the program builds it (False: a later change adds the backend).
    available: bool = True
    summary: str = ""
    # A mode of the whole cluster: `provisioner: auto` never picks it for a pool, and a stack
    # that names it gets it for every pool (checks/aks_capacity.py refuses a pool that differs).
    cluster_wide: bool = False
    # Without `reserved`: what upstream lacks for it, as the config error says.
    reserved_gap: str = ""


PROVISIONERS: dict[tuple[str, str], Provisioner] = {
    (p.cloud, p.name): p
    for p in (
        # Managed node groups scaled by Cluster Autoscaler: one capacity type per group.
        Provisioner("cluster-autoscaler", "aws", reserved=False, fallback=False,
                    summary="one EKS managed node group per pool, scaled by Cluster Autoscaler"),
        # Karpenter v1.14.1: `reserved` capacity type (ReservedCapacity feature gate, beta and on
        # by default, charts/karpenter/values.yaml settings.featureGates.reservedCapacity) with
        # EC2NodeClass capacityReservationSelectorTerms, which select ODCRs and Capacity Blocks
        # (pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml).
        Provisioner("karpenter", "aws", reserved=True, fallback=True, capacity_block=True,
                    summary="one Karpenter NodePool and EC2NodeClass per pool"),
        # A GKE node pool consumes one specific reservation (node_config.reservation_affinity
        # SPECIFIC_RESERVATION, pulumi-gcp 10.2.0 NodePoolNodeConfigReservationAffinityArgs).
        Provisioner("cluster-autoscaler", "gcp", reserved=True, fallback=False,
                    summary="one GKE node pool per pool, scaled by GKE's cluster autoscaler"),
        # components/clouds/gcp/capacity.py: the pool's node pool first, then auto-created pools.
        Provisioner("compute-classes", "gcp", reserved=True, fallback=True,
                    summary="a custom ComputeClass per pool whose priorities follow the chain"),
        # An AKS node pool consumes a capacity reservation group (AgentPool
        # capacityReservationGroupID, pulumi-azure-native 3.29.0; components/clouds/azure/capacity.py).
        Provisioner("cluster-autoscaler", "azure", reserved=True, fallback=False,
                    summary="one AKS node pool per pool, scaled by AKS's cluster autoscaler"),
        # AKS node auto-provisioning: AKS runs Karpenter (Azure/karpenter-provider-azure) for the
        # cluster; components/clouds/azure/capacity.py writes a NodePool and AKSNodeClass per
        # pool. It falls back spot -> on-demand (karpenter.sh/capacity-type), but AKSNodeClass
        # has no capacity reservation field (v1.14.2 pkg/apis/crds/karpenter.azure.com_aksnodeclasses.yaml;
        # Azure/AKS #5397 and karpenter-provider-azure #1423 track it). Opt-in only (cluster_wide):
        # it is a cluster-wide mode in which AKS refuses autoscaling agent pools
        # (pulumi-azure-native 3.29.0 NodeProvisioningMode.AUTO), so `auto` cannot turn it on
        # for one pool, and it would take the reservation from reserved pools.
        Provisioner("node-auto-provisioning", "azure", reserved=False, fallback=True, cluster_wide=True,
                    reserved_gap="AKSNodeClass has no capacity reservation field at karpenter-provider-azure v1.14.2; "
                                 "Azure/AKS #5397 and karpenter-provider-azure #1423 track it",
                    summary="AKS node auto-provisioning (Karpenter) with a NodePool and AKSNodeClass per pool"),
    )
}

# The cloud's node-provisioning autoscaler: what `provisioner: auto` picks once a pool's chain
# asks for something node groups cannot do (a reservation, or a fallback), and what the clouds
# recommend for GPU fleets (docs/aws.md, docs/gcp.md, docs/azure.md).
NODE_PROVISIONER: dict[str, str] = {"aws": "karpenter", "gcp": "compute-classes", "azure": "node-auto-provisioning"}
# What `auto` keeps otherwise: the pools' node groups as they are.
NODE_GROUPS = "cluster-autoscaler"
# cloud existing: the cluster's own nodes and autoscaler, not this stack's.
EXISTING_PROVISIONER = "none"


def provisioners_of(cloud: str) -> tuple[str, ...]:
    """Every provisioner name of `cloud`, available or not."""
    return tuple(name for (c, name) in PROVISIONERS if c == cloud)


@dataclass(frozen=True)
class ReservationForm:
    """How one cloud names a reservation a pool consumes: which of `id` and `name` it takes,
    the form each must have, and what each means."""

    id_re: re.Pattern[str] | None
    id_rule: str
    name_re: re.Pattern[str] | None
    name_rule: str


RESERVATION_FORMS: dict[str, ReservationForm] = {
    # EC2 capacity reservation ids (ODCRs and Capacity Blocks alike): `cr-` and 17 hex digits
    # (EC2 API reference, CapacityReservation.CapacityReservationId). Karpenter selects by id or
    # by tags (EC2NodeClass capacityReservationSelectorTerms id / tags): `name` selects the
    # reservations whose `Name` tag has that value.
    "aws": ReservationForm(
        id_re=re.compile(r"^cr-[0-9a-f]{17}$"), id_rule="an EC2 capacity reservation id, cr- and 17 hex digits",
        name_re=re.compile(r"^[^\s].{0,254}$"), name_rule="the value of the reservations' Name tag (1-255 characters)",
    ),
    # GKE consumes a reservation by name (reservation affinity key
    # compute.googleapis.com/reservation-name); a shared reservation of another project as
    # projects/<project>/reservations/<name>. Compute Engine names are RFC 1035 labels.
    "gcp": ReservationForm(
        id_re=None, id_rule="GKE consumes reservations by name; use name",
        name_re=re.compile(r"^(projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/reservations/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"),
        name_rule="a reservation name (a-z, 0-9, -; up to 63) or projects/<project>/reservations/<name> for a shared one",
    ),
    # AKS takes a capacity reservation group by its Azure resource id (agent pool
    # capacityReservationGroupID).
    "azure": ReservationForm(
        id_re=re.compile(
            r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w._()]{1,90}/providers/Microsoft\.Compute/capacityReservationGroups/[-\w._]{1,80}$",
            re.IGNORECASE,
        ),
        id_rule="a capacity reservation group's resource id, /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/capacityReservationGroups/<name>",
        name_re=None, name_rule="AKS takes a capacity reservation group by its resource id; use id",
    ),
}

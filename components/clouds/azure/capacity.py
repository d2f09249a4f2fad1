"""AKS capacity: GPU node pools that consume a capacity reservation group, and node
auto-provisioning (NAP) for the stacks that choose `provisioner: node-auto-provisioning`.

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

NAP (`NodeAutoProvisioning`): the ManagedCluster gets nodeProvisioningProfile mode Auto with
defaultNodePools None (pulumi-azure-native 3.29.0 ManagedClusterNodeProvisioningProfileArgs:
no AKS default NodePools, so nothing but ours starts nodes), and AKS runs Karpenter in the
control plane. After the cluster (and the system pool the Kubernetes provider waits for),
per CPU and GPU pool an AKSNodeClass and a NodePool:
- AKSNodeClass (karpenter.azure.com/v1beta1): the pool's image family (Ubuntu for GPU pools,
  Azure Linux for CPU pools, as their agent pools), OS disk size, our node subnet, encryption
  at host where the size has it, our tags. GPU drivers: `gpu.mode` defaults to Driver, AKS
  installs the NVIDIA driver on GPU sizes; the NVIDIA device plugin is the customer's
  (designs/0002-gpu-selection-and-bootstrap.md "We will require the customer to install the
  nvidia device plugin"), and ours runs there: the platform selects GPU nodes by our
  portable labels and tolerates our GPU taint, both on the NodePool's nodes.
- NodePool (karpenter.sh/v1, Karpenter core v1.14.0 in that release's go.mod): our taint and
  portable labels, the pool's VM size (node.kubernetes.io/instance-type, which the provider
  sets to the size name, pkg/providers/instancetype/instancetype.go), capacity types in the
  chain's order (spot -> on-demand), limits from maxNodes; GPU pools consolidate only empty
  nodes, one at a time, and never expire (as components/clouds/aws/capacity.py and for the
  same reasons: Karpenter core concepts/disruption.md); CPU pools consolidate like the
  cluster autoscaler scales down (empty or underutilized nodes).
The provider does not taint spot nodes (no such taint in pkg/ at v1.14.2), unlike AKS spot
agent pools: a spot-only pool's NodePool adds AKS's spot taint so the same pods land there.
Facts from Azure/karpenter-provider-azure v1.14.2 (pkg/apis/crds, pkg/apis/v1beta1/labels.go:
the karpenter.azure.com and kubernetes.azure.com label domains are restricted on NodePools).
AKS runs its own Karpenter release; the objects use fields AKSNodeClass has had since v1.10.0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s
import pulumiverse_time as time
from pulumi_azure_native import authorization

from ... import catalog, conventions
from ...config import CapacityTier, CpuPool, GpuPool

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import AksCluster

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


NAP = "node-auto-provisioning"
# ManagedCluster nodeProvisioningProfile: Karpenter on, and no default NodePools of AKS's.
NODE_PROVISIONING_PROFILE = {"mode": "Auto", "default_node_pools": "None"}
NODEPOOL_API = "karpenter.sh/v1"
NODECLASS_GROUP = "karpenter.azure.com"
NODECLASS_API = f"{NODECLASS_GROUP}/v1beta1"
NODECLASS_KIND = "AKSNodeClass"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
# Our chain's tiers as Karpenter names them (a reserved tier is a config error under NAP).
CAPACITY_TYPES = {"spot": "spot", "onDemand": "on-demand"}
# Empty nodes go after the cluster autoscaler's scale-down-unneeded-time.
CONSOLIDATE_AFTER = "10m"
# The taint AKS puts on spot agent pools' nodes (cluster.py SPOT_TAINT).
SPOT_TAINT = conventions.Taint("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule")
IMAGE_FAMILY = {"gpu": "Ubuntu", "cpu": "AzureLinux"}


def nap_capacity_types(chain: tuple[CapacityTier, ...]) -> list[str]:
    """The NodePool's karpenter.sh/capacity-type values, in the chain's order."""
    return list(dict.fromkeys(CAPACITY_TYPES[t.kind] for t in chain))


def nap_gpu_labels(pool: GpuPool) -> dict[str, str]:
    """The portable labels on a NAP GPU pool's nodes. A pool whose chain mixes spot with
    on-demand decides per node, so the spot label is left out there (karpenter.sh/capacity-type
    says which); a one-tier pool keeps it as its agent pool would."""
    labels = conventions.gpu_pool_labels(pool, "azure", cloud_manages_device_plugin=False, cloud_partitions_mig=True)
    if len(nap_capacity_types(pool.capacity_chain())) > 1:
        labels.pop(conventions.SPOT_LABEL)
    return dict(sorted(labels.items()))


def _taint(t: conventions.Taint) -> dict[str, str]:
    return {"key": t.key, "value": t.value, "effect": t.effect}


def nap_node_pool_spec(node_class: str, vm_size: str, chain: tuple[CapacityTier, ...], labels: dict[str, str],
                       taints: list[conventions.Taint], limits: dict[str, str], gpu: bool) -> dict[str, Any]:
    """A NodePool for one pool: its size, the chain's capacity types, our labels and taints."""
    template: dict[str, Any] = {
        "nodeClassRef": {"group": NODECLASS_GROUP, "kind": NODECLASS_KIND, "name": node_class},
        "requirements": [
            {"key": INSTANCE_TYPE_LABEL, "operator": "In", "values": [vm_size]},
            {"key": CAPACITY_TYPE_LABEL, "operator": "In", "values": nap_capacity_types(chain)},
        ],
        "taints": [_taint(t) for t in taints],
    }
    if gpu:
        # Expiration is forceful (it ignores karpenter.sh/do-not-disrupt): a GPU node lives
        # until it is empty; node image updates reach it through drift, which waits for jobs.
        template["expireAfter"] = "Never"
        disruption: dict[str, Any] = {"consolidationPolicy": "WhenEmpty", "consolidateAfter": CONSOLIDATE_AFTER, "budgets": [{"nodes": "1"}]}
    else:
        disruption = {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": CONSOLIDATE_AFTER}
    return {"template": {"metadata": {"labels": labels}, "spec": template}, "disruption": disruption, "limits": limits}


def nap_node_class_spec(kind: str, disk_gb: int, subnet_id: str, encryption_at_host: bool, tags: dict[str, str]) -> dict[str, Any]:
    """An AKSNodeClass: `kind` gpu or cpu picks the image family its agent pool would run."""
    spec: dict[str, Any] = {"imageFamily": IMAGE_FAMILY[kind], "osDiskSizeGB": disk_gb, "vnetSubnetID": subnet_id, "tags": tags}
    if encryption_at_host:
        spec["security"] = {"encryptionAtHost": True}
    return spec


class NodeAutoProvisioning:
    """The NodePool and AKSNodeClass of every CPU and GPU pool of a NAP stack, on `aks`."""

    def __init__(self, aks: AksCluster):
        self.aks = aks
        self.node_classes: dict[str, k8s.apiextensions.CustomResource] = {}
        self.node_pools: dict[str, k8s.apiextensions.CustomResource] = {}
        cat = catalog.cloud("azure")
        for cpu in aks.config.cpu_pools:
            itype = cat.instance_types[cpu.instance_type]
            self._pool(cpu.name, "cpu", cpu, itype, nap_node_pool_spec(
                cpu.name, cpu.instance_type, (CapacityTier.model_validate("spot" if cpu.spot else "onDemand"),),
                conventions.cpu_pool_labels(cpu), [SPOT_TAINT] if cpu.spot else [],
                {"nodes": str(cpu.max_nodes), "cpu": str(cpu.max_nodes * itype.vcpus)}, gpu=False), {})
        for gpu in aks.config.gpu_pools:
            itype = cat.instance_types[gpu.instance_type]
            spot_only = nap_capacity_types(gpu.capacity_chain()) == ["spot"]
            self._pool(gpu.name, "gpu", gpu, itype, nap_node_pool_spec(
                gpu.name, gpu.instance_type, gpu.capacity_chain(), nap_gpu_labels(gpu),
                [conventions.GPU_TAINT, *([SPOT_TAINT] if spot_only else [])],
                {"nodes": str(gpu.max_nodes), conventions.GPU_RESOURCE: str(gpu.max_nodes * itype.gpus)}, gpu=True),
                # The stack's fabric reasons ride on the NodePool as annotations, for the policy pack.
                conventions.fabric_reason_tags(gpu, "azure"))

    def _pool(self, name: str, kind: str, pool: CpuPool | GpuPool, itype: Any, spec: dict[str, Any], annotations: dict[str, str]) -> None:
        aks = self.aks
        # The CRDs exist once AKS has the cluster in NAP mode; the provider waits for the
        # system pool and the deployer's grant.
        opts = pulumi.ResourceOptions(parent=aks, provider=aks.k8s_provider)
        node_class = k8s.apiextensions.CustomResource(
            f"{aks.cluster_name}-{name}-nodeclass", api_version=NODECLASS_API, kind=NODECLASS_KIND, metadata={"name": name},
            spec=aks.node_subnet.id.apply(lambda subnet: nap_node_class_spec(
                kind, pool.disk_gb, subnet, itype.encryption_at_host, {**aks.tags, "ml-clusters-pool": name})),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[aks.cluster, *aks.platform_ready])),
        )
        self.node_classes[name] = node_class
        self.node_pools[name] = k8s.apiextensions.CustomResource(
            f"{aks.cluster_name}-{name}-nodepool", api_version=NODEPOOL_API, kind="NodePool",
            metadata={"name": name, **({"annotations": annotations} if annotations else {})}, spec=spec,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[aks.cluster, node_class, *aks.platform_ready])),
        )


__all__ = ["CONTRIBUTOR_ROLE", "RESERVATION_PROPERTY", "ReservationAccess", "reservation_access", "reservation_group", "resource_group_scope",
           "NAP", "NODE_PROVISIONING_PROFILE", "NodeAutoProvisioning", "nap_capacity_types", "nap_gpu_labels",
           "nap_node_class_spec", "nap_node_pool_spec"]

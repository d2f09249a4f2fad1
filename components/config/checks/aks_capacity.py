"""provisioner: node-auto-provisioning (AKS NAP): what a stack must be for AKS to run it.

NAP is a mode of the whole cluster (ManagedCluster nodeProvisioningProfile.mode Auto), in
which AKS refuses autoscaling agent pools ("Fixed size Node Pools can still be created, but
autoscaling Node Pools cannot be": pulumi-azure-native 3.29.0 containerservice/_enums.py
NodeProvisioningMode.AUTO; learn.microsoft.com/azure/aks/node-auto-provisioning, "You can't
enable NAP on clusters enabled with the cluster autoscaler"). So it is set on the stack, never
on one pool, and then every CPU and GPU pool is a Karpenter NodePool and the system pool a
fixed-size agent pool. What Karpenter on Azure cannot express at karpenter-provider-azure
v1.14.2 (charts/karpenter/crds/karpenter.azure.com_aksnodeclasses.yaml, karpenter.sh_nodepools.yaml):
- a minimum node count (Karpenter starts nodes for pending pods only);
- a capacity reservation group (no AKSNodeClass field; checks/capacity.py says so per pool);
- an OS disk above 2048 GB (osDiskSizeGB maximum; GPU sizes with a larger ephemeral disk allow
  one; the catalog's CPU sizes' ephemeral disks are far smaller, so only GPU pools can ask);
- MIG: no GPU instance profile field, and a NodePool cannot know the MIG resources a node
  will offer, so a pod asking for one never starts a node;
- InfiniBand: AKS puts one agent pool's VMs on one InfiniBand network (subscription feature
  AKSInfinibandSupport, Azure/aks-rdma-infiniband website/docs/getting-started/02-prerequisites.md),
  Karpenter launches single VMs; and a pod asking for `rdma/shared_ib` never starts a node,
  since NAP does not take NodeOverlays, Karpenter's way to declare such a resource (Azure/AKS #5359).
The network settings this program writes (Azure CNI overlay, Cilium or Azure network policy,
Standard load balancer, load-balancer egress fixed at creation, a user-assigned managed
identity, no IPv6, no Windows) are all ones NAP supports
(learn.microsoft.com/azure/aks/node-auto-provisioning-networking; only kubenet, pod-subnet
dynamic IPs and Calico are unsupported, none of which a stack can choose).
"""

from __future__ import annotations

from ..model import StackConfig

NAP = "node-auto-provisioning"
# AKSNodeClass spec.osDiskSizeGB maximum (karpenter-provider-azure v1.14.2 CRD).
NAP_MAX_OS_DISK_GB = 2048


def aks_capacity_problems(cfg: StackConfig) -> list[str]:
    if cfg.cloud != "azure":
        return []
    out: list[str] = []
    nap = cfg.provisioner == NAP
    keep = "allowed: {}, or provisioner: cluster-autoscaler on the stack (agent pools)"
    for i, pool in enumerate(cfg.gpu_pools):
        key = f"gpuPools[{i}]"
        if not nap:
            if pool.provisioner == NAP:
                out.append(f"{key}.provisioner: {NAP!r} on one pool: NAP is a mode of the whole cluster, in which AKS refuses the "
                           "other pools' cluster autoscaler; allowed: provisioner: node-auto-provisioning on the stack, or leave it out here")
            continue
        if pool.provisioner == "cluster-autoscaler":
            out.append(f"{key}.provisioner: 'cluster-autoscaler' with stack provisioner {NAP}: in NAP mode AKS refuses autoscaling "
                       "agent pools; allowed: leave it out (or auto, node-auto-provisioning)")
        if pool.min_nodes > 0:
            out.append(f"{key}.minNodes: {pool.min_nodes} with provisioner {NAP}, which starts nodes for pending pods and keeps no "
                       "minimum; " + keep.format("0"))
        if pool.disk_gb > NAP_MAX_OS_DISK_GB:
            out.append(f"{key}.diskGb: {pool.disk_gb} with provisioner {NAP}: AKSNodeClass osDiskSizeGB takes at most "
                       f"{NAP_MAX_OS_DISK_GB}; " + keep.format(f"up to {NAP_MAX_OS_DISK_GB}"))
        if pool.sharing is not None and pool.sharing.mig is not None:
            out.append(f"{key}.sharing.mig: {pool.sharing.mig.profile} with provisioner {NAP}: AKSNodeClass has no GPU instance "
                       "profile and Karpenter cannot see MIG resources before a node exists; " + keep.format("timeSlicing or no sharing"))
        fabric = pool.fabric("azure")
        if fabric is not None and fabric.kind == "infiniband":
            out.append(f"{key}.interconnect: {pool.instance_type} has InfiniBand, which {NAP} cannot give: AKS joins one agent pool's "
                       "VMs to one InfiniBand network, Karpenter launches single VMs, and NAP takes no NodeOverlay to offer "
                       "rdma/shared_ib (Azure/AKS #5359); " + keep.format("interconnect: none"))
    if nap:
        for i, cpu in enumerate(cfg.cpu_pools):
            if cpu.min_nodes > 0:
                out.append(f"cpuPools[{i}].minNodes: {cpu.min_nodes} with provisioner {NAP}, which starts nodes for pending pods "
                           "and keeps no minimum; " + keep.format("0"))
        sp = cfg.system_pool
        if sp.max_nodes != sp.min_nodes:
            out.append(f"systemPool.maxNodes: {sp.max_nodes} with provisioner {NAP}: in NAP mode the system agent pool cannot "
                       f"autoscale and keeps a fixed size; allowed: {sp.min_nodes} (equal to minNodes, the pool's size)")
    return out

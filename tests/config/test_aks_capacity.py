"""provisioner: node-auto-provisioning (checks/aks_capacity.py, checks/capacity.py): what
`auto` resolves to on azure, and the one line each thing NAP cannot do gets, with the accepted
side of every boundary. Config only: nothing here evaluates a plan.

Facts: pulumi-azure-native 3.29.0 NodeProvisioningMode.AUTO (no autoscaling agent pools in NAP
mode); Azure/karpenter-provider-azure v1.14.2 karpenter.azure.com_aksnodeclasses.yaml (no
capacity reservation or GPU instance profile field; osDiskSizeGB 30-2048); Azure/AKS #5397 and
karpenter-provider-azure #1423 (reservations under NAP, open); Azure/AKS #5359 (NodeOverlays,
backlog)."""

from __future__ import annotations

import pytest

from components.catalog import capacity as facts
from components.config import ConfigError, load, pool_provisioners
from components.config.checks.aks_capacity import NAP_MAX_OS_DISK_GB

NAP = "node-auto-provisioning"
GROUP = ("/subscriptions/6c3e1b2a-1234-4000-8000-000000000001/resourceGroups/gpu-rg/providers/"
         "Microsoft.Compute/capacityReservationGroups/h100-crg")
A100 = {"name": "a100", "instanceType": "Standard_NC24ads_A100_v4", "maxNodes": 2, "diskGb": 64}
# An H100 size whose ephemeral OS disk is larger than AKSNodeClass's OS disk maximum.
BIG_DISK = "Standard_NC40ads_H100_v5"
H100 = {"name": "h100", "instanceType": "Standard_ND96isr_H100_v5", "maxNodes": 2}
KEEP = "or provisioner: cluster-autoscaler on the stack (agent pools)"


def stack(provisioner: str | None = NAP, gpu: dict | None = None, cpu: dict | None = None, system: dict | None = None) -> dict:
    raw = {"cloud": "azure", "region": "eastus", "network": {"privateApi": True},
           "systemPool": system or {"minNodes": 2, "maxNodes": 2}, "gpuPools": [{**A100, **(gpu or {})}],
           "cpuPools": [{"name": "web", "minVcpus": 4, "minMemoryGb": 16, "maxNodes": 3, **(cpu or {})}]}
    return {**raw, "provisioner": provisioner} if provisioner else raw


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(raw)
    return err.value.problems


def test_nap_is_opt_in_auto_keeps_agent_pools_on_azure():
    # A fallback chain does not move a pool to NAP by itself: NAP is the whole cluster's mode.
    assert facts.PROVISIONERS[("azure", NAP)].cluster_wide and facts.PROVISIONERS[("azure", NAP)].available
    assert pool_provisioners(load(stack(None, gpu={"capacity": ["spot"]}))) == {"a100": "cluster-autoscaler"}
    line = next(p for p in problems(stack(None, gpu={"capacity": ["spot", "onDemand"]})) if p.startswith("gpuPools[0].capacity"))
    assert line == ("gpuPools[0].capacity: [spot, onDemand] falls back across 2 tiers, which cluster-autoscaler (provisioner auto) "
                    f"on azure cannot ({facts.PROVISIONERS[('azure', 'cluster-autoscaler')].summary}); allowed: provisioner: {NAP}, or one tier")


def test_a_nap_stack_puts_every_pool_on_nap_with_its_fallback():
    cfg = load(stack(gpu={"capacity": ["spot", "onDemand"], "provisioner": "auto"}))
    assert pool_provisioners(cfg) == {"a100": NAP}


def test_nap_on_one_pool_is_refused():
    assert problems(stack(None, gpu={"provisioner": NAP})) == [
        f"gpuPools[0].provisioner: {NAP!r} on one pool: NAP is a mode of the whole cluster, in which AKS refuses the other pools' "
        "cluster autoscaler; allowed: provisioner: node-auto-provisioning on the stack, or leave it out here"]


def test_a_cluster_autoscaler_pool_under_nap_is_refused():
    assert problems(stack(gpu={"provisioner": "cluster-autoscaler"})) == [
        f"gpuPools[0].provisioner: 'cluster-autoscaler' with stack provisioner {NAP}: in NAP mode AKS refuses autoscaling agent "
        "pools; allowed: leave it out (or auto, node-auto-provisioning)"]
    load(stack(gpu={"provisioner": NAP}))  # the accepted side


def test_a_reserved_tier_under_nap_names_what_upstream_lacks():
    assert problems(stack(gpu={"capacity": [{"reserved": {"id": GROUP}}, "onDemand"]})) == [
        f"gpuPools[0].capacity: [reserved {GROUP}, onDemand] names a reservation, which {NAP} on azure cannot launch "
        "into (AKSNodeClass has no capacity reservation field at karpenter-provider-azure v1.14.2; Azure/AKS #5397 and "
        "karpenter-provider-azure #1423 track it); allowed: provisioner: cluster-autoscaler (a node group that takes the "
        "reservation), or no reserved tier"]
    # The same group on agent pools is accepted (capacity.py).
    load(stack(None, gpu={"capacity": [{"reserved": {"id": GROUP}}]}))


@pytest.mark.parametrize("where, override, line", [
    ("gpu", {"minNodes": 1}, f"gpuPools[0].minNodes: 1 with provisioner {NAP}, which starts nodes for pending pods and keeps no minimum; allowed: 0, {KEEP}"),
    ("cpu", {"minNodes": 1}, f"cpuPools[0].minNodes: 1 with provisioner {NAP}, which starts nodes for pending pods and keeps no minimum; allowed: 0, {KEEP}"),
    ("gpu", {"instanceType": BIG_DISK, "diskGb": NAP_MAX_OS_DISK_GB + 1}, f"gpuPools[0].diskGb: {NAP_MAX_OS_DISK_GB + 1} with provisioner {NAP}: AKSNodeClass osDiskSizeGB takes at most {NAP_MAX_OS_DISK_GB}; allowed: up to {NAP_MAX_OS_DISK_GB}, {KEEP}"),
    ("gpu", {"sharing": {"mig": {"profile": "1g.10gb"}}}, f"gpuPools[0].sharing.mig: 1g.10gb with provisioner {NAP}: AKSNodeClass has no GPU instance profile and Karpenter cannot see MIG resources before a node exists; allowed: timeSlicing or no sharing, {KEEP}"),
    ("system", {"minNodes": 2, "maxNodes": 3}, f"systemPool.maxNodes: 3 with provisioner {NAP}: in NAP mode the system agent pool cannot autoscale and keeps a fixed size; allowed: 2 (equal to minNodes, the pool's size)"),
])
def test_what_nap_cannot_keep_is_one_line_each(where, override, line):
    assert problems(stack(**{where: override})) == [line]
    # The same pool without NAP is accepted.
    load(stack(None, **{where: override}))


@pytest.mark.parametrize("where, override", [
    ("gpu", {"minNodes": 0, "instanceType": BIG_DISK, "diskGb": NAP_MAX_OS_DISK_GB}),
    ("cpu", {"minNodes": 0}),
    ("gpu", {"sharing": {"timeSlicing": {"replicas": 2}}}),
    ("system", {"minNodes": 3, "maxNodes": 3}),
])
def test_the_accepted_side_of_each_nap_boundary(where, override):
    load(stack(**{where: override}))


def test_an_infiniband_pool_under_nap_is_refused_unless_it_goes_without():
    assert problems(stack(gpu=H100)) == [
        f"gpuPools[0].interconnect: Standard_ND96isr_H100_v5 has InfiniBand, which {NAP} cannot give: AKS joins one agent pool's VMs "
        "to one InfiniBand network, Karpenter launches single VMs, and NAP takes no NodeOverlay to offer rdma/shared_ib "
        f"(Azure/AKS #5359); allowed: interconnect: none, {KEEP}"]
    load(stack(gpu={**H100, "interconnect": "none"}))
    load(stack(None, gpu=H100))


@pytest.mark.parametrize("policy", ["cilium", "azure"])
def test_every_network_policy_a_stack_can_choose_runs_under_nap(policy):
    # learn.microsoft.com/azure/aks/node-auto-provisioning-networking: only kubenet, pod-subnet
    # dynamic IPs and Calico are unsupported; the model offers none of them.
    load({**stack(), "azure": {"networkPolicy": policy}})
    assert problems({**stack(), "azure": {"networkPolicy": "calico"}})[0].startswith("azure.networkPolicy: 'calico' is not allowed")


def test_nap_on_another_cloud_is_refused():
    raw = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True}, "provisioner": NAP,
           "gpuPools": [{"name": "l4", "instanceType": "g6.xlarge"}]}
    assert any(p.startswith(f"provisioner: {NAP!r} is a azure provisioner, not one of aws") for p in problems(raw))

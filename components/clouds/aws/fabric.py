"""EKS: EFA for GPU pools whose type has it (catalog FABRICS, `gpuPools[].interconnect`).

What pods need is in `pool_fabric` (the handle's cloud-agnostic PoolFabric); the AWS
resources (security group, placement group, the launch template's interfaces, the device
plugin) are built by `EfaFabric`."""

from __future__ import annotations

from typing import Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ... import catalog, conventions
from ...handle import PoolFabric

# The extended resource the EFA device plugin advertises, one per EFA interface
# (aws/eks-charts aws-efa-k8s-device-plugin; EKS user guide device-management-efa).
EFA_RESOURCE = "vpc.amazonaws.com/efa"

# libfabric's EFA provider and GPUDirect RDMA over it, as the EKS user guide's NCCL test and
# the aws-ofi-nccl plugin ask (aws/aws-ofi-nccl README; EKS node-efa "Run the NCCL tests").
EFA_ENV: dict[str, str] = {
    "FI_PROVIDER": "efa",
    "FI_EFA_USE_DEVICE_RDMA": "1",
}


def pool_fabric(fabric: catalog.Fabric, ready: Sequence[pulumi.Resource] = ()) -> PoolFabric:
    """What a pod on an EFA pool needs: every EFA interface of the node, IPC_LOCK, a large
    /dev/shm, the libfabric settings, and the nccl-tests image built with aws-ofi-nccl."""
    return PoolFabric(
        kind=fabric.kind,
        name=fabric.name,
        nics=fabric.nics,
        line_rate_gbps=fabric.line_rate_gbps,
        expected_busbw_gbs=fabric.expected_busbw_gbs,
        resources={EFA_RESOURCE: fabric.nics},
        env=dict(EFA_ENV),
        # libfabric pins the buffers it registers with the EFA device: that needs the memlock
        # limit, which the EKS AMIs raise for containers (awslabs/amazon-eks-ami PR #595,
        # "Updating limits for memlock ulimit"), not CAP_IPC_LOCK, which a non-root process
        # never has in effect (and Pod Security restricted/baseline refuse to add).
        ipc_lock=False,
        nccl_tests_image=catalog.versions.NCCL_TESTS_IMAGES["efa"],
        # The image builds nccl-tests in /opt/nccl-tests (aws-samples/awsome-distributed-training
        # micro-benchmarks/nccl-tests/nccl-tests.Dockerfile, which AWS's image is built from).
        all_reduce_perf="/opt/nccl-tests/build/all_reduce_perf",
        ready=tuple(ready),
    )


# The device plugin's chart (catalog CHARTS) runs a DaemonSet whose pods tolerate only
# CriticalAddonsOnly plus `tolerations` and select nodes by `nodeSelector` and an affinity on
# the EFA instance types it knows (aws/eks-charts v0.5.30 stable/aws-efa-k8s-device-plugin
# templates/daemonset.yaml, values.yaml supportedInstanceLabels).
DEVICE_PLUGIN_RELEASE = "aws-efa-k8s-device-plugin"


def efa_network_interfaces(nics: int, security_groups: list[pulumi.Input[str]]) -> list[dict]:
    """The launch template's interfaces for a type with `nics` EFA network cards: card 0
    device 0 an EFA with the node's IP (interface type `efa`: EFA plus ENA, the primary
    interface cannot be EFA-only), cards 1..n-1 device 0 EFA-only (`efa-only`: no IP
    address, so a 32-card p5 does not take 32 of the subnet's addresses; VPC CNI ≥ 1.18.5).
    Every interface carries the security groups (EC2 User Guide efa-acc-inst-types.md; EKS
    user guide node-efa: with interfaces in the launch template, EKS adds no security group)."""
    out = []
    for card in range(nics):
        out.append({
            "network_card_index": card,
            "device_index": 0,
            "interface_type": "efa" if card == 0 else "efa-only",
            "security_groups": security_groups,
            "delete_on_termination": "true",
        })
    return out


class EfaFabric:
    """A pool's EFA resources in the EKS backend: the security group that lets the pool's
    EFA interfaces talk to each other (all traffic from and to itself), the cluster placement
    group, and the launch template settings that put both on the nodes."""

    def __init__(self, cluster_name: str, pool: str, vpc_id: pulumi.Input[str],
                 cluster_security_group: pulumi.Input[str], opts: pulumi.ResourceOptions,
                 nics: int, placement_group: bool = True) -> None:
        name = f"{cluster_name}-{pool}-efa"
        self.security_group = aws.ec2.SecurityGroup(
            name,
            description=f"EFA traffic among the nodes of pool {pool} in {cluster_name}: all protocols to and from itself",
            vpc_id=vpc_id,
            tags={"Name": name},
            opts=opts,
        )
        # EFA needs all traffic allowed in and out within the group (EC2 User Guide efa-start
        # "Prepare an EFA-enabled security group"; without it EFA traffic fails silently).
        self.ingress = aws.vpc.SecurityGroupIngressRule(
            f"{name}-self-in", security_group_id=self.security_group.id, ip_protocol="-1",
            referenced_security_group_id=self.security_group.id,
            description="EFA: all traffic from the pool's own EFA interfaces", opts=opts,
        )
        self.egress = aws.vpc.SecurityGroupEgressRule(
            f"{name}-self-out", security_group_id=self.security_group.id, ip_protocol="-1",
            referenced_security_group_id=self.security_group.id,
            description="EFA: all traffic to the pool's own EFA interfaces", opts=opts,
        )
        # A cluster placement group packs the pool's instances close together (lowest
        # latency); not with Capacity Blocks, which EC2 already places in an UltraCluster.
        self.placement_group = aws.ec2.PlacementGroup(
            name, name=name, strategy="cluster", tags={"Name": name}, opts=opts,
        ) if placement_group else None
        self.nics = nics
        self.network_interfaces = efa_network_interfaces(nics, [cluster_security_group, self.security_group.id])

    def launch_template_args(self) -> dict:
        args: dict = {"network_interfaces": self.network_interfaces}
        if self.placement_group is not None:
            args["placement"] = {"group_name": self.placement_group.name}
        return args

    def node_group_depends_on(self) -> list[pulumi.Resource]:
        """The rules are separate resources the launch template does not reference: the node
        group waits for them, or nodes boot with a group that still drops EFA traffic."""
        deps: list[pulumi.Resource] = [self.security_group, self.ingress, self.egress]
        return deps + ([self.placement_group] if self.placement_group is not None else [])


def device_plugin(cluster_name: str, provider: pulumi.ProviderResource, parent: pulumi.Resource,
                  depends_on: Sequence[pulumi.Resource], tolerations: list[dict]) -> pulumi.Resource:
    """The EFA device plugin, on the nodes of fabric pools only (FABRIC_LABEL efa), tolerating
    the GPU taint: it advertises `vpc.amazonaws.com/efa`, one per EFA interface."""
    chart = catalog.CHARTS[DEVICE_PLUGIN_RELEASE]
    return k8s.helm.v3.Release(
        f"{cluster_name}-efa-device-plugin",
        name=DEVICE_PLUGIN_RELEASE,
        namespace="kube-system",
        chart=chart.name,
        version=chart.version,
        repository_opts={"repo": chart.repo},
        values={
            "nodeSelector": {conventions.FABRIC_LABEL: "efa"},
            "tolerations": tolerations,
        },
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on)),
    )

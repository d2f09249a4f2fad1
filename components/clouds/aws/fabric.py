"""EKS: EFA for GPU pools whose type has it (catalog FABRICS, `gpuPools[].interconnect`).

What pods need is in `pool_fabric` (the handle's cloud-agnostic PoolFabric); the AWS
resources (security group, placement group, the launch template's interfaces, the device
plugin) are built by `EfaFabric`."""

from __future__ import annotations

from typing import Sequence

import pulumi

from ... import catalog
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
        nccl_tests_image=catalog.versions.NCCL_TESTS_IMAGES["efa"],
        ready=tuple(ready),
    )

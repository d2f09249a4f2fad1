"""Google Cloud: GKE machine types with their attached accelerators, regions, and the
zones where each accelerator is offered. Prices: on-demand, us-central1."""

from .model import LINE_RATE_BUSBW, CloudCatalog, Fabric, InstanceType, Region, line_rate_busbw

_TYPES = (
    # System (CPU) pools.
    InstanceType("e2-standard-4", 4, 16, 0.134),
    InstanceType("n2-standard-4", 4, 16, 0.1942),
    InstanceType("n2-standard-8", 8, 32, 0.3885),
    InstanceType("t2a-standard-4", 4, 16, 0.154, arch="arm64"),
    # L4 (G2).
    InstanceType("g2-standard-4", 4, 16, 0.7068, gpu="l4", gpus=1, accelerator="nvidia-l4"),
    InstanceType("g2-standard-8", 8, 32, 0.8536, gpu="l4", gpus=1, accelerator="nvidia-l4"),
    InstanceType("g2-standard-24", 24, 96, 2.0, gpu="l4", gpus=2, accelerator="nvidia-l4"),
    InstanceType("g2-standard-48", 48, 192, 4.0, gpu="l4", gpus=4, accelerator="nvidia-l4"),
    InstanceType("g2-standard-96", 96, 384, 8.0, gpu="l4", gpus=8, accelerator="nvidia-l4"),
    # A100 40 GB (A2 high-GPU) and 80 GB (A2 ultra-GPU).
    InstanceType("a2-highgpu-1g", 12, 85, 3.6734, gpu="a100", gpus=1, accelerator="nvidia-tesla-a100"),
    InstanceType("a2-highgpu-2g", 24, 170, 7.3468, gpu="a100", gpus=2, accelerator="nvidia-tesla-a100"),
    InstanceType("a2-highgpu-4g", 48, 340, 14.6936, gpu="a100", gpus=4, accelerator="nvidia-tesla-a100"),
    InstanceType("a2-highgpu-8g", 96, 680, 29.3872, gpu="a100", gpus=8, accelerator="nvidia-tesla-a100"),
    InstanceType("a2-ultragpu-1g", 12, 170, 5.0688, gpu="a100-80gb", gpus=1, accelerator="nvidia-a100-80gb"),
    InstanceType("a2-ultragpu-8g", 96, 1360, 40.5504, gpu="a100-80gb", gpus=8, accelerator="nvidia-a100-80gb"),
    # H100 (A3 high) and H200 (A3 ultra).
    InstanceType("a3-highgpu-8g", 208, 1872, 88.2539, gpu="h100", gpus=8, accelerator="nvidia-h100-80gb"),
    InstanceType("a3-ultragpu-8g", 224, 2952, 84.806, gpu="h200", gpus=8, accelerator="nvidia-h200-141gb"),
)

# The GPU types with a GPU fabric: extra NICs, one VPC each, beside the primary gVNIC. A2 and
# G2 types have none (NCCL over the primary gVNIC's TCP). A3 Mega (a3-megagpu-8g, TCPXO, 8 x
# 200 Gbit/s) and A4 (a4-highgpu-8g, RDMA, 8 x 400 Gbit/s) take a row here with their types.
FABRICS: dict[str, Fabric] = {
    "a3-highgpu-8g": Fabric(
        "tcpx", "GPUDirect-TCPX", nics=4, line_rate_gbps=800, expected_busbw_gbs=line_rate_busbw(800),
        source="GKE docs, Maximize GPU network bandwidth with GPUDirect-TCPX (A3 High: 4 GPU NICs, 200 Gbit/s each); "
               "cluster-toolkit v1.95.0 examples (A3 High: 4 extra VPCs)",
        busbw_source=LINE_RATE_BUSBW + "; TCP-based, no published 2-node figure found",
    ),
    "a3-ultragpu-8g": Fabric(
        "rdma", "GPUDirect-RDMA (RoCE)", nics=8, line_rate_gbps=3200, expected_busbw_gbs=line_rate_busbw(3200),
        source="Compute Engine docs, A3 Ultra: 8 x 400 Gbit/s ConnectX-7 RoCE; cluster-toolkit v1.95.0 "
               "modules/network/gpu-rdma-vpc (RoCE network profile, 8 subnets)",
        busbw_source=LINE_RATE_BUSBW,
    ),
}

CATALOG = CloudCatalog(
    cloud="gcp",
    price_region="us-central1",
    price_date="2026-10-01",
    regions={
        r.name: r
        for r in (
            Region("us-central1", ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"), pair="us-east4"),
            Region("us-east1", ("us-east1-b", "us-east1-c", "us-east1-d"), pair="us-central1"),
            Region("us-east4", ("us-east4-a", "us-east4-b", "us-east4-c"), pair="us-central1"),
            Region("us-west1", ("us-west1-a", "us-west1-b", "us-west1-c"), pair="us-central1"),
            Region("europe-west4", ("europe-west4-a", "europe-west4-b", "europe-west4-c"), pair="europe-west1"),
            Region("europe-west1", ("europe-west1-b", "europe-west1-c", "europe-west1-d"), pair="europe-west4"),
            Region("asia-southeast1", ("asia-southeast1-a", "asia-southeast1-b", "asia-southeast1-c"), pair="asia-northeast1"),
            Region("asia-northeast1", ("asia-northeast1-a", "asia-northeast1-b", "asia-northeast1-c"), pair="asia-southeast1"),
        )
    },
    instance_types={t.name: t for t in _TYPES},
    default_system_instance_type="e2-standard-4",
    fabrics=FABRICS,
    # G2/A2/A3 zones as Compute Engine lists the machine types (checked against
    # github.com/skypilot-org/skypilot-catalog catalogs/v8/gcp/vms.csv: g2-standard-*, a2-highgpu-*,
    # a2-ultragpu-*, a3-highgpu-8g, a3-ultragpu-8g rows per zone).
    accelerator_zones={
        "nvidia-l4": {
            "us-central1": ("us-central1-a", "us-central1-b", "us-central1-c"),
            "us-east1": ("us-east1-b", "us-east1-c", "us-east1-d"),
            "us-east4": ("us-east4-a", "us-east4-c"),
            "us-west1": ("us-west1-a", "us-west1-b", "us-west1-c"),
            "europe-west4": ("europe-west4-a", "europe-west4-b", "europe-west4-c"),
            "europe-west1": ("europe-west1-b", "europe-west1-c"),
            "asia-southeast1": ("asia-southeast1-a", "asia-southeast1-b", "asia-southeast1-c"),
            "asia-northeast1": ("asia-northeast1-a", "asia-northeast1-b", "asia-northeast1-c"),
        },
        "nvidia-tesla-a100": {
            "us-central1": ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"),
            "us-east1": ("us-east1-b",),
            "us-west1": ("us-west1-b",),
            "europe-west4": ("europe-west4-a", "europe-west4-b"),
            "asia-southeast1": ("asia-southeast1-b", "asia-southeast1-c"),
            "asia-northeast1": ("asia-northeast1-a", "asia-northeast1-c"),
        },
        "nvidia-a100-80gb": {
            "us-central1": ("us-central1-a", "us-central1-c"),
            "us-east4": ("us-east4-c",),
            "europe-west4": ("europe-west4-a",),
            "asia-southeast1": ("asia-southeast1-c",),
        },
        "nvidia-h100-80gb": {
            "us-central1": ("us-central1-a", "us-central1-b", "us-central1-c"),
            "us-east4": ("us-east4-a", "us-east4-b", "us-east4-c"),
            "us-west1": ("us-west1-a", "us-west1-b"),
            "europe-west4": ("europe-west4-b", "europe-west4-c"),
            "europe-west1": ("europe-west1-b", "europe-west1-c"),
            "asia-southeast1": ("asia-southeast1-b", "asia-southeast1-c"),
            "asia-northeast1": ("asia-northeast1-b",),
        },
        "nvidia-h200-141gb": {
            "us-central1": ("us-central1-b",),
            "us-east4": ("us-east4-b",),
            "us-west1": ("us-west1-c",),
            "europe-west1": ("europe-west1-b",),
            "europe-west4": ("europe-west4-a",),
        },
    },
)

# Node boot disk type per machine type where pd-balanced is not offered (A3 Ultra takes
# Hyperdisk only); every other type here boots from pd-balanced.
DEFAULT_BOOT_DISK_TYPE = "pd-balanced"
BOOT_DISK_TYPES: dict[str, str] = {
    "a3-ultragpu-8g": "hyperdisk-balanced",
}

# The address block GKE's GPU fabric VPCs take their subnets from (components/clouds/gcp/
# fabric.py): separate VPCs, but a node has an interface in each, so the stack's own ranges
# must stay outside it (config check in components/config/checks/fabric.py).
FABRIC_ADDRESS_RANGE = "192.168.0.0/16"

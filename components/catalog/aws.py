"""AWS: EC2 GPU and system instance types and regions. Prices: on-demand Linux, us-east-1."""

from .model import LINE_RATE_BUSBW, CloudCatalog, Fabric, InstanceType, Region, line_rate_busbw

# Regions per family, among the catalog's regions, as EC2's offerings list them (checked
# against the instances.vantage.sh snapshot in github.com/tsaol/aws-gpu data/all_gpu_instances.js,
# 2025-11-30): g6 and g6e are not offered in eu-west-1, p5 not in eu-west-1 or eu-central-1,
# g5 not in ap-northeast-3, g5g only in us-east-1, us-west-2, eu-central-1, ap-northeast-1.
_G5_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1")
_G5G_REGIONS = ("us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1")
_G6_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-central-1", "ap-northeast-1")
_G6E_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-central-1", "ap-northeast-1", "ap-northeast-3")
_P4D_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1")
_P5_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "ap-northeast-1")

_TYPES = (
    # System (CPU) pools.
    InstanceType("m6i.large", 2, 8, 0.096),
    InstanceType("m6i.xlarge", 4, 16, 0.192),
    InstanceType("m7i.large", 2, 8, 0.1008),
    InstanceType("m7i.xlarge", 4, 16, 0.2016),
    InstanceType("m7i.2xlarge", 8, 32, 0.4032),
    InstanceType("m7g.large", 2, 8, 0.0816, arch="arm64"),
    InstanceType("m7g.xlarge", 4, 16, 0.1632, arch="arm64"),
    # T4 / T4G / A10G.
    InstanceType("g4dn.xlarge", 4, 16, 0.526, gpu="t4", gpus=1),
    InstanceType("g4dn.12xlarge", 48, 192, 3.912, gpu="t4", gpus=4),
    InstanceType("g5g.xlarge", 4, 8, 0.42, arch="arm64", gpu="t4g", gpus=1, regions=_G5G_REGIONS),
    InstanceType("g5g.16xlarge", 64, 128, 2.744, arch="arm64", gpu="t4g", gpus=2, regions=_G5G_REGIONS),
    InstanceType("g5.xlarge", 4, 16, 1.006, gpu="a10g", gpus=1, regions=_G5_REGIONS),
    InstanceType("g5.12xlarge", 48, 192, 5.672, gpu="a10g", gpus=4, regions=_G5_REGIONS),
    # L4.
    InstanceType("g6.xlarge", 4, 16, 0.8048, gpu="l4", gpus=1, regions=_G6_REGIONS),
    InstanceType("g6.2xlarge", 8, 32, 0.9776, gpu="l4", gpus=1, regions=_G6_REGIONS),
    InstanceType("g6.4xlarge", 16, 64, 1.3232, gpu="l4", gpus=1, regions=_G6_REGIONS),
    InstanceType("g6.12xlarge", 48, 192, 4.6016, gpu="l4", gpus=4, regions=_G6_REGIONS),
    InstanceType("g6.48xlarge", 192, 768, 13.3504, gpu="l4", gpus=8, regions=_G6_REGIONS),
    # L40S.
    InstanceType("g6e.xlarge", 4, 32, 1.861, gpu="l40s", gpus=1, regions=_G6E_REGIONS),
    InstanceType("g6e.12xlarge", 48, 384, 10.493, gpu="l40s", gpus=4, regions=_G6E_REGIONS),
    InstanceType("g6e.48xlarge", 192, 1536, 30.131, gpu="l40s", gpus=8, regions=_G6E_REGIONS),
    # A100 / H100 / H200 / B200 (prices after AWS's June 2025 P-family reduction).
    InstanceType("p4d.24xlarge", 96, 1152, 21.9576, gpu="a100", gpus=8, regions=_P4D_REGIONS),
    InstanceType("p5.48xlarge", 192, 2048, 55.04, gpu="h100", gpus=8, regions=_P5_REGIONS),
    InstanceType("p5en.48xlarge", 192, 2048, 63.296, gpu="h200", gpus=8, regions=_P5_REGIONS),
    InstanceType("p6-b200.48xlarge", 192, 2048, 113.9328, gpu="b200", gpus=8, regions=("us-east-1", "us-east-2", "us-west-2")),
)

# The GPU types with an EFA fabric for multi-node training (the P family). EFA interfaces = the
# network cards the EFA layout uses (one EFA per card: EC2 User Guide efa-acc-inst-types.md,
# "EFA configuration for P5 and P5e instances": 32 EFA devices and one ENA on p5). Every other
# GPU type here gets no fabric (interconnect auto = none): the g4dn/g5/g6/g6e sizes are
# inference types; some larger ones support an EFA (aws/eks-charts v0.5.30
# aws-efa-k8s-device-plugin values.yaml lists g4dn.12xlarge, g5.12xlarge, g6.12xlarge,
# g6.48xlarge, g6e.12xlarge, g6e.48xlarge), which this version does not wire.
_EFA_SOURCE = "AWS EC2 User Guide: efa.html (supported instance types), efa-acc-inst-types.md; EC2 accelerated computing network specifications"
FABRICS: dict[str, Fabric] = {
    "p4d.24xlarge": Fabric(
        "efa", "EFA v1", nics=4, line_rate_gbps=400, expected_busbw_gbs=line_rate_busbw(400), generation=1,
        source=f"{_EFA_SOURCE}: p4d.24xlarge 4 x 100 Gbit/s EFA (aws-samples/aws-hpc-tutorials content/04-Verify-Cluster/_index.md)",
        busbw_source=LINE_RATE_BUSBW,
    ),
    "p5.48xlarge": Fabric(
        "efa", "EFA v2", nics=32, line_rate_gbps=3200, expected_busbw_gbs=line_rate_busbw(3200), generation=2,
        source=f"{_EFA_SOURCE}: p5.48xlarge 32 network cards, 3,200 Gbit/s EFAv2 (aws-samples/aws-hpc-tutorials content/04-Verify-Cluster/_index.md)",
        busbw_source=LINE_RATE_BUSBW,
    ),
    "p5en.48xlarge": Fabric(
        "efa", "EFA v3", nics=16, line_rate_gbps=3200, expected_busbw_gbs=line_rate_busbw(3200), generation=3,
        source=f"{_EFA_SOURCE}: p5en.48xlarge 3,200 Gbit/s EFAv3 over 16 EFA devices (meta-pytorch/torchx PR #995 named_resources_aws.py: devices EFA 16)",
        busbw_source=LINE_RATE_BUSBW,
    ),
    "p6-b200.48xlarge": Fabric(
        "efa", "EFA v4", nics=8, line_rate_gbps=3200, expected_busbw_gbs=line_rate_busbw(3200), generation=4,
        source=f"{_EFA_SOURCE}: p6-b200.48xlarge 8 network cards x 400 Gbit/s EFAv4 (EKS user guide node-efa; ai-on-eks gpu-p.yaml)",
        busbw_source=LINE_RATE_BUSBW,
    ),
}

CATALOG = CloudCatalog(
    cloud="aws",
    price_region="us-east-1",
    price_date="2026-10-01",
    regions={
        r.name: r
        for r in (
            Region("us-east-1", ("us-east-1a", "us-east-1b", "us-east-1c"), pair="us-west-2"),
            Region("us-east-2", ("us-east-2a", "us-east-2b", "us-east-2c"), pair="us-west-2"),
            Region("us-west-2", ("us-west-2a", "us-west-2b", "us-west-2c"), pair="us-east-1"),
            Region("eu-west-1", ("eu-west-1a", "eu-west-1b", "eu-west-1c"), pair="eu-central-1"),
            Region("eu-central-1", ("eu-central-1a", "eu-central-1b", "eu-central-1c"), pair="eu-west-1"),
            Region("ap-northeast-1", ("ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"), pair="ap-northeast-3"),
            Region("ap-northeast-3", ("ap-northeast-3a", "ap-northeast-3b", "ap-northeast-3c"), pair="ap-northeast-1"),
        )
    },
    instance_types={t.name: t for t in _TYPES},
    default_system_instance_type="m7i.xlarge",
    fabrics=FABRICS,
)

"""The catalog rows the resolver picks from, checked against public sources (each named).

GPUs per node decide which type meets `gpusPerNode`; the regions and zones decide where a
type is offered. A wrong row makes a portable stack land on a type the cloud does not have."""

from __future__ import annotations

import pytest

from components import catalog

# (cloud, type) -> (GPU model, GPUs per node, vCPUs, memory GB)
GPU_ROWS = {
    # AWS: meta-pytorch/torchx torchx/specs/named_resources_aws.py (p4d, p5, p5en, g4dn, g5,
    # g6e) and the instances.vantage.sh snapshot in tsaol/aws-gpu data/all_gpu_instances.js
    # (g6, g5g, p6-b200; 2025-11-30).
    ("aws", "g4dn.xlarge"): ("t4", 1, 4, 16),
    ("aws", "g4dn.12xlarge"): ("t4", 4, 48, 192),
    ("aws", "g5g.xlarge"): ("t4g", 1, 4, 8),
    ("aws", "g5g.16xlarge"): ("t4g", 2, 64, 128),
    ("aws", "g5.xlarge"): ("a10g", 1, 4, 16),
    ("aws", "g5.12xlarge"): ("a10g", 4, 48, 192),
    ("aws", "g6.xlarge"): ("l4", 1, 4, 16),
    ("aws", "g6.2xlarge"): ("l4", 1, 8, 32),
    ("aws", "g6.4xlarge"): ("l4", 1, 16, 64),
    ("aws", "g6.12xlarge"): ("l4", 4, 48, 192),
    ("aws", "g6e.xlarge"): ("l40s", 1, 4, 32),
    ("aws", "g6e.12xlarge"): ("l40s", 4, 48, 384),
    ("aws", "g6e.48xlarge"): ("l40s", 8, 192, 1536),
    ("aws", "p4d.24xlarge"): ("a100", 8, 96, 1152),
    ("aws", "p5.48xlarge"): ("h100", 8, 192, 2048),
    ("aws", "p5en.48xlarge"): ("h200", 8, 192, 2048),
    ("aws", "p6-b200.48xlarge"): ("b200", 8, 192, 2048),
    # GCP: AI-Hypercomputer/xpk src/xpk/core/system_characteristics.py (machine type ->
    # accelerator and count) and skypilot-org/skypilot-catalog catalogs/v8/gcp/vms.csv (vCPUs, memory).
    ("gcp", "g2-standard-24"): ("l4", 2, 24, 96),
    ("gcp", "g2-standard-48"): ("l4", 4, 48, 192),
    ("gcp", "g2-standard-96"): ("l4", 8, 96, 384),
    ("gcp", "a2-highgpu-1g"): ("a100", 1, 12, 85),
    ("gcp", "a2-highgpu-2g"): ("a100", 2, 24, 170),
    ("gcp", "a2-highgpu-4g"): ("a100", 4, 48, 340),
    ("gcp", "a2-highgpu-8g"): ("a100", 8, 96, 680),
    ("gcp", "a2-ultragpu-1g"): ("a100-80gb", 1, 12, 170),
    ("gcp", "a2-ultragpu-8g"): ("a100-80gb", 8, 96, 1360),
    ("gcp", "a3-highgpu-8g"): ("h100", 8, 208, 1872),
    ("gcp", "a3-ultragpu-8g"): ("h200", 8, 224, 2952),
    # Azure: the AKS VM size reference generated from microsoft/aspire
    # src/Aspire.Hosting.Azure.Kubernetes/AksNodeVmSizes.cs (aspire.dev, StandardNCASv3T4,
    # StandardNCADSA100v4, StandardNDAMSv4A100, StandardNCadsH100v5, StandardNDSH100v5).
    ("azure", "Standard_NC4as_T4_v3"): ("t4", 1, 4, 28),
    ("azure", "Standard_NC8as_T4_v3"): ("t4", 1, 8, 56),
    ("azure", "Standard_NC16as_T4_v3"): ("t4", 1, 16, 110),
    ("azure", "Standard_NC64as_T4_v3"): ("t4", 4, 64, 440),
    ("azure", "Standard_NC24ads_A100_v4"): ("a100-80gb", 1, 24, 220),
    ("azure", "Standard_NC48ads_A100_v4"): ("a100-80gb", 2, 48, 440),
    ("azure", "Standard_NC96ads_A100_v4"): ("a100-80gb", 4, 96, 880),
    ("azure", "Standard_ND96amsr_A100_v4"): ("a100-80gb", 8, 96, 1800),
    ("azure", "Standard_NC40ads_H100_v5"): ("h100-nvl", 1, 40, 320),
    ("azure", "Standard_ND96isr_H100_v5"): ("h100", 8, 96, 1900),
}


@pytest.mark.parametrize("cloud,name", sorted(GPU_ROWS))
def test_gpu_rows_match_the_public_sources(cloud, name):
    itype = catalog.instance_type(cloud, name)
    assert (itype.gpu, itype.gpus, itype.vcpus, itype.memory_gb) == GPU_ROWS[(cloud, name)]


# Regions offering each AWS type, among the catalog's AWS regions (tsaol/aws-gpu
# data/all_gpu_instances.js, "availability"; 2025-11-30).
AWS_REGIONS = {
    "g5g.xlarge": ("ap-northeast-1", "eu-central-1", "us-east-1", "us-west-2"),
    "g5.xlarge": ("ap-northeast-1", "eu-central-1", "eu-west-1", "us-east-1", "us-east-2", "us-west-2"),
    "g6.xlarge": ("ap-northeast-1", "eu-central-1", "us-east-1", "us-east-2", "us-west-2"),
    "g6e.xlarge": ("ap-northeast-1", "ap-northeast-3", "eu-central-1", "us-east-1", "us-east-2", "us-west-2"),
    "p4d.24xlarge": ("ap-northeast-1", "eu-central-1", "eu-west-1", "us-east-1", "us-east-2", "us-west-2"),
    "p5.48xlarge": ("ap-northeast-1", "us-east-1", "us-east-2", "us-west-2"),
    "p5en.48xlarge": ("ap-northeast-1", "us-east-1", "us-east-2", "us-west-2"),
    "p6-b200.48xlarge": ("us-east-1", "us-east-2", "us-west-2"),
}


@pytest.mark.parametrize("name", sorted(AWS_REGIONS))
def test_aws_regions_offering_match_ec2(name):
    assert tuple(sorted(catalog.cloud("aws").regions_offering(name))) == AWS_REGIONS[name]


# Zones per catalog region where GCP offers the machine type (skypilot-org/skypilot-catalog
# catalogs/v8/gcp/vms.csv, one row per machine type and zone).
GCP_ZONES = {
    ("g2-standard-24", "us-east4"): ("us-east4-a", "us-east4-c"),
    ("g2-standard-24", "europe-west1"): ("europe-west1-b", "europe-west1-c"),
    ("g2-standard-24", "asia-northeast1"): ("asia-northeast1-a", "asia-northeast1-b", "asia-northeast1-c"),
    ("g2-standard-24", "us-central1"): ("us-central1-a", "us-central1-b", "us-central1-c"),
    ("a2-highgpu-1g", "asia-southeast1"): ("asia-southeast1-b", "asia-southeast1-c"),
    ("a2-highgpu-1g", "us-central1"): ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"),
    ("a2-ultragpu-1g", "us-east4"): ("us-east4-c",),
    ("a2-ultragpu-1g", "europe-west4"): ("europe-west4-a",),
    ("a3-highgpu-8g", "europe-west1"): ("europe-west1-b", "europe-west1-c"),
    ("a3-highgpu-8g", "asia-northeast1"): ("asia-northeast1-b",),
    ("a3-highgpu-8g", "us-east4"): ("us-east4-a", "us-east4-b", "us-east4-c"),
    ("a3-ultragpu-8g", "us-central1"): ("us-central1-b",),
    ("a3-ultragpu-8g", "us-east4"): ("us-east4-b",),
    ("a3-ultragpu-8g", "us-west1"): ("us-west1-c",),
    ("a3-ultragpu-8g", "europe-west4"): ("europe-west4-a",),
    ("a3-ultragpu-8g", "us-east1"): (),
}


@pytest.mark.parametrize("name,region", sorted(GCP_ZONES))
def test_gcp_accelerator_zones_match_compute_engine(name, region):
    assert catalog.cloud("gcp").zones_offering(name, region) == GCP_ZONES[(name, region)]

"""List prices of what a stack creates besides its VMs (those are in the per-cloud modules),
for the preview's cost estimate. USD, in each cloud's price reference region (us-east-1,
us-central1, eastus), on-demand. One row per billable item, with the page it comes from.
The figures are the list prices those pages state for the reference region, entered from
the pages' published rates without an online re-check from this offline build: re-check
them (and update the source line) before budgeting. Usage-based items (data processed, GB stored in a file system)
are not priced: the preview lists them as not priced.
"""

from __future__ import annotations

from dataclasses import dataclass

HOURS_PER_MONTH = 730  # the clouds' own convention for monthly figures


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str  # "hour", "GB-month" or "MiB/s-month"
    source: str


SERVICE_PRICES: dict[str, dict[str, Price]] = {
    "aws": {
        "control-plane": Price(0.10, "hour", "https://aws.amazon.com/eks/pricing/ (standard support, per cluster)"),
        "nat-gateway": Price(0.045, "hour", "https://aws.amazon.com/vpc/pricing/ (NAT gateway, per gateway; data processed not priced)"),
        "load-balancer": Price(0.0225, "hour", "https://aws.amazon.com/elasticloadbalancing/pricing/ (Network Load Balancer; LCUs not priced)"),
        "block-storage": Price(0.08, "GB-month", "https://aws.amazon.com/ebs/pricing/ (gp3)"),
        # gp3 includes 3000 IOPS and 125 MiB/s; provisioned throughput above that (EKS GPU pools'
        # parallel image pull, components/clouds/aws/coldstart.py) is billed per MiB/s-month.
        "block-storage-throughput": Price(0.040, "MiB/s-month", "https://aws.amazon.com/ebs/pricing/ (gp3 throughput above 125 MiB/s)"),
        "kms-key": Price(1.0 / HOURS_PER_MONTH, "hour", "https://aws.amazon.com/kms/pricing/ ($1 per customer managed key per month)"),
    },
    "gcp": {
        "control-plane": Price(0.10, "hour", "https://cloud.google.com/kubernetes-engine/pricing (cluster management fee)"),
        # Cloud NAT: per VM using the gateway, capped per gateway; the cost module applies the cap.
        "nat-gateway-per-vm": Price(0.0014, "hour", "https://cloud.google.com/nat/pricing (per VM, up to 32 VMs)"),
        "nat-gateway-cap": Price(0.044, "hour", "https://cloud.google.com/nat/pricing (32 or more VMs)"),
        "load-balancer": Price(0.025, "hour", "https://cloud.google.com/vpc/network-pricing (forwarding rule, first 5)"),
        "block-storage": Price(0.10, "GB-month", "https://cloud.google.com/compute/disks-image-pricing (pd-balanced)"),
    },
    "azure": {
        "control-plane-free": Price(0.0, "hour", "https://azure.microsoft.com/pricing/details/kubernetes-service/ (Free tier)"),
        "control-plane-standard": Price(0.10, "hour", "https://azure.microsoft.com/pricing/details/kubernetes-service/ (Standard tier)"),
        "load-balancer": Price(0.025, "hour", "https://azure.microsoft.com/pricing/details/load-balancer/ (Standard, first 5 rules)"),
        # AKS nodes here use ephemeral OS disks (on the VM's cache disk): no disk charge.
        "block-storage": Price(0.15, "GB-month", "https://azure.microsoft.com/pricing/details/managed-disks/ (Premium SSD v1, P10 128 GiB ~ $19.71/month)"),
    },
}

# NVIDIA MIG: how many instances of a profile one GPU holds, by its compute slices (the
# number before "g"): 1g -> 7, 2g -> 3, 3g -> 2, 4g -> 1, 7g -> 1 (NVIDIA MIG user guide,
# "Supported MIG Profiles" for A100/H100/H200/B200).
MIG_INSTANCES_PER_GPU = {1: 7, 2: 3, 3: 2, 4: 1, 7: 1}


def mig_instances(profile: str) -> int:
    return MIG_INSTANCES_PER_GPU.get(int(profile.split("g", 1)[0]), 1)

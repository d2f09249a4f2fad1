"""GPU quotas a new account starts with, per cloud, and which quota each GPU type and
capacity tier draws on. The preview compares a stack's most GPUs (or vCPUs) per quota and
region with these and names the increase to request before `pulumi up` (docs/preview.md).

The values are a new account's defaults: an account that has asked before, or that the cloud
has raised on its own, has more. Read your applied value in the console (the quota's name is
the one each row carries) before asking.

Sources (read 2026-12-06). Each quota carries two: the page that names it (`source`) and
what states a new account's value (`default_source`). No cloud's documentation that could be
read for this states that value for its GPU quotas, so every `default` here is 0 and marked
unsourced: an assumption that errs towards asking for the increase. Read your applied value
before asking (the quota's console name and code are in each row).
- AWS: per region, in vCPUs of running instances (spot: of open and running spot requests),
  by instance family, quota codes L-417A185B, L-7212CCBC, L-DB2E81BA, L-3819A6DF in Service
  Quotas (service `ec2`). Named in the AWS General Reference, "Amazon EC2 endpoints and
  quotas". AWS's documentation gives no value for a new account; the Service Quotas console
  and `aws service-quotas get-aws-default-service-quota --service-code ec2 --quota-code <code>`
  show AWS's default, and `get-service-quota` the value applied to your account, which AWS
  sets per account.
- GCP: per region and GPU model, `NVIDIA_<MODEL>_GPUS` for on-demand and reserved VMs and
  `PREEMPTIBLE_NVIDIA_<MODEL>_GPUS` for Spot VMs, plus the project-wide `GPUS_ALL_REGIONS`
  (Compute Engine "Allocation quotas", GPU quota). Google's page says projects do not all have
  the same quotas and that they may grow with use; it gives no value for a new project.
- Azure: per region and VM family, in vCPUs ("Standard <family> Family vCPUs"), Spot VMs
  against "Total Regional Low-priority vCPUs" (Microsoft Learn, "Check vCPU quotas" and "Use
  Azure Spot Virtual Machines", Quotas). Microsoft's pages give no family value for a new
  subscription (it depends on the subscription's offer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .model import InstanceType


# The official pages that name each cloud's GPU quotas.
SOURCES: dict[str, str] = {
    "aws": "https://docs.aws.amazon.com/general/latest/gr/ec2-service.html (AWS General Reference, Amazon EC2 endpoints and quotas), read 2026-12-06",
    "gcp": "https://cloud.google.com/compute/resource-usage (Compute Engine, Allocation quotas: GPU quota), read 2026-12-06",
    "azure": "https://learn.microsoft.com/azure/virtual-machines/quotas (Check vCPU quotas: regional and per-family vCPU tiers), "
             "read 2026-12-06; spot: https://learn.microsoft.com/azure/virtual-machines/spot-vms (Quotas), not re-read",
}
# What states a new account's value: nothing official, per cloud (see the module docstring).
DEFAULT_SOURCES: dict[str, str] = {
    "aws": "unsourced: no AWS page states a new account's value for this quota; 0 is assumed. "
           "`aws service-quotas get-service-quota --service-code ec2 --quota-code <code>` gives your account's",
    "gcp": "unsourced: Google's Allocation quotas page says quotas differ by project and gives no new project's GPU value; "
           "0 is assumed. `gcloud compute regions describe <region>` lists your project's",
    "azure": "unsourced: Microsoft Learn gives no new subscription's value for GPU VM families (it depends on the offer); "
             "0 is assumed. `az vm list-usage --location <region>` lists your subscription's",
}
UNSOURCED = "unsourced"


@dataclass(frozen=True)
class Quota:
    """One quota as the cloud's console names it."""

    cloud: str
    name: str  # as the console shows it, e.g. "Running On-Demand P instances"
    code: str  # the quota code / metric / family name the API uses
    unit: str  # "vCPUs" or "GPUs"
    default: int  # a new account's value
    regional: bool = True  # per region (False: the project or account as a whole)
    source: str = ""  # the official page that names the quota
    default_source: str = ""  # what states `default`, or why it is unsourced

    @property
    def default_sourced(self) -> bool:
        return not self.default_source.startswith(UNSOURCED)


def _q(cloud: str, name: str, code: str, unit: str, regional: bool = True) -> Quota:
    return Quota(cloud, name, code, unit, 0, regional, SOURCES[cloud], DEFAULT_SOURCES[cloud])


# AWS: by the instance family's letter.
AWS_QUOTAS: dict[str, dict[str, Quota]] = {
    "p": {
        "onDemand": _q("aws", "Running On-Demand P instances", "L-417A185B", "vCPUs"),
        "spot": _q("aws", "All P Spot Instance Requests", "L-7212CCBC", "vCPUs"),
    },
    "g": {
        "onDemand": _q("aws", "Running On-Demand G and VT instances", "L-DB2E81BA", "vCPUs"),
        "spot": _q("aws", "All G and VT Spot Instance Requests", "L-3819A6DF", "vCPUs"),
    },
}

# GCP: by the accelerator attached to the machine type.
_GCP_MODELS = {
    "nvidia-l4": ("L4", "NVIDIA_L4_GPUS"),
    "nvidia-tesla-a100": ("A100", "NVIDIA_A100_GPUS"),
    "nvidia-a100-80gb": ("A100 80GB", "NVIDIA_A100_80GB_GPUS"),
    "nvidia-h100-80gb": ("H100", "NVIDIA_H100_GPUS"),
    "nvidia-h200-141gb": ("H200", "NVIDIA_H200_GPUS"),
}
GCP_QUOTAS: dict[str, dict[str, Quota]] = {
    accelerator: {
        "onDemand": _q("gcp", f"NVIDIA {model} GPUs", metric, "GPUs"),
        "spot": _q("gcp", f"Preemptible NVIDIA {model} GPUs", f"PREEMPTIBLE_{metric}", "GPUs"),
    }
    for accelerator, (model, metric) in _GCP_MODELS.items()
}
GCP_ALL_REGIONS = _q("gcp", "GPUs (all regions)", "GPUS_ALL_REGIONS", "GPUs", regional=False)

# Azure: by VM family (the size's series), spot against the regional low-priority quota.
AZURE_FAMILIES: tuple[tuple[str, str, str], ...] = (
    # (size suffix the family's sizes end with, console name, family name in the API)
    ("as_T4_v3", "Standard NCASv3_T4 Family vCPUs", "standardNCASv3_T4Family"),
    ("ads_A100_v4", "Standard NCADS_A100_v4 Family vCPUs", "StandardNCADSA100v4Family"),
    ("amsr_A100_v4", "Standard NDAMSv4_A100 Family vCPUs", "standardNDAMSv4_A100Family"),
    ("ads_H100_v5", "Standard NCadsH100v5 Family vCPUs", "standardNCadsH100v5Family"),
    ("isr_H100_v5", "Standard NDSH100v5 Family vCPUs", "standardNDSH100v5Family"),
)
AZURE_SPOT = _q("azure", "Total Regional Low-priority vCPUs", "lowPriorityCores", "vCPUs")


def quota_for(cloud: str, itype: InstanceType, tier: str) -> Optional[Quota]:
    """The quota nodes of `itype` on `tier` (spot, onDemand) draw on; None when the catalog
    does not know it. Reserved capacity was granted when it was bought: it needs no quota."""
    if tier not in ("spot", "onDemand"):
        return None
    if cloud == "aws":
        family = AWS_QUOTAS.get(itype.name[:1])
        return family[tier] if family else None
    if cloud == "gcp":
        family = GCP_QUOTAS.get(itype.accelerator or "")
        return family[tier] if family else None
    if cloud == "azure":
        if tier == "spot":
            return AZURE_SPOT
        for suffix, name, code in AZURE_FAMILIES:
            if itype.name.endswith(suffix):
                return _q("azure", name, code, "vCPUs")
    return None


def amount(quota: Quota, itype: InstanceType, nodes: int) -> int:
    """What `nodes` nodes of `itype` count against `quota`."""
    return nodes * (itype.gpus if quota.unit == "GPUs" else itype.vcpus)

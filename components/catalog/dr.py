"""Disaster-recovery facts per cloud: how each store replicates to the recovery region and
the RPO the cloud states for it. Data, not logic: config checks, the stores and the
preview's DR table read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Replication:
    mechanism: str
    # The recovery point the cloud states for the mechanism, in minutes.
    rpo_minutes: int
    # True: the figure is backed by an SLA; False: it is "typical", with no SLA.
    sla: bool
    source: str

    @property
    def rpo_text(self) -> str:
        return f"{self.rpo_minutes} min ({'SLA' if self.sla else 'typical, no SLA'})"


# The model store (and the Velero backup bucket, which replicates the same way).
STORE_REPLICATION: dict[str, Replication] = {
    # 99.99% of objects within 15 minutes, backed by the S3 SLA when RTC is on.
    "aws": Replication(
        "S3 cross-region replication with Replication Time Control", 15, True,
        "AWS S3 user guide, Replication Time Control",
    ),
    # Dual-region bucket with turbo replication: 100% of new objects within 15 minutes, SLA-backed.
    "gcp": Replication(
        "dual-region bucket with turbo replication (rpo ASYNC_TURBO)", 15, True,
        "Cloud Storage docs, turbo replication",
    ),
    # Object replication between two accounts: "typically under 15 minutes", no SLA.
    "azure": Replication(
        "blob object replication between two storage accounts", 15, False,
        "Azure Storage docs, object replication",
    ),
}

REGISTRY_REPLICATION: dict[str, str] = {
    "aws": "ECR cross-region replication (registry-wide rule)",
    "gcp": "Artifact Registry multi-region location",
    "azure": "ACR Premium geo-replication",
}

# GCP: a dual-region bucket's two regions must sit in one multi-region (the bucket's
# `location`); Artifact Registry and Cloud KMS name the same multi-regions in lower case.
GCP_MULTI_REGIONS: dict[str, tuple[str, str]] = {
    # region prefix: (GCS multi-region, Artifact Registry / KMS multi-region)
    "us-": ("US", "us"),
    "europe-": ("EU", "europe"),
    "asia-": ("ASIA", "asia"),
}


def gcp_multi_region(region: str) -> tuple[str, str] | None:
    for prefix, names in GCP_MULTI_REGIONS.items():
        if region.startswith(prefix):
            return names
    return None

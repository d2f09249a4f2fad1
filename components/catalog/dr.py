"""Disaster-recovery facts per cloud: how each store replicates to the recovery region and
the RPO the cloud states for it. Data, not logic: config checks, the stores and the
preview's DR table read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Replication:
    mechanism: str
    # The replication lag the cloud states for the mechanism as configured here, in minutes;
    # on Azure no figure is stated, so this is only the floor the config check holds rpoMinutes to.
    rpo_minutes: int
    # True: the cloud backs the figure with an SLA (a billing credit, not a guarantee).
    sla: bool
    source: str
    # The figure in words, as the cloud states it.
    stated: str = ""

    @property
    def rpo_text(self) -> str:
        return self.stated or f"{self.rpo_minutes} min ({'SLA' if self.sla else 'typical, no SLA'})"


# The model store (and the Velero backup bucket, which replicates the same way).
STORE_REPLICATION: dict[str, Replication] = {
    # RTC is designed to replicate 99.99% of objects within 15 minutes; the S3 SLA credits
    # start below 99.9% (L1: the design figure is not the SLA).
    "aws": Replication(
        "S3 cross-region replication with Replication Time Control", 15, True,
        "AWS S3 user guide, Replication Time Control; Amazon S3 SLA",
        "15 min (RTC: 99.99% by design, SLA credit below 99.9%)",
    ),
    # Dual-region bucket with turbo replication: 100% of new objects within 15 minutes, SLA-backed.
    "gcp": Replication(
        "dual-region bucket with turbo replication (rpo ASYNC_TURBO)", 15, True,
        "Cloud Storage docs, turbo replication",
    ),
    # Object replication is asynchronous with no stated latency ("depends on the size of the
    # block blob"). Priority replication (99% within 15 min, SLA, same continent) needs the
    # storage API 2025-01-01; pulumi-azure-native 3.x pins 2024-01-01, which lacks it (H5).
    "azure": Replication(
        "blob object replication between two storage accounts (no priority replication)", 15, False,
        "Azure Storage docs, object replication overview",
        "no stated figure (priority replication, 15 min for 99%, needs storage API 2025-01-01)",
    ),
}

# The shared file system's own cross-region copy, where this program configures one. EFS
# states its figure as an objective, not an SLA: longer for file systems with over 100 million
# files or files over 100 GB that change often. Filestore and Azure Files NFS: none configured
# (no native cross-region replication here), so their data crosses regions only inside the
# cluster backups.
FILE_SYSTEM_REPLICATION: dict[str, Replication] = {
    "aws": Replication(
        "EFS replication to a read-only file system in the recovery region", 15, False,
        "Amazon EFS user guide, replicating file systems (replication performance)",
        "15 min for most file systems (an objective, no SLA; longer with over 100 million files or files over 100 GB that change often)",
    ),
}

# What a Velero backup adds to the cluster-state RPO before it is complete in the bucket:
# an estimate (CSI snapshot + data-mover upload of every volume) to replace with the duration
# the drill measures (`velero backup describe`: Started to Completed).
BACKUP_DURATION_ESTIMATE_MINUTES = 15

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

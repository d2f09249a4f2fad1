"""Existing cluster: no model store or registry is created (the cluster is not ours to
provision for), only cluster backups: Velero writes to the S3-compatible store the stack
names in `dr.backupStore`, with the credentials Secret the operator created."""

from __future__ import annotations

from typing import Optional

import pulumi

from ... import catalog
from ...dr import StoresArgs
from ...handle import BackupTarget


class ExistingStores(pulumi.ComponentResource):
    def __init__(self, name: str, args: StoresArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:clouds:ExistingStores", name, None, opts)
        dr = args.config.dr
        self.model_store = None
        self.backup: Optional[BackupTarget] = None
        if dr is not None and dr.backup_store is not None:
            store = dr.backup_store
            # velero-plugin-for-aws speaks to any S3 API: `s3Url` points it there and
            # path-style addressing suits MinIO and Ceph RGW.
            self.backup = BackupTarget(
                provider="aws",
                plugin_image=catalog.IMAGES["velero-plugin-for-aws"],
                bucket=store.bucket,
                config={"region": store.region, "s3Url": store.url, "s3ForcePathStyle": "true"},
                credentials_secret=store.credentials_secret,
                csi_snapshots=False,
            )
        self.register_outputs({})


def describe(cfg, plan) -> list[dict[str, str]]:
    """The DR table's rows (preview/dr.py): backups only, to the configured store."""
    store = cfg.dr.backup_store
    return [{
        "store": "cluster backups",
        "lives": f"{store.url}/{store.bucket}",
        "replica": "none managed here (replicate the store yourself)",
        "mechanism": "Velero to an S3-compatible store",
        "rpo": f"{plan.rpo_minutes} min (backup schedule)",
    }]

"""Cluster backups with Velero, on any backend: the handle says where backups go (plugin,
bucket, location config) and how Velero's ServiceAccount gets its cloud identity.

- Volume data moves into the backup bucket through CSI snapshots and Velero's data mover
  (`snapshotMoveData`), so it crosses regions with the bucket's replication; native cloud
  snapshots (`snapshotsEnabled`) stay off: they never leave their region.
- A primary backs up on the `dr.backupSchedule` cron, each backup kept `dr.backupRetention`.
- A standby reads the primary's replicated backups with the location ReadOnly and runs no
  schedule; on failover it requests a Restore of the latest backup of the primary's schedule.

Chart facts (vmware-tanzu/helm-charts, charts/velero at tag velero-12.1.0, app v1.18.1):
values `initContainers` (plugins copy themselves into the `plugins` volume at /target),
`configuration.backupStorageLocation[]` with `accessMode` (default ReadWrite; "ReadOnly is
used during migrations and restores"), `configuration.defaultSnapshotMoveData`,
`configuration.features`, `snapshotsEnabled`, `deployNodeAgent`, `nodeAgent.tolerations`,
`schedules.<key>` rendered as Schedule `<release fullname>-<key>`, `credentials.useSecret`
/ `existingSecret` / `secretContents.cloud`, `serviceAccount.server.annotations`, and the
server ServiceAccount `<fullname>-server`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import yaml

from .. import catalog
from ..dr import BACKUP_SCHEDULE_KEY, BACKUP_SCHEDULE_NAME, VELERO_RELEASE, DrPlan
from ..handle import BackupTarget, ClusterHandle
from .common import LABEL_PREFIX, Scope, gpu_tolerations, metadata, namespace_labels, system_placement

VELERO_NAMESPACE = "velero"
BACKUP_LOCATION = "default"
RESTORE_NAME = "failover-restore"
PARITY_CONFIG_MAP = "ml-clusters-dr"
RPO_ANNOTATION = f"{LABEL_PREFIX}/rpo-minutes"
CSI_SNAPSHOT_CLASS_LABEL = "velero.io/csi-volumesnapshot-class"
# Velero never backs itself up, and what the platform rebuilds on any cluster is not state.
EXCLUDED_NAMESPACES = ("velero", "kube-system", "kube-public", "kube-node-lease")
# The failed-over standby's own, writable location; the primary's replicated backups stay
# readable (and read-only) under BACKUP_LOCATION.
RECOVERY_LOCATION = "recovery"
# Its schedule has its own name, so the failover Restore (latest Completed backup of the
# primary's schedule) can never pick one of the standby's own backups.
RECOVERY_SCHEDULE_KEY = "recovery"
# The chart renders `configMaps.<key>` as ConfigMap `<fullname>-<key>` (templates/configmaps.yaml).
VOLUME_POLICY_KEY = "volume-policy"
VOLUME_POLICY_NAME = f"{VELERO_RELEASE}-{VOLUME_POLICY_KEY}"
# Velero 1.18 (pkg/repository/keys) reads every kopia repository's password from this Secret
# in its own namespace, and at start creates it with a fixed, publicly known password when it
# is missing. The chart (12.1.0) does not template it: this program creates it before Velero.
REPOSITORY_SECRET = "velero-repo-credentials"
REPOSITORY_SECRET_KEY = "repository-password"


def volume_policy(handle: ClusterHandle) -> dict[str, Any]:
    """Velero's resource policy (internal/resourcepolicies, version v1): every storage class
    whose driver has no labelled VolumeSnapshotClass here goes through file-system backup in
    the node agent, so no PVC makes a backup PartiallyFailed (EFS has no CSI snapshots at
    all; Filestore and Azure Files NFS through the data mover are unverified)."""
    from .storage import BLOCK_CLASS, BLOCK_RETAIN_CLASS, SHARED_CLASS

    snapshot_driver = handle.block_storage.provisioner
    classes = {BLOCK_CLASS: snapshot_driver, BLOCK_RETAIN_CLASS: snapshot_driver}
    classes.update({name: spec.provisioner for name, spec in handle.extra_block_storage.items()})
    if handle.file_storage is not None:
        classes[SHARED_CLASS] = handle.file_storage.provisioner
    fs = sorted(name for name, driver in classes.items() if driver != snapshot_driver)
    policies = [{"conditions": {"storageClass": fs}, "action": {"type": "fs-backup"}}] if fs else []
    return {"version": "v1", "volumePolicies": policies}


def schedule(plan: DrPlan, location: str, csi: bool, policy: bool) -> dict[str, Any]:
    template: dict[str, Any] = {
        "ttl": f"{plan.retention_hours}h",
        "storageLocation": location,
        "snapshotMoveData": csi,
        "includedNamespaces": ["*"],
        "excludedNamespaces": list(EXCLUDED_NAMESPACES),
        "includeClusterResources": True,
    }
    if policy:
        template["resourcePolicy"] = {"kind": "configmap", "name": VOLUME_POLICY_NAME}
    return {
        "disabled": False,
        "schedule": plan.backup_schedule,
        # The RPO the schedule must keep; the policy pack checks the cron against it.
        "annotations": {RPO_ANNOTATION: str(plan.rpo_minutes)},
        "useOwnerReferencesInBackup": False,
        "template": template,
    }


class KubernetesObject(pulumi.CustomResource):
    """A Kubernetes object of a CRD whose fields sit beside `spec` (VolumeSnapshotClass has a
    top-level `driver`), which k8s.apiextensions.CustomResource cannot express (spec only)."""

    def __init__(self, name: str, api_version: str, kind: str, metadata: dict[str, Any], fields: dict[str, Any],
                 opts: Optional[pulumi.ResourceOptions] = None):
        props = {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}
        super().__init__(f"kubernetes:{api_version}:{kind}", name, props, opts)


@dataclass(frozen=True)
class BackupArgs:
    handle: ClusterHandle
    target: BackupTarget
    plan: DrPlan
    # The kopia repository password (stack secret `veleroRepositoryPassword`); the same on a
    # primary and its standby, or the standby cannot open the primary's repositories.
    repository_password: Optional[str] = None


def velero_values(handle: ClusterHandle, args: BackupArgs) -> dict[str, Any]:
    target, plan = args.target, args.plan
    plugin = target.plugin_image.rsplit("/", 1)[-1].split(":", 1)[0]
    location: dict[str, Any] = {
        "name": BACKUP_LOCATION,
        "provider": target.provider,
        "bucket": target.bucket,
        "default": True,
        "accessMode": "ReadOnly" if target.read_only else "ReadWrite",
        "config": dict(sorted(target.config.items())),
    }
    system = system_placement(handle)
    values: dict[str, Any] = {
        "initContainers": [{
            "name": plugin,
            "image": target.plugin_image,
            "imagePullPolicy": "IfNotPresent",
            "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
        }],
        "configuration": {
            "backupStorageLocation": [location],
            "volumeSnapshotLocation": [],
            "uploaderType": "kopia",
            "defaultBackupTTL": f"{plan.retention_hours}h",
            "defaultSnapshotMoveData": target.csi_snapshots,
            "defaultVolumesToFsBackup": not target.csi_snapshots,
            "features": "EnableCSI" if target.csi_snapshots else "",
        },
        # Native snapshots stay in their region; CSI data movement puts volume data in the bucket.
        "snapshotsEnabled": False,
        "backupsEnabled": True,
        "deployNodeAgent": True,
        # The data mover and file-system backups run in the node agent, on every node with
        # volumes: GPU nodes included.
        # Data-mover pods copy the node agent's pod labels (Velero 1.18 pkg/nodeagent GetLabelValue),
        # and the chart puts `podLabels` on the server only: workload identity needs both.
        "nodeAgent": {"tolerations": [*gpu_tolerations(handle), *handle.system_tolerations],
                      **({"podLabels": dict(target.pod_labels)} if target.pod_labels else {})},
        "serviceAccount": {"server": {"create": True, "annotations": dict(target.service_account_annotations) or None}},
        "podLabels": dict(target.pod_labels),
        "upgradeCRDs": True,
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        **system,
    }
    if target.credentials_secret is not None:
        values["credentials"] = {"useSecret": True, "existingSecret": target.credentials_secret}
    elif target.credentials_file is not None:
        values["credentials"] = {"useSecret": True, "secretContents": {"cloud": target.credentials_file}}
    else:
        values["credentials"] = {"useSecret": False}
    policy = volume_policy(handle) if target.csi_snapshots else {"version": "v1", "volumePolicies": []}
    if policy["volumePolicies"]:
        values["configMaps"] = {VOLUME_POLICY_KEY: {"data": {"policy.yaml": yaml.safe_dump(policy, sort_keys=True)}}}
    if not plan.standby:
        values["schedules"] = {BACKUP_SCHEDULE_KEY: schedule(plan, BACKUP_LOCATION, target.csi_snapshots, bool(policy["volumePolicies"]))}
    elif plan.restore_requested and target.recovery is not None:
        # Velero's disaster-case procedure: after the restore, back up again into a writable
        # location. The primary's replicated backups stay read-only and are no longer the default.
        recovery = target.recovery
        location["default"] = False
        values["configuration"]["backupStorageLocation"].append({
            "name": RECOVERY_LOCATION,
            "provider": target.provider,
            "bucket": recovery.bucket,
            "prefix": recovery.prefix,
            "default": True,
            "accessMode": "ReadWrite",
            "config": dict(sorted(recovery.config.items())),
        })
        values["schedules"] = {RECOVERY_SCHEDULE_KEY: schedule(plan, RECOVERY_LOCATION, target.csi_snapshots, bool(policy["volumePolicies"]))}
    return values


class Backup(pulumi.ComponentResource):
    """`.release` (Velero), `.restore` (None unless a standby fails over)."""

    def __init__(self, name: str, args: BackupArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:platform:Backup", name, None, opts)
        handle, target, plan = args.handle, args.target, args.plan
        scope = Scope(handle, self, tuple(handle.ready))
        # The node agent mounts host paths as root: only the privileged level admits it.
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": VELERO_NAMESPACE, "labels": namespace_labels("privileged", handle.kubernetes_version)},
            opts=scope.opts(),
        )
        snapshot_class = None
        if target.csi_snapshots:
            # Velero snapshots a volume with the VolumeSnapshotClass of its driver that carries this label.
            snapshot_class = KubernetesObject(
                f"{name}-snapshot-class",
                "snapshot.storage.k8s.io/v1",
                "VolumeSnapshotClass",
                metadata("ml-velero-snapshots", app="velero", component="backup", extra_labels={CSI_SNAPSHOT_CLASS_LABEL: "true"}),
                # The snapshot only lives until the data mover has copied it into the bucket.
                {"driver": handle.block_storage.provisioner, "deletionPolicy": "Delete"},
                opts=scope.opts(extra=target.ready),
            )
        # What the policy pack compares between a standby and its primary (dr-standby-matches-primary).
        k8s.core.v1.ConfigMap(
            f"{name}-parity",
            metadata=metadata(PARITY_CONFIG_MAP, VELERO_NAMESPACE, "velero", "dr"),
            data={"role": plan.role, "stack": plan.stack, "primaryStack": plan.primary_stack, "parity": plan.parity,
                  **({"primaryParity": plan.primary_parity} if plan.primary_parity else {})},
            opts=scope.opts(namespace),
        )
        if not args.repository_password:
            raise ValueError("Backup needs repository_password (the stack secret veleroRepositoryPassword)")
        # Before the release, so Velero finds it and never writes its default. A Velero of an
        # earlier version of this program created the Secret itself: take its fields over.
        repository_secret = k8s.core.v1.Secret(
            f"{name}-repository-password",
            metadata=metadata(REPOSITORY_SECRET, VELERO_NAMESPACE, "velero", "backup",
                              annotations={"pulumi.com/patchForce": "true"}),
            type="Opaque",
            string_data={REPOSITORY_SECRET_KEY: pulumi.Output.secret(args.repository_password)},
            opts=scope.opts(namespace),
        )
        chart = catalog.CHARTS["velero"]
        self.release = k8s.helm.v3.Release(
            f"{name}-velero",
            name=VELERO_RELEASE,
            namespace=VELERO_NAMESPACE,
            chart=chart.name,
            version=chart.version,
            repository_opts={"repo": chart.repo},
            values=velero_values(handle, args),
            atomic=True,
            opts=scope.opts(namespace, snapshot_class, repository_secret, extra=target.ready),
        )
        self.restore: Optional[k8s.apiextensions.CustomResource] = None
        if plan.restore_requested:
            # The latest successful backup of the primary's schedule (synced from the replicated
            # bucket); Velero restores onto the standby, PVs included, existing objects left alone.
            self.restore = k8s.apiextensions.CustomResource(
                f"{name}-restore",
                api_version="velero.io/v1",
                kind="Restore",
                metadata=metadata(RESTORE_NAME, VELERO_NAMESPACE, "velero", "restore"),
                spec={
                    "scheduleName": BACKUP_SCHEDULE_NAME,
                    "includedNamespaces": ["*"],
                    "restorePVs": True,
                    "existingResourcePolicy": "none",
                },
                opts=scope.opts(self.release),
            )
        self.register_outputs({"schedule": plan.backup_schedule if not plan.standby else None})

"""cloud: existing — backups only, to the S3-compatible store the stack names.

velero-plugin-for-aws BackupStorageLocation config keys `region`, `s3Url` and
`s3ForcePathStyle` (vmware-tanzu/helm-charts charts/velero values.yaml at velero-12.1.0 lists
them under configuration.backupStorageLocation[].config); `credentials.existingSecret` names
a Secret in Velero's namespace whose key `cloud` holds the credentials file.
"""

from __future__ import annotations

from tests.conftest import inputs, plan_for

STORE = {"url": "https://minio.lab.internal:9000", "bucket": "velero", "credentialsSecret": "minio-credentials"}


def config() -> dict:
    return {
        "cloud": "existing",
        "existing": {"kubeconfig": "stacks/kubeconfigs/local-kind.yaml"},
        "dr": {"backupStore": STORE, "backupSchedule": "*/30 * * * *", "rpoMinutes": 30},
        "veleroRepositoryPassword": "test-repository-password",
    }


def test_existing_backs_up_to_the_configured_store_with_file_system_backup():
    plan = plan_for(config())
    release = next(inputs(r) for r in plan.by_type("kubernetes:helm.sh/v3:Release") if inputs(r)["chart"] == "velero")
    values = release["values"]
    (location,) = values["configuration"]["backupStorageLocation"]
    assert location["provider"] == "aws" and location["bucket"] == "velero"
    assert location["config"] == {"region": "us-east-1", "s3ForcePathStyle": "true", "s3Url": "https://minio.lab.internal:9000"}
    assert values["credentials"] == {"useSecret": True, "existingSecret": "minio-credentials"}
    # No known CSI snapshot class on someone else's cluster: file-system backup instead.
    assert values["configuration"]["defaultVolumesToFsBackup"] is True
    assert values["configuration"]["defaultSnapshotMoveData"] is False
    assert values["schedules"]["cluster"]["schedule"] == "*/30 * * * *"
    assert plan.by_type("kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass") == []
    # No model store is created on an existing cluster.
    assert [c for c in plan.by_type("kubernetes:core/v1:ConfigMap") if inputs(c)["metadata"]["name"] == "model-store"] == []


def test_existing_without_dr_gets_no_velero():
    plan = plan_for({"cloud": "existing", "existing": {"kubeconfig": "stacks/kubeconfigs/local-kind.yaml"}})
    assert not any(inputs(r)["chart"] == "velero" for r in plan.by_type("kubernetes:helm.sh/v3:Release"))

"""Velero (components/platform/backup.py) on the pilot-light standby and its failover, previewed: GPU pools, Velero, the restore.

Chart facts (vmware-tanzu/helm-charts charts/velero, tag velero-12.1.0, app 1.18.1,
values.yaml and templates/schedule.yaml, backupstoragelocation.yaml, _helpers.tpl):
`configuration.backupStorageLocation[].accessMode` defaults to ReadWrite, "ReadOnly is used
during migrations and restores"; `configuration.defaultSnapshotMoveData`; `deployNodeAgent`;
`nodeAgent.tolerations`; `schedules.<key>` becomes Schedule `<fullname>-<key>`; plugins run
as `initContainers` mounting the `plugins` volume at /target; the server ServiceAccount is
`<fullname>-server`. Velero docs (api-types/restore): `spec.scheduleName` restores the most
recent successful backup created by that schedule.
"""

from __future__ import annotations

import json

import pytest

from components.dr import BACKUP_SCHEDULE_NAME
from preview import engine
from tests.conftest import inputs, plan_for_stack

RELEASE = "kubernetes:helm.sh/v3:Release"
RESTORE = "kubernetes:velero.io/v1:Restore"


def failed_over(stack: str) -> engine.Plan:
    values, secrets = engine.read_stack_config(stack)
    key = f"{engine.PROJECT}:dr"
    dr = json.loads(values[key])
    dr["failover"] = True
    values[key] = json.dumps(dr, sort_keys=True)
    return engine.run_program(stack, values, secrets)


@pytest.fixture(scope="module")
def idle():
    return plan_for_stack("prod-aws-dr")


@pytest.fixture(scope="module")
def failover():
    return failed_over("prod-aws-dr")


@pytest.fixture(scope="module")
def primary():
    return plan_for_stack("prod-aws")


def velero(plan):
    return next(inputs(r)["values"] for r in plan.by_type(RELEASE) if inputs(r)["chart"] == "velero")


def gpu_min_sizes(plan):
    sizes = {
        r.name.rsplit("-", 1)[-1]: inputs(r)["scalingConfig"]["minSize"]
        # GPU node groups only: EKS stacks also have CPU pools now (ml-clusters.io/gpu: "false").
        for r in plan.by_type("aws:eks/nodeGroup:NodeGroup") if inputs(r)["labels"].get("ml-clusters.io/gpu") == "true"
    }
    # A Karpenter pool (prod-aws's h100) keeps no minimum: 0.
    sizes.update({inputs(r)["metadata"]["name"]: 0 for r in plan.by_type("kubernetes:karpenter.sh/v1:NodePool")})
    return sizes


def test_idle_standby_keeps_gpu_pools_at_zero(idle, primary):
    assert gpu_min_sizes(idle) == {"h100": 0, "l4infer": 0}
    groups = [inputs(r) for r in idle.by_type("aws:eks/nodeGroup:NodeGroup") if "system" not in r.name]
    assert {g["scalingConfig"]["desiredSize"] for g in groups if g["labels"]["ml-clusters.io/gpu"] == "true"} == {0}
    # Only GPU pools wait at 0 (the documented exception of dr-standby-matches-primary): the
    # CPU pool runs at the primary's size, so pods without tolerations have somewhere to go.
    def cpu_sizes(plan):
        return {inputs(r)["labels"]["ml-clusters.io/pool"]: inputs(r)["scalingConfig"]["minSize"]
                for r in plan.by_type("aws:eks/nodeGroup:NodeGroup")
                if inputs(r)["labels"].get("ml-clusters.io/gpu") == "false" and "system" not in r.name}
    assert cpu_sizes(idle) == cpu_sizes(primary) and cpu_sizes(idle)


def test_idle_standby_reads_the_replicated_backups_read_only_and_restores_nothing(idle):
    values = velero(idle)
    (location,) = values["configuration"]["backupStorageLocation"]
    assert location["accessMode"] == "ReadOnly"
    assert location["bucket"] == "ml-prod-aws-stores-backups-us-west-2" and location["config"]["region"] == "us-west-2"
    assert "schedules" not in values
    assert idle.by_type(RESTORE) == []


def test_failover_takes_the_primarys_sizes_and_requests_a_restore(failover, primary):
    # The sizes written in the standby file are the primary's.
    assert gpu_min_sizes(failover) == gpu_min_sizes(primary) == {"h100": 0, "l4infer": 1}
    (restore,) = failover.by_type(RESTORE)
    spec = inputs(restore)["spec"]
    assert spec["scheduleName"] == BACKUP_SCHEDULE_NAME == "velero-cluster"
    assert spec["restorePVs"] is True and spec["includedNamespaces"] == ["*"]
    release = next(r for r in failover.by_type(RELEASE) if inputs(r)["chart"] == "velero")
    assert release.urn in restore.dependencies
    # Still read-only: the restore reads the primary's backups, never writes over them.
    assert velero(failover)["configuration"]["backupStorageLocation"][0]["accessMode"] == "ReadOnly"


def test_failover_recreates_the_empty_eks_gpu_groups_at_the_primarys_minimum(idle, failover):
    # EKS's UpdateNodegroupConfig refuses a minSize above the group's desiredSize, and the
    # desiredSize is ignored (the autoscaler owns it), so raising l4infer from 0 to 1 in place
    # would fail the failover `pulumi up`. EKS cannot rename a node group: a new name prefix
    # makes the provider create a new group (at desiredSize = minSize) and delete the empty
    # idle one. Same URNs, so later runs of the failed-over stack change nothing.
    def groups(plan):
        return {r.urn: inputs(r) for r in plan.by_type("aws:eks/nodeGroup:NodeGroup") if inputs(r)["labels"].get("ml-clusters.io/gpu") == "true"}

    before, after = groups(idle), groups(failover)
    assert set(before) == set(after) and len(after) == 2
    for urn, group in after.items():
        pool = urn.rsplit("-", 1)[-1]
        assert before[urn]["nodeGroupNamePrefix"] == f"{pool}-"
        assert group["nodeGroupNamePrefix"] == f"{pool}-failover-"
        assert group["scalingConfig"]["desiredSize"] == group["scalingConfig"]["minSize"]
    # CPU and system groups keep their names: they were running and need no replacement.
    others = {r.urn: inputs(r)["nodeGroupNamePrefix"] for r in idle.by_type("aws:eks/nodeGroup:NodeGroup") if r.urn not in before}
    assert others and others == {r.urn: inputs(r)["nodeGroupNamePrefix"] for r in failover.by_type("aws:eks/nodeGroup:NodeGroup") if r.urn not in after}


def test_primary_schedule_retention_data_mover_and_node_agent(primary):
    values = velero(primary)
    schedule = values["schedules"]["cluster"]
    assert schedule["schedule"] == "0 * * * *"
    assert schedule["annotations"] == {"ml-clusters.io/rpo-minutes": "60"}
    assert schedule["template"]["ttl"] == "720h" and schedule["template"]["snapshotMoveData"] is True
    assert values["configuration"]["defaultSnapshotMoveData"] is True
    assert values["snapshotsEnabled"] is False  # native snapshots never leave their region
    assert values["deployNodeAgent"] is True
    assert {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"} in values["nodeAgent"]["tolerations"]
    (location,) = values["configuration"]["backupStorageLocation"]
    assert location["accessMode"] == "ReadWrite" and location["bucket"] == "ml-prod-aws-stores-backups-us-east-1"
    assert location["config"]["kmsKeyId"].startswith("arn:aws:kms:us-east-1:")  # encrypted with the stack's key
    (plugin,) = values["initContainers"]
    assert plugin["image"] == "velero/velero-plugin-for-aws:v1.14.2"
    assert plugin["volumeMounts"] == [{"mountPath": "/target", "name": "plugins"}]
    chart = next(r for r in primary.by_type(RELEASE) if inputs(r)["chart"] == "velero")
    assert inputs(chart)["version"] == "12.1.0"


def test_velero_waits_for_its_identity(primary):
    release = next(r for r in primary.by_type(RELEASE) if inputs(r)["chart"] == "velero")
    association = next(
        a for a in primary.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") if inputs(a)["namespace"] == "velero"
    )
    assert association.urn in release.dependencies


def test_snapshot_class_for_the_block_driver(primary):
    (cls,) = primary.by_type("kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass")
    obj = inputs(cls)
    assert obj["driver"] == "ebs.csi.aws.com"
    assert obj["metadata"]["labels"]["velero.io/csi-volumesnapshot-class"] == "true"


def test_team_namespaces_get_the_store_and_identity(primary):
    maps = {inputs(c)["metadata"]["namespace"]: inputs(c)["data"] for c in primary.by_type("kubernetes:core/v1:ConfigMap")
            if inputs(c)["metadata"]["name"] == "model-store"}
    assert maps["inference"]["MODEL_STORE_URL"] == "s3://ml-prod-aws-stores-models-us-east-1"
    assert maps["inference"]["MODEL_STORE_ACCESS"] == "read" and maps["training"]["MODEL_STORE_ACCESS"] == "readwrite"


def test_failed_over_standby_points_workloads_at_the_replicas(failover):
    maps = {inputs(c)["metadata"]["namespace"]: inputs(c)["data"] for c in failover.by_type("kubernetes:core/v1:ConfigMap")
            if inputs(c)["metadata"]["name"] == "model-store"}
    assert maps["inference"]["MODEL_STORE_URL"] == "s3://ml-prod-aws-stores-models-us-west-2"
    assert maps["inference"]["REGISTRY"] == "123456789012.dkr.ecr.us-west-2.amazonaws.com/ml-prod-aws-stores"


def test_gke_workload_service_account_carries_the_identity_annotation():
    plan = plan_for_stack("prod-gcp")
    accounts = {inputs(s)["metadata"]["namespace"]: inputs(s) for s in plan.by_type("kubernetes:core/v1:ServiceAccount")
                if inputs(s)["metadata"]["name"] == "workload"}
    email = accounts["training"]["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert email.endswith("@ml-platform-prod.iam.gserviceaccount.com")


def test_azure_failover_preview(tmp_path):
    plan = failed_over("prod-azure-dr")
    def user_pool_minimums(plan):
        return {inputs(p)["agentPoolName"]: inputs(p)["minCount"] for p in plan.by_type("azure-native:containerservice:AgentPool")
                if inputs(p)["mode"] == "User"}
    # At failover every pool takes the primary's minimum (the standby file states it).
    assert user_pool_minimums(plan) == user_pool_minimums(plan_for_stack("prod-azure"))
    assert len(plan.by_type(RESTORE)) == 1
    values = velero(plan)
    assert values["podLabels"] == {"azure.workload.identity/use": "true"}
    assert values["configuration"]["backupStorageLocation"][0]["config"]["useAAD"] == "true"
    # Velero's server runs on the system pool, which AKS taints CriticalAddonsOnly.
    assert {"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"} in values["tolerations"]


@pytest.mark.parametrize("stack", ["prod-gcp", "prod-gcp-dr"])
def test_gcp_velero_account_may_sign_as_itself(stack):
    """M5: with Workload Identity and the location's `serviceAccount`, the GCP plugin signs
    blob URLs as that account; without signBlob on it, `velero backup logs`/`describe` fail
    (velero-plugin-for-gcp README)."""
    plan = plan_for_stack(stack)
    (location,) = velero(plan)["configuration"]["backupStorageLocation"]
    email = location["config"]["serviceAccount"]
    grants = [inputs(m) for m in plan.by_type("gcp:serviceaccount/iAMMember:IAMMember")
              if inputs(m)["role"] == "roles/iam.serviceAccountTokenCreator"]
    assert [g["member"] for g in grants] == [f"serviceAccount:{email}"]


# --- The kopia repository password (review item L3) ---------------------------------------

SECRET = "kubernetes:core/v1:Secret"
PASSWORD_KEY = f"{engine.PROJECT}:veleroRepositoryPassword"


def with_password(stack: str, password: str, secret: bool = True) -> engine.Plan:
    values, secrets = engine.read_stack_config(stack)
    values[PASSWORD_KEY] = password
    if not secret:
        secrets = [k for k in secrets if k != PASSWORD_KEY]
    return engine.run_program(stack, values, secrets)


def repository_secret(plan: engine.Plan) -> engine.PlannedResource:
    from components.platform.backup import REPOSITORY_SECRET, VELERO_NAMESPACE

    found = [r for r in plan.by_type(SECRET)
             if inputs(r)["metadata"]["name"] == REPOSITORY_SECRET and inputs(r)["metadata"]["namespace"] == VELERO_NAMESPACE]
    assert len(found) == 1, f"{len(found)} Secrets {REPOSITORY_SECRET} in the velero namespace"
    return found[0]


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_velero_repository_password_is_the_stacks_secret_on_primary_and_standby(cloud):
    from components.platform.backup import REPOSITORY_SECRET_KEY

    # The stack files' own value (the same on a primary and its standby, as the docs ask), on the
    # run's shared plans: no extra evaluation.
    for stack in (f"prod-{cloud}", f"prod-{cloud}-dr"):
        values, secrets = engine.read_stack_config(stack)
        password = values[PASSWORD_KEY]
        assert PASSWORD_KEY in secrets and password, stack
        plan = plan_for_stack(stack)
        secret = repository_secret(plan)
        assert inputs(secret)["stringData"] == {REPOSITORY_SECRET_KEY: password}, stack
        # Held as a Pulumi secret in the state, never in plain text.
        assert password not in json.dumps(secret.plain_inputs()), stack
        # Velero must find it at its first start, or it writes its built-in default.
        release = next(r for r in plan.by_type(RELEASE) if inputs(r)["chart"] == "velero")
        assert secret.urn in release.dependencies, stack


def test_velero_repository_password_is_not_velero_default():
    """The stack files carry their own (placeholder) secret, not Velero's built-in password."""
    from components.platform.backup import REPOSITORY_SECRET_KEY

    for stack in ("prod-aws", "prod-aws-dr"):
        values, secrets = engine.read_stack_config(stack)
        assert PASSWORD_KEY in secrets, stack
        assert inputs(repository_secret(plan_for_stack(stack)))["stringData"][REPOSITORY_SECRET_KEY] != "static-passw0rd"


def test_dr_without_a_repository_password_is_one_config_error():
    from components.config import ConfigError

    values, secrets = engine.read_stack_config("prod-gcp-dr")
    values.pop(PASSWORD_KEY)
    with pytest.raises(ConfigError) as err:
        engine.run_program("prod-gcp-dr", values, [k for k in secrets if k != PASSWORD_KEY])
    lines = [p for p in err.value.problems if p.startswith("veleroRepositoryPassword:")]
    assert len(lines) == 1 and "required with dr" in lines[0] and "\n" not in lines[0]


def test_repository_password_in_plain_text_is_refused():
    from components.config import ConfigError

    with pytest.raises(ConfigError) as err:
        with_password("prod-aws", "in-the-stack-file", secret=False)
    assert any(p.startswith("veleroRepositoryPassword: set in plain text") for p in err.value.problems)

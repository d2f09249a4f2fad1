"""The failover drill, on the plan: what the primary (prod-<cloud>) backs up, what its standby
(prod-<cloud>-dr with `dr.failover: true`) restores, and whether the journey holds together.

Upstream behaviour each assertion encodes (Velero v1.18.1, vmware-tanzu/velero at tag v1.18.1;
the velero chart 12.1.0, vmware-tanzu/helm-charts at tag velero-12.1.0):

- A PVC is backed up through its CSI driver's VolumeSnapshotClass, picked by the label
  `velero.io/csi-volumesnapshot-class` (pkg/util/csi/volume_snapshot.go, GetVolumeSnapshotClass);
  with none, the PVC action returns an item error (pkg/backup/actions/csi/pvc_action.go) and
  the backup ends PartiallyFailed. A volume policy (internal/resourcepolicies/
  resource_policies.go: action types skip, fs-backup, snapshot; condition storageClass)
  referenced by the backup's `resourcePolicy` (pkg/apis/velero/v1/backup_types.go) routes a
  class to file-system backup (the node agent, kopia) or skips it instead. Shared file
  systems (EFS, Filestore, Azure Files) have no labelled class in the plan: they need a policy.
- A Restore naming `scheduleName` takes the newest backup of that schedule whose phase is
  Completed, else fails validation "No completed backups found for schedule"
  (pkg/controller/restore_controller.go, mostRecentCompletedBackup).
- Data-mover pods copy the node agent's pod labels (pkg/nodeagent/node_agent.go,
  GetLabelValue, used by pkg/controller/data_upload_controller.go); the chart puts
  `podLabels` on the server Deployment only and `nodeAgent.podLabels` on the DaemonSet
  (templates/deployment.yaml, templates/node-agent-daemonset.yaml). Azure workload identity
  needs the pod label `azure.workload.identity/use` on every pod that talks to storage.
- Velero's own DR procedure (site/content/docs/main/disaster-case.md): restore from a
  ReadOnly location, then back up again into a writable one.
- Azure object replication: "write operations to the destination container aren't
  permitted" while the policy exists (Microsoft Learn, object replication overview).
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
import yaml

from components.dr import BACKUP_SCHEDULE_KEY, VELERO_RELEASE
from components.platform.warm import WARM_NAMESPACE
from preview import engine
from tests.conftest import inputs, plan_for_stack

CLOUDS = ("aws", "gcp", "azure")
RELEASE = "kubernetes:helm.sh/v3:Release"
RESTORE = "kubernetes:velero.io/v1:Restore"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
SNAPSHOT_CLASS = "kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass"
SNAPSHOT_CLASS_LABEL = "velero.io/csi-volumesnapshot-class"
WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"
# The namespaces a Velero location with `accessMode: ReadOnly` lets no backup be written to.
NO_PATH_ACTIONS = ("fs-backup", "skip")


def with_config(stack: str, change) -> engine.Plan:
    values, secrets = engine.read_stack_config(stack)
    key = f"{engine.PROJECT}:dr"
    dr = json.loads(values[key])
    change(dr)
    values[key] = json.dumps(dr, sort_keys=True)
    return engine.run_program(stack, values, secrets)


def failed_over(stack: str) -> engine.Plan:
    return with_config(stack, lambda dr: dr.update(failover=True))


@pytest.fixture(scope="module", params=CLOUDS)
def drill(request):
    cloud = request.param
    return {
        "cloud": cloud,
        "primary": plan_for_stack(f"prod-{cloud}"),
        "idle": plan_for_stack(f"prod-{cloud}-dr"),
        "standby": failed_over(f"prod-{cloud}-dr"),
    }


def velero(plan: engine.Plan) -> dict[str, Any]:
    return next(inputs(r)["values"] for r in plan.by_type(RELEASE) if inputs(r)["chart"] == "velero")


def model_store(plan: engine.Plan) -> dict[str, dict[str, str]]:
    return {inputs(c)["metadata"]["namespace"]: inputs(c)["data"] for c in plan.by_type("kubernetes:core/v1:ConfigMap")
            if inputs(c)["metadata"]["name"] == "model-store"}


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def claims(plan: engine.Plan) -> list[tuple[str, str]]:
    """Every volume claim the plan makes (PVCs, and the claim templates in chart values):
    (where, storage class)."""
    out = []
    for r in plan.by_type(PVC):
        spec = inputs(r)["spec"]
        out.append((f"pvc {inputs(r)['metadata']['namespace']}/{inputs(r)['metadata']['name']}", spec["storageClassName"]))
    for r in plan.by_type(RELEASE):
        for node in walk(inputs(r).get("values") or {}):
            if isinstance(node, dict) and "storageClassName" in node and "accessModes" in node:
                out.append((f"release {inputs(r)['name']}", node["storageClassName"]))
    return out


def volume_policy(plan: engine.Plan) -> dict[str, str]:
    """storage class -> action of the volume policy the schedule's backups follow."""
    values = velero(plan)
    template = values.get("schedules", {}).get(BACKUP_SCHEDULE_KEY, {}).get("template", {})
    ref = template.get("resourcePolicy")
    if not ref:
        return {}
    assert ref["kind"].lower() == "configmap"
    # The chart renders `configMaps.<key>` as ConfigMap `<fullname>-<key>` (templates/configmaps.yaml).
    maps = {f"{VELERO_RELEASE}-{k}": v for k, v in (values.get("configMaps") or {}).items()}
    assert ref["name"] in maps, f"resourcePolicy names ConfigMap {ref['name']}, which the chart does not create"
    (body,) = maps[ref["name"]]["data"].values()
    policy = yaml.safe_load(body)
    assert policy["version"] == "v1"
    out = {}
    for rule in policy.get("volumePolicies", []):
        for cls in rule["conditions"].get("storageClass", []):
            out.setdefault(cls, rule["action"]["type"])
    return out


def unbackupable_claims(plan: engine.Plan) -> list[str]:
    provisioners = {inputs(c)["metadata"]["name"]: inputs(c)["provisioner"] for c in plan.by_type(STORAGE_CLASS)}
    labelled = {inputs(c)["driver"] for c in plan.by_type(SNAPSHOT_CLASS)
                if inputs(c)["metadata"].get("labels", {}).get(SNAPSHOT_CLASS_LABEL) == "true"}
    policy = volume_policy(plan)
    node_agent = velero(plan).get("deployNodeAgent") is True
    bad = []
    for where, cls in claims(plan):
        action = policy.get(cls)
        if action == "skip" or (action == "fs-backup" and node_agent):
            continue
        if action in (None, "snapshot") and provisioners.get(cls) in labelled:
            continue
        bad.append(f"{where}: class {cls} ({provisioners.get(cls)}) has no snapshot class and no fs-backup/skip policy")
    return bad


# --- C1: every scheduled backup can complete ----------------------------------------------

def test_every_scheduled_backup_can_complete(drill):
    primary = drill["primary"]
    assert BACKUP_SCHEDULE_KEY in velero(primary)["schedules"]
    assert claims(primary), "the drill found no volume claims in the primary's plan"
    assert unbackupable_claims(primary) == []


def test_the_failover_restore_selects_a_completed_backup_of_the_primarys_schedule(drill):
    (restore,) = drill["standby"].by_type(RESTORE)
    spec = inputs(restore)["spec"]
    # The chart names each Schedule `<fullname>-<key>`; the fullname is the release name here.
    schedules = {f"{VELERO_RELEASE}-{k}" for k in velero(drill["primary"])["schedules"]}
    assert spec["scheduleName"] in schedules
    # Velero picks only a Completed backup: one PVC without a path makes every one PartiallyFailed.
    assert unbackupable_claims(drill["primary"]) == [], "no backup of the schedule ever completes"


# --- C2: the data movers have the cloud identity ------------------------------------------

@pytest.mark.parametrize("which", ["primary", "standby"])
def test_data_movers_carry_the_servers_identity_labels(drill, which):
    values = velero(drill[which])
    server = values.get("podLabels") or {}
    agent = (values.get("nodeAgent") or {}).get("podLabels") or {}
    missing = {k: v for k, v in server.items() if agent.get(k) != v}
    assert missing == {}, f"node agent (and so the data-mover pods) lacks {missing}"


# --- H2: restored objects reference the recovery region only --------------------------------

def primary_store_refs(drill) -> set[str]:
    """The store and registry references of the primary that differ on the standby: what a
    restored object must no longer name."""
    before, after = model_store(drill["primary"]), model_store(drill["standby"])
    refs = set()
    for ns, data in before.items():
        for key in ("MODEL_STORE_URL", "REGISTRY"):
            if data.get(key) and data[key] != after.get(ns, {}).get(key):
                refs.add(data[key].split("://")[-1].split("/")[0])
    return refs


def identity(r: engine.PlannedResource) -> tuple[str, str, str]:
    meta = inputs(r).get("metadata") or {}
    if r.type == RELEASE:
        return (r.type, inputs(r)["namespace"], inputs(r)["name"])
    return (r.type, meta.get("namespace", ""), meta.get("name", ""))


def test_restored_objects_name_only_the_recovery_region(drill):
    refs = primary_store_refs(drill)
    standby = drill["standby"]
    for ns, data in model_store(standby).items():
        named = {ref for ref in refs for v in data.values() if ref in str(v)}
        assert named == set(), f"{ns}/model-store names the primary region's {named}"
    # Velero restores what the standby does not already have (existingResourcePolicy none):
    # those objects arrive verbatim from the primary.
    have = {identity(r) for r in standby.resources if r.type.startswith("kubernetes:")}
    restored = [r for r in drill["primary"].resources if r.type.startswith("kubernetes:") and r.type != "kubernetes:core/v1:Secret"
                and identity(r) not in have and identity(r)[1] not in ("velero", "kube-system")]
    offenders = sorted(f"{identity(r)}" for r in restored if any(ref in json.dumps(inputs(r)) for ref in refs))
    assert offenders == []


# --- C3: workloads can write where they write ------------------------------------------------

def test_failed_over_writers_can_write(drill):
    """Every namespace with readwrite model-store access writes somewhere that accepts writes:
    not the destination container of an Azure object-replication policy the primary owns."""
    read_only_targets = set()
    for r in drill["primary"].by_type("azure-native:storage:ObjectReplicationPolicy"):
        if inputs(r).get("objectReplicationPolicyId") == "default":  # the destination side
            for rule in inputs(r)["rules"]:
                read_only_targets.add(rule["destinationContainer"])
    writers = {ns: d for ns, d in model_store(drill["standby"]).items() if d.get("MODEL_STORE_ACCESS") == "readwrite"}
    assert writers
    for ns, data in writers.items():
        url = data.get("MODEL_STORE_WRITE_URL", data["MODEL_STORE_URL"])
        container = url.rstrip("/").rsplit("/", 1)[-1] if drill["cloud"] == "azure" else None
        assert container not in read_only_targets, f"{ns} writes to {url}, an object-replication destination (409 while the policy exists)"


# --- H1: the recovered cluster is backed up again --------------------------------------------

def test_the_recovered_cluster_is_backed_up_again(drill):
    standby, primary = velero(drill["standby"]), velero(drill["primary"])
    writable = [loc for loc in standby["configuration"]["backupStorageLocation"] if loc["accessMode"] == "ReadWrite"]
    assert writable, "after failover no backup location accepts writes"
    schedules = standby.get("schedules") or {}
    assert schedules, "after failover no schedule backs the cluster up"
    for schedule in schedules.values():
        assert schedule["template"]["storageLocation"] in {loc["name"] for loc in writable}
        assert schedule["schedule"] == primary["schedules"][BACKUP_SCHEDULE_KEY]["schedule"]
    # The primary's backups stay readable, and never writable, from here.
    primary_bucket = next(loc for loc in primary["configuration"]["backupStorageLocation"])
    for loc in writable:
        assert (loc["bucket"], loc.get("prefix")) != (primary_bucket["bucket"], primary_bucket.get("prefix")) or \
            loc["config"] != primary_bucket["config"], "the standby would write into the primary's own backup path"
    # The idle standby writes nothing.
    idle = velero(drill["idle"])
    assert {loc["accessMode"] for loc in idle["configuration"]["backupStorageLocation"]} == {"ReadOnly"}
    assert not idle.get("schedules")


# --- H3: the standby carries its primary's pools, layers and roles ---------------------------

def releases(plan):
    return {inputs(r)["name"] for r in plan.by_type(RELEASE)}


def cluster_roles(plan):
    return {inputs(r)["metadata"]["name"] for r in plan.by_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")}


def namespaces(plan):
    return {inputs(r)["metadata"]["name"] for r in plan.by_type("kubernetes:core/v1:Namespace")}


def pools(plan: engine.Plan) -> dict[str, str]:
    """pool name -> gpu or cpu, from the node pools' Kubernetes labels on each cloud."""
    out = {}
    for r in plan.resources:
        i = inputs(r)
        # Node groups and node pools carry the labels; a Karpenter NodePool in its node template.
        template = ((i.get("spec") or {}).get("template") or {}).get("metadata") or {} if r.type.endswith(":NodePool") else {}
        labels = i.get("labels") or i.get("nodeLabels") or (i.get("nodeConfig") or {}).get("labels") or template.get("labels") or {}
        if "ml-clusters.io/gpu" in labels and labels.get("ml-clusters.io/pool"):
            out[labels["ml-clusters.io/pool"]] = "gpu" if labels["ml-clusters.io/gpu"] == "true" else "cpu"
    return out


def test_the_standby_carries_the_primarys_pools(drill):
    primary, standby = drill["primary"], drill["standby"]
    assert pools(primary), "the drill found no node pools in the primary's plan"
    assert pools(standby) == pools(primary)


def test_the_standby_carries_the_primarys_layers_and_roles(drill):
    primary, standby = drill["primary"], drill["standby"]
    # Where GPU capacity comes from is each region's own (components/dr.py parity leaves the
    # chain and provisioner out: a reservation holds capacity in one region), so the primary's
    # Karpenter (prod-aws's h100 pool) need not be on the standby.
    assert releases(primary) - releases(standby) - {"karpenter", "karpenter-crd"} == set()
    assert cluster_roles(primary) - cluster_roles(standby) == set()
    # So are warm GPU nodes (gpuPools[].warmNodes, left out of parity too): an idle standby keeps
    # none, so it has no placeholder namespace (components/platform/warm.py).
    assert namespaces(primary) - namespaces(standby) - {WARM_NAMESPACE} == set()

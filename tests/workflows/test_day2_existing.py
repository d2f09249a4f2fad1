"""The day-2 change matrix for `cloud: existing` (tests/workflows/day2.py classifies).

On a cluster the program does not own, everything it manages is a Kubernetes object (and Helm
releases), so every change a user makes applies through the Kubernetes provider. The settings
that apply here: a pool's sharing and MIG profile (the pool's nodes are the operator's; the
program only configures the device plugin and mig-manager for them), namespaces added or
removed, the Kubernetes version, and DR (Velero backups) on or off. Instance types, disks,
spot, min/max and API access are the operator's, not this program's.

Facts (pulumi/pulumi-kubernetes provider/pkg/provider/forcenew.go, forceNewProperties): a
change of `.metadata.name` or `.metadata.namespace` replaces any object; per kind the
provider adds its immutable fields, among them a StorageClass's `parameters`, `provisioner`,
`reclaimPolicy` and `volumeBindingMode`, a workload's `spec.selector` and a Job's
`spec.template`. Every other change is a patch (an in-place update).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.conftest import plan_for
from tests.platform import harness
from tests.workflows.day2 import Fact, Outcome, preview_change

PK_FORCENEW = "pulumi-kubernetes provider/pkg/provider/forcenew.go"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
WORKLOAD_KINDS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:StatefulSet")


def facts_for(types: set[str]) -> list[Fact]:
    facts = [Fact(t, path, "replace", PK_FORCENEW + " metadataForceNewProperties")
             for t in sorted(types) if t.startswith("kubernetes:") for path in ("metadata.name", "metadata.namespace")]
    facts += [Fact(STORAGE_CLASS, path, "replace", PK_FORCENEW + " storage.k8s.io StorageClass")
              for path in ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode")]
    facts += [Fact(t, "spec.selector", "replace", PK_FORCENEW + " apps selector") for t in WORKLOAD_KINDS]
    facts.append(Fact("kubernetes:batch/v1:Job", "spec.template", "replace", PK_FORCENEW + " batch Job template"))
    return facts


STATEFUL = {"kubernetes:core/v1:PersistentVolumeClaim", "kubernetes:core/v1:Namespace"}
STORE = {"url": "https://minio.lab.internal:9000", "bucket": "velero", "credentialsSecret": "minio-credentials"}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    kubeconfig: Path = tmp_path_factory.mktemp("existing") / "kubeconfig.yaml"
    kubeconfig.write_text(harness.KUBECONFIG)
    raw = harness.existing_config(kubeconfig)
    raw["dr"] = {"backupStore": STORE, "backupSchedule": "*/30 * * * *", "rpoMinutes": 30}
    raw["veleroRepositoryPassword"] = "test-repository-password"
    return raw


@pytest.fixture(scope="module")
def before(base):
    return plan_for(base)


def change(before, raw) -> dict[str, Outcome]:
    types = {r.type for r in before.resources}
    return preview_change(before, raw, facts_for(types | {STORAGE_CLASS, *WORKLOAD_KINDS}), STATEFUL)


def assert_kubernetes_only(outcomes: dict[str, Outcome], allowed: tuple[str, ...] = ("update",)) -> None:
    assert outcomes, "the change changed nothing"
    wrong = {n: (o.type, o.action, o.replaced_by) for n, o in outcomes.items() if not o.type.startswith("kubernetes:") or o.action not in allowed}
    assert not wrong, wrong


def test_pool_sharing_updates_the_device_plugin_config_in_place(before, base):
    raw = copy.deepcopy(base)
    raw["gpuPools"][0]["sharing"] = {"timeSlicing": {"replicas": 4}}
    outcomes = change(before, raw)
    assert_kubernetes_only(outcomes)
    # The device plugin's per-pool config changes, and its pods roll through the checksum.
    assert any(o.type == "kubernetes:core/v1:ConfigMap" and "data.pool-l4" in o.paths for o in outcomes.values())


def test_mig_profile_updates_mig_manager_config_in_place(before, base):
    raw = copy.deepcopy(base)
    raw["gpuPools"][1]["sharing"] = {"mig": {"strategy": "mixed", "profile": "2g.20gb"}}
    outcomes = change(before, raw)
    assert_kubernetes_only(outcomes)


def test_a_renamed_pool_changes_only_the_objects_rendered_for_it(before, base):
    """Pools are the operator's node groups: renaming one in the stack only relabels what the
    program renders for it (device plugin and quota flavours), in place or as new objects."""
    raw = copy.deepcopy(base)
    raw["gpuPools"][0]["name"] = "l4shared"
    outcomes = change(before, raw)
    assert_kubernetes_only(outcomes, ("update", "create", "delete", "replace"))
    for outcome in outcomes.values():
        if outcome.action == "replace":
            # Only a rename of the object itself replaces it (a new name, so no clash).
            assert set(outcome.paths) & {"metadata.name", "metadata.namespace"}, outcome


def test_a_namespace_added_creates_only_its_kubernetes_objects(before, base):
    raw = copy.deepcopy(base)
    raw["namespaces"].append({"name": "training", "team": "research", "group": "ml-research", "gpus": 2})
    outcomes = change(before, raw)
    assert_kubernetes_only(outcomes, ("create", "update"))
    created = [o for o in outcomes.values() if o.action == "create"]
    assert any(o.type == "kubernetes:core/v1:Namespace" for o in created)


def test_a_namespace_removed_deletes_only_its_kubernetes_objects(before, base):
    raw = copy.deepcopy(base)
    raw["namespaces"] = raw["namespaces"][:1]
    # A Namespace deleted takes its PVCs with it: the classifier's stateful check would refuse;
    # here the program's objects for that team are what goes, nothing of the cluster.
    outcomes = preview_change(before, raw, facts_for({r.type for r in before.resources}), set())
    assert_kubernetes_only(outcomes, ("delete", "update"))
    assert any(o.type == "kubernetes:core/v1:Namespace" and o.action == "delete" for o in outcomes.values())


def test_a_version_bump_changes_no_cluster_and_replaces_nothing(before, base):
    raw = copy.deepcopy(base)
    raw["kubernetesVersion"] = "1.34"
    outcomes = change(before, raw)
    # Pod Security's version labels follow the cluster's minor; nothing else moves.
    assert_kubernetes_only(outcomes)


def test_dr_off_removes_only_velero(before, base):
    raw = copy.deepcopy(base)
    del raw["dr"]
    # Velero's namespace goes with it; it holds no volumes, and the backups stay in the store.
    outcomes = preview_change(before, raw, facts_for({r.type for r in before.resources}), {"kubernetes:core/v1:PersistentVolumeClaim"})
    assert_kubernetes_only(outcomes, ("delete", "update"))
    deleted = [o for o in outcomes.values() if o.action == "delete"]
    assert any(o.type == "kubernetes:helm.sh/v3:Release" for o in deleted)
    namespaces = [o.name for o in deleted if o.type == "kubernetes:core/v1:Namespace"]
    assert namespaces == [next(r.name for r in before.resources if r.type == "kubernetes:core/v1:Namespace" and
                               r.inputs["metadata"]["name"] == "velero")]

"""The workload layer as a whole: controllers on the system pool on every backend, the
ports the API server must reach, CRDs before controllers in the JSON plan, toggles."""

from __future__ import annotations

import json

import pytest

from components.conventions import system_pool_labels
from components.config import Workloads
from components.platform.workloads import control_plane_ports
from preview.report import plan_json
from tests.conftest import plan_for_stack
from tests.platform import harness
from tests.platform.workloads.helpers import objects, releases, values

ALL = {"workloads": {p: {"enabled": True} for p in ("queueing", "training", "serving", "notebooks")}}
TEAM = harness.namespaces({"name": "team-a", "team": "a", "group": "g", "gpus": 1})

# Where each chart takes the controller's nodeSelector/tolerations (its values.yaml at the pin).
PLACEMENT = {
    "kueue": [("controllerManager",)],
    "kubeflow-trainer": [("manager",), ("jobset", "controller")],
    "cert-manager": [(), ("webhook",), ("cainjector",), ("startupapicheck",)],
    "kserve-resources": [("kserve", "controller")],
    "jupyterhub": [("hub",), ("proxy", "chp")],
}


@pytest.mark.parametrize("shape", ["eks", "gke", "aks"])
def test_every_controller_is_placed_on_the_system_pool(shape):
    built = getattr(harness, f"{shape}_shape")([])
    result = harness.run_platform(built, ALL, TEAM)
    tolerations = [dict(sorted(t.items())) for t in built.system_tolerations]
    for chart, paths in PLACEMENT.items():
        vals = values(result.plan, chart)
        for path in paths:
            part = vals
            for key in path:
                part = part[key]
            selector = {k: v for k, v in part["nodeSelector"].items() if k != "kubernetes.io/os"}
            assert selector == system_pool_labels(), (chart, path)
            assert part["tolerations"] == tolerations, (chart, path)


def test_on_an_existing_cluster_no_system_pool_label_is_required():
    plan = plan_for_stack("local")
    assert values(plan, "kueue")["controllerManager"]["nodeSelector"] == {}


def test_control_plane_ports_of_every_webhook_and_aggregated_api():
    settings = Workloads.model_validate(ALL["workloads"])
    ports = {(p.component, p.port) for p in control_plane_ports(settings)}
    # kueue values.yaml webhookService targetPort 9443 + visibility Service targetPort 8082;
    # trainer values.yaml manager.config.webhook.port 9443; jobset deployment containerPort
    # 9443; kserve resources.yaml containerPort 9443; cert-manager webhook.securePort 10250.
    assert ports == {("kueue", 9443), ("kueue", 8082), ("kubeflow-trainer", 9443), ("jobset", 9443), ("kserve", 9443), ("cert-manager", 10250)}
    # Beyond 8443/9443 (opened on GKE by the backend) and 10250 (always open): 8082.
    assert {p for _, p in ports} - {8443, 9443, 10250} == {8082}
    assert control_plane_ports(Workloads()) == []


def test_platform_exposes_the_ports_for_backends():
    from components.platform import Platform, PlatformArgs
    from components.config import Platform as Settings
    seen = {}

    def build():
        handle = harness.eks_shape([]).handle()
        seen["ports"] = Platform(handle.name, PlatformArgs(handle, Settings.model_validate(ALL), TEAM)).workload_control_plane_ports

    harness.run(build)
    assert seen["ports"] == [8082, 9443, 10250]


def test_json_plan_orders_crd_charts_before_controllers_and_custom_resources():
    plan = plan_for_stack("local")
    doc = json.loads(plan_json(plan, [], []))
    by_urn = {r["urn"]: r for r in doc["resources"]}
    urn = {name: r.urn for name, r in releases(plan).items()}

    def waits(dependent_urn: str, dependency_urn: str) -> bool:
        return dependency_urn in by_urn[dependent_urn]["dependsOn"]

    assert waits(urn["kserve-resources"], urn["kserve-crd"]) and waits(urn["kserve-resources"], urn["cert-manager"])
    assert waits(urn["kserve-runtime-configs"], urn["kserve-resources"])
    assert waits(urn["kueue"], urn["kubeflow-trainer"])
    for kind, release in (("ClusterQueue", "kueue"), ("LocalQueue", "kueue"), ("ResourceFlavor", "kueue"), ("ClusterTrainingRuntime", "kubeflow-trainer")):
        for resource, _ in objects(plan, kind).values():
            assert waits(resource.urn, urn[release]), (kind, resource.name)


def test_nothing_is_installed_when_the_layer_is_off():
    plan = plan_for_stack("dev-aws")
    assert not [r for r in plan.resources if r.type == "mlclusters:platform:Workloads"]
    assert {"kueue", "kubeflow-trainer", "kserve-resources", "jupyterhub"}.isdisjoint(releases(plan))


@pytest.mark.parametrize("stack, enabled", [
    ("prod-aws", {"kueue", "kubeflow-trainer", "kserve-resources"}),
    ("staging-gcp", {"kueue", "kubeflow-trainer", "kserve-resources"}),
    ("prod-azure", {"kueue", "kubeflow-trainer", "kserve-resources"}),
    ("local", {"kueue", "kubeflow-trainer", "kserve-resources", "jupyterhub"}),
])
def test_stacks_enable_the_layer(stack, enabled):
    found = set(releases(plan_for_stack(stack))) & {"kueue", "kubeflow-trainer", "kserve-resources", "jupyterhub"}
    assert found == enabled


def test_controller_namespaces_are_platform_namespaces_for_the_policy_pack():
    from components.platform.workloads import notebooks, queueing, serving, training
    from policies.rules.kubernetes import PLATFORM_NAMESPACES
    from components.platform import gateway
    ours = {queueing.NAMESPACE, training.NAMESPACE, serving.NAMESPACE, serving.CERT_MANAGER_NAMESPACE, notebooks.NAMESPACE, gateway.NAMESPACE}
    assert ours <= set(PLATFORM_NAMESPACES)
    plan = plan_for_stack("local")
    assert ours <= set(objects(plan, "Namespace"))


def test_ports_beyond_the_catalogs_webhook_ports_are_known():
    # What a private GKE cluster still has to open for the workload layer, beyond the
    # catalog's ADMISSION_WEBHOOK_PORTS (opened by the GKE backend) and the kubelet's 10250.
    from components.catalog import versions
    settings = Workloads.model_validate(ALL["workloads"])
    needed = {p.port for p in control_plane_ports(settings)}
    assert needed - set(versions.ADMISSION_WEBHOOK_PORTS) - {10250} == {queueing_visibility_port()}


def queueing_visibility_port() -> int:
    from components.platform.workloads import queueing
    return queueing.VISIBILITY_PORT

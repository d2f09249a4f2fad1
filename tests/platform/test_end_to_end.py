"""The platform through the real __main__.py (`cloud: existing`), and the `local` stack."""

from __future__ import annotations

import json

import pytest

from preview import engine
from preview.report import kubernetes_objects, manifest_filename
from tests.conftest import fresh_plans, inputs, plan_for, plan_for_stack
from tests.platform.harness import KUBECONFIG, existing_config


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    path = tmp_path_factory.mktemp("kube") / "config.yaml"
    path.write_text(KUBECONFIG)
    return plan_for(existing_config(path))


def objects(plan: engine.Plan, kind: str) -> list[dict]:
    return [inputs(r) for r in plan.resources if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")]


def test_platform_is_a_child_of_the_cluster(plan):
    (platform,) = plan.by_type("mlclusters:platform:Platform")
    (cluster,) = plan.by_type("mlclusters:index:MlCluster")
    assert platform.parent == cluster.urn
    children = {r.type for r in plan.resources if r.parent == platform.urn}
    assert children == {"mlclusters:platform:Storage", "mlclusters:platform:Gpu", "mlclusters:platform:Monitoring", "mlclusters:platform:Serving",
                        "mlclusters:platform:Health"}


def test_every_kubernetes_object_uses_the_clusters_provider(plan):
    (provider,) = plan.by_type("pulumi:providers:kubernetes")
    for r in plan.resources:
        if r.type.startswith("kubernetes:"):
            assert r.provider.startswith(provider.urn + "::"), r.name


def test_existing_cluster_gets_the_whole_platform(plan):
    names = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in (inputs(r) for r in kubernetes_objects(plan))}
    for expected in (
        ("StorageClass", None, "ml-block"),
        ("StorageClass", None, "ml-block-retain"),
        ("StorageClass", None, "ml-shared"),
        ("DaemonSet", "gpu-system", "nvidia-device-plugin"),
        ("DaemonSet", "gpu-system", "dcgm-exporter"),
        ("ServiceMonitor", "gpu-system", "dcgm-exporter"),
        ("PrometheusRule", "monitoring", "ml-clusters-gpu"),
        ("ConfigMap", "monitoring", "grafana-dashboard-gpu"),
        ("Namespace", None, "inference"),
        ("ResourceQuota", "inference", "compute"),
        ("PriorityClass", None, "ml-serving-high"),
    ):
        assert expected in names, expected
    assert plan.by_type("kubernetes:helm.sh/v3:Release")


def test_existing_cluster_facts_reach_the_platform(plan):
    (plugin,) = [o for o in objects(plan, "DaemonSet") if o["metadata"]["name"] == "nvidia-device-plugin"]
    assert plugin["spec"]["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    (block,) = [o for o in objects(plan, "StorageClass") if o["metadata"]["name"] == "ml-block"]
    assert block["provisioner"] == "rancher.io/local-path"
    (shared,) = [o for o in objects(plan, "StorageClass") if o["metadata"]["name"] == "ml-shared"]
    assert (shared["provisioner"], shared["parameters"]) == ("nfs.csi.k8s.io", {"server": "nfs.lab.internal", "share": "/datasets"})
    (cm,) = [o for o in objects(plan, "ConfigMap") if o["metadata"]["name"] == "nvidia-device-plugin-config"]
    assert "pool-l4" in cm["data"] and "replicas: 2" in cm["data"]["pool-l4"]


def test_every_kubernetes_object_appears_in_the_manifests_once(plan):
    objs = kubernetes_objects(plan)
    names = [manifest_filename(r.plain_inputs()) for r in objs]
    assert len(names) == len(set(names))
    # Everything the platform renders is a Kubernetes object, except the Helm release.
    rendered = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert {r.urn for r in rendered} - {r.urn for r in objs} == {r.urn for r in plan.by_type("kubernetes:helm.sh/v3:Release")}


def test_same_config_same_plan(plan, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(KUBECONFIG)
    raw = existing_config(path)
    with fresh_plans():
        again = plan_for(raw)
    first = [(r.urn, json.dumps(r.plain_inputs(), sort_keys=True)) for r in plan.resources if r.type.startswith("kubernetes:")]
    second = [(r.urn, json.dumps(r.plain_inputs(), sort_keys=True)) for r in again.resources if r.type.startswith("kubernetes:")]
    assert first == second


def test_device_plugin_installed_means_no_plugin(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(KUBECONFIG)
    raw = existing_config(path)
    raw["existing"]["devicePluginInstalled"] = True
    result = plan_for(raw)
    daemonsets = {o["metadata"]["name"] for o in objects(result, "DaemonSet")}
    assert daemonsets == {"dcgm-exporter", "kured"}  # kured: GPU repair (health.py), not a GPU agent


def test_local_stack_previews_the_platform():
    plan = plan_for_stack("local")
    kinds = {inputs(r)["kind"] for r in kubernetes_objects(plan)}
    assert {"StorageClass", "DaemonSet", "Namespace", "ResourceQuota", "NetworkPolicy", "ServiceMonitor", "PrometheusRule", "PriorityClass"} <= kinds
    (ns,) = [o for o in objects(plan, "Namespace") if o["metadata"]["labels"].get("ml-clusters.io/serving") == "true"]
    assert ns["metadata"]["labels"]["ml-clusters.io/team"]

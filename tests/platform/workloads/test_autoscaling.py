"""Autoscaling on load: KEDA installed before KServe, and the examples' scaling queries aimed
at what the platform's Prometheus scrapes.

Upstream facts: KServe v0.20.0 pkg/controller/v1beta1/inferenceservice/controller.go (watches
keda.sh ScaledObjects only if the CRD exists at start), reconcilers/keda/keda_reconciler.go
(External metrics -> a ScaledObject trigger of type `backend` with serverAddress, query and
threshold = target.value; minReplicas -> minReplicaCount); kedacore/charts v2.20.2 keda
(top-level nodeSelector/tolerations, metrics API server targetPort 6443, webhooks 9443)."""

from __future__ import annotations

import pytest

from components import catalog
from components.config import Workloads
from components.platform import monitoring, serving_metrics
from components.platform.workloads import control_plane_ports, serving
from tests.conftest import config_errors, plan_for_stack
from tests.examples.test_examples import load
from tests.platform.workloads.helpers import depends, objects, releases, values


def test_keda_is_pinned_on_the_system_pool_and_installed_before_kserve():
    plan = plan_for_stack("prod-aws")
    found = releases(plan)
    keda = found["keda"]
    assert keda.inputs["chart"] == "keda" and keda.inputs["version"] == catalog.CHARTS["keda"].version
    assert keda.inputs["repositoryOpts"] == {"repo": "https://kedacore.github.io/charts"}
    assert depends(found["kserve-resources"], keda)
    vals = values(plan, "keda")
    controller = values(plan, "kserve-resources")["kserve"]["controller"]
    assert vals["nodeSelector"] == controller["nodeSelector"] and vals["tolerations"] == controller["tolerations"]
    assert vals["crds"] == {"install": True}
    assert "keda" in objects(plan, "Namespace")
    # Without keda in the stack, no release (staging-gcp).
    assert "keda" not in releases(plan_for_stack("staging-gcp"))


def test_kedas_ports_are_opened_for_the_control_plane():
    ports = {(p.component, p.port) for p in control_plane_ports(Workloads.model_validate({"serving": {"enabled": True, "keda": True}}))}
    assert {("keda", serving.KEDA_METRICS_API_PORT), ("keda", serving.KEDA_WEBHOOK_PORT)} <= ports
    assert not any(p.component == "keda" for p in control_plane_ports(Workloads.model_validate({"serving": {"enabled": True}})))


def test_keda_needs_monitoring():
    raw = {"cloud": "aws", "region": "us-east-1", "platform": {
        "monitoring": {"enabled": False}, "workloads": {"serving": {"enabled": True, "keda": True}}}}
    assert any("platform.workloads.serving.keda: true scales models on Prometheus queries, but platform.monitoring.enabled is false" in p
               for p in config_errors(raw))


@pytest.mark.parametrize("example", ["serving/llm-inferenceservice.yaml", "serving/mlserver-sklearn.yaml"])
def test_the_examples_scale_through_keda_on_the_platforms_prometheus(example):
    isvc = load(example)
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    predictor = isvc["spec"]["predictor"]
    (metric,) = predictor["autoScaling"]["metrics"]
    assert metric["type"] == "External"
    source = metric["external"]["metric"]
    assert source["backend"] == "prometheus" and source["serverAddress"] == monitoring.PROMETHEUS_URL
    assert float(metric["external"]["target"]["value"]) > 0
    assert "scaleMetric" not in predictor and "scaleTarget" not in predictor


def test_the_llm_scales_on_its_queue_with_a_gpu_floor():
    predictor = load("serving/llm-inferenceservice.yaml")["spec"]["predictor"]
    query = predictor["autoScaling"]["metrics"][0]["external"]["metric"]["query"]
    # vLLM's queue gauge with the served model name the example sets.
    assert "vllm:num_requests_waiting" in query and 'model_name="chat"' in query and "--served-model-name=chat" in predictor["model"]["args"]
    assert predictor["minReplicas"] >= 1 and predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_the_cpu_model_scales_to_zero_on_requests_at_its_route():
    isvc = load("serving/mlserver-sklearn.yaml")
    predictor = isvc["spec"]["predictor"]
    assert predictor["minReplicas"] == 0 and "nvidia.com/gpu" not in predictor["model"]["resources"]["limits"]
    assert (predictor["model"]["runtime"], predictor["model"]["modelFormat"]["name"]) == ("kserve-mlserver", "sklearn")
    # The query names the Envoy cluster of the model's route as Envoy Gateway names it
    # (httproute/<namespace>/<route>/rule/<i>), and that route is prod-aws's `iris`.
    query = predictor["autoScaling"]["metrics"][0]["external"]["metric"]["query"]
    _, route = objects(plan_for_stack("prod-aws"), "HTTPRoute")["inference/model-iris"]
    assert f'envoy_cluster_name=~"httproute/inference/{route["metadata"]["name"]}/.*"' in query
    assert route["spec"]["rules"][0]["backendRefs"][0]["name"] == f"{isvc['metadata']['name']}-predictor"
    # Served and refused-for-want-of-a-replica requests both count, so traffic at zero wakes it.
    assert "envoy_cluster_upstream_rq_total" in query and "envoy_cluster_upstream_cx_none_healthy" in query
    # ... and the gateway's proxies are what Prometheus scrapes those from.
    assert serving_metrics.gateway_pod_monitor()["spec"]["podMetricsEndpoints"][0]["path"] == "/stats/prometheus"

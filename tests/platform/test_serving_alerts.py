"""Every serving alert under `promtool test rules`, firing and silent, on synthetic series
named as their sources name them:
- Envoy's Prometheus stats from the gateway's proxies: `envoy_cluster_upstream_rq_xx` with
  `envoy_response_code_class`, the histogram `envoy_cluster_upstream_rq_time` in ms, the
  route rule's cluster `httproute/<namespace>/<route>/rule/<index>` as `envoy_cluster_name`
  (envoyproxy/gateway v1.9.0 internal/gatewayapi/helpers.go irRouteDestinationName);
- vLLM's `vllm:time_to_first_token_seconds` histogram with `model_name` (vllm/v1/metrics/
  loggers.py), `namespace` from the scrape;
- bucket bounds as Prometheus 3 stores them (`le` normalised to a float: "1000.0").
"""

from __future__ import annotations

import subprocess
from typing import Any

import yaml

from components.platform import serving_metrics as sm
from tests.platform.promtool import PROMTOOL, check_rules, requires_promtool, run_rule_tests, series

pytestmark = requires_promtool

ROUTE = {"envoy_cluster_name": "httproute/inference/model-sentiment/rule/1"}
LLM_ROUTE = {"envoy_cluster_name": "httproute/inference/model-chat/rule/1"}
LLM = {"namespace": "inference", "model_name": "chat"}


def groups(llm_routes=("inference/model-chat",), with_annotations=False) -> list[dict[str, Any]]:
    out = sm.serving_rule_groups(llm_routes)
    if not with_annotations:
        out = [{**g, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]} for g in out]
    return out


def labels_of(alert: str) -> dict[str, str]:
    return dict(next(r for g in groups() for r in g["rules"] if r["alert"] == alert)["labels"])


def case(input_series, alert, at, expected, interval="1m") -> dict[str, Any]:
    return {
        "interval": interval,
        "input_series": input_series,
        "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": [{"exp_labels": {**labels_of(alert), **e}} for e in expected]}],
    }


def requests(route: dict[str, str], total_per_step: int, errors_per_step: int, steps: int) -> list[dict[str, str]]:
    return [
        series("envoy_cluster_upstream_rq_xx", {**route, "envoy_response_code_class": "2"}, f"0+{total_per_step - errors_per_step}x{steps}"),
        series("envoy_cluster_upstream_rq_xx", {**route, "envoy_response_code_class": "5"}, f"0+{errors_per_step}x{steps}"),
    ]


def latency(route: dict[str, str], total_per_step: int, fast_per_step: int, steps: int) -> list[dict[str, str]]:
    return [
        series("envoy_cluster_upstream_rq_time_bucket", {**route, "le": sm.LATENCY_BUCKET}, f"0+{fast_per_step}x{steps}"),
        series("envoy_cluster_upstream_rq_time_count", route, f"0+{total_per_step}x{steps}"),
    ]


def ttft(total_per_step: int, fast_per_step: int, steps: int) -> list[dict[str, str]]:
    return [
        series("vllm:time_to_first_token_seconds_bucket", {**LLM, "le": str(sm.TTFT_THRESHOLD_SECONDS)}, f"0+{fast_per_step}x{steps}"),
        series("vllm:time_to_first_token_seconds_count", LLM, f"0+{total_per_step}x{steps}"),
    ]


def test_rules_and_their_templates_are_valid(tmp_path):
    assert f"SUCCESS: {1 + 2 * len(sm.BURNS)} rules found" in check_rules(tmp_path, groups(with_annotations=True))


def test_server_errors_page_above_the_ratio_and_not_below(tmp_path):
    run_rule_tests(tmp_path, groups(), [
        # 10% of requests fail for half an hour: firing once the 10 minutes have passed.
        case(requests(ROUTE, 100, 10, 30), "ServingErrorRateHigh", "25m", [ROUTE]),
        # 1% fail: silent.
        case(requests(ROUTE, 100, 1, 30), "ServingErrorRateHigh", "25m", []),
        # 10% for 5 minutes only, then none: silent at 12m (the rule's `for` is 10m).
        case([series("envoy_cluster_upstream_rq_xx", {**ROUTE, "envoy_response_code_class": "2"}, "0+90x30"),
              series("envoy_cluster_upstream_rq_xx", {**ROUTE, "envoy_response_code_class": "5"}, "0+10x5 50x25")],
             "ServingErrorRateHigh", "12m", []),
    ])


def test_latency_burns_fast_on_a_slow_route_but_not_on_an_llm_or_a_healthy_one(tmp_path):
    run_rule_tests(tmp_path, groups(), [
        # Half the requests slower than the threshold for 2 hours: the fast burn pages.
        case(latency(ROUTE, 100, 50, 120), "ServingLatencyBudgetBurnFast", "90m", [ROUTE]),
        # 99.5% under the threshold: within the objective.
        case(latency(ROUTE, 1000, 995, 120), "ServingLatencyBudgetBurnFast", "90m", []),
        # The same slow answers on the LLM's route: judged by its first token instead.
        case(latency(LLM_ROUTE, 100, 50, 120), "ServingLatencyBudgetBurnFast", "90m", []),
        # Slow only in the last 5 minutes after an hour of fast answers: the 1-hour window
        # is still within 14.4x the budget, so no page.
        case([series("envoy_cluster_upstream_rq_time_bucket", {**ROUTE, "le": sm.LATENCY_BUCKET}, "0+100x60 6000+10x10"),
              series("envoy_cluster_upstream_rq_time_count", ROUTE, "0+100x70")], "ServingLatencyBudgetBurnFast", "68m", []),
    ])


def test_latency_burns_slowly_over_six_hours(tmp_path):
    run_rule_tests(tmp_path, groups(), [
        # 10% slow (above 6x the 1% budget, below 14.4x) for 8 hours: the slow burn warns ...
        case(latency(ROUTE, 100, 90, 96), "ServingLatencyBudgetBurnSlow", "7h", [ROUTE], interval="5m"),
        case(latency(ROUTE, 100, 90, 96), "ServingLatencyBudgetBurnFast", "7h", [], interval="5m"),
        # ... and 3% slow does not.
        case(latency(ROUTE, 100, 97, 96), "ServingLatencyBudgetBurnSlow", "7h", [], interval="5m"),
    ])


def test_time_to_first_token_burns_for_llms(tmp_path):
    by = {"namespace": LLM["namespace"], "model_name": LLM["model_name"]}
    run_rule_tests(tmp_path, groups(), [
        case(ttft(100, 60, 120), "LlmTimeToFirstTokenBudgetBurnFast", "90m", [by]),
        case(ttft(1000, 998, 120), "LlmTimeToFirstTokenBudgetBurnFast", "90m", []),
        case(ttft(100, 90, 96), "LlmTimeToFirstTokenBudgetBurnSlow", "7h", [by], interval="5m"),
        case(ttft(100, 97, 96), "LlmTimeToFirstTokenBudgetBurnSlow", "7h", [], interval="5m"),
    ])


def test_without_llms_every_route_is_judged_by_latency(tmp_path):
    run_rule_tests(tmp_path, groups(llm_routes=()), [
        case(latency(LLM_ROUTE, 100, 50, 120), "ServingLatencyBudgetBurnFast", "90m", [LLM_ROUTE]),
    ])


# --- What the plan renders, and the dashboard's queries -------------------------------------


def test_prod_aws_scrapes_the_gateway_and_the_model_servers_and_loads_the_rules():
    from tests.conftest import plan_for_stack
    from tests.platform.workloads.helpers import depends, objects, releases
    from components.platform import gateway
    plan = plan_for_stack("prod-aws")
    release = releases(plan)["kube-prometheus-stack"]
    monitors = objects(plan, "PodMonitor")
    proxies, proxy_monitor = monitors["monitoring/serving-gateway"]
    servers, server_monitor = monitors["monitoring/model-servers"]
    rule_resource, rule = objects(plan, "PrometheusRule")["monitoring/ml-clusters-serving"]
    for resource in (proxies, servers, rule_resource):
        assert depends(resource, release)  # the operator's CRDs come with the release
    # The proxies' labels Envoy Gateway sets, in the gateway's namespace, Envoy's stats path.
    assert proxy_monitor["spec"]["selector"]["matchLabels"].items() <= gateway.PROXY_POD_LABELS.items()
    assert proxy_monitor["spec"]["namespaceSelector"] == {"matchNames": [gateway.NAMESPACE]}
    assert proxy_monitor["spec"]["podMetricsEndpoints"][0]["path"] == "/stats/prometheus"
    # Every team namespace's predictor pods (which allow-from-monitoring admits).
    assert server_monitor["spec"]["namespaceSelector"]["matchNames"] == ["inference", "training"]
    # The rule excludes exactly the stack's LLM routes from the whole-request latency objective.
    assert rule["spec"]["groups"] == sm.serving_rule_groups(["inference/model-chat"])
    _, dashboard = objects(plan, "ConfigMap")["monitoring/grafana-dashboard-serving"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["data"]["serving.json"] == sm.serving_dashboard_json()


def test_every_dashboard_query_is_valid_promql_and_shows_tokens_and_gpu_per_model(tmp_path):
    exprs = [t["expr"] for p in sm.serving_dashboard()["panels"] for t in p["targets"]]
    recorded = [{"record": f"panel:{i}", "expr": e} for i, e in enumerate(exprs)]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recorded}]}))
    done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    panels = {p["title"]: p["targets"][0]["expr"] for p in sm.serving_dashboard()["panels"]}
    gpu = {"gpu": "0", "UUID": "GPU-1", "modelName": "NVIDIA L4", "node": "n1", "exported_namespace": "inference",
           "exported_pod": "chat-v1-predictor-7d9f8c6b5-x2x4z"}
    spec = {"rule_files": [], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [series("vllm:generation_tokens_total", LLM, "0+600x10"),
                         series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", gpu, "0.5x10")],
        "promql_expr_test": [
            # 600 tokens a minute: 10 per second.
            {"expr": panels["LLM generated tokens per second"], "eval_time": "8m", "exp_samples": [{"labels": "{namespace=\"inference\",model_name=\"chat\"}", "value": 10}]},
            # The predictor pod's GPU, by its InferenceService.
            {"expr": panels["GPU activity by InferenceService"], "eval_time": "5m",
             "exp_samples": [{"labels": "{exported_namespace=\"inference\",inference_service=\"chat-v1\"}", "value": 0.5}]},
        ],
    }]}
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    done = subprocess.run([PROMTOOL, "test", "rules", "tests.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr

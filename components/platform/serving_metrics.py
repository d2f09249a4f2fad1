"""Watching served models: what Prometheus scrapes, the serving alerts and the serving dashboard.

Two sources, the same on every cloud:
- the gateway's Envoy proxies (every published model, whatever its runtime): request rate,
  errors and latency per route. Envoy Gateway v1.9.0 names a route rule's upstream cluster
  `httproute/<namespace>/<route>/rule/<index>` (internal/gatewayapi/helpers.go
  irRouteDestinationName), which Envoy's Prometheus stats carry as `envoy_cluster_name`, with
  `envoy_response_code_class` on `envoy_cluster_upstream_rq_xx` and the latency histogram
  `envoy_cluster_upstream_rq_time` in milliseconds; the proxies serve them on container port
  `metrics` (19001, internal/infrastructure/kubernetes/proxy/resource.go) at /stats/prometheus;
- the model servers themselves (KServe's predictor pods, port 8080 /metrics as the runtimes
  declare in `prometheus.kserve.io/port`): for vLLM, tokens, time to first token and queue
  depth (vllm/v1/metrics/loggers.py PrometheusStatLogger: `vllm:generation_tokens`,
  `vllm:time_to_first_token_seconds`, `vllm:num_requests_waiting`, labelled `model_name`).
GPU use per model comes from the DCGM series the GPU monitoring already has, whose
`exported_pod` is a predictor pod `<isvc>-predictor-<hash>`.

Objectives: LATENCY_OBJECTIVE of requests under LATENCY_THRESHOLD_MS at the gateway (routes of
LLMs excluded, their whole-request time grows with the answer), and for LLMs
LATENCY_OBJECTIVE of first tokens under TTFT_THRESHOLD_SECONDS. Burn-rate alerts over two
windows each (the Google SRE workbook's multiwindow scheme): fast (1 h and 5 m at 14.4x the
budget) pages, slow (6 h and 30 m at 6x) warns.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from .alerts import ACTIVITY_METRIC, _rule
from .common import MONITORING_NAMESPACE, PROMETHEUS_SELECTOR, labels
from .gateway import GATEWAY_NAME, NAMESPACE as GATEWAY_NAMESPACE, PROXY_POD_LABELS

LATENCY_OBJECTIVE = 0.99
LATENCY_THRESHOLD_MS = 1000  # an Envoy histogram bucket bound (its default buckets, in ms)
# Prometheus 3 stores a classic histogram's `le` as a float ("1000" scraped is "1000.0" stored).
LATENCY_BUCKET = f"{LATENCY_THRESHOLD_MS:.1f}"
TTFT_THRESHOLD_SECONDS = 1.0  # a vLLM time_to_first_token bucket bound
ERROR_RATIO = 0.05
# (alert suffix, long window, short window, burn factor, severity, for)
BURNS = (("Fast", "1h", "5m", 14.4, "critical", "2m"), ("Slow", "6h", "30m", 6, "warning", "15m"))
MODEL_PORT = 8080
ROUTES = 'envoy_cluster_name=~"httproute/.+"'
DASHBOARD_UID = "ml-clusters-serving"
DASHBOARD_TITLE = "Served models (ml-clusters)"


def _budget() -> float:
    return round(1 - LATENCY_OBJECTIVE, 6)


def _route_filter(llm_routes: Iterable[str]) -> str:
    """The gateway routes judged by whole-request latency: every route rule but the LLMs'."""
    llm = sorted(llm_routes)
    if not llm:
        return ROUTES
    return ROUTES + f',envoy_cluster_name!~"({"|".join(f"httproute/{r}/.*" for r in llm)})"'


def serving_rule_groups(llm_routes: Iterable[str] = ()) -> list[dict[str, Any]]:
    """`llm_routes`: `<namespace>/<route>` of the published LLMs."""
    routes = _route_filter(llm_routes)
    by = "sum by (envoy_cluster_name)"
    rules = [_rule(
        "ServingErrorRateHigh",
        f'{by} (rate(envoy_cluster_upstream_rq_xx{{{ROUTES},envoy_response_code_class="5"}}[5m]))'
        f" / {by} (rate(envoy_cluster_upstream_rq_xx{{{ROUTES}}}[5m])) > {ERROR_RATIO}",
        "10m", "critical", "serving",
        "A model answers with server errors",
        f"More than {int(ERROR_RATIO * 100)}% of the requests to {{{{ $labels.envoy_cluster_name }}}} have failed with 5xx for 10 minutes "
        "(the model server, or no ready replica behind the route).",
    )]
    for suffix, long, short, factor, severity, for_ in BURNS:
        threshold = round(factor * _budget(), 6)

        def slow(window: str) -> str:
            return (f"(1 - {by} (rate(envoy_cluster_upstream_rq_time_bucket{{{routes},le=\"{LATENCY_BUCKET}\"}}[{window}]))"
                    f" / {by} (rate(envoy_cluster_upstream_rq_time_count{{{routes}}}[{window}])))")

        def slow_ttft(window: str) -> str:
            return (f"(1 - sum by (namespace, model_name) (rate(vllm:time_to_first_token_seconds_bucket{{le=\"{TTFT_THRESHOLD_SECONDS}\"}}[{window}]))"
                    f" / sum by (namespace, model_name) (rate(vllm:time_to_first_token_seconds_count[{window}])))")

        rules.append(_rule(
            f"ServingLatencyBudgetBurn{suffix}",
            f"{slow(long)} > {threshold} and {slow(short)} > {threshold}",
            for_, severity, "serving",
            "A model is burning its latency objective",
            f"{{{{ $labels.envoy_cluster_name }}}} answers more than {round((1 - LATENCY_OBJECTIVE) * factor * 100, 1)}% of requests slower than "
            f"{LATENCY_THRESHOLD_MS} ms over {long} and {short}: at this rate the {LATENCY_OBJECTIVE:.0%} objective's monthly budget lasts "
            f"{round(30 / factor, 1)} days.",
        ))
        rules.append(_rule(
            f"LlmTimeToFirstTokenBudgetBurn{suffix}",
            f"{slow_ttft(long)} > {threshold} and {slow_ttft(short)} > {threshold}",
            for_, severity, "serving",
            "An LLM is burning its time-to-first-token objective",
            f"Model {{{{ $labels.model_name }}}} in {{{{ $labels.namespace }}}} starts more than {round((1 - LATENCY_OBJECTIVE) * factor * 100, 1)}% "
            f"of answers later than {TTFT_THRESHOLD_SECONDS} s over {long} and {short}: add replicas or shorten prompts.",
        ))
    return [{"name": "ml-clusters.serving", "rules": rules}]


def prometheus_rule(llm_routes: Iterable[str] = ()) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "ml-clusters-serving", "namespace": MONITORING_NAMESPACE, "labels": labels("serving-alerts", "monitoring", PROMETHEUS_SELECTOR)},
        "spec": {"groups": serving_rule_groups(llm_routes)},
    }


def gateway_pod_monitor() -> dict[str, Any]:
    """The gateway's proxies: Envoy's stats (envoyproxy/gateway v1.9.0: container port
    `metrics`, path /stats/prometheus)."""
    selector = {k: v for k, v in PROXY_POD_LABELS.items() if k != "gateway.envoyproxy.io/owning-gateway-namespace"}
    assert selector["gateway.envoyproxy.io/owning-gateway-name"] == GATEWAY_NAME
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "serving-gateway", "namespace": MONITORING_NAMESPACE, "labels": labels("serving-gateway", "monitoring", PROMETHEUS_SELECTOR)},
        "spec": {
            "selector": {"matchLabels": dict(sorted(selector.items()))},
            "namespaceSelector": {"matchNames": [GATEWAY_NAMESPACE]},
            "podMetricsEndpoints": [{"port": "metrics", "path": "/stats/prometheus", "interval": "30s"}],
        },
    }


def model_pod_monitor(namespaces: Iterable[str]) -> dict[str, Any]:
    """KServe's predictor pods in the team namespaces, on the runtimes' metrics port. The
    runtimes' containers need not declare the port, so the address is set from the pod IP."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "model-servers", "namespace": MONITORING_NAMESPACE, "labels": labels("model-servers", "monitoring", PROMETHEUS_SELECTOR)},
        "spec": {
            "selector": {"matchLabels": {"component": "predictor"}},
            "namespaceSelector": {"matchNames": sorted(namespaces)},
            "podMetricsEndpoints": [{
                "path": "/metrics",
                "interval": "30s",
                "relabelings": [
                    {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_name"], "regex": "kserve-container"},
                    {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_ip"], "targetLabel": "__address__",
                     "replacement": f"$1:{MODEL_PORT}"},
                    {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_label_serving_kserve_io_inferenceservice"],
                     "targetLabel": "inference_service"},
                ],
            }],
        },
    }


def _panel(pid: int, title: str, exprs: list[tuple[str, str]], x: int, y: int, unit: str) -> dict[str, Any]:
    source = {"type": "prometheus", "uid": "${datasource}"}
    return {
        "datasource": source,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "id": pid,
        "targets": [{"datasource": source, "expr": e, "legendFormat": legend, "refId": chr(ord("A") + i)} for i, (e, legend) in enumerate(exprs)],
        "title": title,
        "type": "timeseries",
    }


def serving_dashboard() -> dict[str, Any]:
    by = "sum by (envoy_cluster_name)"
    route = "{{envoy_cluster_name}}"
    quantiles = [
        (f"histogram_quantile({q}, {by.replace('envoy_cluster_name', 'envoy_cluster_name, le')} "
         f"(rate(envoy_cluster_upstream_rq_time_bucket{{{ROUTES}}}[5m]))) / 1000", f"p{int(q * 100)} {route}")
        for q in (0.5, 0.95, 0.99)
    ]
    panels = [
        _panel(1, "Requests per second by route", [(f"{by} (rate(envoy_cluster_upstream_rq_total{{{ROUTES}}}[5m]))", route)], 0, 0, "reqps"),
        _panel(2, "Server errors (share of requests)",
               [(f'{by} (rate(envoy_cluster_upstream_rq_xx{{{ROUTES},envoy_response_code_class="5"}}[5m]))'
                 f" / {by} (rate(envoy_cluster_upstream_rq_xx{{{ROUTES}}}[5m]))", route)], 12, 0, "percentunit"),
        _panel(3, "Latency at the gateway (p50, p95, p99)", quantiles, 0, 8, "s"),
        _panel(4, "LLM generated tokens per second",
               [("sum by (namespace, model_name) (rate(vllm:generation_tokens_total[5m]))", "{{namespace}}/{{model_name}}")], 12, 8, "short"),
        _panel(5, "LLM time to first token (p95)",
               [("histogram_quantile(0.95, sum by (namespace, model_name, le) (rate(vllm:time_to_first_token_seconds_bucket[5m])))",
                 "{{namespace}}/{{model_name}}")], 0, 16, "s"),
        _panel(6, "LLM requests waiting", [("sum by (namespace, model_name) (vllm:num_requests_waiting)", "{{namespace}}/{{model_name}}")], 12, 16, "short"),
        _panel(7, "GPU activity by InferenceService",
               [(f'avg by (exported_namespace, inference_service) (label_replace({ACTIVITY_METRIC}{{exported_pod=~".+-predictor-.+"}},'
                 f' "inference_service", "$1", "exported_pod", "(.+)-predictor-.+"))', "{{exported_namespace}}/{{inference_service}}")],
               0, 24, "percentunit"),
    ]
    return {
        "annotations": {"list": []},
        "editable": False,
        "panels": panels,
        "refresh": "1m",
        "schemaVersion": 39,
        "tags": ["serving", "ml-clusters"],
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"}]},
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "title": DASHBOARD_TITLE,
        "uid": DASHBOARD_UID,
        "version": 1,
    }


def serving_dashboard_json() -> str:
    return json.dumps(serving_dashboard(), sort_keys=True, indent=1)

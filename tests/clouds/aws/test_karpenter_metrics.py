"""Karpenter's metrics scraped and its capacity alerts (components/clouds/aws/karpenter_metrics.py),
on prod-aws's plan (its h100 pool is on Karpenter) and under `promtool test rules`.

Upstream facts (Karpenter v1.14.1; the module docstring names each file):
- charts/karpenter at the release commit 1d927085 (`helm template` with our values): Service
  `karpenter` in the release namespace, port `http-metrics` 8080, selector
  app.kubernetes.io/name=karpenter, app.kubernetes.io/instance=karpenter; the chart's own
  ServiceMonitor renders only when monitoring.coreos.com/v1 is served.
- Metric names and labels: kubernetes-sigs/karpenter 6e7eab7a0f48 pkg/metrics/metrics.go,
  pkg/controllers/nodeclaim/lifecycle/launch.go, pkg/cloudprovider/metrics/cloudprovider.go,
  pkg/controllers/metrics/nodepool/controller.go; aws/karpenter-provider-aws v1.14.1
  pkg/providers/instance/metrics.go, pkg/errors/errors.go, pkg/controllers/interruption/.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.clouds.aws import capacity, karpenter_metrics
from components.platform import monitoring
from tests.conftest import inputs, plan_for_stack
from tests.platform.promtool import check_rules, requires_promtool, run_rule_tests, series

RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
# What the chart's Service carries and is selected by (helm template of charts/karpenter 1.14.1).
CHART_SERVICE_LABELS = {"app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": "karpenter",
                        "app.kubernetes.io/version": "1.14.1", "app.kubernetes.io/managed-by": "Helm",
                        "helm.sh/chart": "karpenter-1.14.1"}
CHART_SERVICE_PORT = "http-metrics"


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-aws")


def by_kind(plan, type_: str, name: str) -> list:
    return [r for r in plan.by_type(type_) if inputs(r)["metadata"]["name"] == name]


def test_prometheus_scrapes_the_karpenter_service_after_the_monitoring_release(prod):
    (monitor,) = by_kind(prod, SERVICE_MONITOR, "karpenter")
    spec = inputs(monitor)
    assert spec["metadata"]["namespace"] == capacity.NAMESPACE == "kube-system"
    assert spec["spec"]["namespaceSelector"] == {"matchNames": ["kube-system"]}
    # The chart's Service matches the selector and has the named port.
    assert spec["spec"]["selector"]["matchLabels"].items() <= CHART_SERVICE_LABELS.items()
    assert spec["spec"]["endpoints"] == [{"port": CHART_SERVICE_PORT, "path": "/metrics", "interval": monitoring.SCRAPE_INTERVAL}]
    # The release that installs the ServiceMonitor CRD comes first; its Prometheus selects
    # monitors in every namespace with any labels.
    (kps,) = [r for r in prod.by_type(RELEASE) if inputs(r)["name"] == monitoring.PROMETHEUS_RELEASE]
    assert kps.urn in monitor.dependencies
    prom = inputs(kps)["values"]["prometheus"]["prometheusSpec"]
    assert prom["serviceMonitorSelector"] == {} and prom["serviceMonitorNamespaceSelector"] == {}
    # And the Karpenter release is the chart named in the catalog, in that namespace.
    (karpenter,) = [r for r in prod.by_type(RELEASE) if inputs(r)["name"] == "karpenter"]
    assert inputs(karpenter)["namespace"] == spec["metadata"]["namespace"]


def test_the_capacity_rules_are_the_modules_groups_after_the_release(prod):
    (rule,) = by_kind(prod, PROMETHEUS_RULE, "ml-clusters-capacity")
    assert inputs(rule)["spec"]["groups"] == karpenter_metrics.rule_groups()
    assert inputs(rule)["metadata"]["namespace"] == "monitoring"
    (kps,) = [r for r in prod.by_type(RELEASE) if inputs(r)["name"] == monitoring.PROMETHEUS_RELEASE]
    assert kps.urn in rule.dependencies


@pytest.mark.parametrize("stack", ["dev-aws", "prod-gcp"])
def test_no_karpenter_no_scrape_and_no_capacity_rules(stack):
    plan = plan_for_stack(stack)
    assert not [r for r in plan.by_type(RELEASE) if inputs(r)["name"] == "karpenter"]
    assert not by_kind(plan, SERVICE_MONITOR, "karpenter")
    assert not by_kind(plan, PROMETHEUS_RULE, "ml-clusters-capacity")


# --- promtool --------------------------------------------------------------------------------

def groups(with_annotations: bool = False) -> list[dict[str, Any]]:
    out = karpenter_metrics.rule_groups()
    if not with_annotations:
        out = [{**g, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]} for g in out]
    return out


def labels_of(alert: str) -> dict[str, str]:
    return dict(next(r for g in groups() for r in g["rules"] if r["alert"] == alert)["labels"])


def case(input_series: list[dict[str, str]], alert: str, at: str, expected: list[dict[str, str]]) -> dict[str, Any]:
    return {"interval": "1m", "input_series": input_series,
            "alert_rule_test": [{"eval_time": at, "alertname": alert,
                                 "exp_alerts": [{"exp_labels": {**labels_of(alert), **e}} for e in expected]}]}


SCRAPE = {"job": "karpenter", "namespace": "kube-system", "instance": "10.0.1.9:8080", "service": "karpenter"}


@requires_promtool
def test_rules_and_templates_are_valid(tmp_path):
    assert f"SUCCESS: {sum(len(g['rules']) for g in groups())} rules found" in check_rules(tmp_path, groups(with_annotations=True))


@requires_promtool
def test_karpenter_down(tmp_path):
    run_rule_tests(tmp_path, groups(), [
        # Scraped and up: silent.
        case([series("up", SCRAPE, "1x30")], "KarpenterDown", "20m", []),
        # Down (or never scraped) for 10 minutes: critical.
        case([series("up", SCRAPE, "1x5 0x30")], "KarpenterDown", "20m", [{}]),
        case([], "KarpenterDown", "15m", [{}]),
        # A blip shorter than 10 minutes does not page.
        case([series("up", SCRAPE, "1x5 0x3 1x30")], "KarpenterDown", "12m", []),
    ])


@requires_promtool
def test_out_of_capacity_needs_repeated_failures(tmp_path):
    ice = {**SCRAPE, "reason": "insufficient_capacity", "nodepool": "h100", "capacity_type": ""}
    run_rule_tests(tmp_path, groups(), [
        # A NodeClaim fails for capacity every 5 minutes for 40 minutes: the chain is dry.
        case([series("karpenter_nodeclaims_disrupted_total", ice, "0+0.2x40")], "KarpenterNodePoolOutOfCapacity", "35m",
             [{"nodepool": "h100"}]),
        # One failure (Karpenter moved on to the next tier and launched): silent.
        case([series("karpenter_nodeclaims_disrupted_total", ice, "0x5 1x40")], "KarpenterNodePoolOutOfCapacity", "20m", []),
        # Another reason (consolidation, drift) is not a capacity failure.
        case([series("karpenter_nodeclaims_disrupted_total", {**ice, "reason": "empty"}, "0+1x40")],
             "KarpenterNodePoolOutOfCapacity", "35m", []),
    ])


@requires_promtool
def test_node_class_not_ready(tmp_path):
    bad = {**SCRAPE, "reason": "nodeclass_not_ready", "nodepool": "h100", "capacity_type": ""}
    run_rule_tests(tmp_path, groups(), [
        case([series("karpenter_nodeclaims_disrupted_total", bad, "0+1x30")], "KarpenterNodeClassNotReady", "20m", [{"nodepool": "h100"}]),
        case([series("karpenter_nodeclaims_disrupted_total", bad, "0x30")], "KarpenterNodeClassNotReady", "20m", []),
        # Not from one sample: evaluated on the first increase, without `for` it would fire.
        case([series("karpenter_nodeclaims_disrupted_total", bad, "0 1x30")], "KarpenterNodeClassNotReady", "2m", []),
    ])


def launch_failure(capacity_type: str, reason: str, values: str) -> dict[str, str]:
    labels = {**SCRAPE, "zone": "us-east-1a", "zone_id": "use1-az1", "capacity_type": capacity_type, "reason": reason}
    return series("karpenter_cloudprovider_instance_launch_failures_total", labels, values)


@requires_promtool
def test_a_reserved_tier_running_dry_is_visible_and_quota_pages(tmp_path):
    run_rule_tests(tmp_path, groups(), [
        # The reservation is full: EC2's ReservationCapacityExceeded reads LaunchFailed; the
        # pool falls back to its next tier.
        case([launch_failure("reserved", "LaunchFailed", "0x5 2x20")], "KarpenterCapacityTypeLaunchFailures", "10m",
             [{"capacity_type": "reserved", "reason": "LaunchFailed"}]),
        # No failures, or failures long ago: silent.
        case([launch_failure("reserved", "LaunchFailed", "0x30")], "KarpenterCapacityTypeLaunchFailures", "20m", []),
        case([launch_failure("spot", "LaunchFailed", "0x5 2x40")], "KarpenterCapacityTypeLaunchFailures", "30m", []),
        # A quota is not a capacity shortage: it pages as KarpenterQuotaExceeded instead.
        case([launch_failure("on-demand", "VCPULimitExceeded", "0x5 1x20")], "KarpenterCapacityTypeLaunchFailures", "10m", []),
        case([launch_failure("on-demand", "VCPULimitExceeded", "0x5 1x20")], "KarpenterQuotaExceeded", "10m",
             [{"capacity_type": "on-demand", "reason": "VCPULimitExceeded"}]),
        case([launch_failure("spot", "SpotQuotaExceeded", "0x5 1x20")], "KarpenterQuotaExceeded", "10m",
             [{"capacity_type": "spot", "reason": "SpotQuotaExceeded"}]),
        case([launch_failure("reserved", "LaunchFailed", "0x5 3x20")], "KarpenterQuotaExceeded", "10m", []),
        # Critical: not from a single sample.
        case([launch_failure("on-demand", "VCPULimitExceeded", "0x5 1x20")], "KarpenterQuotaExceeded", "6m", []),
    ])


@requires_promtool
def test_cloud_provider_errors_other_than_the_covered_ones(tmp_path):
    base = {**SCRAPE, "controller": "nodeclaim.lifecycle", "method": "Create", "provider": "aws"}
    run_rule_tests(tmp_path, groups(), [
        case([series("karpenter_cloudprovider_errors_total", {**base, "error": ""}, "0+1x40")], "KarpenterCloudProviderErrors", "30m",
             [{"controller": "nodeclaim.lifecycle", "method": "Create"}]),
        *[case([series("karpenter_cloudprovider_errors_total", {**base, "error": e}, "0+1x40")], "KarpenterCloudProviderErrors", "30m", [])
          for e in karpenter_metrics.COVERED_ERRORS],
        # A burst that stopped: silent once 15 minutes pass without errors.
        case([series("karpenter_cloudprovider_errors_total", {**base, "error": ""}, "0 5x40")], "KarpenterCloudProviderErrors", "30m", []),
    ])


@requires_promtool
def test_nodepool_at_its_limit(tmp_path):
    def usage(value: str, resource: str = "nodes") -> list[dict[str, str]]:
        labels = {**SCRAPE, "nodepool": "h100", "resource_type": resource}
        return [series("karpenter_nodepools_usage", labels, value), series("karpenter_nodepools_limit", labels, "4x40")]

    run_rule_tests(tmp_path, groups(), [
        case(usage("4x40"), "KarpenterNodePoolAtLimit", "20m", [{"nodepool": "h100", "resource_type": "nodes"}]),
        case(usage("32x40", "nvidia.com/gpu")[:1] + [series("karpenter_nodepools_limit", {**SCRAPE, "nodepool": "h100",
             "resource_type": "nvidia.com/gpu"}, "32x40")], "KarpenterNodePoolAtLimit", "20m",
             [{"nodepool": "h100", "resource_type": "nvidia.com/gpu"}]),
        case(usage("3x40"), "KarpenterNodePoolAtLimit", "20m", []),
        # At the limit for only 10 minutes.
        case(usage("3x10 4x10"), "KarpenterNodePoolAtLimit", "20m", []),
    ])


@requires_promtool
def test_interruptions_that_take_nodes_away(tmp_path):
    def received(kind: str, values: str) -> dict[str, str]:
        return series("karpenter_interruption_received_messages_total", {**SCRAPE, "message_type": kind}, values)

    run_rule_tests(tmp_path, groups(), [
        case([received("spot_interrupted", "0x5 1x20")], "KarpenterNodesInterrupted", "8m", [{"message_type": "spot_interrupted"}]),
        case([received("capacity_reservation_interrupted", "0x5 1x20")], "KarpenterNodesInterrupted", "8m",
             [{"message_type": "capacity_reservation_interrupted"}]),
        # A rebalance recommendation or a state change takes nothing away by itself.
        case([received("rebalance_recommendation", "0x5 3x20"), received("instance_terminated", "0x5 3x20")],
             "KarpenterNodesInterrupted", "8m", []),
        # Resolved once 15 minutes pass without a notice.
        case([received("spot_interrupted", "0x5 1x40")], "KarpenterNodesInterrupted", "30m", []),
    ])


def test_every_alert_has_a_promtool_test_and_critical_ones_need_two_scrapes():
    from pathlib import Path

    from tests.platform.test_alert_rules import seconds

    text = Path(__file__).read_text()
    names = [r["alert"] for g in groups() for r in g["rules"]]
    assert names and all(f'"{n}"' in text for n in names), [n for n in names if f'"{n}"' not in text]
    for rule in (r for g in groups() for r in g["rules"]):
        if rule["labels"]["severity"] == "critical":
            assert seconds(rule.get("for", "0s")) >= 2 * seconds(monitoring.SCRAPE_INTERVAL), rule["alert"]

"""Every platform controller runs on the system pool: the handle's node selector and its
tolerations at each path where the pinned chart takes them. Before this, kube-prometheus-stack
and NFD carried only tolerations (so they could land on CPU worker pools), and Velero asked for
the system-pool label even on an existing cluster, whose nodes never carry it (pod Pending)."""

from __future__ import annotations

import pytest

from components.conventions import system_pool_labels
from tests.conftest import plan_for_stack
from tests.platform.workloads.helpers import values

# Where each chart takes nodeSelector and tolerations, from its values.yaml at the pinned
# version: kube-prometheus-stack 88.5.3 (prometheus.prometheusSpec, alertmanager.alertmanagerSpec,
# grafana, prometheusOperator and its admissionWebhooks.patch Job, kube-state-metrics
# subchart); node-feature-discovery 0.18.3 (master, gc); velero 12.1.0 (top-level, the server).
PLACEMENT = {
    "kube-prometheus-stack": [("prometheus", "prometheusSpec"), ("alertmanager", "alertmanagerSpec"), ("grafana",),
                              ("prometheusOperator",), ("prometheusOperator", "admissionWebhooks", "patch"),
                              ("kube-state-metrics",)],
    "node-feature-discovery": [("master",), ("gc",)],
    "velero": [()],
}
CRITICAL_ADDONS_ONLY = {"effect": "NoSchedule", "key": "CriticalAddonsOnly", "operator": "Exists"}


def placements(plan):
    for chart, paths in PLACEMENT.items():
        try:
            vals = values(plan, chart)
        except KeyError:
            continue
        for path in paths:
            part = vals
            for key in path:
                part = part[key]
            yield chart, path, part


@pytest.mark.parametrize("stack", ["prod-aws", "prod-azure"])
def test_platform_controllers_select_the_system_pool_and_tolerate_its_taint(stack):
    seen = set()
    for chart, path, part in placements(plan_for_stack(stack)):
        seen.add(chart)
        assert part["nodeSelector"] == system_pool_labels(), (chart, path)
        # EKS and AKS taint the system pool CriticalAddonsOnly=true:NoSchedule.
        assert CRITICAL_ADDONS_ONLY in part["tolerations"], (chart, path)
    # prod-aws runs GPU feature discovery (NFD); both run monitoring and Velero.
    assert {"kube-prometheus-stack", "velero"} <= seen
    if stack == "prod-aws":
        assert "node-feature-discovery" in seen


def test_on_an_existing_cluster_platform_controllers_require_no_label_nodes_lack():
    seen = set()
    for chart, path, part in placements(plan_for_stack("local")):
        seen.add(chart)
        assert part["nodeSelector"] == {}, (chart, path)
    assert "kube-prometheus-stack" in seen

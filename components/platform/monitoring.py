"""Monitoring: kube-prometheus-stack as a pinned Helm release, GPU metrics scraped the same
way on every cloud, the GPU dashboard and the GPU alert rules.

The release's Prometheus selects every ServiceMonitor, PodMonitor, Probe, ScrapeConfig and
PrometheusRule in every namespace (`*SelectorNilUsesHelmValues: false`, empty selectors), so
a team's own monitor needs no particular label. Alertmanager routes by severity to the
receivers the stack config names, their addresses read from a Secret, never from values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .. import catalog
from ..config import Monitoring as MonitoringSettings
from ..conventions import GPU_MODEL_LABEL, POOL_LABEL
from ..handle import ClusterHandle, ScrapeTarget
from .alerts import gpu_rule_groups
from .common import (
    GRAFANA_DASHBOARD_LABEL,
    MONITORING_NAMESPACE,
    PROMETHEUS_RELEASE,
    PROMETHEUS_SELECTOR,
    Scope,
    labels,
    metadata,
    namespace_labels,
    system_placement,
    sorted_dict,
)
from .dashboard import gpu_dashboard_json
from .gpu import ExporterTarget

CHART = "kube-prometheus-stack"
GRAFANA_ADMIN_SECRET = "grafana-admin"
GRAFANA_ADMIN_USER = "admin"
SCRAPE_INTERVAL = "30s"
ALERTMANAGER_STORAGE = "2Gi"
# Prometheus deletes old blocks before the volume fills: keep 15% headroom for the WAL
# and compaction.
RETENTION_SIZE_RATIO = 0.85


@dataclass(frozen=True)
class MonitoringArgs:
    handle: ClusterHandle
    settings: MonitoringSettings
    block_class: str
    # The DCGM exporter the platform runs (None where the cloud exports DCGM metrics).
    exporter_target: Optional[ExporterTarget] = None
    # Resources the release must wait for (the StorageClass Prometheus claims).
    depends_on: tuple[pulumi.Resource, ...] = ()
    # Receiver kind -> secret address, and severity -> receiver kinds (StackConfig's
    # alert_receivers() and alert_routes()).
    receivers: tuple[tuple[str, str], ...] = ()
    routes: tuple[tuple[str, tuple[str, ...]], ...] = ()


# The custom resources Prometheus picks up, by the chart's value-name prefixes.
SELECTED_KINDS = ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig")

# Alertmanager: the Secret with the receivers' addresses, mounted by the operator at
# /etc/alertmanager/secrets/<name>/<key> (alertmanagerSpec.secrets), and the keys in it.
RECEIVER_SECRET = "alertmanager-receivers"
RECEIVER_SECRET_DIR = f"/etc/alertmanager/secrets/{RECEIVER_SECRET}"
RECEIVER_KEYS = {"slack": "slack-webhook-url", "pagerduty": "pagerduty-routing-key", "webhook": "webhook-url"}
NULL_RECEIVER = "null"


# The release's object names (fullnameOverride): the Prometheus Service is `<fullname>-prometheus`
# on port 9090 (kube-prometheus-stack templates/prometheus/service.yaml, prometheus.service.port).
FULLNAME = "kps"
PROMETHEUS_URL = f"http://{FULLNAME}-prometheus.{MONITORING_NAMESPACE}.svc:9090"

def _receiver_config(kind: str, slack_channel: Optional[str]) -> tuple[str, dict[str, Any]]:
    """(Alertmanager receiver-config list name, one entry) reading the address from a file,
    so the Helm values never hold it (slack api_url_file, pagerduty routing_key_file,
    webhook url_file)."""
    path = f"{RECEIVER_SECRET_DIR}/{RECEIVER_KEYS[kind]}"
    if kind == "slack":
        entry: dict[str, Any] = {"api_url_file": path, "send_resolved": True}
        if slack_channel:
            entry["channel"] = slack_channel
        return "slack_configs", entry
    if kind == "pagerduty":
        return "pagerduty_configs", {"routing_key_file": path, "send_resolved": True}
    return "webhook_configs", {"url_file": path, "send_resolved": True}


def alertmanager_config(routes: dict[str, list[str]], slack_channel: Optional[str] = None) -> dict[str, Any]:
    """Alertmanager's route tree and receivers: one receiver per severity that has somewhere
    to go; everything else (and the always-firing Watchdog) to `null`, as the chart does."""
    receivers: list[dict[str, Any]] = [{"name": NULL_RECEIVER}]
    child_routes: list[dict[str, Any]] = [{"receiver": NULL_RECEIVER, "matchers": ['alertname = "Watchdog"']}]
    for severity in ("critical", "warning"):
        kinds = routes.get(severity) or []
        if not kinds:
            continue
        receiver: dict[str, Any] = {"name": f"ml-{severity}"}
        for kind in kinds:
            key, entry = _receiver_config(kind, slack_channel)
            receiver.setdefault(key, []).append(entry)
        receivers.append(receiver)
        child_routes.append({"receiver": receiver["name"], "matchers": [f'severity = "{severity}"']})
    return {
        "route": {
            "receiver": NULL_RECEIVER,
            "group_by": ["namespace", "alertname"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": child_routes,
        },
        "receivers": receivers,
    }



def release_values(handle: ClusterHandle, settings: MonitoringSettings, block_class: str,
                   routes: Optional[dict[str, list[str]]] = None) -> dict[str, Any]:
    """The kube-prometheus-stack values (chart version pinned in the catalog)."""
    # Every component on the system pool (kube-prometheus-stack 88.5.3 values.yaml takes
    # nodeSelector and tolerations at each of these paths).
    placement = system_placement(handle)
    routes = routes or {}
    has_receivers = any(routes.values())

    def claim(size: str) -> dict[str, Any]:
        return {"volumeClaimTemplate": {"spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
            "storageClassName": block_class,
        }}}

    # kube_node_labels carries only allow-listed labels: the GPU-node label (the alerts join
    # on it) and the portable pool and GPU-model labels (for grouping by pool).
    gpu_label_keys = ",".join(sorted({*handle.gpu_node_selector, POOL_LABEL, GPU_MODEL_LABEL}))
    return {
        "fullnameOverride": FULLNAME,
        "crds": {"enabled": True},
        # Managed control planes (EKS, GKE, AKS) do not expose these to scraping, and
        # kubeadm binds them to localhost: scraping them only yields TargetDown alerts.
        "kubeControllerManager": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeEtcd": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "prometheus": {
            "ingress": {"enabled": False},
            "service": {"type": "ClusterIP"},
            "prometheusSpec": {
                "retention": settings.retention,
                "retentionSize": f"{int(settings.storage_gb * RETENTION_SIZE_RATIO)}GB",
                "storageSpec": claim(f"{settings.storage_gb}Gi"),
                "scrapeInterval": SCRAPE_INTERVAL,
                # Select every ServiceMonitor, PodMonitor, Probe and PrometheusRule in every
                # namespace, not only those carrying this release's label: a team's monitor
                # that Prometheus silently ignores is the commonest failure with this chart.
                **{f"{kind}SelectorNilUsesHelmValues": False for kind in SELECTED_KINDS},
                **{f"{kind}Selector": {} for kind in SELECTED_KINDS},
                **{f"{kind}NamespaceSelector": {} for kind in SELECTED_KINDS},
                **placement,
                "resources": {"requests": {"cpu": "200m", "memory": "1Gi"}},
            },
        },
        "alertmanager": {
            "enabled": True,
            "ingress": {"enabled": False},
            "service": {"type": "ClusterIP"},
            "alertmanagerSpec": {
                "storage": claim(ALERTMANAGER_STORAGE),
                **placement,
                **({"secrets": [RECEIVER_SECRET]} if has_receivers else {}),
            },
            "config": alertmanager_config(routes, settings.alerts.slack_channel),
        },
        # The cluster's DNS add-on, as the handle says: GKE Standard runs kube-dns (metrics
        # on 10054/10055), the others CoreDNS (9153).
        "coreDns": {"enabled": handle.cluster_dns == "coredns"},
        "kubeDns": {"enabled": handle.cluster_dns == "kube-dns"},
        "grafana": {
            "enabled": True,
            # The admin password lives in a Secret the program makes from a generated
            # password; it never appears in the release's values.
            "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            "ingress": {"enabled": False},
            "service": {"type": "ClusterIP"},
            "persistence": {"enabled": False},  # dashboards come from ConfigMaps
            "sidecar": {"dashboards": {"enabled": True, "label": GRAFANA_DASHBOARD_LABEL[0], "labelValue": GRAFANA_DASHBOARD_LABEL[1]}},
            **placement,
        },
        "prometheusOperator": {
            **placement,
            "admissionWebhooks": {"patch": dict(placement)},
        },
        "kube-state-metrics": {
            "metricLabelsAllowlist": [f"nodes=[{gpu_label_keys}]"],
            **placement,
        },
    }


def _node_relabeling() -> list[dict[str, Any]]:
    # `node` on every GPU series, the same label kube-state-metrics uses, for joins.
    return [{"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"}]


def service_monitor(target: ExporterTarget) -> dict[str, Any]:
    """ServiceMonitor for the platform's DCGM exporter (CustomResource keyword arguments)."""
    return {
        "api_version": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "dcgm-exporter", "namespace": target.namespace, "labels": labels("dcgm-exporter", "gpu", PROMETHEUS_SELECTOR)},
        "spec": {
            "selector": {"matchLabels": dict(target.service_labels)},
            "namespaceSelector": {"matchNames": [target.namespace]},
            "endpoints": [{
                "port": target.port,
                "path": "/metrics",
                "interval": SCRAPE_INTERVAL,
                "honorLabels": False,
                "relabelings": _node_relabeling(),
            }],
        },
    }


def cloud_pod_monitor(handle: ClusterHandle) -> dict[str, Any]:
    """PodMonitor for the cloud's own DCGM exporter, as the handle describes it."""
    source = handle.gpu_metrics
    if not (source.namespace and source.pod_selector and source.port):
        raise ValueError(f"{handle.cloud} backend: gpu_metrics.managed_by_cloud needs namespace, pod_selector and port in the handle")
    return {
        "api_version": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "gpu-metrics-cloud", "namespace": MONITORING_NAMESPACE, "labels": labels("gpu-metrics", "gpu", PROMETHEUS_SELECTOR)},
        "spec": {
            "selector": {"matchLabels": sorted_dict(dict(source.pod_selector))},
            "namespaceSelector": {"matchNames": [source.namespace]},
            "podMetricsEndpoints": [{
                "port": source.port,
                "path": source.path,
                "interval": SCRAPE_INTERVAL,
                "honorLabels": False,
                "relabelings": _node_relabeling(),
            }],
        },
    }


def prometheus_rule(handle: ClusterHandle) -> dict[str, Any]:
    return {
        "api_version": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "ml-clusters-gpu", "namespace": MONITORING_NAMESPACE, "labels": labels("gpu-alerts", "monitoring", PROMETHEUS_SELECTOR)},
        "spec": {"groups": gpu_rule_groups(handle.gpu_node_selector)},
    }


def target_monitor(target: ScrapeTarget) -> dict[str, Any]:
    """ServiceMonitor for a controller the cloud backend installed (handle.scrape_targets).
    The job label is the Service's name (the operator's default), e.g. `up{job="karpenter"}`."""
    return {
        "api_version": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": target.name, "namespace": target.namespace, "labels": labels(target.name, "monitoring", PROMETHEUS_SELECTOR)},
        "spec": {
            "selector": {"matchLabels": sorted_dict(dict(target.service_selector))},
            "namespaceSelector": {"matchNames": [target.namespace]},
            "endpoints": [{"port": target.port, "path": target.path, "interval": SCRAPE_INTERVAL}],
        },
    }


def cloud_prometheus_rule(handle: ClusterHandle) -> Optional[dict[str, Any]]:
    """The cloud backend's alert groups (handle.alert_groups) as one PrometheusRule; None
    when it has none."""
    if not handle.alert_groups:
        return None
    return {
        "api_version": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "ml-clusters-capacity", "namespace": MONITORING_NAMESPACE,
                     "labels": labels("capacity-alerts", "monitoring", PROMETHEUS_SELECTOR)},
        "spec": {"groups": [dict(g) for g in handle.alert_groups]},
    }


class Monitoring(pulumi.ComponentResource):
    """`.grafana_admin_password` (a secret), `.release` (the Helm release)."""

    def __init__(self, name: str, args: MonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:platform:Monitoring", name, None, opts)
        handle = args.handle
        scope = Scope(handle, self, tuple(handle.ready))

        # node-exporter needs the host's network, PIDs and file system: privileged level.
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": MONITORING_NAMESPACE, "labels": namespace_labels("privileged", handle.kubernetes_version)},
            opts=scope.opts(),
        )
        ns = self.namespace

        password = random.RandomPassword(f"{name}-grafana-admin", length=32, special=False, opts=pulumi.ResourceOptions(parent=self))
        # Secret from the start, whatever the provider marks (DESIGN: secrets are secrets).
        self.grafana_admin_password = pulumi.Output.secret(password.result)
        admin_secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=metadata(GRAFANA_ADMIN_SECRET, MONITORING_NAMESPACE, "grafana", "monitoring"),
            type="Opaque",
            string_data={"admin-user": GRAFANA_ADMIN_USER, "admin-password": self.grafana_admin_password},
            opts=scope.opts(ns),
        )

        routes = {severity: list(kinds) for severity, kinds in args.routes}
        receivers = dict(args.receivers)
        used = {kind for kinds in routes.values() for kind in kinds}
        depends = [ns, admin_secret]
        if used:
            # The receivers' addresses: Pulumi secrets, in a Secret Alertmanager mounts.
            depends.append(k8s.core.v1.Secret(
                f"{name}-alertmanager-receivers",
                metadata=metadata(RECEIVER_SECRET, MONITORING_NAMESPACE, "alertmanager", "monitoring"),
                type="Opaque",
                string_data={RECEIVER_KEYS[k]: pulumi.Output.secret(receivers[k]) for k in sorted(used)},
                opts=scope.opts(ns),
            ))

        chart = catalog.CHARTS[CHART]
        self.values = release_values(handle, args.settings, args.block_class, routes)
        self.release = k8s.helm.v3.Release(
            f"{name}-kube-prometheus-stack",
            name=PROMETHEUS_RELEASE,
            chart=chart.name,
            version=chart.version,
            repository_opts={"repo": chart.repo},
            namespace=MONITORING_NAMESPACE,
            create_namespace=False,
            atomic=True,
            cleanup_on_fail=True,
            timeout=900,
            values=self.values,
            opts=scope.opts(*depends, extra=args.depends_on),
        )

        # Objects of the chart's CRDs wait for the release that installs the CRDs.
        if args.exporter_target is not None:
            gpu_monitor = service_monitor(args.exporter_target)
            k8s.apiextensions.CustomResource(f"{name}-dcgm-servicemonitor", **gpu_monitor, opts=scope.opts(self.release))
        elif handle.gpu_metrics.managed_by_cloud:
            gpu_monitor = cloud_pod_monitor(handle)
            k8s.apiextensions.CustomResource(f"{name}-gpu-podmonitor", **gpu_monitor, opts=scope.opts(self.release))
        k8s.apiextensions.CustomResource(f"{name}-gpu-rules", **prometheus_rule(handle), opts=scope.opts(self.release))
        for target in handle.scrape_targets:
            k8s.apiextensions.CustomResource(f"{name}-{target.name}-servicemonitor", **target_monitor(target), opts=scope.opts(self.release))
        cloud_rules = cloud_prometheus_rule(handle)
        if cloud_rules is not None:
            k8s.apiextensions.CustomResource(f"{name}-capacity-rules", **cloud_rules, opts=scope.opts(self.release))

        k8s.core.v1.ConfigMap(
            f"{name}-gpu-dashboard",
            metadata=metadata("grafana-dashboard-gpu", MONITORING_NAMESPACE, "grafana", "monitoring", extra_labels=dict([GRAFANA_DASHBOARD_LABEL])),
            data={"gpu.json": gpu_dashboard_json()},
            opts=scope.opts(ns),
        )
        self.register_outputs({"grafanaAdminPassword": self.grafana_admin_password, "release": PROMETHEUS_RELEASE})

"""kube-prometheus-stack, GPU scraping that the release's Prometheus actually selects, the
GPU alerts and the dashboard."""

from __future__ import annotations

import json

import pytest

from components import catalog
from preview import engine
from preview.mocks import _short_hash
from tests.platform import harness

RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.fixture(scope="module")
def eks():
    return harness.run_platform(harness.eks_shape([harness.pool("l4", "g6.xlarge")]), {"monitoring": {"retention": "30d", "storageGb": 200}})


@pytest.fixture(scope="module")
def gke():
    return harness.run_platform(harness.gke_shape([harness.pool("l4", "g2-standard-8")]))


@pytest.fixture(scope="module")
def aks():
    return harness.run_platform(harness.aks_shape([harness.pool("t4", "Standard_NC4as_T4_v3")]))


def release(result) -> engine.PlannedResource:
    (found,) = result.plan.by_type(RELEASE)
    return found


def values(result) -> dict:
    return harness.inputs(release(result))["values"]


def selects(selector: dict, labels: dict) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items() and not selector.get("matchExpressions")


# --- The release ---------------------------------------------------------------------------------


def test_release_is_pinned_from_the_catalog(eks):
    chart = catalog.CHARTS["kube-prometheus-stack"]
    r = harness.inputs(release(eks))
    assert (r["chart"], r["version"], r["repositoryOpts"]) == (chart.name, chart.version, {"repo": chart.repo})
    assert r["name"] == "kube-prometheus-stack"
    assert r["namespace"] == "monitoring"


def test_prometheus_keeps_data_on_the_block_class_for_the_configured_retention(eks):
    spec = values(eks)["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "30d"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "ml-block"
    assert claim["resources"]["requests"]["storage"] == "200Gi"
    assert claim["accessModes"] == ["ReadWriteOnce"]
    assert spec["retentionSize"] == "170GB"  # below the volume, so Prometheus prunes before it fills
    assert eks.depends_on(release(eks), eks.resource("StorageClass", "ml-block"))


def test_alertmanager_on_and_nothing_exposed(eks):
    v = values(eks)
    assert v["alertmanager"]["enabled"] is True
    for component in ("prometheus", "alertmanager", "grafana"):
        assert v[component]["ingress"]["enabled"] is False, component
        assert v[component]["service"]["type"] == "ClusterIP", component


def test_grafana_admin_password_is_a_generated_secret(eks):
    (password,) = eks.plan.by_type("random:index/randomPassword:RandomPassword")
    assert password.inputs["length"] >= 24
    secret = eks.resource("Secret", "grafana-admin")
    assert engine.is_secret(secret.inputs["stringData"])  # the engine stores it encrypted
    # The mock random provider answers "mock-<hash of the resource's name>": the Secret
    # carries exactly the generated value, not a literal.
    generated = f"mock-{_short_hash(password.name, 16)}"
    assert harness.inputs(secret)["stringData"] == {"admin-password": generated, "admin-user": "admin"}
    grafana = values(eks)["grafana"]
    assert grafana["admin"] == {"existingSecret": "grafana-admin", "userKey": "admin-user", "passwordKey": "admin-password"}
    assert "adminPassword" not in grafana
    assert generated not in json.dumps(values(eks))  # never in the release's values
    assert eks.depends_on(release(eks), secret)


def test_platform_exports_the_password_as_a_secret():
    captured: dict = {}

    def build():
        handle = harness.eks_shape().handle()
        platform = harness.Platform(handle.name, harness.PlatformArgs(handle))
        captured["password"] = platform.grafana_admin_password

        async def is_secret():
            captured["is_secret"] = await platform.grafana_admin_password.is_secret()

        return is_secret()

    harness.run(build)
    assert captured["is_secret"] is True


def test_control_plane_scrapes_are_off(eks):
    v = values(eks)
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert v[component] == {"enabled": False}


def test_kube_state_metrics_exposes_the_gpu_node_label(eks):
    allow = values(eks)["kube-state-metrics"]["metricLabelsAllowlist"]
    assert allow == ["nodes=[ml-clusters.io/gpu,ml-clusters.io/gpu-model,ml-clusters.io/pool]"]


def test_platform_workloads_tolerate_the_system_pool_taint(aks):
    v = values(aks)
    toleration = harness.AKS_SYSTEM_TOLERATION
    assert toleration in v["prometheus"]["prometheusSpec"]["tolerations"]
    assert toleration in v["alertmanager"]["alertmanagerSpec"]["tolerations"]
    assert toleration in v["grafana"]["tolerations"]
    assert toleration in v["prometheusOperator"]["tolerations"]
    assert toleration in v["prometheusOperator"]["admissionWebhooks"]["patch"]["tolerations"]
    assert toleration in v["kube-state-metrics"]["tolerations"]


# --- GPU metrics: the monitors carry what Prometheus selects -------------------------------------


def test_prometheus_selects_every_monitor_and_rule_in_every_namespace(eks):
    spec = values(eks)["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False, kind
        assert spec[f"{kind}Selector"] == {} and spec[f"{kind}NamespaceSelector"] == {}, kind
    assert selects(spec["serviceMonitorSelector"], {"app": "a-teams-own-monitor"})


def test_dcgm_service_monitor_is_selected_by_this_prometheus(eks):
    spec = values(eks)["prometheus"]["prometheusSpec"]
    monitor = eks.object("ServiceMonitor", "dcgm-exporter", "gpu-system")
    assert selects(spec["serviceMonitorSelector"], monitor["metadata"]["labels"])
    assert spec["serviceMonitorNamespaceSelector"] == {}  # every namespace
    # ... and it selects the exporter's Service on its metrics port.
    service = eks.object("Service", "dcgm-exporter", "gpu-system")
    assert selects(monitor["spec"]["selector"], service["metadata"]["labels"])
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["gpu-system"]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["honorLabels"] is False  # the pod's labels arrive as exported_pod


def test_gke_scrapes_the_clouds_dcgm_exporter_with_a_pod_monitor(gke):
    spec = values(gke)["prometheus"]["prometheusSpec"]
    assert gke.objects("ServiceMonitor") == []
    monitor = gke.object("PodMonitor", "gpu-metrics-cloud", "monitoring")
    assert selects(spec["podMonitorSelector"], monitor["metadata"]["labels"])
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["gke-managed-system"]}
    assert monitor["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "gke-managed-dcgm-exporter"}}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"], endpoint["honorLabels"]) == ("metrics", "/metrics", False)


def test_rules_are_selected_by_this_prometheus(eks):
    spec = values(eks)["prometheus"]["prometheusSpec"]
    rule = eks.object("PrometheusRule", "ml-clusters-gpu", "monitoring")
    assert selects(spec["ruleSelector"], rule["metadata"]["labels"])


def test_crd_objects_wait_for_the_release(eks, gke):
    for result, kinds in ((eks, ("ServiceMonitor", "PrometheusRule")), (gke, ("PodMonitor", "PrometheusRule"))):
        for kind in kinds:
            objs = [r for r in result.plan.resources if r.type.endswith(f":{kind}")]
            assert objs, kind
            for obj in objs:  # the monitoring layer's and the GPU repair agent's (health.py)
                assert result.depends_on(obj, release(result)), (kind, obj.name)


# --- Alerts ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rules(eks):
    groups = eks.object("PrometheusRule", "ml-clusters-gpu", "monitoring")["spec"]["groups"]
    return {r["alert"]: r for g in groups for r in g["rules"]}


def test_health_alerts(rules):
    # How each behaves on synthetic series is pinned by promtool in test_alert_rules.py.
    xid = rules["GpuHardwareXid"]
    assert "DCGM_EXP_XID_ERRORS_COUNT" in xid["expr"] and "DCGM_FI_DEV_XID_ERRORS" not in xid["expr"]
    assert xid["labels"]["severity"] == "critical" and xid["for"]
    ecc = rules["GpuEccDoubleBitErrors"]["expr"]
    assert "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL" in ecc and "DCGM_FI_DEV_ROW_REMAP_PENDING" in ecc and "increase(" not in ecc
    assert "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS" not in ecc  # a lifetime count: it would page forever
    assert rules["GpuThermalThrottling"]["expr"] == "rate(DCGM_FI_DEV_THERMAL_VIOLATION[5m]) / 1e9 > 0.01"
    assert rules["GpuHighTemperature"]["expr"] == "DCGM_FI_DEV_GPU_TEMP >= 85"
    assert rules["GpuMemoryNearlyFull"]["expr"] == "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > 0.95"


def test_idle_allocated_gpus_alert_after_30_minutes_under_5_percent(rules):
    # DCGM_FI_DEV_GPU_UTIL is not reported for MIG devices; engine activity is (a 0..1 ratio).
    idle = rules["GpuAllocatedIdle"]
    assert idle["expr"] == 'DCGM_FI_PROF_GR_ENGINE_ACTIVE{exported_pod!=""} < 0.05'
    assert idle["for"] == "30m"
    assert idle["labels"]["category"] == "gpu-cost"


def test_gpu_node_without_device_plugin(rules):
    rule = rules["GpuNodeWithoutDevicePlugin"]
    assert rule["expr"] == (
        'max by (node) (kube_node_labels{label_ml_clusters_io_gpu="true"})'
        ' unless on (node) max by (node) (kube_node_status_allocatable{resource=~"nvidia_com_gpu|nvidia_com_mig_.+"} > 0)'
    )
    assert rule["for"] == "15m"


def test_pods_pending_on_gpus_for_15_minutes(rules):
    rule = rules["GpuPodsPending"]
    assert 'kube_pod_container_resource_requests{resource=~"nvidia_com_gpu|nvidia_com_mig_.+"}' in rule["expr"]
    assert 'kube_pod_status_phase{phase="Pending"} == 1' in rule["expr"]
    assert rule["for"] == "15m"
    # A pod over its namespace's GPU quota is refused at admission (it never exists), so the
    # description does not blame the quota.
    assert "quota" not in rule["annotations"]["description"]


def test_every_alert_is_labelled_and_described(rules):
    assert set(rules) == {
        "GpuHardwareXid", "GpuEccDoubleBitErrors", "GpuThermalThrottling", "GpuHighTemperature", "GpuMemoryNearlyFull",
        "GpuNodeWithoutDevicePlugin", "GpuAllocatedIdle", "GpuPodsPending",
        "GpuNodeRepairing", "GpuNodeRepairStalled", "GpuNodeHardwareNotReady",
    }
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


def test_device_plugin_alert_uses_the_handles_gpu_label():
    from components.platform.alerts import gpu_rule_groups

    groups = gpu_rule_groups({"nvidia.com/gpu.present": "true"})
    rule = next(r for g in groups for r in g["rules"] if r["alert"] == "GpuNodeWithoutDevicePlugin")
    assert 'kube_node_labels{label_nvidia_com_gpu_present="true"}' in rule["expr"]


# --- Dashboard ------------------------------------------------------------------------------------


def test_gpu_dashboard_is_a_configmap_grafana_loads(eks):
    sidecar = values(eks)["grafana"]["sidecar"]["dashboards"]
    cm = eks.object("ConfigMap", "grafana-dashboard-gpu", "monitoring")
    assert sidecar["enabled"] is True
    assert cm["metadata"]["labels"][sidecar["label"]] == sidecar["labelValue"]
    board = json.loads(cm["data"]["gpu.json"])
    assert board["uid"] == "ml-clusters-gpu"
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    # Activity panels read a metric MIG devices report too.
    assert not any("DCGM_FI_DEV_GPU_UTIL" in e for e in exprs)
    assert any("DCGM_FI_PROF_GR_ENGINE_ACTIVE" in e for e in exprs)
    assert any("DCGM_FI_DEV_FB_USED" in e for e in exprs)
    # Violation counters are nanoseconds: the share of time throttled is rate / 1e9.
    throttling = next(p for p in board["panels"] if p["title"].startswith("Thermal throttling"))
    assert throttling["targets"][0]["expr"].endswith("[5m]) / 1e9")
    assert throttling["fieldConfig"]["defaults"]["unit"] == "percentunit"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))


def test_no_monitoring_objects_when_disabled():
    result = harness.run_platform(harness.eks_shape(), {"monitoring": {"enabled": False}})
    assert result.plan.by_type(RELEASE) == []
    assert result.plan.by_type("random:index/randomPassword:RandomPassword") == []
    assert not [r for r in result.plan.resources if "monitoring.coreos.com" in r.type]
    assert not [o for o in result.objects("Namespace") if o["metadata"]["name"] == "monitoring"]


def test_dashboard_and_alerts_use_the_node_label_the_scrape_adds():
    # The exporter's own host label changed name (Hostname -> hostname in 4.8.3); the scrape's
    # `node` label is the same for our exporter and the cloud's.
    from components.platform import alerts as alerts_module, dashboard as dashboard_module, monitoring as monitoring_module

    assert monitoring_module._node_relabeling()[0]["targetLabel"] == "node"
    assert dashboard_module.NODE_FILTER == 'node=~"$node"'
    text = open(alerts_module.__file__).read() + open(dashboard_module.__file__).read()
    assert "labels.Hostname" not in text and "{{Hostname}}" not in text


# --- Cluster DNS ------------------------------------------------------------------------------------


def test_dns_scrape_follows_the_handle(eks, gke):
    # GKE Standard runs kube-dns, not CoreDNS; kube-prometheus-stack 88.5.3 values.yaml has
    # coreDns.enabled (default true, port 9153) and kubeDns.enabled (default false, ports
    # 10054/10055). The backend states which one runs (handle.cluster_dns).
    assert values(eks)["coreDns"] == {"enabled": True} and values(eks)["kubeDns"] == {"enabled": False}
    assert values(gke)["coreDns"] == {"enabled": False} and values(gke)["kubeDns"] == {"enabled": True}


# --- Alert routing ----------------------------------------------------------------------------------

RECEIVERS = {"pagerduty": "pd-routing-key-123", "slack": "https://hooks.slack.example/T0/B0/xyz"}
ROUTES = {"critical": ["pagerduty", "slack"], "warning": ["slack"]}


@pytest.fixture(scope="module")
def routed():
    return harness.run_platform(
        harness.eks_shape([harness.pool("l4", "g6.xlarge")]), {"monitoring": {"alerts": {"slackChannel": "#ml-alerts"}}},
        receivers=RECEIVERS, routes=ROUTES,
    )


def test_alerts_route_by_severity_to_the_configured_receivers(routed):
    # kube-prometheus-stack 88.5.3 runs Alertmanager v0.34.0 (values.yaml
    # alertmanager.alertmanagerSpec.image.tag), whose receivers read their secret from a file:
    # slack `api_url_file` (prometheus/alertmanager v0.34.0 config/notifiers.go), pagerduty
    # `routing_key_file` (notify/pagerduty/config.go), webhook `url_file` (notify/webhook/config.go).
    config = values(routed)["alertmanager"]["config"]
    routes = {r["receiver"]: r["matchers"] for r in config["route"]["routes"]}
    assert routes["ml-critical"] == ['severity = "critical"']
    assert routes["ml-warning"] == ['severity = "warning"']
    assert routes["null"] == ['alertname = "Watchdog"']  # the chart's always-firing heartbeat
    receivers = {r["name"]: r for r in config["receivers"]}
    secrets = "/etc/alertmanager/secrets/alertmanager-receivers"
    assert receivers["ml-critical"]["pagerduty_configs"] == [{"routing_key_file": f"{secrets}/pagerduty-routing-key", "send_resolved": True}]
    assert receivers["ml-critical"]["slack_configs"] == [{"api_url_file": f"{secrets}/slack-webhook-url", "channel": "#ml-alerts", "send_resolved": True}]
    assert set(receivers["ml-warning"]) == {"name", "slack_configs"}


def test_receiver_addresses_live_in_a_secret_alertmanager_mounts(routed):
    spec = values(routed)["alertmanager"]["alertmanagerSpec"]
    # kube-prometheus-stack 88.5.3 values.yaml: alertmanagerSpec.secrets are mounted at
    # /etc/alertmanager/secrets/<name>.
    assert spec["secrets"] == ["alertmanager-receivers"]
    secret = routed.resource("Secret", "alertmanager-receivers")
    assert engine.is_secret(secret.inputs["stringData"])
    assert harness.inputs(secret)["stringData"] == {"pagerduty-routing-key": RECEIVERS["pagerduty"], "slack-webhook-url": RECEIVERS["slack"]}
    text = json.dumps(values(routed))
    assert all(v not in text for v in RECEIVERS.values())  # never in the Helm values
    assert routed.depends_on(release(routed), secret)


def test_without_receivers_everything_goes_to_null(eks):
    config = values(eks)["alertmanager"]["config"]
    assert config["route"]["receiver"] == "null"
    assert [r["receiver"] for r in config["route"]["routes"]] == ["null"]
    assert "secrets" not in values(eks)["alertmanager"]["alertmanagerSpec"]
    assert not [r for r in eks.plan.resources if r.type.endswith(":Secret") and r.inputs["metadata"]["name"] == "alertmanager-receivers"]

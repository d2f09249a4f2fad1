"""Config keys of the platform, serving namespaces and existing clusters: defaults and the
exact one-line problem a user sees."""

from __future__ import annotations

import pytest

from components import catalog
from components.config import ConfigError, load

# A private API said explicitly, and team groups supplied by an OIDC provider (EKS needs both).
AWS = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True},
       "aws": {"identityProvider": {"issuerUrl": "https://login.example.com", "clientId": "eks"}}}
EXISTING = {"cloud": "existing", "existing": {"kubeconfig": "stacks/kubeconfigs/local-kind.yaml"}}
TEAM = {"name": "search", "team": "search-ml", "group": "search-engineers"}


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(raw)
    return err.value.problems


BAD = [
    ("ingress-ns-invalid", {**AWS, "platform": {"ingressNamespace": "Ingress_NGINX"}},
     "platform.ingressNamespace: 'Ingress_NGINX' is not a valid namespace name; allowed: lowercase letters, digits and '-', at most 63"),
    ("ingress-ns-platform", {**AWS, "platform": {"ingressNamespace": "monitoring"}},
     "platform.ingressNamespace: 'monitoring' is used by the platform itself; allowed: the namespace your ingress controller runs in"),
    ("namespace-is-ingress", {**AWS, "namespaces": [{**TEAM, "name": "ingress"}]},
     "namespaces[0].name: 'ingress' is the ingress namespace (platform.ingressNamespace); choose another name"),
    ("namespace-reserved", {**AWS, "namespaces": [{**TEAM, "name": "gpu-system"}]},
     "namespaces[0].name: 'gpu-system' is reserved by the platform; choose another name"),
    ("group-blank", {**AWS, "namespaces": [{**TEAM, "group": " "}]},
     "namespaces[0].group: ' ' is not a group name; allowed: the identity provider's group name or id, without surrounding spaces"),
    ("gpus-negative", {**AWS, "namespaces": [{**TEAM, "gpus": -1}]}, "namespaces[0].gpus: -1 is less than the allowed minimum 0"),
    ("memory-not-quantity", {**AWS, "namespaces": [{**TEAM, "memory": "64 GB"}]},
     "namespaces[0].memory: '64 GB' is not a Kubernetes quantity, e.g. 16, 500m, 64Gi"),
    ("pod-security-privileged", {**AWS, "namespaces": [{**TEAM, "podSecurity": "privileged"}]},
     "namespaces[0].podSecurity: 'privileged' is not allowed; allowed: restricted, baseline"),
    ("retention", {**AWS, "platform": {"monitoring": {"retention": "15 days"}}},
     "platform.monitoring.retention: '15 days' is not valid; it must match ^[1-9][0-9]*(h|d|w)$"),
    ("storage-small", {**AWS, "platform": {"monitoring": {"storageGb": 5}}},
     "platform.monitoring.storageGb: 5 is less than the allowed minimum 10"),
    ("existing-empty-path", {"cloud": "existing", "existing": {"kubeconfig": ""}},
     "existing.kubeconfig: '' is empty; allowed: a path to a kubeconfig file, absolute or relative to the project root"),
    ("existing-provisioner", {**EXISTING, "existing": {**EXISTING["existing"], "blockStorageProvisioner": "Local Path"}},
     "existing.blockStorageProvisioner: 'Local Path' is not a provisioner name; allowed: a CSI driver or provisioner name such as rancher.io/local-path or nfs.csi.k8s.io"),
    ("existing-file-params-alone", {**EXISTING, "existing": {**EXISTING["existing"], "fileStorageParameters": {"server": "nfs"}}},
     "existing.fileStorageParameters: set without fileStorageProvisioner; allowed: set fileStorageProvisioner too, or remove the parameters"),
    ("existing-gpu-label", {**EXISTING, "existing": {**EXISTING["existing"], "gpuNodeLabel": "gpu"}},
     "existing.gpuNodeLabel: 'gpu' is not valid; it must match ^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*$"),
    ("existing-missing", {"cloud": "existing"},
     "existing: required for cloud existing; it must set at least existing.kubeconfig"),
    ("egress-unknown", {**AWS, "namespaces": [{**TEAM, "egress": "all"}]},
     "namespaces[0].egress: 'all' is not allowed; allowed: cloud-apis, internet, none"),
    ("alert-route-without-secret", {**AWS, "alertSlackWebhookUrl": "[secure]", "platform": {"monitoring": {"alerts": {"critical": ["pagerduty"]}}}},
     "platform.monitoring.alerts.critical[0]: 'pagerduty' has no address: the secret alertPagerdutyRoutingKey is not set; "
     "allowed: set it with `pulumi config set --secret alertPagerdutyRoutingKey <value>`, or one of: slack"),
    ("alert-unknown-receiver", {**AWS, "platform": {"monitoring": {"alerts": {"warning": ["email"]}}}},
     "platform.monitoring.alerts.warning[0]: 'email' is not allowed; allowed: slack, pagerduty, webhook"),
    ("slack-channel-without-slack", {**AWS, "platform": {"monitoring": {"alerts": {"slackChannel": "#ml"}}}},
     "platform.monitoring.alerts.slackChannel: set but alertSlackWebhookUrl is not; allowed: set the secret alertSlackWebhookUrl, or remove slackChannel"),
    ("receiver-without-monitoring", {**AWS, "alertWebhookUrl": "[secure]", "platform": {"monitoring": {"enabled": False}}},
     "alertWebhookUrl: set but platform.monitoring.enabled is false, so no Alertmanager would use it; allowed: enable monitoring or remove the key"),
]


def test_receiver_addresses_must_be_secrets():
    # Pulumi hands the program the names of secret keys (pulumi.runtime.config.is_config_secret);
    # a receiver address in plain text is refused before anything is created.
    with pytest.raises(ConfigError) as err:
        load({**AWS, "alertSlackWebhookUrl": "https://hooks.slack.example/x"}, secret_keys=set())
    assert err.value.problems == [
        "alertSlackWebhookUrl: set in plain text; allowed: a secret, `pulumi config set --secret alertSlackWebhookUrl <value>` (the stack file then holds `secure: ...`)"
    ]
    assert load({**AWS, "alertSlackWebhookUrl": "https://hooks.slack.example/x"}, secret_keys={"alertSlackWebhookUrl"})


def test_plain_text_receiver_fails_the_program_with_nothing_created(tmp_path):
    from preview import engine
    from tests.conftest import flat_config

    stack = tmp_path / "Pulumi.plain.yaml"
    stack.write_text("config:\n  ml-clusters:cloud: aws\n  ml-clusters:region: us-east-1\n  ml-clusters:network: {privateApi: true}\n"
                     "  ml-clusters:alertWebhookUrl: https://hooks.example/x\n")
    values, secret_keys = engine.read_stack_config(str(stack))
    plan = engine.Plan(stack="plain", project=engine.PROJECT)
    with pytest.raises(ConfigError):
        engine.run_program("plain", values, secret_keys, plan=plan)
    assert plan.resources == []
    # The same key as `secure:` is accepted.
    secure = {**flat_config(AWS), "ml-clusters:alertWebhookUrl": "[secure]"}
    assert engine.run_program("secure", secure, ["ml-clusters:alertWebhookUrl"]).resources


def test_alert_routes_default_to_every_receiver_for_critical_and_no_page_for_warnings():
    cfg = load({**AWS, "alertPagerdutyRoutingKey": "k", "alertSlackWebhookUrl": "u"})
    assert cfg.alert_routes() == {"critical": ["slack", "pagerduty"], "warning": ["slack"]}
    assert load(AWS).alert_routes() == {"critical": [], "warning": []}


@pytest.mark.parametrize("raw,expected", [pytest.param(r, e, id=i) for i, r, e in BAD])
def test_bad_platform_config_reports_one_line(raw, expected):
    found = problems(raw)
    assert expected in found, found
    assert all("\n" not in p for p in found)


def test_gpu_feature_discovery_needs_node_feature_discovery_pinned(monkeypatch):
    monkeypatch.delitem(catalog.CHARTS, "node-feature-discovery", raising=False)
    assert problems({**AWS, "platform": {"gpuFeatureDiscovery": True}}) == [
        "platform.gpuFeatureDiscovery: true needs Node Feature Discovery, which the catalog does not pin "
        "(components/catalog/versions.py CHARTS['node-feature-discovery']); allowed: false until it is pinned"
    ]


def test_defaults():
    cfg = load({**AWS, "namespaces": [TEAM]})
    assert cfg.platform.shared_file_system is True
    assert cfg.platform.gpu_feature_discovery is False
    assert cfg.platform.ingress_namespace == "ingress"
    assert (cfg.platform.monitoring.enabled, cfg.platform.monitoring.retention, cfg.platform.monitoring.storage_gb) == (True, "15d", 50)
    ns = cfg.namespaces[0]
    assert (ns.gpus, ns.cpu, ns.memory, ns.pod_security, ns.egress) == (0, "16", "64Gi", "restricted", "cloud-apis")
    existing = load(EXISTING).existing
    assert existing.block_storage_provisioner == "rancher.io/local-path"
    assert existing.file_storage_provisioner is None and existing.file_storage_parameters == {}
    assert existing.storage_encrypted is False and existing.device_plugin_installed is False
    assert existing.gpu_node_label == "nvidia.com/gpu.present=true"

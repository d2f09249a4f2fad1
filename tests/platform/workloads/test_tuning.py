"""Tuning (Katib v0.19.0, rendered by this program) on the prod-azure plan: CRDs before the
controller, the database before its manager, the webhook configurations after the
controller, placement, Pod Security, NetworkPolicies, RBAC, the control-plane port.

Upstream facts (kubeflow/katib tag v0.19.0): manifests/v1beta1/components/crd/*.yaml
(kubeflow.org/v1beta1, x-kubernetes-preserve-unknown-fields, status subresource);
components/webhook/webhooks.yaml (validator/defaulter on experiments, mutator on pods, paths
/validate-experiment, /mutate-experiment, /mutate-pod, Service katib-controller port 443 ->
8443); pkg/certgenerator/v1beta1/generator.go (webhook configurations named
katib.kubeflow.org, Secret katib-webhook-cert); pkg/db/v1beta1/common/const.go (DB_NAME
postgres, KATIB_POSTGRESQL_DB_HOST/PORT/DATABASE, DB_USER, DB_PASSWORD);
pkg/apis/config/v1beta1/types.go (KatibConfig init.controller.trialResources,
injectSecurityContext, webhookPort); installs/katib-standalone-postgres/katib-config.yaml
(images of the metrics collector, medianstop and hyperopt suggestion at v0.19.0).
"""

from __future__ import annotations

import yaml

from components import catalog
from components.config import Workloads
from components.conventions import system_pool_labels
from components.platform.workloads import control_plane_ports, tuning
from tests.conftest import plan_for_stack
from tests.platform.workloads.helpers import depends, objects

STACK = "prod-azure"


def plan():
    return plan_for_stack(STACK)


def test_the_three_crds_are_schemaless_v1beta1_with_status():
    crds = objects(plan(), "CustomResourceDefinition")
    for kind, plural in tuning.CRD_KINDS:
        _, crd = crds[f"{plural}.kubeflow.org"]
        version = crd["spec"]["versions"][0]
        assert (crd["spec"]["group"], crd["spec"]["names"]["kind"], version["name"]) == ("kubeflow.org", kind, "v1beta1")
        assert version["subresources"] == {"status": {}} and version["schema"]["openAPIV3Schema"]["x-kubernetes-preserve-unknown-fields"] is True


def test_order_crds_and_rights_before_the_controller_database_before_its_manager_controller_before_webhooks():
    p = plan()
    deployments = objects(p, "Deployment")
    controller, _ = deployments["katib/katib-controller"]
    manager, _ = deployments["katib/katib-db-manager"]
    for _, plural in tuning.CRD_KINDS:
        assert depends(controller, objects(p, "CustomResourceDefinition")[f"{plural}.kubeflow.org"][0])
    assert depends(controller, objects(p, "ClusterRoleBinding")["katib-controller"][0])
    assert depends(controller, objects(p, "ConfigMap")["katib/katib-config"][0])
    assert depends(controller, objects(p, "Secret")["katib/katib-webhook-cert"][0])
    assert depends(manager, objects(p, "StatefulSet")["katib/katib-postgres"][0])
    assert depends(manager, objects(p, "Secret")["katib/katib-postgres"][0])
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        hook, _ = objects(p, kind)[tuning.WEBHOOK_NAME]
        assert depends(hook, controller), kind


def test_the_database_manager_talks_postgres_with_the_generated_password():
    _, manager = objects(plan(), "Deployment")["katib/katib-db-manager"]
    env = {e["name"]: e for e in manager["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DB_NAME"]["value"] == "postgres"
    assert env["KATIB_POSTGRESQL_DB_HOST"]["value"] == "katib-postgres.katib.svc"
    assert env["DB_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "katib-postgres", "key": "password"}}
    _, sts = objects(plan(), "StatefulSet")["katib/katib-postgres"]
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "ml-block-retain"
    assert "pre.hook.backup.velero.io/command" in sts["spec"]["template"]["metadata"]["annotations"]


def test_controllers_on_the_system_pool_and_restricted():
    p = plan()
    for name in ("katib-controller", "katib-db-manager"):
        _, dep = objects(p, "Deployment")[f"katib/{name}"]
        pod = dep["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == system_pool_labels(), name
        assert pod["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        ctx = pod["containers"][0]["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"] == {"drop": ["ALL"]} and ctx["runAsNonRoot"] is True
        assert pod["containers"][0]["image"] == catalog.IMAGES[name]
    assert objects(p, "Namespace")["katib"][1]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_configuration_queues_trials_as_jobs_and_keeps_collectors_restricted():
    _, cm = objects(plan(), "ConfigMap")["katib/katib-config"]
    config = yaml.safe_load(cm["data"]["katib-config.yaml"])
    assert config["init"]["controller"] == {"webhookPort": 8443, "trialResources": ["Job.v1.batch"], "injectSecurityContext": True}
    assert config["init"]["certGenerator"] == {"enable": True}
    assert [e["algorithmName"] for e in config["runtime"]["earlyStoppings"]] == ["medianstop"]
    assert {s["algorithmName"] for s in config["runtime"]["suggestions"]} == {"random", "tpe"}
    assert config["runtime"]["earlyStoppings"][0]["image"] == catalog.IMAGES["katib-medianstop"]
    # The suggestion container (a corev1.Container in SuggestionConfig) as `restricted` asks.
    for suggestion in config["runtime"]["suggestions"]:
        ctx = suggestion["securityContext"]
        assert ctx["runAsNonRoot"] is True and ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"] == {"drop": ["ALL"]}


def test_the_pod_webhook_only_sees_labelled_trial_pods_in_team_namespaces():
    _, hooks = objects(plan(), "MutatingWebhookConfiguration")[tuning.WEBHOOK_NAME]
    pod_hook = next(h for h in hooks["webhooks"] if h["name"] == "mutator.pod.katib.kubeflow.org")
    assert pod_hook["namespaceSelector"] == {"matchLabels": {"ml-clusters.io/serving": "true"}}
    assert pod_hook["objectSelector"] == {"matchLabels": {tuning.TRIAL_POD_LABEL[0]: tuning.TRIAL_POD_LABEL[1]}}
    assert pod_hook["clientConfig"]["service"] == {"name": "katib-controller", "namespace": "katib", "path": "/mutate-pod", "port": 443}
    _, svc = objects(plan(), "Service")["katib/katib-controller"]
    assert {"name": "webhook", "port": 443, "targetPort": 8443, "protocol": "TCP"} in svc["spec"]["ports"]


def test_network_paths_between_katib_and_the_team_namespaces():
    p = plan()
    policies = objects(p, "NetworkPolicy")
    _, team = policies["training/allow-katib"]
    assert team["spec"]["ingress"][0]["ports"] == [{"port": 6789, "protocol": "TCP"}, {"port": 6788, "protocol": "TCP"}]
    assert team["spec"]["egress"][0]["ports"] == [{"port": 6789, "protocol": "TCP"}]
    _, api = policies["training/allow-katib-suggestion-api"]
    assert api["spec"]["podSelector"] == {"matchExpressions": [{"key": tuning.SUGGESTION_LABEL, "operator": "Exists"}]}
    _, manager = policies["katib/katib-db-manager-clients"]
    assert {"namespaceSelector": {"matchLabels": {"ml-clusters.io/serving": "true"}}} in manager["spec"]["ingress"][0]["from"]
    _, db = policies["katib/katib-postgres-clients"]
    assert [peer["podSelector"]["matchLabels"] for peer in db["spec"]["ingress"][0]["from"]] == [tuning.DB_MANAGER_LABELS]


def test_teams_write_experiments_and_read_trials_through_ml_team():
    _, role = objects(plan(), "ClusterRole")["ml-team-tuning"]
    assert role["metadata"]["labels"]["ml-clusters.io/aggregate-to-team"] == "true"
    rules = {tuple(r["resources"]): r["verbs"] for r in role["rules"]}
    assert "create" in rules[("experiments",)] and rules[("suggestions", "trials")] == ["get", "list", "watch"]


def test_the_webhook_port_is_opened_on_gke_and_tuning_is_off_by_default():
    ports = control_plane_ports(Workloads.model_validate({"queueing": {"enabled": True}, "tuning": {"enabled": True}}))
    assert ("katib", 8443) in {(p.component, p.port) for p in ports}
    assert 8443 in catalog.versions.ADMISSION_WEBHOOK_PORTS
    assert Workloads().tuning.enabled is False

"""Hyperparameter tuning: Katib v0.19.0, rendered by this program from the facts of its
standalone-postgres install (kubeflow/katib manifests/v1beta1 at v0.19.0; Katib ships no
Helm chart), with its trials as batch Jobs that Kueue admits.

- CRDs (experiments, trials, suggestions; kubeflow.org/v1beta1, schemaless with a status
  subresource, as upstream's components/crd) before anything that serves or uses them.
- The controller (webhooks on 8443, certificates made by its own cert generator into the
  Secret `katib-webhook-cert`, which it also writes into the two webhook configurations
  named `katib.kubeflow.org`, pkg/certgenerator/v1beta1/generator.go) and the database
  manager (gRPC 6789) on the system pool; the database is metadata_db.py's PostgreSQL
  (Katib's postgres backend: DB_NAME postgres, KATIB_POSTGRESQL_DB_* and DB_USER /
  DB_PASSWORD, pkg/db/v1beta1/common/const.go), created before the manager.
- Trials: `trialResources` Job.v1.batch only (KatibConfig init.controller). A trial Job in a
  team namespace carries `kueue.x-k8s.io/queue-name` and is suspended and admitted by Kueue
  like a sweep's. Suggestion (random, tpe through hyperopt) and median-stop services run
  per Experiment in the team namespace (gRPC 6789 and 6788), reached from the controller.
- Metrics: the pod webhook injects the metrics collector into trial pods. Upstream selects
  namespaces by a label; here it selects pods: trial templates carry the label
  `katib.kubeflow.org/metrics-collector-injection: enabled` (TRIAL_POD_LABEL), so Katib being
  down blocks trial pods only, never the namespace's other pods. `injectSecurityContext`
  copies the trial container's securityContext into the collector, so trial pods stay
  within Pod Security `restricted` (KatibConfig, pkg/apis/config/v1beta1/types.go).
"""

from __future__ import annotations

from typing import Any

import yaml

from ...config import Tuning as TuningSettings
from ...handle import ClusterHandle
from ..common import NAMESPACE_NAME_LABEL, READ_VERBS, SERVING_LABEL, WRITE_VERBS, checkov_skips, sorted_dict, system_placement
from .metadata_db import PASSWORD_KEY, USER_KEY, Database
from .releases import image_parts

NAMESPACE = "katib"
API_VERSION = "kubeflow.org/v1beta1"
CONTROLLER = "katib-controller"
DB_MANAGER = "katib-db-manager"
WEBHOOK_NAME = "katib.kubeflow.org"
WEBHOOK_SECRET = "katib-webhook-cert"
CONFIG_MAP = "katib-config"
COMPONENT_LABEL = "katib.kubeflow.org/component"
CONTROLLER_LABELS = {COMPONENT_LABEL: "controller"}
DB_MANAGER_LABELS = {COMPONENT_LABEL: "db-manager"}
# Ports: the controller's webhook server (the API server calls it; upstream's Service maps
# 443 to it), the database manager, and the per-Experiment services in team namespaces.
WEBHOOK_PORT = 8443
METRICS_PORT = 8080
HEALTH_PORT = 18080
DB_MANAGER_PORT = 6789
SUGGESTION_PORT = 6789
EARLY_STOPPING_PORT = 6788
DATABASE = Database("katib-postgres", NAMESPACE, "katib", "katib", "10Gi", (DB_MANAGER_LABELS,))
TRIAL_POD_LABEL = ("katib.kubeflow.org/metrics-collector-injection", "enabled")
# Katib's suggestion pods (util/labels.go SuggestionLabels); the median-stop service among
# them marks trials early-stopped through the Kubernetes API.
SUGGESTION_LABEL = "katib.kubeflow.org/suggestion"
TRIAL_RESOURCES = ("Job.v1.batch",)
CRD_KINDS = (("Experiment", "experiments"), ("Trial", "trials"), ("Suggestion", "suggestions"))
_SKIPS = {
    "CKV_K8S_43": "Katib's images are pinned by tag (components/catalog/versions.py); kubeflow/katib names them by tag",
    "CKV_K8S_40": "uid 1000 as kubeflow/katib's own manifests run these images (components/controller and db-manager at v0.19.0)",
}
CONTROLLER_SKIPS = checkov_skips({
    **_SKIPS,
    "CKV_K8S_38": "the controller reconciles Experiments, Trials and Jobs through the Kubernetes API",
})
DB_MANAGER_SKIPS = checkov_skips({
    **_SKIPS,
    "CKV_K8S_35": "katib-db-manager reads the database password from the DB_PASSWORD variable only (pkg/db/v1beta1/common/const.go)",
})
ROLE_SKIPS = checkov_skips({
    "CKV_K8S_155": "Katib's certificate rotator writes its CA into its two webhook configurations (pkg/certgenerator/v1beta1 at v0.19.0)",
})
# System-pool requests (upstream sets none; these are ours).
REQUESTS = {"controller": {"cpu": "100m", "memory": "128Mi"}, "db-manager": {"cpu": "50m", "memory": "64Mi"}}
# What a team gets in its namespaces (aggregated into `ml-team`): Experiments to write (the
# Kubeflow `kubeflow-katib-edit` role, installs/katib-with-kubeflow/kubeflow-katib-roles.yaml
# at v0.19.0); Trials and Suggestions, which the controller makes, to read.
TEAM_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["kubeflow.org"], "resources": ["experiments"], "verbs": READ_VERBS + WRITE_VERBS},
    {"apiGroups": ["kubeflow.org"], "resources": ["suggestions", "trials"], "verbs": READ_VERBS},
    {"apiGroups": ["kubeflow.org"], "resources": ["experiments/status", "suggestions/status", "trials/status"], "verbs": ["get"]},
]
# The controller's rights: upstream components/controller/rbac.yaml at v0.19.0 less the
# kinds not installed here (TFJob, PyTorchJob, MPIJob, XGBoostJob, JobSet, TrainJob: the
# trial kind is batch Job only) and less cronjobs.
CONTROLLER_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["services"], "verbs": ["create", "delete", "get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch", "update"]},
    {"apiGroups": [""], "resources": ["persistentvolumeclaims", "persistentvolumes", "serviceaccounts"], "verbs": ["create", "get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["configmaps", "namespaces"], "verbs": READ_VERBS},
    {"apiGroups": [""], "resources": ["pods", "pods/status"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "patch", "update", "watch"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "delete", "get", "list", "watch"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings", "roles"], "verbs": ["create", "get", "list", "watch"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "delete", "get", "list", "watch"]},
    {"apiGroups": ["kubeflow.org"], "resources": [
        "experiments", "experiments/finalizers", "experiments/status", "suggestions", "suggestions/finalizers",
        "suggestions/status", "trials", "trials/finalizers", "trials/status"], "verbs": ["*"]},
    {"apiGroups": ["admissionregistration.k8s.io"], "resources": ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
     "verbs": ["get", "list", "patch", "update", "watch"]},
]


SUGGESTION_SECURITY = {
    "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True, "runAsUser": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def database(settings: TuningSettings) -> Database:
    return Database(DATABASE.name, DATABASE.namespace, DATABASE.database, DATABASE.user, settings.database_storage, DATABASE.clients)


def _image(key: str) -> str:
    repository, tag = image_parts(key)
    return f"{repository}:{tag}"


def katib_config() -> str:
    """KatibConfig (config.kubeflow.org/v1beta1) as the controller reads it."""
    config = {
        "apiVersion": "config.kubeflow.org/v1beta1",
        "kind": "KatibConfig",
        "init": {
            "certGenerator": {"enable": True},
            "controller": {
                "webhookPort": WEBHOOK_PORT,
                "trialResources": list(TRIAL_RESOURCES),
                "injectSecurityContext": True,
            },
        },
        "runtime": {
            "metricsCollectors": [
                {"kind": "StdOut", "image": _image("katib-metrics-collector")},
                {"kind": "File", "image": _image("katib-metrics-collector")},
            ],
            # The suggestion container is a Container in the config (SuggestionConfig inlines
            # corev1.Container): what `restricted` asks, as the image names no user. The
            # early-stopping container beside it takes only image, ports and resources
            # (suggestion/composer/composer.go), hence `baseline` for early stopping.
            "suggestions": [
                {"algorithmName": name, "image": _image("katib-hyperopt"), "securityContext": SUGGESTION_SECURITY}
                for name in ("random", "tpe")
            ],
            "earlyStoppings": [{"algorithmName": "medianstop", "image": _image("katib-medianstop")}],
        },
    }
    return yaml.safe_dump(config, sort_keys=True)


def crd(kind: str, plural: str) -> dict[str, Any]:
    """CustomResourceDefinition keyword arguments (our rendering of components/crd/<kind>.yaml)."""
    status = [
        {"name": "Type", "type": "string", "jsonPath": ".status.conditions[-1:].type"},
        {"name": "Status", "type": "string", "jsonPath": ".status.conditions[-1:].status"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return {
        "metadata": {"name": f"{plural}.kubeflow.org", "labels": {"app.kubernetes.io/name": "katib", "app.kubernetes.io/part-of": "ml-clusters"}},
        "spec": {
            "group": "kubeflow.org",
            "scope": "Namespaced",
            "names": {"kind": kind, "singular": kind.lower(), "plural": plural, "categories": ["all", "kubeflow", "katib"]},
            "versions": [{
                "name": "v1beta1", "served": True, "storage": True,
                "additionalPrinterColumns": status,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }],
        },
    }


def _security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "privileged": False,
            "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 1000}


def _pod(handle: ClusterHandle, containers: list[dict[str, Any]], volumes: list[dict[str, Any]], service_account: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": containers,
        **system_placement(handle),
    }
    if volumes:
        spec["volumes"] = volumes
    if service_account:
        spec["serviceAccountName"] = service_account
    else:
        spec["automountServiceAccountToken"] = False
    return spec


def controller_deployment(handle: ClusterHandle, meta: dict[str, Any]) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/healthz", "port": "healthz"}}
    container = {
        "name": CONTROLLER,
        "image": _image("katib-controller"),
        "imagePullPolicy": "Always",
        "command": ["./katib-controller"],
        "args": ["--katib-config=/katib-config.yaml"],
        "env": [{"name": "KATIB_CORE_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
        "ports": [
            {"containerPort": WEBHOOK_PORT, "name": "webhook", "protocol": "TCP"},
            {"containerPort": METRICS_PORT, "name": "metrics", "protocol": "TCP"},
            {"containerPort": HEALTH_PORT, "name": "healthz", "protocol": "TCP"},
        ],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "healthz"}},
        "livenessProbe": probe,
        "resources": {"requests": dict(REQUESTS["controller"]), "limits": {"cpu": "1", "memory": "512Mi"}},
        "securityContext": _security(),
        "volumeMounts": [
            {"name": "cert", "mountPath": "/tmp/cert", "readOnly": True},
            {"name": CONFIG_MAP, "mountPath": "/katib-config.yaml", "subPath": "katib-config.yaml", "readOnly": True},
        ],
    }
    volumes = [
        {"name": "cert", "secret": {"secretName": WEBHOOK_SECRET, "defaultMode": 0o444}},
        {"name": CONFIG_MAP, "configMap": {"name": CONFIG_MAP}},
    ]
    return {
        "metadata": meta,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(CONTROLLER_LABELS)},
            "template": {"metadata": {"labels": dict(CONTROLLER_LABELS), "annotations": meta.get("annotations", {})},
                         "spec": _pod(handle, [container], volumes, CONTROLLER)},
        },
    }


def db_manager_deployment(handle: ClusterHandle, meta: dict[str, Any], db: Database) -> dict[str, Any]:
    env = [
        {"name": "DB_NAME", "value": "postgres"},
        {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": db.name, "key": USER_KEY}}},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": db.name, "key": PASSWORD_KEY}}},
        {"name": "KATIB_POSTGRESQL_DB_HOST", "value": db.host},
        {"name": "KATIB_POSTGRESQL_DB_PORT", "value": "5432"},
        {"name": "KATIB_POSTGRESQL_DB_DATABASE", "value": db.database},
    ]
    container = {
        "name": DB_MANAGER,
        "image": _image("katib-db-manager"),
        "imagePullPolicy": "Always",
        "command": ["./katib-db-manager"],
        "env": env,
        "ports": [{"name": "api", "containerPort": DB_MANAGER_PORT, "protocol": "TCP"}],
        "livenessProbe": {"grpc": {"port": DB_MANAGER_PORT}, "initialDelaySeconds": 10, "periodSeconds": 60, "failureThreshold": 5},
        "readinessProbe": {"grpc": {"port": DB_MANAGER_PORT}, "periodSeconds": 10},
        "resources": {"requests": dict(REQUESTS["db-manager"]), "limits": {"cpu": "500m", "memory": "256Mi"}},
        "securityContext": _security(),
    }
    return {
        "metadata": meta,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(DB_MANAGER_LABELS)},
            "template": {"metadata": {"labels": dict(DB_MANAGER_LABELS), "annotations": meta.get("annotations", {})},
                         "spec": _pod(handle, [container], [], None)},
        },
    }


def controller_service(meta: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": meta, "spec": {"selector": dict(CONTROLLER_LABELS), "ports": [
        {"name": "webhook", "port": 443, "targetPort": WEBHOOK_PORT, "protocol": "TCP"},
        {"name": "metrics", "port": METRICS_PORT, "targetPort": METRICS_PORT, "protocol": "TCP"},
    ]}}


def db_manager_service(meta: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": meta, "spec": {"selector": dict(DB_MANAGER_LABELS), "ports": [
        {"name": "api", "port": DB_MANAGER_PORT, "targetPort": DB_MANAGER_PORT, "protocol": "TCP"},
    ]}}


def _client(path: str) -> dict[str, Any]:
    return {"service": {"name": CONTROLLER, "namespace": NAMESPACE, "path": path, "port": 443}}


def validating_webhooks() -> list[dict[str, Any]]:
    return [{
        "name": "validator.experiment.katib.kubeflow.org",
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "failurePolicy": "Fail",
        "clientConfig": _client("/validate-experiment"),
        "rules": [{"apiGroups": ["kubeflow.org"], "apiVersions": ["v1beta1"], "operations": ["CREATE", "UPDATE"], "resources": ["experiments"]}],
    }]


def mutating_webhooks() -> list[dict[str, Any]]:
    """Experiment defaulting, and the metrics-collector injection into trial pods: in team
    namespaces (SERVING_LABEL), for pods carrying TRIAL_POD_LABEL only."""
    key, value = TRIAL_POD_LABEL
    return [
        {
            "name": "defaulter.experiment.katib.kubeflow.org",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "failurePolicy": "Fail",
            "clientConfig": _client("/mutate-experiment"),
            "rules": [{"apiGroups": ["kubeflow.org"], "apiVersions": ["v1beta1"], "operations": ["CREATE", "UPDATE"], "resources": ["experiments"]}],
        },
        {
            "name": "mutator.pod.katib.kubeflow.org",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "failurePolicy": "Fail",
            "clientConfig": _client("/mutate-pod"),
            "namespaceSelector": {"matchLabels": {SERVING_LABEL: "true"}},
            "objectSelector": {"matchLabels": {key: value}},
            "matchConditions": [{
                "name": "exclude-katib-controller",
                "expression": f'request.userInfo.username != "system:serviceaccount:{NAMESPACE}:{CONTROLLER}"',
            }],
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}],
        },
    ]


def db_manager_policy() -> dict[str, Any]:
    """NetworkPolicy spec in `katib`: the database manager takes gRPC from the controller and
    from the team namespaces (metrics collectors, suggestion and median-stop services)."""
    return {
        "podSelector": {"matchLabels": dict(DB_MANAGER_LABELS)},
        "policyTypes": ["Ingress"],
        "ingress": [{
            "from": [
                {"podSelector": {"matchLabels": dict(CONTROLLER_LABELS)}},
                {"namespaceSelector": {"matchLabels": {SERVING_LABEL: "true"}}},
            ],
            "ports": [{"port": DB_MANAGER_PORT, "protocol": "TCP"}],
        }],
    }


def team_namespace_policy() -> dict[str, Any]:
    """NetworkPolicy spec in a team namespace: Katib's controller reaches the Experiment's
    suggestion and median-stop services, and the namespace's pods reach the db-manager."""
    katib = {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: NAMESPACE}}}
    return {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{
            "from": [{**katib, "podSelector": {"matchLabels": dict(CONTROLLER_LABELS)}}],
            "ports": [{"port": SUGGESTION_PORT, "protocol": "TCP"}, {"port": EARLY_STOPPING_PORT, "protocol": "TCP"}],
        }],
        "egress": [{
            "to": [{**katib, "podSelector": {"matchLabels": dict(DB_MANAGER_LABELS)}}],
            "ports": [{"port": DB_MANAGER_PORT, "protocol": "TCP"}],
        }],
    }


def labels(component: str) -> dict[str, str]:
    return sorted_dict({"app.kubernetes.io/name": "katib", "app.kubernetes.io/component": component,
                        "app.kubernetes.io/part-of": "ml-clusters", "app.kubernetes.io/managed-by": "pulumi"})

"""Pipelines: Argo Workflows (chart argo-workflows 1.0.18, app v4.0.6) with its workflow
archive in PostgreSQL.

Why Argo Workflows alone and not Kubeflow Pipelines v2 (docs/workloads.md, "Pipelines"):
KFP v2 runs on Argo Workflows anyway and adds its API server, persistence agent, scheduled
workflow controller, metadata writer, cache server, UI, a MySQL and an object store proxy on
the system pool, with no official Helm chart (kustomize only) and multi-user isolation that
needs the Kubeflow Profiles controller and Istio. Argo Workflows alone is one controller and
one server, an official chart, namespaces as tenants with plain Kubernetes RBAC, and Python
authoring through Hera; the pipeline steps this platform cares about (TrainJob,
InferenceService, batch Job) are Kubernetes objects a workflow's `resource` template creates.

- Controller and server on the system pool; the server authenticates each request with the
  caller's own Kubernetes token (`--auth-mode=client`), so a team sees its namespaces only.
- Workflows run in the team namespaces whose `modelStore` is `readwrite`: there the
  namespace's `workload` ServiceAccount (bound to the cloud identity that may write the
  model store) is every workflow's default account, with a Role `pipeline-runner` for the
  executor (workflowtaskresults, docs/workflow-rbac.md at v4.0.6) and for the objects the
  steps create (TrainJobs, Jobs, InferenceServices). The namespace's `artifact-repositories`
  ConfigMap (docs/artifact-repository-ref.md) points at the model store under
  `pipelines/<namespace>/`, with SDK credentials (workload identity), no key in a Secret.
- Queueing: Kueue v0.19.2 does not manage Workflow objects; it queues an Argo pod only
  through its `pod` integration (site docs tasks/run/external_workloads/argo_workflow.md),
  which is off here. GPU steps are therefore `resource` templates that create a TrainJob or
  batch Job, which Kueue queues like any other (the namespace's LocalQueue `default`);
  the workflow's own pods ask for CPU and memory only, under the namespace's ResourceQuota.
- Archive: the controller writes finished workflows to PostgreSQL (`persistence.archive`)
  and keeps them `archiveTTL`; the database is metadata_db.py's (retained volume, backed up).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import pulumi
import yaml

from ...config import Pipelines as PipelineSettings
from ...config import ServingNamespace
from ...handle import ClusterHandle, ModelStore
from ..common import READ_VERBS, TEAM_LABEL, WRITE_VERBS, sorted_dict, system_placement
from .metadata_db import PASSWORD_KEY, USER_KEY, Database

NAMESPACE = "argo"
RELEASE = "argo-workflows"
API_VERSION = "argoproj.io/v1alpha1"
# The chart's pod name labels (templates/_helpers.tpl selectorLabels: `<chart name>-<name>`
# with controller.name workflow-controller and server.name server).
CONTROLLER_LABELS = {"app.kubernetes.io/name": f"{RELEASE}-workflow-controller"}
SERVER_LABELS = {"app.kubernetes.io/name": f"{RELEASE}-server"}
SERVER_PORT = 2746
DATABASE = Database("argo-postgres", NAMESPACE, "argo", "argo", "20Gi", (CONTROLLER_LABELS, SERVER_LABELS))
ARCHIVE_TABLE = "argo_workflows"
# Every workflow pod carries this label (Argo's common.LabelKeyWorkflow).
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
# The ConfigMap Argo reads a namespace's artifact repositories from, its default key.
ARTIFACT_REPOSITORIES = "artifact-repositories"
DEFAULT_REPOSITORY_ANNOTATION = "workflows.argoproj.io/default-artifact-repository"
ARTIFACT_KEY = "model-store"
ARTIFACT_PREFIX = "pipelines"
RUNNER_ROLE = "pipeline-runner"
WORKFLOW_SERVICE_ACCOUNT = "workload"
# The executor image's own user (argoexec runs as 8737, docs/workflow-pod-security-context.md).
EXECUTOR_USER = 8737
# System-pool requests (the chart sets none; these are ours) and the database's.
REQUESTS = {"controller": {"cpu": "100m", "memory": "256Mi"}, "server": {"cpu": "50m", "memory": "128Mi"}}
# The Kubernetes API: where the executor reports step results and resource templates create
# objects. Its address is the cloud's (a NetworkPolicy cannot name it), so workflow pods may
# open HTTPS to 443 and 6443 anywhere.
API_SERVER_PORTS = (443, 6443)
# What a team gets in its namespaces (aggregated into `ml-team`): the chart's
# argo-aggregate-to-edit role at 1.0.18 (templates/controller/workflow-aggregate-roles.yaml)
# on the namespaced kinds; task sets, task results and artifact-GC tasks (the controller's
# and executor's bookkeeping) to read only.
TEAM_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["argoproj.io"],
     "resources": ["cronworkflows", "workfloweventbindings", "workflows", "workflowtemplates"],
     "verbs": READ_VERBS + WRITE_VERBS},
    {"apiGroups": ["argoproj.io"],
     "resources": ["workflowartifactgctasks", "workflowtaskresults", "workflowtasksets"],
     "verbs": READ_VERBS},
]
# Cluster-wide, read only: ClusterWorkflowTemplates, which the platform team may publish
# for every team (the edit role reads them too).
TEAM_CLUSTER_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["argoproj.io"], "resources": ["clusterworkflowtemplates"], "verbs": READ_VERBS},
]
# The runner Role on `workload` in a pipeline namespace: what the executor needs at v4.0.6
# (workflowtaskresults create and patch) and what resource templates create, get and
# delete (TrainJobs, batch Jobs, InferenceServices): the same kinds the team may write.
RUNNER_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]},
    {"apiGroups": ["trainer.kubeflow.org"], "resources": ["trainjobs"], "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
    {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
]


def database(settings: PipelineSettings) -> Database:
    return Database(DATABASE.name, DATABASE.namespace, DATABASE.database, DATABASE.user, settings.archive_storage, DATABASE.clients)


def pipeline_namespaces(namespaces: Sequence[ServingNamespace]) -> list[ServingNamespace]:
    """Team namespaces where workflows run: those whose `workload` account may write the store."""
    return [ns for ns in namespaces if ns.model_store == "readwrite"]


def _restricted_container(user: Optional[int] = None) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if user is not None:
        ctx["runAsUser"] = user
    return ctx


def workflow_defaults(store: Optional[ModelStore]) -> dict[str, Any]:
    """What every workflow gets unless it says otherwise (controller workflowDefaults): the
    `workload` account with its token mounted, the pod labels the cloud's workload identity needs, Pod Security
    `restricted` at pod level, pods removed once they succeed, a day's TTL."""
    spec: dict[str, Any] = {
        "serviceAccountName": WORKFLOW_SERVICE_ACCOUNT,
        # `workload` mounts no token by default (serving.py: pods opt in); the executor
        # reports each step's results, and resource steps create objects, through the API.
        "automountServiceAccountToken": True,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "podGC": {"strategy": "OnPodSuccess"},
        "ttlStrategy": {"secondsAfterCompletion": 86400},
    }
    if store is not None and store.workload_pod_labels:
        spec["podMetadata"] = {"labels": dict(store.workload_pod_labels)}
    return {"spec": spec}


def persistence(settings: PipelineSettings) -> dict[str, Any]:
    db = database(settings)
    return {
        "archive": True,
        "archiveTTL": settings.archive_ttl,
        "postgresql": {
            "host": db.host, "port": 5432, "database": db.database, "tableName": ARCHIVE_TABLE,
            "userNameSecret": {"name": db.name, "key": USER_KEY},
            "passwordSecret": {"name": db.name, "key": PASSWORD_KEY},
            "ssl": False,
        },
    }


def release_values(handle: ClusterHandle, settings: PipelineSettings) -> dict[str, Any]:
    placement = system_placement(handle)
    linux = {"nodeSelector": {"kubernetes.io/os": "linux", **placement["nodeSelector"]}, "tolerations": placement["tolerations"]}
    return {
        "fullnameOverride": RELEASE,
        "images": {"pullPolicy": "IfNotPresent"},
        # The chart's own CRD files (files/crds/minimal), not the install Job that fetches
        # the full ones with kubectl at install time; kept if the release goes.
        "crds": {"install": True, "full": False, "keep": True},
        # Teams get the API through `ml-team` (TEAM_RULES), not the built-in edit/admin roles.
        "createAggregateRoles": False,
        "singleNamespace": False,
        # The runner Role and account are ours, per pipeline namespace.
        "workflow": {"serviceAccount": {"create": False}, "rbac": {"create": False}},
        "controller": {
            "resources": {"requests": dict(REQUESTS["controller"]), "limits": {"memory": "1Gi"}},
            "workflowNamespaces": [],
            "persistence": persistence(settings),
            "workflowDefaults": workflow_defaults(handle.model_store),
            "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            **linux,
        },
        # Every workflow pod's main container and the executor's init and wait containers:
        # what Pod Security `restricted` asks (the controller ConfigMap's mainContainer and
        # executor blocks).
        "mainContainer": {"securityContext": _restricted_container()},
        "executor": {
            "securityContext": {**_restricted_container(EXECUTOR_USER), "readOnlyRootFilesystem": True},
            "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        },
        "server": {
            "enabled": True,
            "authModes": ["client"],
            "resources": {"requests": dict(REQUESTS["server"]), "limits": {"memory": "512Mi"}},
            "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            **linux,
        },
    }


def repository_body(url: str, region: str, namespace: str) -> dict[str, Any]:
    """The namespace's default artifact repository: the model store by its URL's protocol
    (s3://, gs://, https://<account>.blob.core.windows.net/<container>), with the SDK's
    credentials (the pod's workload identity; docs/configure-artifact-repository.md at
    v4.0.6: `useSDKCreds` for S3 and Azure, no `serviceAccountKeySecret` for GCS), under
    `pipelines/<namespace>/<workflow>/<pod>`."""
    key_format = f"{ARTIFACT_PREFIX}/{namespace}/{{{{workflow.name}}}}/{{{{pod.name}}}}"
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    if scheme == "s3":
        return {"s3": {"bucket": host, "endpoint": f"s3.{region}.amazonaws.com", "region": region,
                       "useSDKCreds": True, "keyFormat": key_format}}
    if scheme == "gs":
        return {"gcs": {"bucket": host, "keyFormat": key_format}}
    return {"azure": {"endpoint": f"{scheme}://{host}", "container": path, "useSDKCreds": True, "blobNameFormat": key_format}}


def artifact_repository(store: ModelStore, namespace: str) -> pulumi.Output[str]:
    """The ConfigMap value (YAML) for the store, where readwrite namespaces write."""
    return pulumi.Output.from_input(store.write_url or store.url).apply(
        lambda url: yaml.safe_dump(repository_body(url, store.region, namespace), sort_keys=True)
    )


def artifact_config_map(store: ModelStore, ns: ServingNamespace, labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "metadata": {
            "name": ARTIFACT_REPOSITORIES, "namespace": ns.name, "labels": dict(labels),
            "annotations": {DEFAULT_REPOSITORY_ANNOTATION: ARTIFACT_KEY},
        },
        "data": {ARTIFACT_KEY: artifact_repository(store, ns.name)},
    }


def runner_role(namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": RUNNER_ROLE, "namespace": namespace, "labels": dict(labels)}, "rules": [dict(r) for r in RUNNER_RULES]}


def runner_binding(namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": RUNNER_ROLE, "namespace": namespace, "labels": dict(labels)},
        "role_ref": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": RUNNER_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": WORKFLOW_SERVICE_ACCOUNT, "namespace": namespace}],
    }


def api_server_policy(label_key: str = WORKFLOW_LABEL) -> dict[str, Any]:
    """NetworkPolicy spec in a team namespace: pods carrying `label_key` (workflow pods, or
    Katib's suggestion pods) reach the Kubernetes API."""
    return {
        "podSelector": {"matchExpressions": [{"key": label_key, "operator": "Exists"}]},
        "policyTypes": ["Egress"],
        "egress": [{"ports": [{"port": port, "protocol": "TCP"} for port in API_SERVER_PORTS]}],
    }


def team_labels(team: str) -> dict[str, str]:
    return sorted_dict({"app.kubernetes.io/name": "pipelines", "app.kubernetes.io/part-of": "ml-clusters",
                        "app.kubernetes.io/managed-by": "pulumi", TEAM_LABEL: team})

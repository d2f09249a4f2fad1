"""Pipelines (Argo Workflows, chart argo-workflows 1.0.18 / app v4.0.6) on the prod-azure plan,
which turns them on: the release and its values, the archive database and its order,
placement, identities, Pod Security, NetworkPolicies, RBAC and the artifact repository.

Upstream facts (argoproj/argo-helm tag argo-workflows-1.0.18, charts/argo-workflows):
values.yaml `crds.full` (true: a pre-install Job fetches the CRDs with registry.k8s.io/kubectl;
false: templates/crds.yaml renders files/crds/minimal), `controller.persistence` rendered into
the controller ConfigMap (templates/controller/workflow-controller-config-map.yaml) and the
controller ClusterRole granting `get` on the persistence Secrets by name, `server.authModes`,
`createAggregateRoles`, `workflow.rbac.create`; _helpers.tpl selectorLabels
`app.kubernetes.io/name: <chart>-<name>`. argoproj/argo-workflows v4.0.6: docs/workflow-rbac.md
(executor needs workflowtaskresults create, patch), docs/artifact-repository-ref.md (ConfigMap
`artifact-repositories` with annotation `workflows.argoproj.io/default-artifact-repository`),
docs/configure-artifact-repository.md (`useSDKCreds`, GCS without a key on GKE Workload Identity).
"""

from __future__ import annotations

import yaml

from components.config import Workloads
from components.conventions import system_pool_labels
from components.platform.storage import BLOCK_RETAIN_CLASS
from components.platform.workloads import control_plane_ports, metadata_db, pipelines
from tests.conftest import plan_for_stack
from tests.platform import harness
from tests.platform.workloads.helpers import depends, objects, releases, values

STACK = "prod-azure"


def plan():
    return plan_for_stack(STACK)


def test_the_release_is_the_pinned_chart_in_its_own_namespace_without_the_crd_job():
    from components import catalog

    rel = releases(plan())[pipelines.RELEASE]
    chart = catalog.CHARTS["argo-workflows"]
    assert (rel.inputs["chart"], rel.inputs["version"], rel.inputs["namespace"]) == ("argo-workflows", chart.version, "argo")
    vals = values(plan(), pipelines.RELEASE)
    # crds.full false: the chart's own CRD files, no install Job downloading kubectl.
    assert vals["crds"] == {"install": True, "full": False, "keep": True}
    assert vals["createAggregateRoles"] is False and vals["workflow"]["rbac"]["create"] is False
    assert vals["server"]["authModes"] == ["client"]


def test_controller_and_server_run_on_the_system_pool():
    vals = values(plan(), pipelines.RELEASE)
    for part in ("controller", "server"):
        selector = {k: v for k, v in vals[part]["nodeSelector"].items() if k != "kubernetes.io/os"}
        assert selector == system_pool_labels(), part
        assert vals[part]["resources"]["requests"] == pipelines.REQUESTS[part]


def test_the_archive_is_in_postgres_on_the_retained_block_class_and_comes_first():
    p = plan()
    vals = values(p, pipelines.RELEASE)
    db = pipelines.database(Workloads().pipelines)
    pg = vals["controller"]["persistence"]
    assert pg["archive"] is True and pg["archiveTTL"] == "30d"
    assert pg["postgresql"]["host"] == "argo-postgres.argo.svc"
    assert pg["postgresql"]["userNameSecret"] == {"name": db.name, "key": metadata_db.USER_KEY}
    sts_res, sts = objects(p, "StatefulSet")["argo/argo-postgres"]
    claim = sts["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == BLOCK_RETAIN_CLASS and claim["resources"]["requests"]["storage"] == "20Gi"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    rel = releases(p)[pipelines.RELEASE]
    secret_res, secret = objects(p, "Secret")["argo/argo-postgres"]
    # ORDER: the database (StatefulSet, its Secret and Service) before the controller.
    assert depends(rel, sts_res) and depends(rel, secret_res)
    assert depends(rel, objects(p, "Service")["argo/argo-postgres"][0])
    assert depends(sts_res, objects(p, "Namespace")["argo"][0])
    assert set(secret["stringData"]) == {"username", "password"}


def test_the_database_is_backed_up_with_a_consistent_dump_first():
    p = plan()
    _, sts = objects(p, "StatefulSet")["argo/argo-postgres"]
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    # Velero v1.18 pod annotations (docs backup-hooks.md): container, JSON command, on-error.
    assert annotations["pre.hook.backup.velero.io/container"] == "postgres"
    assert "pg_dumpall" in " ".join(yaml.safe_load(annotations["pre.hook.backup.velero.io/command"]))
    assert annotations["pre.hook.backup.velero.io/on-error"] == "Fail"
    # Velero's schedule covers every namespace but its own and kube-*: argo and katib too.
    schedule = values(p, "velero")["schedules"]
    template = next(iter(schedule.values()))["template"]
    assert template["includedNamespaces"] == ["*"] and not {"argo", "katib"} & set(template["excludedNamespaces"])


def test_the_database_pod_meets_restricted_and_only_the_controller_and_server_reach_it():
    p = plan()
    _, sts = objects(p, "StatefulSet")["argo/argo-postgres"]
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    ctx = pod["containers"][0]["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"] == {"drop": ["ALL"]} and ctx["runAsNonRoot"] is True
    assert {k: v for k, v in pod["nodeSelector"].items()} == system_pool_labels()
    _, policy = objects(p, "NetworkPolicy")["argo/argo-postgres-clients"]
    sources = [peer["podSelector"]["matchLabels"] for peer in policy["spec"]["ingress"][0]["from"]]
    assert sources == [pipelines.CONTROLLER_LABELS, pipelines.SERVER_LABELS]
    assert policy["spec"]["ingress"][0]["ports"] == [{"port": 5432, "protocol": "TCP"}]
    assert objects(p, "Namespace")["argo"][1]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_workflows_run_as_workload_with_the_identity_label_and_restricted_containers():
    vals = values(plan(), pipelines.RELEASE)
    spec = vals["controller"]["workflowDefaults"]["spec"]
    assert spec["serviceAccountName"] == "workload"
    # The account mounts no token by default (serving.py); the executor needs one for
    # workflowtaskresults (docs/workflow-rbac.md), so workflow pods opt in.
    _, account = objects(plan(), "ServiceAccount")["training/workload"]
    assert account["automountServiceAccountToken"] is False and spec["automountServiceAccountToken"] is True
    # AKS workload identity needs the pod label (the handle's workload_pod_labels).
    assert spec["podMetadata"]["labels"] == {"azure.workload.identity/use": "true"}
    for part in ("mainContainer", "executor"):
        ctx = vals[part]["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"] == {"drop": ["ALL"]} and ctx["runAsNonRoot"] is True


def test_only_readwrite_namespaces_get_the_runner_role_and_the_artifact_repository():
    p = plan()
    roles, maps = objects(p, "Role"), objects(p, "ConfigMap")
    assert "training/pipeline-runner" in roles and "inference/pipeline-runner" not in roles
    assert "inference/artifact-repositories" not in maps
    role_res, role = roles["training/pipeline-runner"]
    assert {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]} in role["rules"]
    binding_res, binding = objects(p, "RoleBinding")["training/pipeline-runner"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "workload", "namespace": "training"}]
    assert depends(binding_res, role_res)
    cm_res, cm = maps["training/artifact-repositories"]
    assert cm["metadata"]["annotations"] == {pipelines.DEFAULT_REPOSITORY_ANNOTATION: pipelines.ARTIFACT_KEY}
    repo = yaml.safe_load(cm["data"][pipelines.ARTIFACT_KEY])
    assert repo["azure"]["useSDKCreds"] is True and repo["azure"]["container"] == "models"
    assert repo["azure"]["blobNameFormat"] == "pipelines/training/{{workflow.name}}/{{pod.name}}"
    assert depends(cm_res, releases(p)[pipelines.RELEASE])


def test_the_artifact_repository_for_every_store_protocol():
    assert pipelines.repository_body("s3://bucket-a", "us-east-1", "t") == {"s3": {
        "bucket": "bucket-a", "endpoint": "s3.us-east-1.amazonaws.com", "region": "us-east-1", "useSDKCreds": True,
        "keyFormat": "pipelines/t/{{workflow.name}}/{{pod.name}}"}}
    # GKE Workload Identity: no serviceAccountKeySecret.
    assert pipelines.repository_body("gs://bucket-b", "US", "t") == {"gcs": {"bucket": "bucket-b", "keyFormat": "pipelines/t/{{workflow.name}}/{{pod.name}}"}}


def test_workflow_pods_may_reach_the_api_server_and_nothing_else_is_opened():
    _, policy = objects(plan(), "NetworkPolicy")["training/allow-workflow-api"]
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchExpressions": [{"key": pipelines.WORKFLOW_LABEL, "operator": "Exists"}]}
    assert spec["policyTypes"] == ["Egress"]
    assert spec["egress"] == [{"ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]}]


def test_teams_get_workflows_through_ml_team_and_cluster_templates_read_only():
    p = plan()
    _, role = objects(p, "ClusterRole")["ml-team-pipelines"]
    assert role["metadata"]["labels"]["ml-clusters.io/aggregate-to-team"] == "true"
    rules = {tuple(r["resources"]): r["verbs"] for r in role["rules"]}
    assert "create" in rules[("cronworkflows", "workfloweventbindings", "workflows", "workflowtemplates")]
    assert rules[("workflowartifactgctasks", "workflowtaskresults", "workflowtasksets")] == ["get", "list", "watch"]
    _, cluster = objects(p, "ClusterRole")["ml-team-pipelines-cluster"]
    assert cluster["rules"] == [{"apiGroups": ["argoproj.io"], "resources": ["clusterworkflowtemplates"], "verbs": ["get", "list", "watch"]}]


def test_pipelines_open_no_control_plane_port_and_are_off_by_default():
    on = Workloads.model_validate({"pipelines": {"enabled": True}})
    assert control_plane_ports(on) == []
    assert Workloads().pipelines.enabled is False
    result = harness.run_platform(harness.gke_shape([]), {"workloads": {"queueing": {"enabled": True}}},
                                  harness.namespaces({"name": "team-a", "team": "a", "group": "g", "gpus": 1, "modelStore": "readwrite"}))
    assert pipelines.RELEASE not in releases(result.plan) and "argo" not in objects(result.plan, "Namespace")


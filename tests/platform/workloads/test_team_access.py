"""What a team may do on the workload layer's APIs, read from the rendered ClusterRoles.

`ml-team` (bound in every team namespace) is an aggregated ClusterRole: kube-controller-
manager's clusterrole-aggregation controller writes into it the union of the rules of every
ClusterRole its `aggregationRule` selects (kubernetes pkg/controller/clusterroleaggregation).
It recomputes them whenever any ClusterRole is added, changed or deleted (its informer's
handlers enqueue every aggregated role, clusterroleaggregation_controller.go), and writes them
with a forced server-side apply (kubernetes/kubernetes#99462, since 1.21), which is why the
program must not send `rules` for `ml-team` at all. So what a team may do is that union,
computed here from the rendered objects.

Upstream facts the expected grants rest on (each at the pin in components/catalog/versions.py):
- kubernetes-sigs/kueue v0.19.2 charts/kueue/templates/rbac/batch_user_role.yaml aggregates
  `rbac.kueue.x-k8s.io/batch-user` roles; among them workload_viewer_role.yaml and
  localqueue_viewer_role.yaml (get/list/watch, and get on /status) and
  pending_workloads_lq_viewer_role.yaml (visibility.kueue.x-k8s.io localqueues/pendingworkloads,
  get/list/watch); clusterqueue_viewer_role.yaml is batch-admin only. The visibility API is
  served by default (pkg/features/kube_features.go: VisibilityOnDemand beta, default true
  since 0.9; templates/visibility/apiservice_v1beta2.yaml unconditional).
- Kueue's CRDs (charts/kueue/templates/crd): only workloads and localqueues are namespaced.
- kubeflow/trainer v2.3.0 charts/kubeflow-trainer/templates/crd: trainjobs (status
  subresource) and trainingruntimes namespaced, clustertrainingruntimes cluster-scoped;
  manifests/overlays/kubeflow-platform/kubeflow-trainer-roles.yaml binds read on
  clustertrainingruntimes to every authenticated user.
- kubernetes-sigs/jobset v0.12.0 charts/jobset/templates/rbac/jobset_editor_role.yaml:
  jobsets read and write, jobsets/status get.
- kserve/kserve v0.20.0 charts/kserve-crd/templates: inferenceservices, inferencegraphs,
  trainedmodels (with status) and servingruntimes namespaced, clusterservingruntimes and
  clusterstoragecontainers cluster-scoped; config/overlays/kubeflow/cluster-role.yaml
  (kubeflow-kserve-edit) lets users write the four namespaced kinds.
"""

from __future__ import annotations

from typing import Any, Iterable

import pytest

from tests.conftest import plan_for_stack
from tests.platform import harness
from tests.platform.harness import Result
from tests.platform.test_serving import aggregated_rules
from tests.platform.workloads.test_workloads import ALL

AGGREGATE_LABEL = "ml-clusters.io/aggregate-to-team"
WRITE = {"create", "delete", "deletecollection", "patch", "update"}
READ = {"get", "list", "watch"}
FENCES = {("", "resourcequotas"), ("", "limitranges"), ("networking.k8s.io", "networkpolicies")}
TEAMS = harness.namespaces(
    {"name": "training", "team": "research", "group": "research@example.com", "gpus": 4},
    {"name": "sandbox", "team": "research", "group": "research@example.com"},
    {"name": "inference", "team": "serving", "group": "ml-serving", "gpus": 2},
)
# The workload layer's API groups, and their cluster-scoped kinds at the pins (a namespace's
# RoleBinding cannot grant those, so none may appear in what `ml-team` aggregates).
WORKLOAD_GROUPS = {"kueue.x-k8s.io", "visibility.kueue.x-k8s.io", "trainer.kubeflow.org", "jobset.x-k8s.io", "serving.kserve.io"}
CLUSTER_SCOPED = {
    ("kueue.x-k8s.io", kind) for kind in ("admissionchecks", "clusterqueues", "cohorts", "multikueueclusters", "multikueueconfigs",
                                          "provisioningrequestconfigs", "resourceflavors", "topologies", "workloadpriorityclasses")
} | {("visibility.kueue.x-k8s.io", "clusterqueues/pendingworkloads"), ("trainer.kubeflow.org", "clustertrainingruntimes"),
     ("serving.kserve.io", "clusterservingruntimes"), ("serving.kserve.io", "clusterstoragecontainers")}


def grants(rules: Iterable[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) triples the rules grant, wildcards kept as `*`."""
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def allows(triples: set[tuple[str, str, str]], group: str, resource: str, verb: str) -> bool:
    return any(g in (group, "*") and r in (resource, "*") and v in (verb, "*") for g, r, v in triples)


def team_rules(result: Result) -> list[dict[str, Any]]:
    """The rules the aggregation controller writes into `ml-team`, from the rendered roles."""
    team = result.object("ClusterRole", "ml-team")
    assert "rules" not in team  # left to the controller
    (selector,) = team["aggregationRule"]["clusterRoleSelectors"]
    assert set(selector) == {"matchLabels"}
    return aggregated_rules(result)


def aggregated_roles(result: Result) -> set[str]:
    return {o["metadata"]["name"] for o in result.objects("ClusterRole") if o["metadata"].get("labels", {}).get(AGGREGATE_LABEL) == "true"}


def workload_grants(result: Result) -> set[tuple[str, str, str]]:
    return {t for t in grants(team_rules(result)) if t[0] in WORKLOAD_GROUPS}


@pytest.fixture(scope="module")
def everything() -> Result:
    return harness.run_platform(harness.eks_shape([harness.pool("l4", "g6.xlarge")]), ALL, TEAMS)


@pytest.fixture(scope="module")
def local() -> Result:
    """The `local` stack, which turns on all four parts, through the program's own entry point."""
    return Result(plan_for_stack("local"), {}, "1.35")


def expected_workload_grants() -> set[tuple[str, str, str]]:
    out = set()
    for group, kinds in (("trainer.kubeflow.org", ("trainjobs", "trainingruntimes")), ("jobset.x-k8s.io", ("jobsets",)),
                         ("serving.kserve.io", ("inferenceservices", "servingruntimes", "inferencegraphs", "trainedmodels"))):
        out |= {(group, kind, verb) for kind in kinds for verb in READ | WRITE}
    for group, status in (("trainer.kubeflow.org", "trainjobs/status"), ("jobset.x-k8s.io", "jobsets/status"),
                          ("serving.kserve.io", "inferenceservices/status"), ("serving.kserve.io", "inferencegraphs/status"),
                          ("serving.kserve.io", "trainedmodels/status"), ("kueue.x-k8s.io", "workloads/status"),
                          ("kueue.x-k8s.io", "localqueues/status")):
        out.add((group, status, "get"))
    out |= {("kueue.x-k8s.io", kind, verb) for kind in ("workloads", "localqueues") for verb in READ}
    out |= {("visibility.kueue.x-k8s.io", "localqueues/pendingworkloads", verb) for verb in READ}
    return out


@pytest.mark.parametrize("stack", ["everything", "local"])
def test_teams_get_exactly_the_workload_apis_they_need(stack, request):
    result = request.getfixturevalue(stack)
    # Submit TrainJobs, JobSets and InferenceServices, define namespaced runtimes, watch
    # Kueue's Workloads, LocalQueues and pending positions; Kueue's objects stay read-only.
    assert workload_grants(result) == expected_workload_grants()


@pytest.mark.parametrize("stack", ["everything", "local"])
def test_nothing_aggregated_into_the_team_role_writes_the_fences(stack, request):
    result = request.getfixturevalue(stack)
    triples = grants(team_rules(result))
    assert aggregated_roles(result) == {"ml-team-core", "ml-team-queueing", "ml-team-training", "ml-team-serving"}
    for group, resource in FENCES:
        assert allows(triples, group, resource, "get"), resource
        for verb in WRITE:
            assert not allows(triples, group, resource, verb), (group, resource, verb)
    # No wildcards, no RBAC objects, no escalation verbs, no cluster-scoped kind (which a
    # namespace's RoleBinding could not grant anyway).
    assert not {t for t in triples if "*" in t}
    assert not {t for t in triples if t[0] == "rbac.authorization.k8s.io" or t[2] in ("bind", "escalate", "impersonate")}
    assert not {(g, r) for g, r, _ in triples} & CLUSTER_SCOPED


def test_every_team_namespace_binds_the_aggregated_role(everything):
    bindings = [o for o in everything.objects("RoleBinding") if o["metadata"]["name"] == "team"]
    assert {b["metadata"]["namespace"] for b in bindings} == {"training", "sandbox", "inference"}
    for binding in bindings:
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ml-team"}


def test_runtimes_are_readable_cluster_wide_by_the_team_groups(everything):
    for role, resource in (("ml-team-training-cluster", ("trainer.kubeflow.org", "clustertrainingruntimes")),
                           ("ml-team-serving-cluster", ("serving.kserve.io", "clusterservingruntimes"))):
        cluster_role = everything.object("ClusterRole", role)
        assert grants(cluster_role["rules"]) == {(*resource, verb) for verb in READ}
        assert AGGREGATE_LABEL not in cluster_role["metadata"]["labels"]  # never granted per namespace
        binding = everything.object("ClusterRoleBinding", role)
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}
        # Each team group once, and nobody else.
        assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}
                                       for g in ("ml-serving", "research@example.com")]
    assert {o["metadata"]["name"] for o in everything.objects("ClusterRoleBinding") if o["metadata"]["name"].startswith("ml-team")} == {
        "ml-team-training-cluster", "ml-team-serving-cluster"}


@pytest.mark.parametrize("part, roles", [
    ("queueing", {"ml-team-queueing"}),
    ("notebooks", set()),  # JupyterHub's own service account spawns the servers
])
def test_a_part_adds_its_role_only_when_enabled(part, roles):
    settings = {"workloads": {part: {"enabled": True}}}
    result = harness.run_platform(harness.eks_shape(), settings, TEAMS)
    assert aggregated_roles(result) == {"ml-team-core"} | roles
    assert not {t for t in workload_grants(result) if t[2] == "create"}
    assert not [o for o in result.objects("ClusterRoleBinding") if o["metadata"]["name"].startswith("ml-team")]


def test_no_team_roles_without_team_namespaces():
    result = harness.run_platform(harness.eks_shape(), ALL)
    assert not [o for o in result.objects("ClusterRole") if o["metadata"]["name"].startswith("ml-team")]
    assert not [o for o in result.objects("ClusterRoleBinding") if o["metadata"]["name"].startswith("ml-team")]

"""Serving namespaces: PSA labels, quotas, limits, network policies, identity; priority classes."""

from __future__ import annotations

import pytest

from tests.platform import harness

TEAMS = harness.namespaces(
    {"name": "search", "team": "search-ml", "group": "search-ml-engineers", "gpus": 8, "cpu": "64", "memory": "256Gi"},
    {"name": "sandbox", "team": "research", "group": "research@example.com", "podSecurity": "baseline"},
)


@pytest.fixture(scope="module")
def result():
    return harness.run_platform(harness.eks_shape([harness.pool("l4", "g6.xlarge")]), {"ingressNamespace": "ingress-nginx"}, TEAMS)


def test_namespaces_carry_pod_security_and_platform_labels(result):
    search = result.object("Namespace", "search")["metadata"]["labels"]
    assert search["pod-security.kubernetes.io/enforce"] == "restricted"
    assert search["pod-security.kubernetes.io/enforce-version"] == "v1.35"
    assert search["ml-clusters.io/serving"] == "true"
    assert search["ml-clusters.io/team"] == "search-ml"
    sandbox = result.object("Namespace", "sandbox")["metadata"]["labels"]
    assert sandbox["pod-security.kubernetes.io/enforce"] == "baseline"
    # Weaker enforcement still shows up: audit and warn stay at restricted.
    assert sandbox["pod-security.kubernetes.io/audit"] == "restricted"
    assert sandbox["pod-security.kubernetes.io/warn"] == "restricted"


def test_quota_covers_gpus_cpu_and_memory(result):
    hard = result.object("ResourceQuota", "compute", "search")["spec"]["hard"]
    assert hard == {"requests.nvidia.com/gpu": "8", "requests.cpu": "64", "requests.memory": "256Gi", "limits.memory": "256Gi"}
    defaults = result.object("ResourceQuota", "compute", "sandbox")["spec"]["hard"]
    assert defaults["requests.nvidia.com/gpu"] == "0"  # no GPUs unless granted
    assert defaults["requests.cpu"] == "16" and defaults["requests.memory"] == "64Gi"


def test_limit_range_gives_defaults(result):
    (limit,) = result.object("LimitRange", "defaults", "search")["spec"]["limits"]
    assert limit["type"] == "Container"
    assert limit["defaultRequest"] == {"cpu": "100m", "memory": "256Mi"}
    assert limit["default"] == {"memory": "1Gi"}  # the quota on limits.memory needs one
    assert "nvidia.com/gpu" not in limit["default"] and "nvidia.com/gpu" not in limit["defaultRequest"]


def policies(result, namespace: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o["spec"] for o in result.objects("NetworkPolicy") if o["metadata"]["namespace"] == namespace}


def test_default_deny_then_explicit_allows(result):
    specs = policies(result, "search")
    assert set(specs) == {"default-deny", "allow-dns", "allow-same-namespace", "allow-from-monitoring", "allow-from-ingress"}
    assert specs["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_dns_egress_only_to_kube_dns(result):
    (rule,) = policies(result, "search")["allow-dns"]["egress"]
    assert rule["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert rule["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]


def test_traffic_inside_the_namespace(result):
    spec = policies(result, "search")["allow-same-namespace"]
    assert spec["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert spec["egress"] == [{"to": [{"podSelector": {}}]}]


def test_ingress_from_monitoring_and_the_ingress_namespace(result):
    specs = policies(result, "search")
    assert specs["allow-from-monitoring"]["ingress"] == [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}]
    assert specs["allow-from-ingress"]["ingress"] == [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]}]
    assert specs["allow-from-ingress"]["policyTypes"] == ["Ingress"]


def test_team_identity(result):
    account = result.object("ServiceAccount", "workload", "search")
    assert account["automountServiceAccountToken"] is False
    binding = result.object("RoleBinding", "team-edit", "sandbox")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "research@example.com"}]


def test_priority_classes(result):
    serving = result.object("PriorityClass", "ml-serving-high")
    batch = result.object("PriorityClass", "ml-batch-low")
    assert serving["value"] > 0 > batch["value"] > -10  # -10: Cluster Autoscaler's expendable cutoff
    assert serving["preemptionPolicy"] == "PreemptLowerPriority"
    assert batch["preemptionPolicy"] == "Never"
    assert serving["globalDefault"] is False and batch["globalDefault"] is False


def test_namespaced_objects_wait_for_their_namespace(result):
    namespace = result.resource("Namespace", "search")
    for kind, name in (("ResourceQuota", "compute"), ("LimitRange", "defaults"), ("RoleBinding", "team-edit")):
        dependents = [r for r in result.plan.resources if r.type.endswith(f":{kind}") and r.inputs["metadata"]["name"] == name and r.inputs["metadata"]["namespace"] == "search"]
        assert result.depends_on(dependents[0], namespace), kind


def test_mig_mixed_pools_add_their_slices_to_the_quota():
    mixed = harness.pool("h100", "p5.48xlarge", sharing={"mig": {"strategy": "mixed", "profile": "1g.10gb"}})
    result = harness.run_platform(harness.eks_shape([mixed]), serving=TEAMS[:1])
    hard = result.object("ResourceQuota", "compute", "search")["spec"]["hard"]
    assert hard["requests.nvidia.com/gpu"] == "8"
    assert hard["requests.nvidia.com/mig-1g.10gb"] == "8"


def test_same_namespaces_on_gke():
    result = harness.run_platform(harness.gke_shape(), serving=TEAMS)
    assert result.object("ResourceQuota", "compute", "search")["spec"]["hard"]["requests.nvidia.com/gpu"] == "8"
    assert set(policies(result, "sandbox")) == {"default-deny", "allow-dns", "allow-same-namespace", "allow-from-monitoring", "allow-from-ingress"}

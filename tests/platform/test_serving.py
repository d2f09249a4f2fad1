"""Serving namespaces: PSA labels, quotas, limits, network policies, identity; priority classes."""

from __future__ import annotations

import pytest

from tests.platform import harness

TEAMS = harness.namespaces(
    {"name": "search", "team": "search-ml", "group": "search-ml-engineers", "gpus": 8, "cpu": "64", "memory": "256Gi"},
    {"name": "sandbox", "team": "research", "group": "research@example.com", "podSecurity": "baseline", "egress": "internet"},
    {"name": "offline", "team": "research", "group": "research@example.com", "egress": "none"},
)
BASE_POLICIES = {"default-deny", "allow-dns", "allow-same-namespace", "allow-from-monitoring", "allow-from-ingress"}


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
    # Requests only: a quota on limits.memory makes the quota admission reject every pod
    # without a memory limit (Kubernetes docs, "Resource Quotas": with a quota on a compute
    # resource, every new pod must specify it).
    assert hard == {"requests.nvidia.com/gpu": "8", "requests.cpu": "64", "requests.memory": "256Gi"}
    defaults = result.object("ResourceQuota", "compute", "sandbox")["spec"]["hard"]
    assert defaults["requests.nvidia.com/gpu"] == "0"  # no GPUs unless granted
    assert defaults["requests.cpu"] == "16" and defaults["requests.memory"] == "64Gi"


def limit_ranger(limit: dict, container: dict) -> tuple[dict, list[str]]:
    """What Kubernetes' LimitRanger admission does to a container (plugin/pkg/admission/
    limitranger: missing limits from `default`, missing requests from `defaultRequest`, or
    from the limit when that is unset), then the API's validation: a request above its limit
    is refused ("must be less than or equal to <resource> limit")."""
    requests = dict(container.get("requests", {}))
    limits = dict(container.get("limits", {}))
    for key, value in limit.get("default", {}).items():
        limits.setdefault(key, value)
    for key, value in limit.get("defaultRequest", {}).items():
        requests.setdefault(key, limits.get(key, value))
    gib = {"Mi": 1 / 1024, "Gi": 1}
    def size(q: str) -> float:
        return float(q[:-2]) * gib[q[-2:]]
    errors = [f"{k}: must be less than or equal to {k} limit" for k in requests if k in limits and k == "memory" and size(requests[k]) > size(limits[k])]
    return {"requests": requests, "limits": limits}, errors


def test_limit_range_defaults_requests_and_never_rejects_a_bigger_request(result):
    (limit,) = result.object("LimitRange", "defaults", "search")["spec"]["limits"]
    assert limit["type"] == "Container"
    assert limit["defaultRequest"] == {"cpu": "100m", "memory": "256Mi"}
    # No default limit: a default memory limit below a container's own request (e.g. 1Gi vs
    # a 2Gi request with no limit) would get the pod rejected at admission.
    assert "default" not in limit
    assert "nvidia.com/gpu" not in limit["defaultRequest"]
    _, errors = limit_ranger(limit, {"requests": {"memory": "8Gi"}})
    assert errors == []
    _, errors = limit_ranger({**limit, "default": {"memory": "1Gi"}}, {"requests": {"memory": "8Gi"}})
    assert errors == ["memory: must be less than or equal to memory limit"]  # what the old default did
    filled, _ = limit_ranger(limit, {})
    assert filled["requests"] == {"cpu": "100m", "memory": "256Mi"}


def policies(result, namespace: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o["spec"] for o in result.objects("NetworkPolicy") if o["metadata"]["namespace"] == namespace}


def test_default_deny_then_explicit_allows(result):
    specs = policies(result, "search")
    assert set(specs) == BASE_POLICIES | {"allow-egress-cloud-apis"}
    assert specs["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_cloud_apis_egress_reaches_the_identity_endpoint_and_object_storage(result):
    # EKS Pod Identity agent: 169.254.170.23:80 (the shape's identity_endpoint, as the EKS
    # backend states it); object storage: HTTPS to public addresses.
    (identity, storage) = policies(result, "search")["allow-egress-cloud-apis"]["egress"]
    assert identity == {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": [{"port": 80, "protocol": "TCP"}]}
    assert storage["ports"] == [{"port": 443, "protocol": "TCP"}]
    (block,) = storage["to"]
    assert block["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(block["ipBlock"]["except"])


def test_each_namespace_chooses_its_egress(result):
    assert set(policies(result, "sandbox")) == BASE_POLICIES | {"allow-egress-internet"}
    assert policies(result, "sandbox")["allow-egress-internet"]["egress"] == [{}]  # anywhere
    assert set(policies(result, "offline")) == BASE_POLICIES  # DNS and its own pods only


def test_gke_namespaces_reach_the_metadata_server():
    result = harness.run_platform(harness.gke_shape(), serving=TEAMS[:1])
    identity = policies(result, "search")["allow-egress-cloud-apis"]["egress"][0]
    assert identity == {"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}], "ports": [{"port": 80, "protocol": "TCP"}]}


def test_aks_namespaces_get_workload_identity_over_https_and_never_imds():
    # AKS workload identity exchanges the projected token at Microsoft Entra ID over HTTPS
    # (azure-identity WorkloadIdentityCredential), a public address; IMDS would hand a team
    # pod the node's kubelet identity, so no rule may open it.
    result = harness.run_platform(harness.aks_shape(), serving=TEAMS[:1])
    (https,) = policies(result, "search")["allow-egress-cloud-apis"]["egress"]
    assert https["ports"] == [{"port": 443, "protocol": "TCP"}]
    (block,) = https["to"]
    assert block["ipBlock"]["cidr"] == "0.0.0.0/0" and "169.254.0.0/16" in block["ipBlock"]["except"]


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
    binding = result.object("RoleBinding", "team", "sandbox")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ml-team"}
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "research@example.com"}]
    planned = next(r for r in result.plan.resources if r.type.endswith(":RoleBinding") and r.inputs["metadata"]["namespace"] == "sandbox")
    assert result.depends_on(planned, result.resource("ClusterRole", "ml-team"))


WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "*"}
AGGREGATE_LABEL = "ml-clusters.io/aggregate-to-team"


def aggregated_rules(result) -> list[dict]:
    """What the clusterrole-aggregation controller writes into `ml-team`: the rules of every
    ClusterRole its selector matches (kubernetes pkg/controller/clusterroleaggregation)."""
    (selector,) = result.object("ClusterRole", "ml-team")["aggregationRule"]["clusterRoleSelectors"]
    matched = [o for o in result.objects("ClusterRole")
               if selector["matchLabels"].items() <= o["metadata"].get("labels", {}).items()]
    return [rule for role in matched for rule in role.get("rules", [])]


def test_team_role_is_aggregated_and_leaves_its_rules_to_the_controller(result):
    role = result.object("ClusterRole", "ml-team")
    assert role["aggregationRule"] == {"clusterRoleSelectors": [{"matchLabels": {AGGREGATE_LABEL: "true"}}]}
    # Server-side apply claims whatever the program sends, even `rules: []`, and would clear
    # what the controller wrote; a field left out is not claimed.
    assert "rules" not in role
    core = result.object("ClusterRole", "ml-team-core")
    assert core["metadata"]["labels"][AGGREGATE_LABEL] == "true"
    # The core rules exist before `ml-team` turns into an aggregated role.
    assert result.depends_on(result.resource("ClusterRole", "ml-team"), result.resource("ClusterRole", "ml-team-core"))


def test_team_role_cannot_touch_the_namespaces_fences(result):
    # The built-in `edit` role can write NetworkPolicies (and the aggregated roles give it
    # more over time); the team's own role grants reads only on the fences.
    rules = aggregated_rules(result)
    assert rules
    for group, kind in (("", "resourcequotas"), ("", "limitranges"), ("networking.k8s.io", "networkpolicies")):
        for rule in rules:
            if (group in rule["apiGroups"] or "*" in rule["apiGroups"]) and (kind in rule["resources"] or "*" in rule["resources"]):
                assert not WRITE_VERBS & set(rule["verbs"]), (kind, rule)
    # ... and it can still run workloads.
    can = {(g, r) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] if "create" in rule["verbs"]}
    assert {("", "pods"), ("apps", "deployments"), ("batch", "jobs"), ("", "secrets"), ("", "services")} <= can


def test_priority_classes(result):
    serving = result.object("PriorityClass", "ml-serving-high")
    batch = result.object("PriorityClass", "ml-batch-low")
    assert serving["value"] > 0 > batch["value"] > -10  # -10: Cluster Autoscaler's expendable cutoff
    assert serving["preemptionPolicy"] == "PreemptLowerPriority"
    assert batch["preemptionPolicy"] == "Never"
    assert serving["globalDefault"] is False and batch["globalDefault"] is False


def test_namespaced_objects_wait_for_their_namespace(result):
    namespace = result.resource("Namespace", "search")
    for kind, name in (("ResourceQuota", "compute"), ("LimitRange", "defaults"), ("RoleBinding", "team")):
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
    assert set(policies(result, "sandbox")) == BASE_POLICIES | {"allow-egress-internet"}

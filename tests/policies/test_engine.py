"""The machinery around the rules: reading inputs, unknowns, exemptions, config files,
and the offline runner's output."""

from __future__ import annotations

import json

import jsonschema
import pytest

from policies import configfile, offline
from policies.configfile import PolicyConfigError
from policies.rules import BY_ID, ENVIRONMENTS, RULES
from policies.rules.base import UNKNOWN, UnknownValue, exemption_for, get, items, normalize, present, run_resource_rule, run_stack_rule

from . import cases as c
from .helpers import DELETE, UNKNOWN_STRING, patch, res

SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


# --- Reading inputs ----------------------------------------------------------------------------


def test_normalize_unwraps_secrets_marks_unknowns_and_whole_floats():
    raw = {"a": {**SECRET_SIG, "value": {"b": 2.0}}, "c": [UNKNOWN_STRING, 1.5], "d": "x"}
    assert normalize(raw) == {"a": {"b": 2}, "c": [UNKNOWN, 1.5], "d": "x"}


def test_get_and_items_read_paths_and_raise_on_unknown():
    props = {"a": {"b": [{"c": 1}], "u": UNKNOWN}, "one": {"k": 1}}
    assert get(props, "a.b.0.c") == 1
    assert get(props, "a.missing", "d") == "d"
    assert get(props, ["a", "b", 5]) is None
    assert items(props, "one") == [{"k": 1}]  # a lone object reads as a one-item list
    assert items(props, "nothing") == []
    with pytest.raises(UnknownValue) as err:
        get(props, "a.u.deeper")
    assert err.value.path == "a.u"
    assert present(props, "a.u") is True  # an unknown value will exist: present
    assert present(props, "a.missing") is False


def test_secret_inputs_are_checked_like_plain_ones():
    secret_cidrs = {**SECRET_SIG, "value": ["0.0.0.0/0"]}
    cluster = res(c.t.EKS_CLUSTER, patch(c.EKS_CLUSTER, {"vpcConfig.publicAccessCidrs": secret_cidrs}), protect=True)
    assert [v.policy for v in offline.evaluate([cluster], "prod")] == ["eks-public-endpoint-cidrs"]


@pytest.mark.parametrize(
    "rule_id, path",
    [
        ("eks-private-endpoint", "vpcConfig"),
        ("eks-launch-template-imdsv2", "metadataOptions.httpTokens"),
        ("gke-release-channel", "releaseChannel.channel"),
        ("aks-local-accounts-disabled", "disableLocalAccounts"),
        ("gpu-pool-tainted", "taints"),
        ("k8s-no-privileged-containers", "spec.template.spec.containers.0"),
    ],
)
def test_unknown_value_at_preview_is_not_applicable_offline(rule_id: str, path: str):
    case = next(x for x in c.CASES if x.rule == rule_id)
    bad = case.bad[0][0]
    unknown = res(bad.type, patch(bad.inputs, {path: UNKNOWN_STRING}))
    assert not [v for v in offline.evaluate([unknown], "prod") if v.policy == rule_id]
    rule = BY_ID[rule_id]
    view = offline._view(unknown)
    outcome = run_resource_rule(rule, view, rule.resolve_config({}))
    assert outcome.findings == () and "unknown" in outcome.not_applicable


def test_unknown_field_makes_only_the_rules_reading_it_inapplicable():
    # An unknown KMS key ARN does not stop the private-endpoint rule from flagging the cluster.
    cluster = res(c.t.EKS_CLUSTER, patch(c.EKS_CLUSTER, {"encryptionConfig.provider.keyArn": UNKNOWN_STRING, "vpcConfig.endpointPrivateAccess": False}), protect=True)
    assert [v.policy for v in offline.evaluate([cluster], "prod")] == ["eks-private-endpoint"]


def test_stack_rule_with_an_unknown_namespace_reference_is_not_applicable():
    resources = [res(c.t.K8S_NAMESPACE, c.SERVING_NAMESPACE, "team-a"), res(c.t.K8S_NETWORK_POLICY, patch(c.NETWORK_POLICY, {"metadata.namespace": UNKNOWN_STRING}), "np")]
    rule = BY_ID["k8s-serving-namespace-network-policy"]
    outcome = run_stack_rule(rule, [offline._view(r) for r in resources], rule.resolve_config({}))
    assert outcome.findings == () and "metadata.namespace" in outcome.not_applicable


# --- Exemptions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target, matches",
    [
        ("ml-prod", True),
        ("aws:eks/cluster:Cluster::ml-prod", True),
        ("mlclusters:index:MlCluster$aws:eks/cluster:Cluster::ml-prod", True),
        ("prod", False),  # not a boundary
        ("other", False),
    ],
)
def test_exemption_matching(target: str, matches: bool):
    urn = "urn:pulumi:prod::ml-clusters::mlclusters:index:MlCluster$aws:eks/cluster:Cluster::ml-prod"
    reason = exemption_for({"exemptions": [{"resource": target, "reason": "documented reason"}]}, urn, "ml-prod")
    assert (reason == "documented reason") is matches


def test_exempted_resource_produces_nothing_offline(write_config):
    bad = res(c.t.EKS_CLUSTER, patch(c.EKS_CLUSTER, {"vpcConfig.endpointPrivateAccess": False}), "ml-prod", protect=True)
    path = write_config({"eks-private-endpoint": {"exemptions": [{"resource": "ml-prod", "reason": "migration window, ticket OPS-1234"}]}})
    assert [v.policy for v in offline.evaluate([bad], "prod", path)] == []
    other = res(c.t.EKS_CLUSTER, patch(c.EKS_CLUSTER, {"vpcConfig.endpointPrivateAccess": False}), "ml-other", protect=True)
    assert [v.name for v in offline.evaluate([other], "prod", path)] == ["ml-other"]


def test_exemption_applies_to_stack_rule_findings(write_config):
    resources = [res(c.t.K8S_NAMESPACE, c.SERVING_NAMESPACE, "team-a"), res(c.t.K8S_RESOURCE_QUOTA, c.RESOURCE_QUOTA, "q")]
    assert [v.policy for v in offline.evaluate(resources, "prod")] == ["k8s-serving-namespace-network-policy"]
    path = write_config({"k8s-serving-namespace-network-policy": {"exemptions": [{"resource": "team-a", "reason": "policies come from the mesh"}]}})
    assert offline.evaluate(resources, "prod", path) == []


# --- Config files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_shipped_config_files_load_and_name_their_environment(env: str):
    config = configfile.load_for(env)
    for rule in RULES:
        if rule.environment_aware:
            assert config.properties.get(rule.id, {}).get("environment") == env, f"{env}.json must set {rule.id}.environment"
    assert all(level != "disabled" for level in config.levels.values()), "disable a rule per resource with an exemption instead"


def test_prod_is_at_least_as_strict_as_dev():
    rank = {"disabled": 0, "advisory": 1, "mandatory": 2, "remediate": 2}
    dev, prod = configfile.load_for("dev"), configfile.load_for("prod")
    for rule in RULES:
        assert rank[prod.settings(rule, "prod").level] >= rank[dev.settings(rule, "dev").level], rule.id
    assert prod.settings(BY_ID["gpu-max-gpus-per-stack"]).config["maxGpus"] > dev.settings(BY_ID["gpu-max-gpus-per-stack"]).config["maxGpus"]


@pytest.mark.parametrize(
    "data, fragment",
    [
        ({"eks-privat-endpoint": "advisory"}, "unknown policy (did you mean eks-private-endpoint?)"),
        ({"eks-private-endpoint": "strict"}, "enforcementLevel: \"strict\" is not allowed; allowed: advisory"),
        ({"gpu-max-gpus-per-stack": {"maxGpu": 8}}, "maxGpu: unknown property (did you mean maxGpus?)"),
        ({"gpu-max-gpus-per-stack": {"maxGpus": -1}}, "maxGpus: -1 is less than the minimum 0"),
        ({"gpu-spot-allowed": {"spotEnvironments": ["qa"]}}, 'spotEnvironments[0]: "qa" is not allowed'),
        ({"eks-private-endpoint": {"exemptions": [{"resource": "x", "reason": "short"}]}}, "reason: \"short\" is shorter than 10"),
        ({"eks-private-endpoint": {"exemptions": [{"resource": "x"}]}}, "exemptions[0].reason: required property is missing"),
        ({"all": "sometimes"}, "all: \"sometimes\" is not an enforcement level"),
        (["eks-private-endpoint"], "expected a JSON object"),
    ],
)
def test_bad_config_is_reported_one_line_per_problem(data, fragment: str):
    with pytest.raises(PolicyConfigError) as err:
        configfile.parse(data, "policy.json")
    assert any(fragment in line for line in err.value.problems), err.value.problems


def test_config_for_another_environment_is_refused(write_config):
    path = write_config(json.loads(configfile.config_path("dev").read_text()))
    with pytest.raises(PolicyConfigError, match="environment is 'dev' but the stack's environment is 'prod'"):
        offline.evaluate([], "prod", path)


def test_environment_is_filled_in_when_the_file_leaves_it_out(write_config):
    bucket = res(c.t.GCS_BUCKET, {"location": "US"}, "models")
    path = write_config({})
    # In prod, a lone bucket is unprotected and, without a storage audit config, unaudited.
    assert [v.policy for v in offline.evaluate([bucket], "prod", path)] == ["gcp-store-data-access-logs", "prod-protect-stateful-resources"]
    assert offline.evaluate([bucket], "dev", path) == []


def test_all_key_and_disabled_level(write_config):
    bad = res(c.t.EKS_CLUSTER, patch(c.EKS_CLUSTER, {"vpcConfig.endpointPrivateAccess": False, "enabledClusterLogTypes": ["api"]}), protect=True)
    path = write_config({"all": "advisory", "eks-control-plane-logging": "disabled"})
    assert [(v.policy, v.level) for v in offline.evaluate([bad], "prod", path)] == [("eks-private-endpoint", "advisory")]
    path = write_config({"all": {"enforcementLevel": "disabled"}})
    assert offline.evaluate([bad], "prod", path) == []


def test_remediate_level_reports_as_mandatory(write_config):
    bad = res(c.t.EKS_CLUSTER, patch(c.EKS_CLUSTER, {"vpcConfig.endpointPrivateAccess": False}), protect=True)
    path = write_config({"eks-private-endpoint": "remediate"})
    assert [v.level for v in offline.evaluate([bad], "prod", path)] == ["mandatory"]


def test_per_policy_config_changes_the_outcome(write_config):
    pool = [res(c.t.EKS_NODE_GROUP, c.EKS_GPU_NODE_GROUP, "h100")]  # 2 x 8 H100 = 16 GPUs
    assert offline.evaluate(pool, "prod", write_config({"gpu-max-gpus-per-stack": {"maxGpus": 16}})) == []
    [v] = offline.evaluate(pool, "prod", write_config({"gpu-max-gpus-per-stack": {"maxGpus": 8}}))
    assert v.policy == "gpu-max-gpus-per-stack" and v.type == "pulumi:pulumi:Stack" and v.name == "ml-clusters-test"
    narrow = write_config({"gpu-instance-type-allowlist": {"allowedInstanceTypes": ["g6.xlarge"]}})
    assert [v.policy for v in offline.evaluate(pool, "prod", narrow)] == ["gpu-instance-type-allowlist"]


def test_gpu_count_for_a_type_outside_the_catalog_comes_from_config(write_config):
    pool = [res(c.t.EKS_NODE_GROUP, patch(c.EKS_GPU_NODE_GROUP, {"instanceTypes": ["g7.48xlarge"], "scalingConfig.maxSize": 3}), "next")]
    path = write_config({"gpu-max-gpus-per-stack": {"maxGpus": 16, "gpusPerInstanceType": {"g7.48xlarge": 8}}, "gpu-instance-type-allowlist": "disabled"})
    [v] = offline.evaluate(pool, "prod", path)
    assert "can scale to 24 GPUs" in v.message


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_shipped_files_and_defaults_pass_jsonschema(env: str):
    """The CLI validates with a real JSON-schema implementation; so does this test."""
    data = json.loads(configfile.config_path(env).read_text())
    for key, value in data.items():
        if isinstance(value, dict):
            props = {k: v for k, v in value.items() if k != "enforcementLevel"}
            schema = {"type": "object", "properties": BY_ID[key].config_schema()}
            jsonschema.validate(props, schema)
            jsonschema.validate(BY_ID[key].defaults(), schema)


@pytest.mark.parametrize(
    "value",
    [{"maxGpus": 1.5}, {"maxGpus": "8"}, {"gpusPerInstanceType": {"x": 0}}, {"exemptions": [{"resource": "", "reason": "long enough reason"}]}],
)
def test_own_validator_rejects_what_jsonschema_rejects(value):
    schema = {"type": "object", "properties": BY_ID["gpu-max-gpus-per-stack"].config_schema()}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(value, schema)
    assert configfile.validate(value, schema, "x")


# --- Offline output ---------------------------------------------------------------------------------


def _mixed():
    return [
        res(c.t.EKS_CLUSTER, patch(c.EKS_CLUSTER, {"vpcConfig.endpointPrivateAccess": False}), "b-cluster", protect=True),
        res(c.t.AKS_AGENT_POOL, patch(c.AKS_GPU_POOL, {"osDiskType": "Managed"}), "a-pool"),
        res(c.t.K8S_DEPLOYMENT, c.workload(c.t.K8S_DEPLOYMENT, patch(c.POD_SPEC, {"containers.0.image": "x:latest"})), "a-deploy"),
    ]


def test_evaluate_is_sorted_deterministically_mandatory_first():
    forward = offline.evaluate(_mixed(), "prod")
    backward = offline.evaluate(list(reversed(_mixed())), "prod")
    assert forward == backward
    assert [(v.level, v.policy) for v in forward] == [
        ("mandatory", "eks-private-endpoint"),
        ("mandatory", "k8s-pinned-images"),
        ("advisory", "aks-ephemeral-os-disk"),
    ]


def test_violation_json_and_report():
    violations = offline.evaluate(_mixed(), "prod")
    assert set(violations[0].to_json()) == {"policy", "level", "urn", "type", "name", "message", "fix"}
    report = offline.report(violations, "prod")
    assert report["counts"] == {"mandatory": 2, "advisory": 1} and report["passed"] is False
    assert json.loads(json.dumps(report)) == report
    assert offline.exit_code(violations) == 1
    assert offline.exit_code([v for v in violations if v.level == "advisory"]) == 0


def test_text_output_groups_by_level_with_resource_and_fix():
    text = offline.format_text(offline.evaluate(_mixed(), "prod"))
    lines = text.splitlines()
    assert lines[0] == "MANDATORY (2)" and "ADVISORY (1)" in lines
    assert "  [eks-private-endpoint] medium  aws:eks/cluster:Cluster  b-cluster" in lines
    assert any(line.startswith("      fix: Set vpcConfig.endpointPrivateAccess true") for line in lines)
    assert lines[-1] == "Policy: FAILED, 2 mandatory and 1 advisory violation(s)."
    assert offline.format_text([]) == "Policy: passed, no violations."


def test_command_line_runner(tmp_path, capsys):
    rows = [{"urn": r.urn, "type": r.type, "name": r.name, "inputs": r.inputs, "protect": r.protect} for r in _mixed()]
    path = tmp_path / "resources.json"
    path.write_text(json.dumps({"resources": rows}))
    assert offline.main(["--environment", "prod", str(path)]) == 1
    assert "Policy: FAILED" in capsys.readouterr().out
    assert offline.main(["-e", "prod", "--json", str(path)]) == 1
    assert json.loads(capsys.readouterr().out)["counts"]["mandatory"] == 2
    bad_config = tmp_path / "bad.json"
    bad_config.write_text('{"no-such-policy": "advisory"}')
    assert offline.main(["-e", "prod", "--config", str(bad_config), str(path)]) == 2
    assert "unknown policy" in capsys.readouterr().err


def test_command_line_runner_reads_redacted_values_as_unknown(tmp_path, capsys):
    cluster = patch(c.EKS_CLUSTER, {"vpcConfig.publicAccessCidrs": "[secret]", "vpcConfig.endpointPrivateAccess": "[unknown]"})
    row = {"urn": "urn:pulumi:prod::ml-clusters::aws:eks/cluster:Cluster::ml-prod", "type": c.t.EKS_CLUSTER, "name": "ml-prod", "inputs": cluster, "protect": True}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"resources": [row]}))
    assert offline.main(["-e", "prod", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "Policy: passed, no violations."


def test_component_and_provider_resources_are_ignored():
    component = res("mlclusters:index:MlCluster", {}, "ml-prod")
    provider = res("pulumi:providers:aws", {"region": "us-east-1"}, "aws")
    assert offline.evaluate([component, provider], "prod") == []


def test_patch_helper_deletes_keys():
    assert patch({"a": {"b": 1, "c": 2}}, {"a.b": DELETE}) == {"a": {"c": 2}}

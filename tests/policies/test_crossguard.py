"""The pack under pulumi-policy's own analyzer code path, in-process.

`_PolicyAnalyzerServicer` is the object `PolicyPack` serves over gRPC: the CLI calls its
GetAnalyzerInfo, Configure, Analyze and AnalyzeStack. Here the tests call them directly
with protobuf requests (no server), configured the way the CLI reconciles a
`--policy-pack-config` file: schema defaults, then the file, validated against the schema.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel, ResourceValidationArgs
from pulumi_policy.policy import PolicyCustomTimeouts, PolicyResourceOptions, _NotApplicableError, _PolicyAnalyzerServicer
from pulumi_policy.proxy import unknown_checking_proxy

from policies import configfile, crossguard, offline
from policies.rules import BY_ID, RULES

from . import cases as c
from .helpers import UNKNOWN_STRING, FakeResource, patch, res

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
LEVEL_TO_PROTO = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY, "remediate": proto.REMEDIATE, "disabled": proto.DISABLED}
PROTO_TO_LEVEL = {v: k for k, v in LEVEL_TO_PROTO.items()}
ALL_POLICIES = crossguard.build_policies()


def _struct(data: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(data)
    return s


def servicer() -> _PolicyAnalyzerServicer:
    return _PolicyAnalyzerServicer(crossguard.PACK_NAME, "1.0.0", ALL_POLICIES, EnforcementLevel.ADVISORY)


def configure_like_cli(svc: _PolicyAnalyzerServicer, file_data: dict[str, Any]) -> None:
    """What `pulumi preview --policy-pack-config` does before analysis: start from each
    policy's default level and schema defaults, apply "all" and the file, validate every
    policy's config against its schema, then send Configure."""
    info = svc.GetAnalyzerInfo(None, None)
    reconciled: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {}
    for p in info.policies:
        schema = json_format.MessageToDict(p.configSchema.properties)
        defaults = {k: v["default"] for k, v in schema.items() if "default" in v}
        reconciled[p.name] = (PROTO_TO_LEVEL[p.enforcementLevel], defaults, schema)
    if isinstance(file_data.get("all"), str):
        reconciled = {k: (file_data["all"], props, schema) for k, (_, props, schema) in reconciled.items()}
    for name, given in file_data.items():
        if name == "all" or name not in reconciled:
            continue
        level, props, schema = reconciled[name]
        given = {"enforcementLevel": given} if isinstance(given, str) else dict(given)
        level = given.pop("enforcementLevel", level)
        reconciled[name] = (level, {**props, **given}, schema)
    request = proto.ConfigureAnalyzerRequest()
    for name, (level, props, schema) in reconciled.items():
        jsonschema.validate(props, {"type": "object", "properties": schema})
        request.policyConfig[name].CopyFrom(proto.PolicyConfig(enforcementLevel=LEVEL_TO_PROTO[level], properties=_struct(props)))
    svc.Configure(request, None)


def configured(env_or_data: str | dict[str, Any]) -> _PolicyAnalyzerServicer:
    """A servicer configured from policies/config/<env>.json (cached: Analyze does not
    change it) or from a config dict."""
    if isinstance(env_or_data, str):
        return _configured_env(env_or_data)
    svc = servicer()
    configure_like_cli(svc, env_or_data)
    return svc


@functools.lru_cache(maxsize=None)
def _configured_env(env: str) -> _PolicyAnalyzerServicer:
    svc = servicer()
    configure_like_cli(svc, json.loads(configfile.config_path(env).read_text()))
    return svc


def analyze(svc: _PolicyAnalyzerServicer, r: FakeResource):
    request = proto.AnalyzeRequest(
        type=r.type, urn=r.urn, name=r.name, properties=_struct(r.inputs), options=proto.AnalyzerResourceOptions(protect=r.protect)
    )
    return svc.Analyze(request, None)


def analyze_stack(svc: _PolicyAnalyzerServicer, resources: Iterable[FakeResource]):
    request = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(type=r.type, urn=r.urn, name=r.name, properties=_struct(r.inputs), options=proto.AnalyzerResourceOptions(protect=r.protect))
            for r in resources
        ]
    )
    return svc.AnalyzeStack(request, None)


def diagnostics(svc: _PolicyAnalyzerServicer, resources: list[FakeResource]) -> set[tuple[str, str, str]]:
    """(policy, urn, level) of every violation, as the CLI would attribute them."""
    out = set()
    for r in resources:
        for d in analyze(svc, r).diagnostics:
            out.add((d.policyName, d.urn or r.urn, PROTO_TO_LEVEL[d.enforcementLevel]))
    for d in analyze_stack(svc, resources).diagnostics:
        out.add((d.policyName, d.urn, PROTO_TO_LEVEL[d.enforcementLevel]))
    return out


# --- Pack metadata ---------------------------------------------------------------------------


def test_analyzer_info_lists_every_rule_with_its_metadata():
    info = servicer().GetAnalyzerInfo(None, None)
    assert info.name == "ml-clusters" and info.supportsConfig
    assert [p.name for p in info.policies] == [r.id for r in RULES]
    for p in info.policies:
        rule = BY_ID[p.name]
        assert p.description == rule.description and p.displayName == rule.title
        assert PROTO_TO_LEVEL[p.enforcementLevel] == rule.level
        assert proto.PolicySeverity.Name(p.severity) == f"POLICY_SEVERITY_{rule.severity.upper()}"
        assert p.policy_type == (proto.PolicyType.POLICY_TYPE_STACK if rule.kind == "stack" else proto.PolicyType.POLICY_TYPE_RESOURCE)
        schema = json_format.MessageToDict(p.configSchema.properties)
        assert "exemptions" in schema and ("environment" in schema) == rule.environment_aware
        assert p.remediation_steps == rule.fix


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_shipped_config_files_pass_the_clis_schema_validation(env: str):
    configured(env)  # raises jsonschema.ValidationError if a file broke a schema


# --- Enforcement levels and config -------------------------------------------------------------

PRIVATE_OFF = res(c.t.EKS_CLUSTER, patch(c.EKS_CLUSTER, {"vpcConfig.endpointPrivateAccess": False}), "ml-prod", protect=True)


def test_mandatory_violation_is_reported_as_mandatory():
    [d] = analyze(configured("prod"), PRIVATE_OFF).diagnostics
    assert (d.policyName, d.policyPackName, d.enforcementLevel) == ("eks-private-endpoint", "ml-clusters", proto.MANDATORY)
    assert d.message.startswith(BY_ID["eks-private-endpoint"].description)
    assert "endpointPrivateAccess is false" in d.message and "\nFix: Set vpcConfig.endpointPrivateAccess true" in d.message
    assert d.severity == proto.POLICY_SEVERITY_MEDIUM


def test_dev_config_reports_the_same_violation_as_advisory():
    [d] = analyze(configured("dev"), PRIVATE_OFF).diagnostics
    assert (d.policyName, d.enforcementLevel) == ("eks-private-endpoint", proto.ADVISORY)


def test_disabled_policy_reports_nothing():
    svc = configured({"eks-private-endpoint": "disabled"})
    assert list(analyze(svc, PRIVATE_OFF).diagnostics) == []
    everything_off = configured({"all": "disabled"})
    bad_pool = res(c.t.EKS_NODE_GROUP, patch(c.EKS_GPU_NODE_GROUP, {"taints": [], "scalingConfig.maxSize": 100}), "h100")
    assert diagnostics(everything_off, [bad_pool, PRIVATE_OFF]) == set()


def test_config_value_changes_the_outcome():
    pool = [res(c.t.EKS_NODE_GROUP, c.EKS_GPU_NODE_GROUP, "h100")]  # up to 2 x 8 GPUs
    assert list(analyze_stack(configured({"gpu-max-gpus-per-stack": {"maxGpus": 16}}), pool).diagnostics) == []
    [d] = analyze_stack(configured({"gpu-max-gpus-per-stack": {"maxGpus": 8}}), pool).diagnostics
    assert d.policyName == "gpu-max-gpus-per-stack" and d.urn == "" and "can scale to 16 GPUs" in d.message
    [d] = analyze(configured({"gpu-instance-type-allowlist": {"allowedInstanceTypes": ["g6.xlarge"]}}), pool[0]).diagnostics
    assert d.policyName == "gpu-instance-type-allowlist" and "p5.48xlarge" in d.message


def test_integer_config_arrives_as_float_and_still_works():
    # Struct carries every number as a double; the rules resolve 1.0 like 1.
    svc = configured({"eks-launch-template-imdsv2": {"maxHopLimit": 2}})
    lt = res(c.t.LAUNCH_TEMPLATE, patch(c.LAUNCH_TEMPLATE, {"metadataOptions.httpPutResponseHopLimit": 2}), "lt")
    assert list(analyze(svc, lt).diagnostics) == []
    assert [d.policyName for d in analyze(configured("prod"), lt).diagnostics] == ["eks-launch-template-imdsv2"]


def test_exemption_under_the_cli_is_not_applicable_with_its_reason():
    svc = configured({"eks-private-endpoint": {"exemptions": [{"resource": "aws:eks/cluster:Cluster::ml-prod", "reason": "VPC endpoint rollout, ticket OPS-1234"}]}})
    response = analyze(svc, PRIVATE_OFF)
    assert list(response.diagnostics) == []
    [na] = [n for n in response.not_applicable if n.policy_name == "eks-private-endpoint"]
    assert "VPC endpoint rollout" in na.reason


def test_stack_rule_reports_the_offending_resource_urn():
    ns = res(c.t.K8S_NAMESPACE, c.SERVING_NAMESPACE, "team-a")
    quota = res(c.t.K8S_RESOURCE_QUOTA, c.RESOURCE_QUOTA, "quota")
    [d] = analyze_stack(configured("prod"), [ns, quota]).diagnostics
    assert (d.policyName, d.urn) == ("k8s-serving-namespace-network-policy", ns.urn)


def test_environment_gated_rule_is_not_applicable_outside_its_environment():
    bucket = res(c.t.GCS_BUCKET, {"location": "US"}, "models")
    response = analyze(configured("dev"), bucket)
    assert list(response.diagnostics) == []
    assert any(n.policy_name == "prod-protect-stateful-resources" and "applies only in prod" in n.reason for n in response.not_applicable)
    assert [d.policyName for d in analyze(configured("prod"), bucket).diagnostics] == ["prod-protect-stateful-resources"]


# --- Unknown values at preview --------------------------------------------------------------------


def _all_unknown(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: UNKNOWN_STRING for k in inputs}


# Rules that never need an unknown value: the protect option is always known, and an
# unknown launch template id still means a launch template is set.
NEVER_UNKNOWN = {"prod-protect-stateful-resources", "eks-node-group-launch-template"}


@pytest.mark.parametrize("rule", [r for r in RULES if r.kind == "resource"], ids=lambda r: r.id)
def test_unknown_values_make_resource_rules_not_applicable_not_crash(rule):
    """Every input the rule's scenarios set is unknown (a resource planned on outputs of
    resources not created yet): the rule neither fails nor crashes; it is not applicable."""
    case = next(x for x in c.CASES if x.rule == rule.id)
    svc = configured(case.env)
    keys: dict[str, set[str]] = {}
    for r in (r for scenario in case.bad + case.good for r in scenario):
        keys.setdefault(r.type, set()).update(r.inputs)
    not_applicable = []
    for type_, names in sorted(keys.items()):
        unknown = res(type_, {k: UNKNOWN_STRING for k in sorted(names)}, "planned", protect=True)
        response = analyze(svc, unknown)
        assert not [d for d in response.diagnostics if d.policyName == rule.id], d_text(response)
        assert not [d for d in response.diagnostics if "can't run policy" in d.message], d_text(response)
        not_applicable += [n.reason for n in response.not_applicable if n.policy_name == rule.id]
    if rule.id not in NEVER_UNKNOWN:
        assert any("is unknown until the resource exists" in reason for reason in not_applicable), not_applicable


@pytest.mark.parametrize("rule", [r for r in RULES if r.kind == "stack"], ids=lambda r: r.id)
def test_unknown_values_make_stack_rules_not_applicable_not_crash(rule):
    svc = configured("prod")
    case = next(x for x in c.CASES if x.rule == rule.id)
    for scenario in case.bad + case.good:
        unknown = [FakeResource(urn=r.urn, type=r.type, name=r.name, inputs=_all_unknown(r.inputs)) for r in scenario]
        response = analyze_stack(svc, unknown)
        assert not [d for d in response.diagnostics if d.policyName == rule.id or "can't run policy" in d.message]


def d_text(response) -> str:
    return "; ".join(f"{d.policyName}: {d.message}" for d in response.diagnostics)


def test_validate_through_the_props_proxy_directly():
    """ResourceValidationArgs built by hand, props behind pulumi-policy's unknown-checking proxy."""
    policy = next(p for p in ALL_POLICIES if p.name == "eks-authentication-mode")
    opts = PolicyResourceOptions(True, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])

    def run(props):
        reported = []
        args = ResourceValidationArgs(c.t.EKS_CLUSTER, unknown_checking_proxy(props), "urn:x", "ml-prod", opts, None, {})
        policy.validate(args, lambda message, urn=None: reported.append(message))
        return reported

    assert run(patch(c.EKS_CLUSTER, {"accessConfig.authenticationMode": "CONFIG_MAP"}))
    assert run(c.EKS_CLUSTER) == []
    with pytest.raises(_NotApplicableError) as err:
        run(patch(c.EKS_CLUSTER, {"accessConfig.authenticationMode": UNKNOWN_STRING}))
    assert "accessConfig.authenticationMode is unknown" in err.value.reason


# --- The same rules offline and under the analyzer --------------------------------------------------

SCENARIOS = [pytest.param(case, kind, i, id=f"{case.rule}[{kind}{i}]") for case in c.CASES for kind in ("bad", "good") for i in range(len(getattr(case, kind)))]


@pytest.mark.parametrize("case, kind, index", SCENARIOS)
def test_analyzer_and_offline_runner_agree(case, kind, index):
    scenario = getattr(case, kind)[index]
    expected = {(v.policy, v.urn, v.level) for v in offline.evaluate(scenario, case.env)}
    stack_urn, _ = offline._stack_identity([offline._view(r) for r in scenario])
    got = {(p, urn or stack_urn, level) for p, urn, level in diagnostics(configured(case.env), scenario)}
    assert got == expected


# --- The pack as the CLI loads it -----------------------------------------------------------------


def test_pack_entry_point_imports_with_only_policies_on_sys_path():
    """The CLI's `python -m pulumi.policy <engine> .` runs the pack directory with
    runpy.run_path from inside policies/, so policies/ itself is the import root. Do the
    same in a child process, with PolicyPack replaced so no server starts."""
    script = (
        "import json, runpy, sys\n"
        "import pulumi_policy\n"
        "seen = {}\n"
        "class FakePack:\n"
        "    def __init__(self, **kwargs): seen.update(kwargs)\n"
        "pulumi_policy.PolicyPack = FakePack\n"
        "runpy.run_path('.', run_name='__main__')\n"
        "print(json.dumps({'name': seen['name'], 'policies': [p.name for p in seen['policies']],\n"
        "                  'repo_package_loaded': 'policies' in sys.modules}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", script], cwd=POLICIES_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"name": "ml-clusters", "policies": [r.id for r in RULES], "repo_package_loaded": False}

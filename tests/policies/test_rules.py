"""Every rule: its violating scenarios are flagged and its compliant ones are not.

Scenarios run through `policies.offline.evaluate` with the environment's own config file,
the same path the offline preview takes; the rule functions are also called directly.
"""

from __future__ import annotations

import pytest

from policies import offline
from policies.rules import BY_ID, RULES
from policies.rules.base import Context, Resource, normalize

from .cases import CASES, Case

BY_RULE = {c.rule: c for c in CASES}


BAD = [pytest.param(c, i, id=f"{c.rule}[bad{i}]") for c in CASES for i in range(len(c.bad))]
GOOD = [pytest.param(c, i, id=f"{c.rule}[good{i}]") for c in CASES for i in range(len(c.good))]


def test_every_rule_has_a_violating_and_a_compliant_case():
    assert len(CASES) == len(BY_RULE), "one Case per rule"
    assert set(BY_RULE) == set(BY_ID)
    assert all(c.bad and c.good for c in CASES)
    assert all(len(c.expect) in (0, len(c.bad)) for c in CASES), [c.rule for c in CASES if len(c.expect) not in (0, len(c.bad))]


def test_every_rule_has_complete_metadata():
    for rule in RULES:
        assert rule.severity in ("low", "medium", "high", "critical")
        assert rule.level in ("advisory", "mandatory")
        assert len(rule.description) > 40 and len(rule.fix) > 30, rule.id
        assert rule.fix.rstrip().endswith((".", ")")), rule.id


@pytest.mark.parametrize("case, index", BAD)
def test_violating_scenario_is_flagged(case: Case, index: int):
    violations = [v for v in offline.evaluate(case.bad[index], case.env) if v.policy == case.rule]
    assert violations, f"{case.rule} did not flag bad scenario {index}"
    for v in violations:
        assert v.message and v.fix and "\n" not in v.fix
        assert v.level in ("mandatory", "advisory")
    if case.expect:
        text = " | ".join(v.message for v in violations)
        assert case.expect[index] in text


@pytest.mark.parametrize("case, index", GOOD)
def test_compliant_scenario_passes(case: Case, index: int):
    violations = [v for v in offline.evaluate(case.good[index], case.env) if v.policy == case.rule]
    assert violations == []


@pytest.mark.parametrize("case", [c for c in CASES if BY_ID[c.rule].kind == "resource"], ids=lambda c: c.rule)
def test_rule_function_called_directly(case: Case):
    """The decorated functions stay plain functions: call one with a Resource and a Context."""
    rule = BY_ID[case.rule]
    r = case.bad[0][0]
    view = Resource(urn=r.urn, type=r.type, name=r.name, props=normalize(r.inputs), protect=r.protect)
    config = rule.resolve_config({"environment": case.env} if rule.environment_aware else {})
    found = list(rule.check(view, Context(config)))
    assert found, case.rule


def test_scale_to_zero_does_not_apply_in_prod():
    case = BY_RULE["gpu-pool-scale-to-zero"]
    assert not [v for v in offline.evaluate(case.bad[0], "prod") if v.policy == "gpu-pool-scale-to-zero"]


def test_spot_gpu_pools_are_allowed_in_dev():
    case = BY_RULE["gpu-spot-allowed"]
    for scenario in case.bad:
        assert not [v for v in offline.evaluate(scenario, "dev") if v.policy == "gpu-spot-allowed"]


def test_karpenter_gpu_disruption_rule_applies_only_in_prod():
    case = BY_RULE["gpu-nodepool-keeps-running-jobs"]
    for env in ("dev", "staging"):
        for scenario in case.bad:
            assert not [v for v in offline.evaluate(scenario, env) if v.policy == case.rule]


def test_gke_secrets_encryption_and_protection_apply_only_in_prod():
    for rule_id in ("gke-secrets-encryption", "prod-protect-stateful-resources", "prod-cloud-deletion-protection"):
        case = BY_RULE[rule_id]
        for env in ("dev", "staging"):
            assert not [v for v in offline.evaluate(case.bad[0], env) if v.policy == rule_id], (rule_id, env)


def test_dev_downgrades_network_exposure_to_advisory():
    case = BY_RULE["eks-public-endpoint-cidrs"]
    [dev] = [v for v in offline.evaluate(case.bad[0], "dev") if v.policy == case.rule]
    [prod] = [v for v in offline.evaluate(case.bad[0], "prod") if v.policy == case.rule]
    assert (dev.level, prod.level) == ("advisory", "mandatory")


def test_gpu_pool_fix_text_names_the_cloud_specific_field():
    case = BY_RULE["gpu-pool-tainted"]
    fixes = [next(v.fix for v in offline.evaluate(s, "prod") if v.policy == case.rule) for s in case.bad[:2]]
    assert "NO_SCHEDULE" in fixes[0] and "nodeTaints" in fixes[1]


# --- Survivors of a mutation run: each a way the pack could stop protecting a user ---------


def test_eks_public_endpoint_left_unset_is_public():
    # EKS API: vpcConfig.endpointPublicAccess defaults to true and an unset publicAccessCidrs
    # means 0.0.0.0/0 (pulumi_aws eks ClusterVpcConfig docstrings; AWS EKS "Cluster API
    # server endpoint"). A cluster that sets neither is open to the internet.
    from .cases import EKS_CLUSTER
    from .helpers import DELETE, patch, res

    unset = res(BY_ID["eks-public-endpoint-cidrs"].types[0],
                patch(EKS_CLUSTER, {"vpcConfig.endpointPublicAccess": DELETE, "vpcConfig.publicAccessCidrs": DELETE}), protect=True)
    [found] = [v for v in offline.evaluate([unset], "prod") if v.policy == "eks-public-endpoint-cidrs"]
    assert found.level == "mandatory" and "0.0.0.0/0" in found.message


def test_host_path_allow_list_matches_whole_path_segments():
    # /var/lib/kubelet/device-plugins is allowed (NVIDIA's static manifest mounts it); a
    # sibling that merely starts with the same letters is another directory of the host.
    from .cases import DEVICE_PLUGIN_SPEC, workload
    from .helpers import patch, res

    kind = BY_ID["k8s-host-path-allowlist"].types[0]
    look_alike = res(kind, workload(kind, patch(DEVICE_PLUGIN_SPEC, {"volumes.0.hostPath.path": "/var/lib/kubelet/device-plugins-x"})))
    found = [v for v in offline.evaluate([look_alike], "prod") if v.policy == "k8s-host-path-allowlist"]
    assert found and "/var/lib/kubelet/device-plugins-x" in found[0].message

"""Every stack in stacks/ passes the pack: no mandatory violation anywhere, and prod
stacks have no advisory one either (or carry a documented exemption in prod.json)."""

from __future__ import annotations

import pytest

from components.platform.common import TEAM_AGGREGATE_LABEL
from policies import offline
from policies.rules import kubernetes, types
from preview import engine

STACKS = engine.available_stacks()


@pytest.mark.parametrize("stack", STACKS)
def test_stack_passes_the_policy_pack(stack: str):
    values, secret_keys = engine.read_stack_config(stack)
    environment = values.get(f"{engine.PROJECT}:environment", "dev")
    plan = engine.run_program(stack, values, secret_keys)
    violations = offline.evaluate(plan.resources, environment)
    blocking = [v for v in violations if v.level == "mandatory" or environment == "prod"]
    assert blocking == [], f"{stack} ({environment}):\n{offline.format_text(violations)}"


def test_there_are_stacks_to_check():
    assert STACKS, "stacks/ holds no Pulumi.<stack>.yaml"


def test_a_prod_stack_whose_alerts_reach_nobody_fails():
    # The prod stacks route alerts to PagerDuty and Slack; without their secret receivers
    # Alertmanager keeps kube-prometheus-stack's default route to `null`, and the pack fails.
    values, secret_keys = engine.read_stack_config("prod-aws")
    for key in ("alertPagerdutyRoutingKey", "alertSlackWebhookUrl"):
        values.pop(f"{engine.PROJECT}:{key}")
        secret_keys.remove(f"{engine.PROJECT}:{key}")
    values[f"{engine.PROJECT}:platform"] = values[f"{engine.PROJECT}:platform"].replace(
        '"alerts": {"critical": ["pagerduty", "slack"], "slackChannel": "#ml-platform-alerts", "warning": ["slack"]}, ', "")
    assert "alerts" not in values[f"{engine.PROJECT}:platform"]
    plan = engine.run_program("prod-aws", values, secret_keys)
    violations = offline.evaluate(plan.resources, "prod")
    assert [(v.policy, v.level) for v in violations] == [("k8s-alerts-reach-people", "mandatory")]


def test_the_team_role_rule_reads_the_rendered_roles():
    # The pack keeps its own copy of the aggregation label (it runs without the program).
    assert kubernetes.TEAM_AGGREGATE_LABEL == TEAM_AGGREGATE_LABEL
    values, secret_keys = engine.read_stack_config("prod-aws")
    plan = engine.run_program("prod-aws", values, secret_keys)
    aggregated = [r for r in plan.resources if r.type == types.K8S_CLUSTER_ROLE
                  and (r.inputs.get("metadata", {}).get("labels") or {}).get(TEAM_AGGREGATE_LABEL) == "true"]
    assert {r.inputs["metadata"]["name"] for r in aggregated} >= {"ml-team-core"}
    assert not [v for v in offline.evaluate(plan.resources, "prod") if v.policy == "k8s-team-roles-keep-fences"]
    # One write on NetworkPolicies slipped into a rendered labelled role fails the stack.
    core = next(r for r in aggregated if r.inputs["metadata"]["name"] == "ml-team-core")
    core.inputs = {**core.inputs, "rules": [*core.inputs["rules"],
                                            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["delete"]}]}
    violations = [v for v in offline.evaluate(plan.resources, "prod") if v.policy == "k8s-team-roles-keep-fences"]
    assert [v.level for v in violations] == ["mandatory"]

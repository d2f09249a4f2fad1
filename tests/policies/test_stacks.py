"""Every stack in stacks/ passes the pack: no mandatory violation anywhere, and prod
stacks have no advisory one either (or carry a documented exemption in prod.json)."""

from __future__ import annotations

import pytest

from policies import offline
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

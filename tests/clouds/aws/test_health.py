"""Node auto-repair on EKS (components/clouds/aws/health.py), on prod-aws's cached plan.

Upstream facts: aws/eks-node-monitoring-agent v1.7.0 (docs/node-health-issues.adoc: NVIDIA
XIDs set AcceleratedHardwareReady and node auto repair acts 10 minutes later;
charts/eks-node-monitoring-agent/values.yaml: the agent tolerates every taint, its DCGM
DaemonSet none; charts/configuration.schema.json: `dcgmAgent.tolerations` is a configuration
value); pulumi-aws 7.51.1 eks.NodeGroup `node_repair_config` ("disabled by default");
terraform-provider-aws internal/service/eks/node_group.go resourceNodeGroupUpdate sends
node_repair_config with UpdateNodegroupConfig (in place).
"""

from __future__ import annotations

import copy
import json

from components import catalog
from components.clouds.aws import health
from components.conventions import GPU_TAINT
from tests.conftest import inputs, plan_for_stack
from tests.workflows.day2 import classify
from tests.workflows.test_day2_aws import FACTS

NG = "aws:eks/nodeGroup:NodeGroup"
ADDON = "aws:eks/addon:Addon"


def agent(plan):
    (addon,) = [r for r in plan.by_type(ADDON) if r.inputs["addonName"] == health.NODE_MONITORING_AGENT]
    return addon


def test_every_node_group_repairs_its_nodes():
    plan = plan_for_stack("prod-aws")
    groups = plan.by_type(NG)
    # h100 is on Karpenter (capacity chain), so it has no node group here.
    assert {g.name.rsplit("-", 1)[-1] for g in groups} >= {"system", "cpu", "l4infer"}
    for group in groups:
        assert inputs(group)["nodeRepairConfig"] == {"enabled": True}, group.name
    # A GPU pool on a node group repairs too: prod-aws-dr keeps h100 on one.
    dr = [g for g in plan_for_stack("prod-aws-dr").by_type(NG) if g.name.endswith("-h100")]
    assert len(dr) == 1 and inputs(dr[0])["nodeRepairConfig"] == {"enabled": True}


def test_karpenter_pools_repair_through_karpenters_node_repair_gate():
    """Karpenter's nodes are no node group's: Karpenter replaces them itself once its NodeRepair
    gate is on (aws/karpenter-provider-aws v1.14.1: charts/karpenter/values.yaml
    settings.featureGates.nodeRepair, alpha, false by default; website/content/en/v1.14/concepts/
    disruption.md "Node Auto Repair": AcceleratedHardwareReady=False for 10 minutes, Ready
    False/Unknown for 30), reading the conditions the node monitoring agent sets."""
    plan = plan_for_stack("prod-aws")
    assert plan.by_type("kubernetes:karpenter.sh/v1:NodePool")
    (release,) = [r for r in plan.by_type("kubernetes:helm.sh/v3:Release") if inputs(r)["name"] == "karpenter"]
    assert inputs(release)["values"]["settings"]["featureGates"]["nodeRepair"] is health.KARPENTER_NODE_REPAIR is True
    # The conditions it acts on come from the agent, which runs on every node, Karpenter's too.
    assert agent(plan)


def test_node_monitoring_agent_is_pinned_tolerates_gpu_nodes_and_waits_for_the_system_pool():
    plan = plan_for_stack("prod-aws")
    addon = agent(plan)
    args = inputs(addon)
    assert args["addonVersion"] == catalog.EKS_ADDONS[health.NODE_MONITORING_AGENT] == "v1.7.0-eksbuild.1"
    config = json.loads(args["configurationValues"])
    assert config == {"dcgmAgent": {"tolerations": [{"key": GPU_TAINT.key, "operator": "Exists", "effect": GPU_TAINT.effect}]}}
    # A DaemonSet add-on: it needs a node to become healthy, so it waits for the system pool.
    (system,) = [g for g in plan.by_type(NG) if g.name.endswith("-system")]
    assert system.urn in addon.dependencies


def test_turning_repair_on_updates_existing_groups_in_place():
    """The previous program (no repair config, no agent) against this one, through the day-2
    classifier: the groups update in place (UpdateNodegroupConfig), the agent is created,
    nothing is replaced."""
    after = plan_for_stack("prod-aws")
    before = copy.deepcopy(after)
    before.resources = [r for r in before.resources if not (r.type == ADDON and r.inputs["addonName"] == health.NODE_MONITORING_AGENT)]
    for r in before.resources:
        if r.type == NG:
            r.inputs.pop("nodeRepairConfig")
    outcomes = classify(before, after, FACTS)
    assert {o.action for o in outcomes.values() if o.type == NG} == {"update"}
    assert all(o.paths == ("nodeRepairConfig.enabled",) for o in outcomes.values() if o.type == NG)
    assert [o.action for o in outcomes.values() if o.type == ADDON] == ["create"]
    assert not [o for o in outcomes.values() if o.action in ("replace", "delete")]

"""D4 and Q2: a pool's live size survives a day-2 `pulumi up` that edits minNodes/maxNodes or
bumps the Kubernetes version.

The mechanism is the engine's own: the program sends desiredSize (EKS) / count (AKS) only at
creation and lists it in ignore_changes; the engine fills an ignored path from the inputs
recorded in state (pulumi/pulumi pkg/resource/deploy/step_generator.go, processIgnoreChanges,
v3.259.0 snapshot; pulumi 3.272.0 is installed), and Pulumi.yaml's `options.refresh: always`
(pkg/cmd/pulumi/operations/io.go getRefreshOption) makes every up/preview/destroy refresh
first, so the recorded inputs are the live size the autoscaler set (pulumi-terraform-bridge
v3.136.0 pkg/tfbridge/schema.go ExtractInputsFromOutputs isRefresh; pulumi-azure-native v3
provider/pkg/provider/provider.go Read). Without the refresh the engine sends the creation
size: EKS (terraform-provider-aws internal/service/eks/node_group.go resourceNodeGroupUpdate
sends the whole scaling_config when min or max changes) sets desired back and terminates
nodes; AKS rescales or refuses (azurerm PR #4256, Azure/AKS#1627).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import inputs, plan_for
from tests.workflows.engine_facts import inputs_sent, refresh

ROOT = Path(__file__).resolve().parents[2]

EKS = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True}}
EKS_POOL = {"name": "l4", "instanceType": "g6.xlarge", "minNodes": 1, "maxNodes": 4, "diskGb": 150}
AKS = {"cloud": "azure", "region": "eastus", "network": {"apiAllowedCidrs": ["203.0.113.0/24"]}}
AKS_POOL = {"name": "t4", "instanceType": "Standard_NC4as_T4_v3", "minNodes": 0, "maxNodes": 4, "diskGb": 128}
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
AGENT_POOL = "azure-native:containerservice:AgentPool"


def project_refreshes_before_every_operation() -> bool:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    return (project.get("options") or {}).get("refresh") == "always"


def day2_update(created, edited, ignore_changes, live: dict) -> dict:
    """The inputs the provider receives for `edited` when state holds `created` and the cloud
    reports `live`, with the refresh this project configures."""
    state = refresh(created, live) if project_refreshes_before_every_operation() else created
    return inputs_sent(edited, state, ignore_changes)


def test_pulumi_yaml_refreshes_before_every_up_preview_and_destroy():
    assert project_refreshes_before_every_operation()


def test_eks_raising_max_nodes_keeps_the_autoscaled_desired_size():
    created = plan_for({**EKS, "gpuPools": [EKS_POOL]}).one(NODE_GROUP, "ml-test-l4")
    edited = plan_for({**EKS, "gpuPools": [{**EKS_POOL, "maxNodes": 8}]}).one(NODE_GROUP, "ml-test-l4")
    assert inputs(created)["scalingConfig"]["desiredSize"] == 1  # created at minNodes
    assert edited.ignore_changes == ("scalingConfig.desiredSize",)
    # Cluster Autoscaler has the group at 3 nodes when maxNodes goes from 4 to 8.
    sent = day2_update(inputs(created), inputs(edited), edited.ignore_changes, {"scalingConfig.desiredSize": 3})
    assert sent["scalingConfig"] == {"minSize": 1, "maxSize": 8, "desiredSize": 3}
    # The other side: without the refresh the engine would send the creation size.
    assert inputs_sent(inputs(edited), inputs(created), edited.ignore_changes)["scalingConfig"]["desiredSize"] == 1


def test_eks_lowering_min_nodes_keeps_the_autoscaled_desired_size():
    created = plan_for({**EKS, "gpuPools": [EKS_POOL]}).one(NODE_GROUP, "ml-test-l4")
    edited = plan_for({**EKS, "gpuPools": [{**EKS_POOL, "minNodes": 0}]}).one(NODE_GROUP, "ml-test-l4")
    sent = day2_update(inputs(created), inputs(edited), edited.ignore_changes, {"scalingConfig.desiredSize": 2})
    assert sent["scalingConfig"] == {"minSize": 0, "maxSize": 4, "desiredSize": 2}


def test_aks_version_bump_sends_the_live_count_not_the_creation_count():
    created = plan_for({**AKS, "kubernetesVersion": "1.34", "gpuPools": [AKS_POOL]}).one(AGENT_POOL, "ml-test-t4")
    edited = plan_for({**AKS, "kubernetesVersion": "1.35", "gpuPools": [AKS_POOL]}).one(AGENT_POOL, "ml-test-t4")
    assert inputs(created)["count"] == 0
    assert "count" in edited.ignore_changes
    sent = day2_update(inputs(created), inputs(edited), edited.ignore_changes, {"count": 2})
    assert sent["count"] == 2 and sent["orchestratorVersion"] == "1.35"
    assert inputs_sent(inputs(edited), inputs(created), edited.ignore_changes)["count"] == 0

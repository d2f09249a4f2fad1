"""Node auto-repair on EKS: the node monitoring agent add-on finds node faults (NVIDIA XIDs
and DCGM findings among them) and sets NodeConditions; managed node groups' node auto repair
reboots or replaces a node whose condition stays bad.

Upstream facts:
- aws/eks-node-monitoring-agent v1.7.0 docs/node-health-issues.adoc: NVIDIA XID errors set
  the condition `AcceleratedHardwareReady` (reasons `NvidiaXID<code>Error`); with node auto
  repair on, the repair starts 10 minutes after detection.
- the same tag, charts/eks-node-monitoring-agent/values.yaml: the agent DaemonSet tolerates
  every taint (`tolerations: [{operator: Exists}]`); the DCGM host-engine DaemonSet it runs on
  NVIDIA instance types has `tolerations: []`, so on our tainted GPU nodes it needs ours.
  charts/configuration.schema.json admits `dcgmAgent.tolerations` in the add-on's
  configuration values.
- pulumi-aws 7.51.1 eks.NodeGroup `node_repair_config.enabled`: "Node auto repair is disabled
  by default"; terraform-provider-aws internal/service/eks/node_group.go sends a change of
  node_repair_config with UpdateNodegroupConfig (in place, not a replacement).
"""

from __future__ import annotations

from typing import Any

from ... import conventions

NODE_MONITORING_AGENT = "eks-node-monitoring-agent"

# Every managed node group (system, CPU, GPU) repairs its nodes; EKS's defaults for how many
# at once and when to stop (an unhealthy share above which it waits for a person) hold.
NODE_REPAIR_CONFIG: dict[str, Any] = {"enabled": True}

# Karpenter's pools repair through Karpenter, not EKS: its NodeRepair feature gate (alpha since
# v1.1.0, `settings.featureGates.nodeRepair: false` in the chart at v1.14.1) replaces a node
# whose Ready stays False/Unknown for 30 minutes or whose AcceleratedHardwareReady (the node
# monitoring agent's) stays False for 10, and repairs nothing while more than 20% of a
# NodePool's nodes are unhealthy (aws/karpenter-provider-aws website/content/en/v1.14/concepts/
# disruption.md "Node Auto Repair", charts/karpenter/values.yaml at the v1.14.1 release commit).
KARPENTER_NODE_REPAIR = True


def node_monitoring_agent_configuration() -> dict[str, Any]:
    """The add-on's configuration values: its DCGM host engine tolerates the GPU taint."""
    gpu = conventions.GPU_TAINT
    return {"dcgmAgent": {"tolerations": [{"key": gpu.key, "operator": "Exists", "effect": gpu.effect}]}}

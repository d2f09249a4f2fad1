"""Node auto-repair and lazy pulls on AKS: what the pinned SDK can set (nothing), as the docs say.

Upstream facts: pulumi-azure-native 3.29.0 `containerservice` (API 2025-09-01): AgentPool has no
artifact-streaming or repair argument; ManagedCluster's `node_provisioning_profile` holds only
`mode` and `default_node_pools`; `GPUProfileArgs` holds only `driver`. AKS node auto-repair is
preconfigured and has no API switch (AKS docs, "Node auto-repair"). If an SDK bump adds one of
these, this test fails so that the platform turns it on (docs/azure.md).
"""

from __future__ import annotations

import inspect

from pulumi_azure_native import containerservice


def parameters(cls) -> set[str]:
    return set(inspect.signature(cls.__init__).parameters) - {"self", "__self__"}


def test_agent_pool_has_no_artifact_streaming_or_repair_setting():
    params = parameters(containerservice.AgentPoolArgs)
    assert "vm_size" in params and "gpu_profile" in params  # the right class
    assert not [p for p in params if "artifact" in p or "stream" in p or "repair" in p or "health" in p]


def test_cluster_and_gpu_profile_have_no_repair_or_gpu_management_setting():
    assert not [p for p in parameters(containerservice.ManagedClusterArgs) if "repair" in p or "health" in p]
    assert parameters(containerservice.ManagedClusterNodeProvisioningProfileArgs) == {"mode", "default_node_pools"}
    assert parameters(containerservice.GPUProfileArgs) == {"driver"}

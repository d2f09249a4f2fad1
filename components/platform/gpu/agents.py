"""What every GPU agent DaemonSet shares: the agents' names, the pod spec on GPU nodes, and
how each steps aside while mig-manager cuts a node's GPUs (where the platform runs it)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Optional

import yaml

from ...conventions import (
    DEPLOY_DCGM_EXPORTER_LABEL,
    DEPLOY_DEVICE_PLUGIN_LABEL,
    DEPLOY_GFD_LABEL,
    MIG_CONFIG_LABEL,
    MIG_CONFIG_STATE_LABEL,
    MIG_PAUSED,
)
from ...handle import ClusterHandle
from ..common import gpu_tolerations, labels, pod_security, selector_labels, sorted_dict

DEVICE_PLUGIN = "nvidia-device-plugin"
GFD = "gpu-feature-discovery"
DCGM_EXPORTER = "dcgm-exporter"
MIG_MANAGER = "nvidia-mig-manager"


@dataclass(frozen=True)
class MigClient:
    """How mig-manager (NVIDIA/mig-parted v0.15.0 pkg/mig/reconfigure/reconfigure.go) knows a
    GPU agent: the node label it sets to `paused-for-mig-change` before it changes the MIG
    layout, and the `app` pod label it then waits for (no such pod left on the node, in its
    DEFAULT_GPU_CLIENTS_NAMESPACE, up to 5 minutes) before it touches the GPUs."""

    deploy_label: str
    app: str


MIG_CLIENTS = {
    DEVICE_PLUGIN: MigClient(DEPLOY_DEVICE_PLUGIN_LABEL, "nvidia-device-plugin-daemonset"),
    GFD: MigClient(DEPLOY_GFD_LABEL, "gpu-feature-discovery"),
    DCGM_EXPORTER: MigClient(DEPLOY_DCGM_EXPORTER_LABEL, "nvidia-dcgm-exporter"),
}
# Pod-template annotation carrying a hash of the config the pods read at start.
CONFIG_CHECKSUM_ANNOTATION = "checksum/config"


# Checkov's Kubernetes checks these agents fail by design, each with the reason, carried on
# the object as `checkov.io/skip<N>: <check>=<reason>` (Checkov reads metadata.annotations).
ROOT_SKIP_REASON = "root owns the kubelet directories it writes or reads on the node"


def checksum(data: dict[str, str]) -> str:
    """sha256 of a ConfigMap's data, for the pod template: the plugin and GFD read their
    config only when they start, so a changed config must roll the pods."""
    return hashlib.sha256(yaml.safe_dump(dict(sorted(data.items())), sort_keys=True).encode()).hexdigest()


def runs_mig_manager(handle: ClusterHandle) -> bool:
    """NVIDIA's mig-manager partitions MIG pools where nobody else does: the cloud did not cut
    the GPUs at node creation (GKE, AKS do), and the platform runs the device plugin (where an
    operator runs the plugin, it runs its own mig-manager)."""
    return not handle.cloud_partitions_mig and not handle.cloud_manages_device_plugin and any(
        f.pool.sharing is not None and f.pool.sharing.mig is not None for f in handle.gpu_pools
    )


def node_affinity(handle: ClusterHandle, agent: str) -> Optional[dict[str, Any]]:
    """Where the platform runs mig-manager, a GPU agent runs on a MIG node only while its GPUs
    are cut (state `success`) and mig-manager has not paused it (its deploy label is not
    `paused-for-mig-change`; an absent label is not paused). Node selector terms are ORed:
    any node that asks for no MIG layout, or a MIG node that is done. The DaemonSet
    controller deletes a daemon pod whose node stops matching the required affinity, so the
    agent leaves when mig-manager sets the state to `pending` at the start of a (re-)cut."""
    if not runs_mig_manager(handle):
        return None
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": MIG_CONFIG_LABEL, "operator": "DoesNotExist"}]},
        {"matchExpressions": [
            {"key": MIG_CONFIG_STATE_LABEL, "operator": "In", "values": ["success"]},
            {"key": MIG_CLIENTS[agent].deploy_label, "operator": "NotIn", "values": [MIG_PAUSED]},
        ]},
    ]}}}


def mig_client_labels(handle: ClusterHandle, agent: str) -> dict[str, str]:
    """The pod label mig-manager waits for, where the platform runs it (see MigClient)."""
    return {"app": MIG_CLIENTS[agent].app} if runs_mig_manager(handle) else {}


def gpu_pod_spec(handle: ClusterHandle, service_account: str, init: list, containers: list, volumes: list,
                  share_process_namespace: bool = False, automount_token: bool = True,
                  affinity: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "automountServiceAccountToken": automount_token,
        "containers": containers,
        "nodeSelector": sorted_dict(dict(handle.gpu_node_selector)),
        "priorityClassName": "system-node-critical",
        "securityContext": pod_security(),
        "serviceAccountName": service_account,
        "tolerations": gpu_tolerations(handle),
        "volumes": volumes,
    }
    if affinity:
        spec["affinity"] = affinity
    if init:
        spec["initContainers"] = init
    if share_process_namespace:
        spec["shareProcessNamespace"] = True  # the config-manager sidecar signals the main process
    return spec


def daemonset_spec(app: str, pod_spec: dict[str, Any], annotations: Optional[dict[str, str]] = None,
                    pod_labels: Optional[dict[str, str]] = None) -> dict[str, Any]:
    template_meta: dict[str, Any] = {"labels": labels(app, "gpu", pod_labels)}
    if annotations:
        template_meta["annotations"] = sorted_dict(annotations)
    return {
        "selector": {"matchLabels": selector_labels(app)},
        "template": {"metadata": template_meta, "spec": pod_spec},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
    }

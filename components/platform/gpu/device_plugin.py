"""NVIDIA's device plugin: advertises each node's GPUs (or their time-slices or MIG slices)
as `nvidia.com/gpu` to kubelet, with the config-manager sidecar that follows the node's label."""

from __future__ import annotations

from typing import Any, Optional

from ... import catalog
from ...handle import ClusterHandle
from ..common import checkov_skips, container_security, resources
from .agents import DEVICE_PLUGIN, ROOT_SKIP_REASON
from .sharing import (
    CONFIG_FILE,
    config_managed_daemonset_spec,
    config_mounts,
    config_volumes,
    device_plugin_configs,
    mig_env_and_capabilities,
    sys_admin_skips,
)

# The device plugin's only host path: where kubelet looks for device-plugin sockets.
KUBELET_DEVICE_PLUGINS = "/var/lib/kubelet/device-plugins"


def device_plugin_daemonset_spec(handle: ClusterHandle, configs: Optional[dict[str, dict[str, Any]]] = None) -> dict[str, Any]:
    configs = configs if configs is not None else device_plugin_configs(handle.gpu_pools)
    mig_env, mig_caps = mig_env_and_capabilities(configs)
    plugin = {
        "name": DEVICE_PLUGIN,
        "image": catalog.IMAGES[DEVICE_PLUGIN],
        "imagePullPolicy": "IfNotPresent",
        "command": ["nvidia-device-plugin"],
        "env": [
            {"name": "CONFIG_FILE", "value": CONFIG_FILE},
            *mig_env,
            {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
            {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "compute,utility"},
        ],
        "resources": resources("50m", "64Mi", "500m", "256Mi"),
        # Root (the image's user) is needed to create the socket in kubelet's root-owned
        # directory; no capability is, except SYS_ADMIN for MIG.
        "securityContext": container_security(add_capabilities=mig_caps),
        "volumeMounts": [
            {"name": "kubelet-device-plugins", "mountPath": KUBELET_DEVICE_PLUGINS},
            *config_mounts(),
        ],
    }
    volumes = [{"name": "kubelet-device-plugins", "hostPath": {"path": KUBELET_DEVICE_PLUGINS, "type": "Directory"}}, *config_volumes()]
    return config_managed_daemonset_spec(handle, DEVICE_PLUGIN, plugin, volumes, configs)


def device_plugin_skips(configs: dict[str, dict[str, Any]]) -> dict[str, str]:
    return checkov_skips({
        "CKV_K8S_8": "the device plugin serves no HTTP endpoint; kubelet notices a dead plugin socket",
        "CKV_K8S_9": "the device plugin serves no HTTP endpoint to probe",
        "CKV_K8S_23": ROOT_SKIP_REASON + " (the device-plugin socket directory)",
        "CKV_K8S_40": ROOT_SKIP_REASON + " (the device-plugin socket directory)",
        "CKV_K8S_38": "config-manager reads its node labels through the API",
        **sys_admin_skips(configs),
    })

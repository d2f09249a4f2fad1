"""GPU Feature Discovery: node labels such as `nvidia.com/gpu.product`, published as NodeFeature
objects that Node Feature Discovery's master turns into labels."""

from __future__ import annotations

from typing import Any, Optional

from ... import catalog
from ...handle import ClusterHandle
from ..common import checkov_skips, container_security, node_name_env, resources
from .agents import GFD
from .sharing import CONFIG_FILE, config_managed_daemonset_spec, config_mounts, config_volumes, device_plugin_configs, mig_env_and_capabilities, sys_admin_skips

NFD_RELEASE = "node-feature-discovery"


def gfd_daemonset_spec(handle: ClusterHandle, configs: Optional[dict[str, dict[str, Any]]] = None) -> dict[str, Any]:
    configs = configs if configs is not None else device_plugin_configs(handle.gpu_pools)
    mig_env, mig_caps = mig_env_and_capabilities(configs)
    gfd = {
        "name": GFD,
        "image": catalog.IMAGES[GFD],
        "imagePullPolicy": "IfNotPresent",
        "command": ["gpu-feature-discovery"],
        "env": [
            node_name_env(),
            {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "CONFIG_FILE", "value": CONFIG_FILE},
            *mig_env,
            # Publish labels as NodeFeature objects for NFD's master; nothing on the host.
            {"name": "GFD_USE_NODE_FEATURE_API", "value": "true"},
            {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
            {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "compute,utility"},
        ],
        "resources": resources("20m", "64Mi", "200m", "256Mi"),
        "securityContext": container_security(add_capabilities=mig_caps),
        "volumeMounts": config_mounts(),
    }
    return config_managed_daemonset_spec(handle, GFD, gfd, config_volumes(), configs)


def gfd_skips(configs: dict[str, dict[str, Any]]) -> dict[str, str]:
    return checkov_skips({
        "CKV_K8S_8": "GPU Feature Discovery serves no HTTP endpoint",
        "CKV_K8S_9": "GPU Feature Discovery serves no HTTP endpoint",
        "CKV_K8S_23": "the image runs as root and reads the driver through NVML",
        "CKV_K8S_40": "the image runs as root and reads the driver through NVML",
        "CKV_K8S_38": "GFD writes NodeFeature objects through the API",
        **sys_admin_skips(configs),
    })

"""The device plugin's named configs (one per pool with sharing: time-slicing or a MIG
strategy) and NVIDIA's config-manager, which picks a node's config from its label; the
device plugin and GPU Feature Discovery both read them."""

from __future__ import annotations

from typing import Any, Optional

import yaml

from ... import catalog
from ...conventions import DEVICE_PLUGIN_CONFIG_LABEL, GPU_RESOURCE, device_plugin_config_name
from ...handle import ClusterHandle, GpuPoolFacts
from ..common import container_security, node_name_env, resources, sorted_dict
from .agents import (
    CONFIG_CHECKSUM_ANNOTATION,
    DEVICE_PLUGIN,
    checksum,
    daemonset_spec,
    gpu_pod_spec,
    mig_client_labels,
    node_affinity,
)

DEVICE_PLUGIN_CONFIG_MAP = "nvidia-device-plugin-config"
DEFAULT_PLUGIN_CONFIG = "default"
CONFIG_SOURCE_DIR = "/available-configs"
CONFIG_FILE = "/config/config.yaml"


def _plugin_config(mig_strategy: str = "none", time_slicing_replicas: Optional[int] = None) -> dict[str, Any]:
    config: dict[str, Any] = {"version": "v1", "flags": {"migStrategy": mig_strategy, "failOnInitError": True}}
    if time_slicing_replicas is not None:
        config["sharing"] = {
            "timeSlicing": {
                # Shared GPUs keep the name nvidia.com/gpu, so a pod spec works on any pool.
                "renameByDefault": False,
                "resources": [{"name": GPU_RESOURCE, "replicas": time_slicing_replicas}],
            }
        }
    return config


def device_plugin_configs(pools: list[GpuPoolFacts]) -> dict[str, dict[str, Any]]:
    """The plugin's named configs: `default` for pools without sharing, and one per pool with
    sharing, named as the pool's nodes' `nvidia.com/device-plugin.config` label says."""
    configs = {DEFAULT_PLUGIN_CONFIG: _plugin_config()}
    for facts in pools:
        sharing = facts.pool.sharing
        if sharing is None:
            continue
        name = device_plugin_config_name(facts.pool)
        if sharing.mig is not None:
            configs[name] = _plugin_config(mig_strategy=sharing.mig.strategy)
        elif sharing.time_slicing is not None:
            configs[name] = _plugin_config(time_slicing_replicas=sharing.time_slicing.replicas)
        else:
            configs[name] = _plugin_config()
    return sorted_dict(configs)


def config_map_data(configs: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: yaml.safe_dump(cfg, sort_keys=True, default_flow_style=False) for name, cfg in sorted(configs.items())}


def uses_mig(configs: dict[str, dict[str, Any]]) -> bool:
    return any(cfg["flags"]["migStrategy"] != "none" for cfg in configs.values())


def config_manager(name: str, oneshot: bool, process: str) -> dict[str, Any]:
    """NVIDIA's config-manager (in the plugin image): copies the config named by the node's
    `nvidia.com/device-plugin.config` label to /config and, as a sidecar, signals `process`
    to reload when the label changes."""
    env = [
        {"name": "ONESHOT", "value": "true" if oneshot else "false"},
        node_name_env(),
        {"name": "NODE_LABEL", "value": DEVICE_PLUGIN_CONFIG_LABEL},
        {"name": "CONFIG_FILE_SRCDIR", "value": CONFIG_SOURCE_DIR},
        {"name": "CONFIG_FILE_DST", "value": CONFIG_FILE},
        {"name": "DEFAULT_CONFIG", "value": DEFAULT_PLUGIN_CONFIG},
        {"name": "FALLBACK_STRATEGIES", "value": "named,single"},
        {"name": "SEND_SIGNAL", "value": "false" if oneshot else "true"},
    ]
    if not oneshot:
        env += [{"name": "SIGNAL", "value": "1"}, {"name": "PROCESS_TO_SIGNAL", "value": process}]  # 1: SIGHUP
    return {
        "name": name,
        "image": catalog.IMAGES[DEVICE_PLUGIN],
        "imagePullPolicy": "IfNotPresent",
        "command": ["config-manager"],
        "env": env,
        "resources": resources("10m", "32Mi", "100m", "64Mi"),
        "securityContext": container_security(),
        "volumeMounts": config_mounts(),
    }


def config_mounts() -> list[dict[str, Any]]:
    # config-manager links /config/config.yaml to /available-configs/<name>: whoever reads
    # /config/config.yaml must see /available-configs as well, or the link dangles.
    return [
        {"name": "available-configs", "mountPath": CONFIG_SOURCE_DIR, "readOnly": True},
        {"name": "config", "mountPath": "/config"},
    ]


def config_volumes() -> list[dict[str, Any]]:
    return [
        {"name": "available-configs", "configMap": {"name": DEVICE_PLUGIN_CONFIG_MAP}},
        {"name": "config", "emptyDir": {"sizeLimit": "1Mi"}},
    ]


def mig_env_and_capabilities(configs: dict[str, dict[str, Any]]) -> tuple[list[dict[str, str]], list[str]]:
    """What a MIG strategy other than `none` needs in the plugin's and GFD's main container
    (upstream chart _helpers.tpl: requiresCapSysAdmin, addMigMonitorDevices)."""
    if not uses_mig(configs):
        return [], []
    return [{"name": "NVIDIA_MIG_MONITOR_DEVICES", "value": "all"}], ["SYS_ADMIN"]


# SYS_ADMIN (CKV_K8S_25 added capability, CKV_K8S_39 SYS_ADMIN) is skipped only where it is
# granted: the plugin and GFD get it when some pool's MIG strategy is not `none`.
_MIG_SYS_ADMIN = "a MIG pool's strategy needs SYS_ADMIN, as NVIDIA's chart grants for MIG strategies"


def sys_admin_skips(configs: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {"CKV_K8S_25": _MIG_SYS_ADMIN, "CKV_K8S_39": _MIG_SYS_ADMIN} if uses_mig(configs) else {}


def config_managed_daemonset_spec(handle: ClusterHandle, app: str, main: dict[str, Any], volumes: list[dict[str, Any]],
                                  configs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The DaemonSet of an agent that reads the plugin config: config-manager picks the node's
    config before `main` starts and, as a sidecar, signals it when the node's label changes;
    the pods roll when the config does."""
    pod = gpu_pod_spec(
        handle,
        app,
        init=[config_manager("config-init", True, app)],
        containers=[config_manager("config-manager", False, app), main],
        volumes=volumes,
        share_process_namespace=True,
        affinity=node_affinity(handle, app),
    )
    return daemonset_spec(app, pod, {CONFIG_CHECKSUM_ANNOTATION: checksum(config_map_data(configs))}, mig_client_labels(handle, app))

"""The GPU layer: NVIDIA's device plugin with per-pool sharing, GPU Feature Discovery and
the DCGM exporter, rendered as plain Kubernetes objects (not an opaque chart) so that the
policy pack, the schema validation and `--manifests` see every field.

Where the cloud (or an operator the user already runs) manages the device plugin
(`handle.cloud_manages_device_plugin`), none of the plugin objects are rendered and the
backend configures sharing on the node pool itself. Where the cloud exports DCGM metrics
(`handle.gpu_metrics.managed_by_cloud`), the exporter is not rendered either; the
monitoring layer scrapes the cloud's exporter instead.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import yaml

from .. import catalog
from ..conventions import (
    DEPLOY_DCGM_EXPORTER_LABEL,
    DEPLOY_DEVICE_PLUGIN_LABEL,
    DEPLOY_GFD_LABEL,
    DEVICE_PLUGIN_CONFIG_LABEL,
    GPU_RESOURCE,
    MIG_CONFIG_LABEL,
    MIG_CONFIG_STATE_LABEL,
    MIG_PAUSED,
    device_plugin_config_name,
)
from ..handle import ClusterHandle, GpuPoolFacts
from .common import (
    GPU_NAMESPACE,
    Scope,
    checkov_skips,
    container_security,
    gpu_tolerations,
    labels,
    metadata,
    namespace_labels,
    node_name_env,
    pod_security,
    resources,
    selector_labels,
    system_placement,
    sorted_dict,
)

DEVICE_PLUGIN = "nvidia-device-plugin"
DEVICE_PLUGIN_CONFIG_MAP = "nvidia-device-plugin-config"
DEFAULT_PLUGIN_CONFIG = "default"
GFD = "gpu-feature-discovery"
DCGM_EXPORTER = "dcgm-exporter"
# The exporter's one port: its listen address, the container port, both probes, the
# Service and the ServiceMonitor all derive from these two values.
DCGM_PORT = 9400
DCGM_PORT_NAME = "metrics"
DCGM_HEALTH_PATH = "/health"
# DCGM_EXP_XID_ERRORS_COUNT counts the XIDs of this trailing window (exporter flag
# --xid-count-window-size, env DCGM_EXPORTER_XID_COUNT_WINDOW_SIZE, in ms; default 5 min).
# 15 min keeps one hardware XID visible long enough for the alert's `for` and a human.
XID_COUNT_WINDOW_MS = 15 * 60 * 1000
NFD_RELEASE = "node-feature-discovery"
MIG_MANAGER = "nvidia-mig-manager"
MIG_MANAGER_CONFIG_MAP = "nvidia-mig-manager-config"


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

# The device plugin's only host path: where kubelet looks for device-plugin sockets.
KUBELET_DEVICE_PLUGINS = "/var/lib/kubelet/device-plugins"
# The DCGM exporter's only host path, read-only: kubelet's pod-resources socket, which
# tells which pod holds which GPU (the `exported_pod` label the idle-GPU alert relies on).
KUBELET_POD_RESOURCES = "/var/lib/kubelet/pod-resources"

CONFIG_SOURCE_DIR = "/available-configs"
CONFIG_FILE = "/config/config.yaml"

# What the DCGM exporter collects: its default counters plus ECC, thermal and profiling
# fields, so the alerts and the dashboard have every metric they use. Names are DCGM's
# own, the same GKE's managed DCGM export uses.
DCGM_METRICS: tuple[tuple[str, str, str], ...] = (
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ)."),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %); absent on MIG devices."),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %)."),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %)."),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered (latches; never resets)."),
    # The exporter's own XID counter, one series per XID number (label `xid`): what the
    # hardware-XID alert reads.
    ("DCGM_EXP_XID_ERRORS_COUNT", "counter", "Count of XID errors within the exporter's XID window, per XID."),
    ("DCGM_FI_DEV_POWER_VIOLATION", "counter", "Throttling duration due to power constraints (in ns)."),
    ("DCGM_FI_DEV_THERMAL_VIOLATION", "counter", "Throttling duration due to thermal constraints (in ns)."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "counter", "Total number of single-bit volatile ECC errors."),
    ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", "Total number of double-bit volatile ECC errors."),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for uncorrectable errors."),
    ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for correctable errors."),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed."),
    # DCGM field 396 (dcgm_fields.h); 1 from an uncorrectable error's remap until the GPU resets.
    ("DCGM_FI_DEV_ROW_REMAP_PENDING", "gauge", "Whether remapping of rows is pending (a GPU reset applies it)."),
    ("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", "counter", "Total number of NVLink bandwidth counters for all lanes."),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active (also per MIG device)."),
    ("DCGM_FI_PROF_SM_ACTIVE", "gauge", "Ratio of cycles an SM has at least 1 warp assigned."),
    ("DCGM_FI_PROF_SM_OCCUPANCY", "gauge", "Ratio of number of warps resident on an SM."),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active."),
    ("DCGM_FI_PROF_DRAM_ACTIVE", "gauge", "Ratio of cycles the device memory interface is active."),
    # Rates (bytes per second) sampled by DCGM, not running totals.
    ("DCGM_FI_PROF_PCIE_TX_BYTES", "gauge", "Rate of data transmitted over PCIe, headers and payload, in bytes per second."),
    ("DCGM_FI_PROF_PCIE_RX_BYTES", "gauge", "Rate of data received over PCIe, headers and payload, in bytes per second."),
)


@dataclass(frozen=True)
class GpuArgs:
    handle: ClusterHandle
    feature_discovery: bool = False
    # Run the DCGM exporter (where the cloud does not export DCGM metrics itself). Off when
    # the stack has no monitoring: nothing would scrape it.
    dcgm_exporter: bool = True


@dataclass(frozen=True)
class ExporterTarget:
    """The DCGM exporter the platform runs, for the monitoring layer's ServiceMonitor."""

    namespace: str
    service_labels: dict[str, str]
    port: str


# --- Device plugin config ------------------------------------------------------------------


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


def checksum(data: dict[str, str]) -> str:
    """sha256 of a ConfigMap's data, for the pod template: the plugin and GFD read their
    config only when they start, so a changed config must roll the pods."""
    return hashlib.sha256(yaml.safe_dump(dict(sorted(data.items())), sort_keys=True).encode()).hexdigest()


def uses_mig(configs: dict[str, dict[str, Any]]) -> bool:
    return any(cfg["flags"]["migStrategy"] != "none" for cfg in configs.values())


def runs_mig_manager(handle: ClusterHandle) -> bool:
    """NVIDIA's mig-manager partitions MIG pools where nobody else does: the cloud did not cut
    the GPUs at node creation (GKE, AKS do), and the platform runs the device plugin (where an
    operator runs the plugin, it runs its own mig-manager)."""
    return not handle.cloud_partitions_mig and not handle.cloud_manages_device_plugin and any(
        f.pool.sharing is not None and f.pool.sharing.mig is not None for f in handle.gpu_pools
    )


def _config_manager(name: str, oneshot: bool, process: str) -> dict[str, Any]:
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
        "volumeMounts": _config_mounts(),
    }


def _config_mounts() -> list[dict[str, Any]]:
    # config-manager links /config/config.yaml to /available-configs/<name>: whoever reads
    # /config/config.yaml must see /available-configs as well, or the link dangles.
    return [
        {"name": "available-configs", "mountPath": CONFIG_SOURCE_DIR, "readOnly": True},
        {"name": "config", "mountPath": "/config"},
    ]


def _config_volumes() -> list[dict[str, Any]]:
    return [
        {"name": "available-configs", "configMap": {"name": DEVICE_PLUGIN_CONFIG_MAP}},
        {"name": "config", "emptyDir": {"sizeLimit": "1Mi"}},
    ]


def _node_affinity(handle: ClusterHandle, agent: str) -> Optional[dict[str, Any]]:
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


def _mig_client_labels(handle: ClusterHandle, agent: str) -> dict[str, str]:
    """The pod label mig-manager waits for, where the platform runs it (see MigClient)."""
    return {"app": MIG_CLIENTS[agent].app} if runs_mig_manager(handle) else {}


def _gpu_pod_spec(handle: ClusterHandle, service_account: str, init: list, containers: list, volumes: list,
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


def _mig_env_and_capabilities(configs: dict[str, dict[str, Any]]) -> tuple[list[dict[str, str]], list[str]]:
    """What a MIG strategy other than `none` needs in the plugin's and GFD's main container
    (upstream chart _helpers.tpl: requiresCapSysAdmin, addMigMonitorDevices)."""
    if not uses_mig(configs):
        return [], []
    return [{"name": "NVIDIA_MIG_MONITOR_DEVICES", "value": "all"}], ["SYS_ADMIN"]


def device_plugin_daemonset_spec(handle: ClusterHandle, configs: Optional[dict[str, dict[str, Any]]] = None) -> dict[str, Any]:
    configs = configs if configs is not None else device_plugin_configs(handle.gpu_pools)
    mig_env, mig_caps = _mig_env_and_capabilities(configs)
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
            *_config_mounts(),
        ],
    }
    volumes = [{"name": "kubelet-device-plugins", "hostPath": {"path": KUBELET_DEVICE_PLUGINS, "type": "Directory"}}, *_config_volumes()]
    pod = _gpu_pod_spec(
        handle,
        DEVICE_PLUGIN,
        init=[_config_manager("config-init", True, "nvidia-device-plugin")],
        containers=[_config_manager("config-manager", False, "nvidia-device-plugin"), plugin],
        volumes=volumes,
        share_process_namespace=True,
        affinity=_node_affinity(handle, DEVICE_PLUGIN),
    )
    return _daemonset_spec(DEVICE_PLUGIN, pod, {CONFIG_CHECKSUM_ANNOTATION: checksum(config_map_data(configs))},
                           _mig_client_labels(handle, DEVICE_PLUGIN))


def gfd_daemonset_spec(handle: ClusterHandle, configs: Optional[dict[str, dict[str, Any]]] = None) -> dict[str, Any]:
    configs = configs if configs is not None else device_plugin_configs(handle.gpu_pools)
    mig_env, mig_caps = _mig_env_and_capabilities(configs)
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
        "volumeMounts": _config_mounts(),
    }
    pod = _gpu_pod_spec(
        handle,
        GFD,
        init=[_config_manager("config-init", True, GFD)],
        containers=[_config_manager("config-manager", False, GFD), gfd],
        volumes=_config_volumes(),
        share_process_namespace=True,
        affinity=_node_affinity(handle, GFD),
    )
    return _daemonset_spec(GFD, pod, {CONFIG_CHECKSUM_ANNOTATION: checksum(config_map_data(configs))},
                           _mig_client_labels(handle, GFD))


def dcgm_metrics_csv() -> str:
    lines = ["# DCGM field, Prometheus type, help (rendered by ml-clusters)"]
    lines += [f"{field}, {kind}, {text}" for field, kind, text in DCGM_METRICS]
    return "\n".join(lines) + "\n"


def virtual_gpus(handle: ClusterHandle) -> bool:
    """Time-sliced pools hand one GPU to several pods; the exporter attributes each of them
    only in its virtual-GPU mode (KUBERNETES_VIRTUAL_GPUS), else one pod per GPU."""
    return any(f.pool.sharing is not None and f.pool.sharing.time_slicing is not None for f in handle.gpu_pools)


def dcgm_daemonset_spec(handle: ClusterHandle) -> dict[str, Any]:
    probe = {"httpGet": {"path": DCGM_HEALTH_PATH, "port": DCGM_PORT_NAME}}
    env = [
        {"name": "DCGM_EXPORTER_KUBERNETES", "value": "true"},
        {"name": "DCGM_EXPORTER_LISTEN", "value": f":{DCGM_PORT}"},
        {"name": "DCGM_EXPORTER_XID_COUNT_WINDOW_SIZE", "value": str(XID_COUNT_WINDOW_MS)},
        node_name_env(),
        {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"},
        {"name": "NVIDIA_DRIVER_CAPABILITIES", "value": "compute,utility"},
    ]
    if virtual_gpus(handle):
        env.append({"name": "KUBERNETES_VIRTUAL_GPUS", "value": "true"})
    exporter = {
        "name": DCGM_EXPORTER,
        "image": catalog.IMAGES[DCGM_EXPORTER],
        "imagePullPolicy": "IfNotPresent",
        "args": ["-f", "/etc/dcgm-exporter/metrics.csv"],
        "env": env,
        "ports": [{"name": DCGM_PORT_NAME, "containerPort": DCGM_PORT, "protocol": "TCP"}],
        "livenessProbe": {**probe, "initialDelaySeconds": 45, "periodSeconds": 15},
        "readinessProbe": {**probe, "initialDelaySeconds": 30, "periodSeconds": 10},
        "resources": resources("100m", "256Mi", "500m", "1Gi"),
        # DCGM's embedded host engine refuses to start without SYS_ADMIN since DCGM 3.6
        # ("host engine is running as non-root", NVIDIA/dcgm-exporter#402, #407), and the
        # profiling fields (DCGM_FI_PROF_*, also in GKE's managed export) need it. Root: the
        # kubelet pod-resources socket is root-only. Everything else stays dropped.
        "securityContext": container_security(add_capabilities=["SYS_ADMIN"], run_as_root=True),
        "volumeMounts": [
            {"name": "pod-resources", "mountPath": KUBELET_POD_RESOURCES, "readOnly": True},
            {"name": "metrics", "mountPath": "/etc/dcgm-exporter/metrics.csv", "subPath": "metrics.csv", "readOnly": True},
            # The host engine writes /var/log/nv-hostengine.log, which is known to grow; an
            # emptyDir with a limit keeps the root file system read-only and the node safe.
            {"name": "logs", "mountPath": "/var/log"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    volumes = [
        {"name": "pod-resources", "hostPath": {"path": KUBELET_POD_RESOURCES, "type": "Directory"}},
        {"name": "metrics", "configMap": {"name": f"{DCGM_EXPORTER}-metrics"}},
        {"name": "logs", "emptyDir": {"sizeLimit": "256Mi"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ]
    pod = _gpu_pod_spec(handle, DCGM_EXPORTER, init=[], containers=[exporter], volumes=volumes, automount_token=False,
                        affinity=_node_affinity(handle, DCGM_EXPORTER))
    return _daemonset_spec(DCGM_EXPORTER, pod, {CONFIG_CHECKSUM_ANNOTATION: checksum({"metrics.csv": dcgm_metrics_csv()})},
                           _mig_client_labels(handle, DCGM_EXPORTER))


# --- MIG manager (EKS, existing clusters) -----------------------------------------------------

HOST_GPU_CLIENTS = [
    "nvsm.service", "nvsm-mqtt.service", "nvsm-core.service", "nvsm-api-gateway.service", "nvsm-notifier.service",
    "nv_peer_mem.service", "nvidia-dcgm.service", "dcgm-exporter.service",
]

# Instances of one profile that fit a GPU, by slice count (NVIDIA MIG user guide; the same
# counts as mig-parted v0.15.0 deployments/systemd/config-default.yaml, e.g. all-1g.10gb: 7 on
# an 80 GB part, all-1g.20gb: 4, all-2g.20gb: 3, all-3g.40gb: 2, all-4g/7g: 1).
_INSTANCES_BY_SLICES = {1: 7, 2: 3, 3: 2, 4: 1, 7: 1}


def mig_instances_per_gpu(gpu_model: str, profile: str) -> int:
    """How many `profile` instances mig-parted makes per GPU: 7 of the small 1g profile,
    4 of the 1g profile with twice its memory, otherwise by slice count."""
    profiles = catalog.gpu_model(gpu_model).mig_profiles
    slices = int(profile.split("g.", 1)[0])
    one_g = [p for p in profiles if p.startswith("1g.")]
    if slices == 1 and len(one_g) > 1 and profile != one_g[0]:
        return 4
    return _INSTANCES_BY_SLICES[slices]


def mig_parted_config(pools: list[GpuPoolFacts]) -> dict[str, Any]:
    """mig-parted's config: `all-disabled` plus one `all-<profile>` layout per profile the
    MIG pools use; the backend labels each pool's nodes `nvidia.com/mig.config=all-<profile>`."""
    configs: dict[str, Any] = {"all-disabled": [{"devices": "all", "mig-enabled": False}]}
    for facts in pools:
        mig = facts.pool.sharing.mig if facts.pool.sharing else None
        if mig is None:
            continue
        configs[f"all-{mig.profile}"] = [{
            "devices": "all",
            "mig-enabled": True,
            "mig-devices": {mig.profile: mig_instances_per_gpu(facts.gpu_model, mig.profile)},
        }]
    return {"version": "v1", "mig-configs": sorted_dict(configs)}


def mig_manager_daemonset_spec(handle: ClusterHandle, config_data: dict[str, str]) -> dict[str, Any]:
    """NVIDIA's mig-manager (mig-parted v0.15.0 deployments/container/nvidia-mig-manager-example.yaml):
    privileged with the host's PID and IPC namespaces and its root and /sys, because it
    toggles MIG mode and creates GPU instances through the driver and stops host GPU
    clients. It runs only on nodes that ask for a MIG layout."""
    manager = {
        "name": MIG_MANAGER,
        "image": catalog.IMAGES[MIG_MANAGER],
        "imagePullPolicy": "IfNotPresent",
        "env": [
            node_name_env(),
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "CONFIG_FILE", "value": "/mig-parted-config/config.yaml"},
            {"name": "GPU_CLIENTS_FILE", "value": "/gpu-clients/clients.yaml"},
            {"name": "HOST_ROOT_MOUNT", "value": "/host"},
            {"name": "HOST_NVIDIA_DIR", "value": "/usr/local/nvidia"},
            {"name": "HOST_KUBELET_SYSTEMD_SERVICE", "value": "kubelet.service"},
            # Where it looks for the GPU agents' pods (by their `app` label, see MIG_CLIENTS)
            # and waits for them to go before it cuts: ours, not upstream's default `default`.
            {"name": "DEFAULT_GPU_CLIENTS_NAMESPACE", "value": GPU_NAMESPACE},
            {"name": "HOST_MIG_MANAGER_STATE_FILE", "value": "/etc/systemd/system/nvidia-mig-manager.service.d/override.conf"},
            {"name": "WITH_SHUTDOWN_HOST_GPU_CLIENTS", "value": "true"},
            {"name": "WITH_REBOOT", "value": "false"},
        ],
        "resources": resources("50m", "128Mi", "500m", "512Mi"),
        "securityContext": {"privileged": True},
        "volumeMounts": [
            {"name": "host-root", "mountPath": "/host"},
            {"name": "host-sys", "mountPath": "/sys"},
            {"name": "gpu-clients", "mountPath": "/gpu-clients", "readOnly": True},
            {"name": "mig-parted-config", "mountPath": "/mig-parted-config", "readOnly": True},
        ],
    }
    pod = {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": MIG_CONFIG_LABEL, "operator": "Exists"}]},
        ]}}},
        "automountServiceAccountToken": True,  # it reads and labels its node
        "containers": [manager],
        "hostIPC": True,
        "hostPID": True,
        "nodeSelector": sorted_dict(dict(handle.gpu_node_selector)),
        "priorityClassName": "system-node-critical",
        # Privileged containers run unconfined whatever this says; stated for the pod anyway.
        "securityContext": pod_security(),
        "serviceAccountName": MIG_MANAGER,
        "tolerations": gpu_tolerations(handle),
        "volumes": [
            {"name": "host-root", "hostPath": {"path": "/", "type": "Directory"}},
            {"name": "host-sys", "hostPath": {"path": "/sys", "type": "Directory"}},
            {"name": "gpu-clients", "configMap": {"name": MIG_MANAGER_CONFIG_MAP, "items": [{"key": "clients.yaml", "path": "clients.yaml"}]}},
            {"name": "mig-parted-config", "configMap": {"name": MIG_MANAGER_CONFIG_MAP, "items": [{"key": "config.yaml", "path": "config.yaml"}]}},
        ],
    }
    return _daemonset_spec(MIG_MANAGER, pod, {CONFIG_CHECKSUM_ANNOTATION: checksum(config_data)})


def _daemonset_spec(app: str, pod_spec: dict[str, Any], annotations: Optional[dict[str, str]] = None,
                    pod_labels: Optional[dict[str, str]] = None) -> dict[str, Any]:
    template_meta: dict[str, Any] = {"labels": labels(app, "gpu", pod_labels)}
    if annotations:
        template_meta["annotations"] = sorted_dict(annotations)
    return {
        "selector": {"matchLabels": selector_labels(app)},
        "template": {"metadata": template_meta, "spec": pod_spec},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
    }


# --- The component ---------------------------------------------------------------------------


class Gpu(pulumi.ComponentResource):
    """`.device_plugin` (None where the cloud manages the plugin), `.feature_discovery`,
    `.dcgm_exporter` and `.exporter_target` (None where the cloud exports DCGM metrics)."""

    def __init__(self, name: str, args: GpuArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:platform:Gpu", name, None, opts)
        handle = args.handle
        scope = Scope(handle, self, tuple(handle.ready))
        run_plugin = not handle.cloud_manages_device_plugin
        run_gfd = run_plugin and args.feature_discovery
        run_dcgm = args.dcgm_exporter and not handle.gpu_metrics.managed_by_cloud

        self.namespace = None
        self.device_plugin = None
        self.feature_discovery = None
        self.node_feature_discovery = None
        self.dcgm_exporter = None
        self.exporter_target: Optional[ExporterTarget] = None
        self.plugin_configs: dict[str, dict[str, Any]] = {}
        if not (run_plugin or run_dcgm):
            self.register_outputs({})
            return

        # hostPath volumes (device plugin, DCGM) and SYS_ADMIN (DCGM) are beyond the
        # baseline Pod Security level: the namespace enforces privileged, and nothing else
        # runs in it. Audit and warn stay at restricted.
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": GPU_NAMESPACE, "labels": namespace_labels("privileged", handle.kubernetes_version)},
            opts=scope.opts(),
        )
        ns = self.namespace

        if run_plugin:
            self.plugin_configs = device_plugin_configs(handle.gpu_pools)
            config_map = k8s.core.v1.ConfigMap(
                f"{name}-plugin-config",
                metadata=metadata(DEVICE_PLUGIN_CONFIG_MAP, GPU_NAMESPACE, DEVICE_PLUGIN, "gpu"),
                data=config_map_data(self.plugin_configs),
                opts=scope.opts(ns),
            )
            # config-manager reads its node's labels: read-only access to nodes, nothing else.
            node_reader = k8s.rbac.v1.ClusterRole(
                f"{name}-node-reader",
                metadata=metadata("ml-gpu-node-reader", app=DEVICE_PLUGIN, component="gpu"),
                rules=[{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}],
                opts=scope.opts(),
            )
            accounts = [DEVICE_PLUGIN] + ([GFD] if run_gfd else [])
            service_accounts = [
                k8s.core.v1.ServiceAccount(f"{name}-{acct}-sa", metadata=metadata(acct, GPU_NAMESPACE, acct, "gpu"), opts=scope.opts(ns))
                for acct in accounts
            ]
            node_binding = k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-node-reader",
                metadata=metadata("ml-gpu-node-reader", app=DEVICE_PLUGIN, component="gpu"),
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ml-gpu-node-reader"},
                subjects=[{"kind": "ServiceAccount", "name": acct, "namespace": GPU_NAMESPACE} for acct in accounts],
                opts=scope.opts(node_reader, *service_accounts),
            )
            self.device_plugin = k8s.apps.v1.DaemonSet(
                f"{name}-device-plugin",
                metadata=metadata(DEVICE_PLUGIN, GPU_NAMESPACE, DEVICE_PLUGIN, "gpu", annotations=device_plugin_skips(self.plugin_configs)),
                spec=device_plugin_daemonset_spec(handle, self.plugin_configs),
                opts=scope.opts(config_map, service_accounts[0], node_binding),  # RBAC before the pods
            )
            if run_gfd:
                self._feature_discovery(name, scope, handle, config_map, service_accounts[1], node_binding)
            if runs_mig_manager(handle):
                self._mig_manager(name, scope, handle)

        if run_dcgm:
            self._dcgm_exporter(name, scope, handle)

        self.register_outputs({
            "devicePlugin": self.device_plugin is not None,
            "dcgmExporter": self.dcgm_exporter is not None,
            "featureDiscovery": self.feature_discovery is not None,
        })

    def _feature_discovery(self, name: str, scope: Scope, handle: ClusterHandle, config_map, service_account, node_binding) -> None:
        chart = catalog.CHARTS[NFD_RELEASE]
        # NFD chart values take nodeSelector and tolerations under master and gc.
        placement = system_placement(handle)
        # NFD's master turns GFD's NodeFeature objects into node labels. Its own worker is
        # off: GFD publishes the GPU labels, and nothing else needs NFD's host probing.
        self.node_feature_discovery = k8s.helm.v3.Release(
            f"{name}-nfd",
            name=NFD_RELEASE,
            chart=chart.name,
            version=chart.version,
            repository_opts={"repo": chart.repo},
            namespace=GPU_NAMESPACE,
            create_namespace=False,
            atomic=True,
            cleanup_on_fail=True,
            values={
                "gc": dict(placement),
                "master": dict(placement),
                "worker": {"enable": False},
            },
            opts=scope.opts(self.namespace),
        )
        role = k8s.rbac.v1.Role(
            f"{name}-gfd-nodefeatures",
            metadata=metadata(f"{GFD}-nodefeatures", GPU_NAMESPACE, GFD, "gpu"),
            rules=[
                {"apiGroups": ["nfd.k8s-sigs.io"], "resources": ["nodefeatures"], "verbs": ["create", "get", "list", "update", "watch"]},
                # GFD reads its own pod (POD_NAME) to own the NodeFeature it writes.
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
            ],
            opts=scope.opts(self.namespace),
        )
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-gfd-nodefeatures",
            metadata=metadata(f"{GFD}-nodefeatures", GPU_NAMESPACE, GFD, "gpu"),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{GFD}-nodefeatures"},
            subjects=[{"kind": "ServiceAccount", "name": GFD, "namespace": GPU_NAMESPACE}],
            opts=scope.opts(role, service_account),
        )
        self.feature_discovery = k8s.apps.v1.DaemonSet(
            f"{name}-gfd",
            metadata=metadata(GFD, GPU_NAMESPACE, GFD, "gpu", annotations=gfd_skips(self.plugin_configs)),
            spec=gfd_daemonset_spec(handle, self.plugin_configs),
            opts=scope.opts(config_map, service_account, self.node_feature_discovery, binding, node_binding),
        )

    def _dcgm_exporter(self, name: str, scope: Scope, handle: ClusterHandle) -> None:
        ns = self.namespace
        metrics = k8s.core.v1.ConfigMap(
            f"{name}-dcgm-metrics",
            metadata=metadata(f"{DCGM_EXPORTER}-metrics", GPU_NAMESPACE, DCGM_EXPORTER, "gpu"),
            data={"metrics.csv": dcgm_metrics_csv()},
            opts=scope.opts(ns),
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-dcgm-sa",
            metadata=metadata(DCGM_EXPORTER, GPU_NAMESPACE, DCGM_EXPORTER, "gpu"),
            automount_service_account_token=False,  # the exporter never calls the API
            opts=scope.opts(ns),
        )
        self.dcgm_exporter = k8s.apps.v1.DaemonSet(
            f"{name}-dcgm-exporter",
            metadata=metadata(DCGM_EXPORTER, GPU_NAMESPACE, DCGM_EXPORTER, "gpu", annotations=DCGM_SKIPS),
            spec=dcgm_daemonset_spec(handle),
            opts=scope.opts(metrics, account),
        )
        service_labels = labels(DCGM_EXPORTER, "gpu")
        k8s.core.v1.Service(
            f"{name}-dcgm-service",
            metadata={"name": DCGM_EXPORTER, "namespace": GPU_NAMESPACE, "labels": service_labels},
            spec={
                "type": "ClusterIP",
                "selector": selector_labels(DCGM_EXPORTER),
                "ports": [{"name": DCGM_PORT_NAME, "port": DCGM_PORT, "targetPort": DCGM_PORT_NAME, "protocol": "TCP"}],
            },
            opts=scope.opts(ns),
        )
        self.exporter_target = ExporterTarget(namespace=GPU_NAMESPACE, service_labels=service_labels, port=DCGM_PORT_NAME)


    def _mig_manager(self, name: str, scope: Scope, handle: ClusterHandle) -> None:
        ns = self.namespace
        data = {
            "config.yaml": yaml.safe_dump(mig_parted_config(handle.gpu_pools), sort_keys=True, default_flow_style=False),
            # Host services that may hold GPUs and that mig-manager stops while it cuts them
            # (the list of NVIDIA's example manifest; services a node lacks are skipped).
            "clients.yaml": yaml.safe_dump({"version": "v1", "systemd-services": HOST_GPU_CLIENTS}, sort_keys=True),
        }
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-mig-manager-config",
            metadata=metadata(MIG_MANAGER_CONFIG_MAP, GPU_NAMESPACE, MIG_MANAGER, "gpu"),
            data=data,
            opts=scope.opts(ns),
        )
        account = k8s.core.v1.ServiceAccount(f"{name}-mig-manager-sa", metadata=metadata(MIG_MANAGER, GPU_NAMESPACE, MIG_MANAGER, "gpu"), opts=scope.opts(ns))
        # What mig-manager v0.15.0 calls: its node (get, patch labels), pods on its node in
        # every namespace (list; delete GPU clients in its own namespace) and its own pod
        # (get), a per-node ConfigMap in its namespace. Upstream's example grants "*" on the
        # core group; this is the subset its code uses.
        cluster_role = k8s.rbac.v1.ClusterRole(
            f"{name}-mig-manager",
            metadata=metadata("ml-gpu-mig-manager", app=MIG_MANAGER, component="gpu"),
            rules=[
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch", "patch", "update"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
            ],
            opts=scope.opts(),
        )
        cluster_binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-mig-manager",
            metadata=metadata("ml-gpu-mig-manager", app=MIG_MANAGER, component="gpu"),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ml-gpu-mig-manager"},
            subjects=[{"kind": "ServiceAccount", "name": MIG_MANAGER, "namespace": GPU_NAMESPACE}],
            opts=scope.opts(cluster_role, account),
        )
        role = k8s.rbac.v1.Role(
            f"{name}-mig-manager",
            metadata=metadata(MIG_MANAGER, GPU_NAMESPACE, MIG_MANAGER, "gpu"),
            rules=[
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "get", "update"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
            ],
            opts=scope.opts(ns),
        )
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-mig-manager",
            metadata=metadata(MIG_MANAGER, GPU_NAMESPACE, MIG_MANAGER, "gpu"),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": MIG_MANAGER},
            subjects=[{"kind": "ServiceAccount", "name": MIG_MANAGER, "namespace": GPU_NAMESPACE}],
            opts=scope.opts(role, account),
        )
        self.mig_manager = k8s.apps.v1.DaemonSet(
            f"{name}-mig-manager",
            metadata=metadata(MIG_MANAGER, GPU_NAMESPACE, MIG_MANAGER, "gpu", annotations=MIG_MANAGER_SKIPS),
            spec=mig_manager_daemonset_spec(handle, data),
            opts=scope.opts(config_map, account, cluster_binding, binding),  # RBAC before the pods
        )


# Checkov's Kubernetes checks these agents fail by design, each with the reason, carried on
# the object as `checkov.io/skip<N>: <check>=<reason>` (Checkov reads metadata.annotations).
_ROOT = "root owns the kubelet directories it writes or reads on the node"
# SYS_ADMIN (CKV_K8S_25 added capability, CKV_K8S_39 SYS_ADMIN) is skipped only where it is
# granted: the plugin and GFD get it when some pool's MIG strategy is not `none`.
_MIG_SYS_ADMIN = "a MIG pool's strategy needs SYS_ADMIN, as NVIDIA's chart grants for MIG strategies"


def _sys_admin_skips(configs: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {"CKV_K8S_25": _MIG_SYS_ADMIN, "CKV_K8S_39": _MIG_SYS_ADMIN} if uses_mig(configs) else {}


def device_plugin_skips(configs: dict[str, dict[str, Any]]) -> dict[str, str]:
    return checkov_skips({
        "CKV_K8S_8": "the device plugin serves no HTTP endpoint; kubelet notices a dead plugin socket",
        "CKV_K8S_9": "the device plugin serves no HTTP endpoint to probe",
        "CKV_K8S_23": _ROOT + " (the device-plugin socket directory)",
        "CKV_K8S_40": _ROOT + " (the device-plugin socket directory)",
        "CKV_K8S_38": "config-manager reads its node labels through the API",
        **_sys_admin_skips(configs),
    })


def gfd_skips(configs: dict[str, dict[str, Any]]) -> dict[str, str]:
    return checkov_skips({
        "CKV_K8S_8": "GPU Feature Discovery serves no HTTP endpoint",
        "CKV_K8S_9": "GPU Feature Discovery serves no HTTP endpoint",
        "CKV_K8S_23": "the image runs as root and reads the driver through NVML",
        "CKV_K8S_40": "the image runs as root and reads the driver through NVML",
        "CKV_K8S_38": "GFD writes NodeFeature objects through the API",
        **_sys_admin_skips(configs),
    })


DCGM_SKIPS = checkov_skips({
    "CKV_K8S_23": _ROOT + " (the pod-resources socket)",
    "CKV_K8S_40": _ROOT + " (the pod-resources socket)",
    "CKV_K8S_25": "DCGM's host engine needs SYS_ADMIN since DCGM 3.6",
    "CKV_K8S_39": "DCGM's host engine needs SYS_ADMIN since DCGM 3.6",
})
MIG_MANAGER_SKIPS = checkov_skips({
    "CKV_K8S_8": "mig-manager serves no HTTP endpoint",
    "CKV_K8S_9": "mig-manager serves no HTTP endpoint",
    "CKV_K8S_16": "mig-manager switches MIG mode and creates GPU instances through the driver",
    "CKV_K8S_17": "mig-manager stops host GPU clients by PID",
    "CKV_K8S_18": "mig-manager shares host IPC as NVIDIA's manifest does",
    "CKV_K8S_19": "mig-manager shares host IPC as NVIDIA's manifest does",
    "CKV_K8S_20": "a privileged container (mig-manager)",
    "CKV_K8S_22": "mig-manager persists its state on the host root",
    "CKV_K8S_23": "a privileged container (mig-manager)",
    "CKV_K8S_28": "a privileged container (mig-manager)",
    "CKV_K8S_37": "a privileged container (mig-manager)",
    "CKV_K8S_38": "mig-manager labels its node through the API",
    "CKV_K8S_40": "a privileged container (mig-manager)",
})

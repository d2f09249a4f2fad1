"""NVIDIA's DCGM exporter: GPU metrics per GPU (and per pod holding it) for Prometheus, where
the cloud does not export them itself."""

from __future__ import annotations

from typing import Any

from ... import catalog
from ...handle import ClusterHandle
from ..common import checkov_skips, container_security, node_name_env, resources
from .agents import ROOT_SKIP_REASON, CONFIG_CHECKSUM_ANNOTATION, DCGM_EXPORTER, checksum, daemonset_spec, gpu_pod_spec, mig_client_labels, node_affinity

# The exporter's one port: its listen address, the container port, both probes, the
# Service and the ServiceMonitor all derive from these two values.
DCGM_PORT = 9400
DCGM_PORT_NAME = "metrics"
DCGM_HEALTH_PATH = "/health"
# DCGM_EXP_XID_ERRORS_COUNT counts the XIDs of this trailing window (exporter flag
# --xid-count-window-size, env DCGM_EXPORTER_XID_COUNT_WINDOW_SIZE, in ms; default 5 min).
# 15 min keeps one hardware XID visible long enough for the alert's `for` and a human.
XID_COUNT_WINDOW_MS = 15 * 60 * 1000
# The DCGM exporter's only host path, read-only: kubelet's pod-resources socket, which
# tells which pod holds which GPU (the `exported_pod` label the idle-GPU alert relies on).
KUBELET_POD_RESOURCES = "/var/lib/kubelet/pod-resources"

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
    pod = gpu_pod_spec(handle, DCGM_EXPORTER, init=[], containers=[exporter], volumes=volumes, automount_token=False,
                        affinity=node_affinity(handle, DCGM_EXPORTER))
    return daemonset_spec(DCGM_EXPORTER, pod, {CONFIG_CHECKSUM_ANNOTATION: checksum({"metrics.csv": dcgm_metrics_csv()})},
                           mig_client_labels(handle, DCGM_EXPORTER))


DCGM_SKIPS = checkov_skips({
    "CKV_K8S_23": ROOT_SKIP_REASON + " (the pod-resources socket)",
    "CKV_K8S_40": ROOT_SKIP_REASON + " (the pod-resources socket)",
    "CKV_K8S_25": "DCGM's host engine needs SYS_ADMIN since DCGM 3.6",
    "CKV_K8S_39": "DCGM's host engine needs SYS_ADMIN since DCGM 3.6",
})

"""GPU health and cost alerts, as PrometheusRule groups.

Label conventions the expressions rely on (the same on every cloud, because the platform
renders the scrape config for both its own DCGM exporter and the cloud's):
- DCGM metrics keep the exporter's `gpu`, `UUID` and `modelName` labels (plus `GPU_I_ID` /
  `GPU_I_PROFILE` per MIG device, and `xid` on the XID counter) and get `node` from
  the scrape (the exporter's own host label is `Hostname` before 4.8.3, `hostname` after); the
  pod holding a GPU arrives as `exported_pod` / `exported_namespace` (honorLabels off, so
  the exporter's `pod` does not overwrite the scrape target's);
- kube-state-metrics exposes the GPU-node label (allow-listed in the release values) as
  `label_<key with non-alphanumerics as _>` on kube_node_labels, and resources as
  `nvidia_com_gpu` / `nvidia_com_mig_<profile>`.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

# Every schedulable NVIDIA GPU resource: whole or time-sliced GPUs, and MIG slices exposed
# under the mixed strategy.
GPU_RESOURCES_RE = "nvidia_com_gpu|nvidia_com_mig_.+"

IDLE_ACTIVITY_RATIO = 0.05
IDLE_UTILIZATION_PERCENT = int(IDLE_ACTIVITY_RATIO * 100)
HIGH_TEMPERATURE_C = 85
MEMORY_FULL_RATIO = 0.95

# XIDs that mean the GPU or its link is faulty (NVIDIA's XID catalog): 48 double-bit ECC,
# 63/64 row-remapping events and failures, 74 NVLink error, 79 fallen off the bus, 92 high
# single-bit ECC rate, 94/95 contained/uncontained ECC error, 119/120 GSP errors. App faults
# (13 graphics engine exception, 31 MMU fault, 43 channel stopped, 45 preemptive cleanup)
# are the workload's own and page nobody.
HARDWARE_XIDS = (48, 63, 64, 74, 79, 92, 94, 95, 119, 120)
APP_FAULT_XIDS = (13, 31, 43, 45)
# XIDs the GPU repair agent (health.py) cordons, drains and reboots a node for: the hardware
# XIDs above whose immediate action in NVIDIA's XID catalog is a GPU reset or a reboot
# (docs.nvidia.com/deploy/xid-errors/analyzing-xid-catalog.html; aws/eks-node-monitoring-agent
# v1.7.0 monitors/nvidia/dcgm/dcgm_policies.go lists each one's bucket: 48, 64, 95, 119, 120
# RESET_GPU; 79 RESTART_BM; 74 the NVLink workflow; 63 a pending remap a reset applies), plus
# 140 (unrecoverable ECC error, RESET_GPU) and 94 (contained ECC error: the page is retired
# at the next reset). 92 (high single-bit ECC rate) is corrected in hardware: paged, not repaired.
REPAIR_XIDS = (48, 63, 64, 74, 79, 94, 95, 119, 120, 140)
# How long a repair may take before it pages: kured finds the fault within a minute, then the
# drain waits for each pod's termination grace period (and PDBs), then the node reboots.
REPAIR_STALLED_AFTER = "2h"

# Engine activity works on whole GPUs and on MIG devices alike (DCGM_FI_DEV_GPU_UTIL is not
# reported for MIG devices); it is a ratio 0..1.
ACTIVITY_METRIC = "DCGM_FI_PROF_GR_ENGINE_ACTIVE"


def ksm_label(key: str) -> str:
    """The name kube-state-metrics gives a Kubernetes label on kube_node_labels."""
    return "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)


def _rule(alert: str, expr: str, for_: str, severity: str, category: str, summary: str, description: str) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "alert": alert,
        "expr": expr,
        "labels": {"category": category, "severity": severity},
        "annotations": {"description": description, "summary": summary},
    }
    if for_:
        rule["for"] = for_
    return rule


def gpu_rule_groups(gpu_node_selector: Mapping[str, str]) -> list[dict[str, Any]]:
    node_match = ",".join(f'{ksm_label(k)}="{v}"' for k, v in sorted(gpu_node_selector.items()))
    gpu = "GPU {{ $labels.gpu }} ({{ $labels.modelName }}) on {{ $labels.node }}"
    xids = "|".join(str(x) for x in HARDWARE_XIDS)
    health = [
        _rule(
            "GpuHardwareXid",
            # The exporter's XID counter holds, per XID number, how many it saw in its window
            # (DCGM_EXPORTER_XID_COUNT_WINDOW_SIZE): it drops back to 0 once the window passes,
            # unlike the last-XID gauge DCGM_FI_DEV_XID_ERRORS, which latches forever.
            f'max by (node, gpu, UUID, modelName, xid) (DCGM_EXP_XID_ERRORS_COUNT{{xid=~"{xids}"}}) > 0',
            "2m",
            "critical",
            "gpu-health",
            "A GPU reported a hardware XID error",
            f"{gpu} reported XID {{{{ $labels.xid }}}} {{{{ $value }}}} time(s) in the last window: a hardware or driver fault. Drain the node and reset or replace the GPU.",
        ),
        _rule(
            "GpuEccDoubleBitErrors",
            # Each term stays above 0 exactly while the GPU is faulty, so the alert keeps
            # firing until it is repaired (an increase() would resolve after its window): the
            # volatile DBE total until the driver reloads; a pending row remap until the GPU is
            # reset and the spare row takes over; a failed remap (no spare left) for good.
            # Not the lifetime count of uncorrectable remapped rows: it never goes down, and a
            # GPU whose remap took effect after a reset is healthy again.
            "max by (node, gpu, UUID, modelName) (DCGM_FI_DEV_ECC_DBE_VOL_TOTAL) > 0"
            " or max by (node, gpu, UUID, modelName) (DCGM_FI_DEV_ROW_REMAP_PENDING) > 0"
            " or max by (node, gpu, UUID, modelName) (DCGM_FI_DEV_ROW_REMAP_FAILURE) > 0",
            "1m",
            "critical",
            "gpu-health",
            "A GPU has uncorrectable (double-bit) memory errors",
            f"{gpu} has uncorrectable ECC errors, a row remap waiting for a GPU reset, or a failed row remap; its results cannot be trusted. Drain the node and reset the GPU (replace it if the remap failed).",
        ),
        _rule(
            "GpuThermalThrottling",
            # The violation counter adds nanoseconds of throttling: rate() / 1e9 is the share
            # of time throttled.
            "rate(DCGM_FI_DEV_THERMAL_VIOLATION[5m]) / 1e9 > 0.01",
            "10m",
            "warning",
            "gpu-health",
            "A GPU is throttling its clocks for heat",
            f"{gpu} has been thermally throttled for more than 1% of the time for 10 minutes.",
        ),
        _rule(
            "GpuHighTemperature",
            f"DCGM_FI_DEV_GPU_TEMP >= {HIGH_TEMPERATURE_C}",
            "10m",
            "warning",
            "gpu-health",
            f"A GPU is at {HIGH_TEMPERATURE_C} C or hotter",
            f"{gpu} has been at {{{{ $value }}}} C for 10 minutes.",
        ),
        _rule(
            "GpuMemoryNearlyFull",
            f"DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > {MEMORY_FULL_RATIO}",
            "15m",
            "warning",
            "gpu-health",
            "A GPU's memory is nearly full",
            f"{gpu} has used more than {int(MEMORY_FULL_RATIO * 100)}% of its memory for 15 minutes (pod {{{{ $labels.exported_namespace }}}}/{{{{ $labels.exported_pod }}}}).",
        ),
        _rule(
            "GpuNodeWithoutDevicePlugin",
            f"max by (node) (kube_node_labels{{{node_match}}})"
            f' unless on (node) max by (node) (kube_node_status_allocatable{{resource=~"{GPU_RESOURCES_RE}"}} > 0)',
            "15m",
            "critical",
            "gpu-health",
            "A GPU node advertises no GPUs: its device plugin is not running",
            "GPU node {{ $labels.node }} has had no allocatable nvidia.com GPUs for 15 minutes; check the device plugin pod on it and the driver.",
        ),
    ]
    cost = [
        _rule(
            "GpuAllocatedIdle",
            f'{ACTIVITY_METRIC}{{exported_pod!=""}} < {IDLE_ACTIVITY_RATIO}',
            "30m",
            "warning",
            "gpu-cost",
            "An allocated GPU has been idle for 30 minutes",
            f"{gpu} is held by pod {{{{ $labels.exported_namespace }}}}/{{{{ $labels.exported_pod }}}} but has been under {IDLE_UTILIZATION_PERCENT}% busy for 30 minutes; release it or scale the workload down.",
        ),
        _rule(
            "GpuPodsPending",
            f'sum by (namespace, pod) (kube_pod_container_resource_requests{{resource=~"{GPU_RESOURCES_RE}"}})'
            ' * on (namespace, pod) max by (namespace, pod) (kube_pod_status_phase{phase="Pending"} == 1)',
            "15m",
            "warning",
            "gpu-cost",
            "A pod has waited 15 minutes for a GPU",
            # A pod over its namespace's GPU quota is refused at admission and never exists,
            # so it is not among these: the quota is not a reason a pod is pending.
            "Pod {{ $labels.namespace }}/{{ $labels.pod }} has been pending for 15 minutes asking for {{ $value }} GPU(s): the pool is at its maximum size, the cloud has no capacity for it, or no pool matches its selector and tolerations.",
        ),
    ]
    repair = [
        _rule(
            "GpuNodeRepairing",
            # kured's gauge (kubereboot/kured 1.23.0 cmd/kured/main.go: kured_reboot_required,
            # label `node`), 1 while its sentinel finds a hardware XID in the node's current boot.
            "max by (node) (kured_reboot_required) == 1",
            "2m",
            "warning",
            "gpu-repair",
            "A GPU node is being repaired after a hardware XID",
            "GPU node {{ $labels.node }} logged a hardware XID in this boot: the GPU repair agent (kured) cordons it, drains it (each pod gets its own termination grace period; PodDisruptionBudgets hold) and reboots it to reset the GPU.",
        ),
        _rule(
            "GpuNodeRepairStalled",
            "max by (node) (kured_reboot_required) == 1",
            REPAIR_STALLED_AFTER,
            "critical",
            "gpu-repair",
            "A GPU node with a hardware XID has not been repaired",
            f"GPU node {{{{ $labels.node }}}} has had a hardware XID for {REPAIR_STALLED_AFTER}: its drain is blocked (a PodDisruptionBudget, a long grace period, another node holding the repair lock) or the fault came back after the reboot. Check `kubectl -n gpu-health logs` of its kured pod; replace the node if the GPU faults again.",
        ),
        _rule(
            "GpuNodeHardwareNotReady",
            # The EKS node monitoring agent's NodeCondition for NVIDIA XIDs and DCGM findings
            # (aws/eks-node-monitoring-agent v1.7.0 docs/node-health-issues.adoc); node auto
            # repair acts on it after 10 minutes. kube-state-metrics exports every node
            # condition as kube_node_status_condition{condition, status}.
            # GKE's GPU device plugin sets XidCriticalError=True on a critical XID (48, 63, 64,
            # 79, 119, 120, 123, 140), for monitoring only: it triggers no auto-repair
            # (GoogleCloudPlatform/container-engine-accelerators pkg/gpu/nvidia/health_check/
            # health_checker.go, 2026-06).
            'max by (node) (kube_node_status_condition{condition="AcceleratedHardwareReady",status="false"}) == 1'
            ' or max by (node) (kube_node_status_condition{condition="XidCriticalError",status="true"}) == 1',
            "2m",
            "critical",
            "gpu-repair",
            "The cloud's node agent reports a GPU node's accelerators unhealthy",
            "Node {{ $labels.node }} has AcceleratedHardwareReady=False (EKS node monitoring agent: node auto repair reboots or replaces it 10 minutes after detection) or XidCriticalError=True (GKE's GPU device plugin: monitoring only, the platform's kured reboots the node). See `kubectl describe node {{ $labels.node }}` for the reason.",
        ),
    ]
    return [
        {"name": "ml-clusters.gpu-health", "rules": health},
        {"name": "ml-clusters.gpu-cost", "rules": cost},
        {"name": "ml-clusters.gpu-repair", "rules": repair},
    ]


def metrics_used(groups: list[dict[str, Any]]) -> set[str]:
    """DCGM metric names the rules read (tests check the exporter collects each)."""
    names: set[str] = set()
    for group in groups:
        for rule in group["rules"]:
            names.update(re.findall(r"\bDCGM_(?:FI|EXP)_[A-Z0-9_]+", rule["expr"]))
    return names

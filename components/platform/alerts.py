"""GPU health and cost alerts, as PrometheusRule groups.

Label conventions the expressions rely on (the same on every cloud, because the platform
renders the scrape config for both its own DCGM exporter and the cloud's):
- DCGM metrics keep the exporter's `gpu`, `UUID` and `modelName` labels and get `node` from
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

IDLE_UTILIZATION_PERCENT = 5
HIGH_TEMPERATURE_C = 85
MEMORY_FULL_RATIO = 0.95


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
    health = [
        _rule(
            "GpuXidError",
            "DCGM_FI_DEV_XID_ERRORS > 0",
            "",
            "critical",
            "gpu-health",
            "A GPU reported an XID error",
            f"{gpu} reported XID {{{{ $value }}}}; see NVIDIA's XID catalog. Drain the node if it repeats.",
        ),
        _rule(
            "GpuEccDoubleBitErrors",
            "increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[10m]) > 0"
            " or increase(DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS[10m]) > 0"
            " or DCGM_FI_DEV_ROW_REMAP_FAILURE > 0",
            "",
            "critical",
            "gpu-health",
            "A GPU has uncorrectable (double-bit) memory errors",
            f"{gpu} has uncorrectable ECC errors or failed row remapping; its results cannot be trusted. Drain the node and reset or replace the GPU.",
        ),
        _rule(
            "GpuThermalThrottling",
            "rate(DCGM_FI_DEV_THERMAL_VIOLATION[5m]) > 0",
            "10m",
            "warning",
            "gpu-health",
            "A GPU is throttling its clocks for heat",
            f"{gpu} has been thermally throttled for 10 minutes.",
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
            f'DCGM_FI_DEV_GPU_UTIL{{exported_pod!=""}} < {IDLE_UTILIZATION_PERCENT}',
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
            "Pod {{ $labels.namespace }}/{{ $labels.pod }} has been pending for 15 minutes asking for {{ $value }} GPU(s): the pool is at its maximum, the quota is spent, or no pool matches its selector.",
        ),
    ]
    return [
        {"name": "ml-clusters.gpu-health", "rules": health},
        {"name": "ml-clusters.gpu-cost", "rules": cost},
    ]


def metrics_used(groups: list[dict[str, Any]]) -> set[str]:
    """DCGM metric names the rules read (tests check the exporter collects each)."""
    names: set[str] = set()
    for group in groups:
        for rule in group["rules"]:
            names.update(re.findall(r"\bDCGM_FI_[A-Z0-9_]+", rule["expr"]))
    return names

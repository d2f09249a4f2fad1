"""The Grafana GPU dashboard, built as data and provisioned as a ConfigMap that Grafana's
dashboard sidecar loads. Same metric names on every cloud (DCGM's own)."""

from __future__ import annotations

import json
import re
from typing import Any

from .alerts import ACTIVITY_METRIC, GPU_RESOURCES_RE, HARDWARE_XIDS, IDLE_ACTIVITY_RATIO, IDLE_UTILIZATION_PERCENT

UID = "ml-clusters-gpu"
TITLE = "GPUs (ml-clusters)"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
NODE_FILTER = 'node=~"$node"'


def _panel(pid: int, title: str, kind: str, exprs: list[tuple[str, str]], x: int, y: int, w: int = 12, h: int = 8,
           unit: str = "short", max_value: float | None = None) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit}
    if max_value is not None:
        defaults["max"] = max_value
        defaults["min"] = 0
    return {
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "gridPos": {"h": h, "w": w, "x": x, "y": y},
        "id": pid,
        "targets": [
            {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i)}
            for i, (expr, legend) in enumerate(exprs)
        ],
        "title": title,
        "type": kind,
    }


def gpu_dashboard() -> dict[str, Any]:
    per_gpu = "{{node}} GPU {{gpu}} {{GPU_I_PROFILE}}"
    f = NODE_FILTER
    act = ACTIVITY_METRIC  # whole GPUs and MIG devices alike
    xids = "|".join(str(x) for x in HARDWARE_XIDS)
    panels = [
        _panel(1, "GPUs allocated to pods", "stat", [(f'count({act}{{{f},exported_pod!=""}})', "allocated")], 0, 0, w=6, h=4),
        _panel(2, f"Allocated GPUs under {IDLE_UTILIZATION_PERCENT}% busy", "stat",
               [(f'count({act}{{{f},exported_pod!=""}} < {IDLE_ACTIVITY_RATIO}) or vector(0)', "idle")], 6, 0, w=6, h=4),
        _panel(3, "Pods pending on a GPU", "stat",
               [(f'count(sum by (namespace, pod) (kube_pod_container_resource_requests{{resource=~"{GPU_RESOURCES_RE}"}})'
                 ' * on (namespace, pod) max by (namespace, pod) (kube_pod_status_phase{phase="Pending"} == 1)) or vector(0)', "pending")],
               12, 0, w=6, h=4),
        _panel(4, "GPUs with hardware XIDs (window)", "stat",
               [(f'count(max by (node, gpu) (DCGM_EXP_XID_ERRORS_COUNT{{{f},xid=~"{xids}"}}) > 0) or vector(0)', "xid")], 18, 0, w=6, h=4),
        _panel(5, "GPU activity (graphics engine)", "timeseries", [(f"{act}{{{f}}}", per_gpu)], 0, 4, unit="percentunit", max_value=1),
        _panel(6, "Tensor core activity", "timeseries", [(f"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{{{f}}}", per_gpu)], 12, 4, unit="percentunit", max_value=1),
        _panel(7, "GPU memory used", "timeseries",
               [(f"DCGM_FI_DEV_FB_USED{{{f}}} / (DCGM_FI_DEV_FB_USED{{{f}}} + DCGM_FI_DEV_FB_FREE{{{f}}})", per_gpu)], 0, 12,
               unit="percentunit", max_value=1),
        _panel(8, "GPU temperature", "timeseries", [(f"DCGM_FI_DEV_GPU_TEMP{{{f}}}", per_gpu)], 12, 12, unit="celsius"),
        _panel(9, "Power draw", "timeseries", [(f"DCGM_FI_DEV_POWER_USAGE{{{f}}}", per_gpu)], 0, 20, unit="watt"),
        # DCGM reports MHz; Grafana's unit is Hz.
        _panel(10, "SM clock", "timeseries", [(f"DCGM_FI_DEV_SM_CLOCK{{{f}}} * 1e6", per_gpu)], 12, 20, unit="hertz"),
        _panel(11, "Allocated GPUs by namespace", "timeseries",
               [(f'count by (exported_namespace) ({act}{{{f},exported_pod!=""}})', "{{exported_namespace}}")], 0, 28),
        # Violation counters add nanoseconds of throttling: rate / 1e9 is the share of time.
        _panel(12, "Thermal throttling (share of time)", "timeseries",
               [(f"rate(DCGM_FI_DEV_THERMAL_VIOLATION{{{f}}}[5m]) / 1e9", per_gpu)], 12, 28, unit="percentunit", max_value=1),
    ]
    return {
        "annotations": {"list": []},
        "editable": False,
        "panels": panels,
        "refresh": "1m",
        "schemaVersion": 39,
        "tags": ["gpu", "ml-clusters"],
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
                {
                    "datasource": DATASOURCE,
                    "includeAll": True,
                    "label": "Node",
                    "multi": True,
                    "name": "node",
                    "query": {"query": f"label_values({ACTIVITY_METRIC}, node)", "refId": "node"},
                    "refresh": 2,
                    "type": "query",
                },
            ]
        },
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "title": TITLE,
        "uid": UID,
        "version": 1,
    }


def gpu_dashboard_json() -> str:
    return json.dumps(gpu_dashboard(), sort_keys=True, indent=1)


def metrics_used(dashboard: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            names.update(re.findall(r"\bDCGM_(?:FI|EXP)_[A-Z0-9_]+", target["expr"]))
    return names

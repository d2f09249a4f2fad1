"""The GPU dashboard's queries evaluated by promtool on synthetic DCGM series: what each panel
shows on whole GPUs and MIG devices, in the unit its panel declares.

The series follow the exporter's labels (see test_alert_rules.py): `gpu`, `UUID`, `modelName`,
`GPU_I_ID`/`GPU_I_PROFILE` on MIG devices, `node` from the scrape, the pod holding a GPU as
`exported_pod`/`exported_namespace` (absent when nobody holds it). Grafana replaces `$node`
with the selected nodes as a regex alternation; the tests select both nodes.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.platform import dashboard
from tests.platform.promtool import requires_promtool, run_rule_tests, series

pytestmark = requires_promtool

NODES = "gpu-node-1|gpu-node-2"
WHOLE = {"gpu": "0", "UUID": "GPU-aaaa", "modelName": "NVIDIA H100 80GB HBM3", "node": "gpu-node-1",
         "exported_pod": "llm-0", "exported_namespace": "inference"}
SLICE = {"gpu": "1", "UUID": "GPU-bbbb", "modelName": "NVIDIA H100 80GB HBM3", "node": "gpu-node-1",
         "GPU_I_ID": "3", "GPU_I_PROFILE": "1g.10gb"}
BUSY_SLICE = {**SLICE, "exported_pod": "train-0", "exported_namespace": "research"}
IDLE_SLICE = {**SLICE, "GPU_I_ID": "4", "exported_pod": "nb-0", "exported_namespace": "research"}
FREE = {"gpu": "0", "UUID": "GPU-cccc", "modelName": "NVIDIA L4", "node": "gpu-node-2"}
OTHER_NODE = {**FREE, "node": "cpu-node-9"}  # a node the $node selection leaves out

ACTIVITY = [
    series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", WHOLE, "0.01x20"),   # held, idle
    series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", BUSY_SLICE, "0.6x20"),  # held MIG slice, busy
    series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", IDLE_SLICE, "0x20"),    # held MIG slice, idle
    series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", FREE, "0x20"),          # held by nobody
    series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", {**OTHER_NODE, "exported_pod": "x", "exported_namespace": "y"}, "0x20"),
]


def panel_expr(title_start: str) -> str:
    panel = next(p for p in dashboard.gpu_dashboard()["panels"] if p["title"].startswith(title_start))
    (target,) = panel["targets"]
    return target["expr"].replace("$node", NODES)


def labels(values: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(values.items())) + "}"


def evaluate(tmp_path, input_series: list[dict[str, str]], checks: list[tuple[str, list[tuple[dict[str, str], float]]]]) -> None:
    tests: list[dict[str, Any]] = [{
        "interval": "1m",
        "input_series": input_series,
        "promql_expr_test": [
            # round(): this promtool compares floats exactly, and rate() leaves 1.0000000000000002.
            {"expr": f"round({panel_expr(title)}, 0.0001)", "eval_time": "10m",
             "exp_samples": [{"labels": labels(lbls), "value": value} for lbls, value in samples]}
            for title, samples in checks
        ],
    }]
    run_rule_tests(tmp_path, [], tests)


def test_allocation_and_idle_panels_count_whole_gpus_and_mig_slices(tmp_path):
    evaluate(tmp_path, ACTIVITY, [
        ("GPUs allocated to pods", [({}, 3)]),  # the whole GPU and both slices; not the free GPU
        ("Allocated GPUs under", [({}, 2)]),    # the idle whole GPU and the idle slice
        ("Allocated GPUs by namespace", [({"exported_namespace": "inference"}, 1), ({"exported_namespace": "research"}, 2)]),
    ])


def test_stat_panels_show_zero_rather_than_no_data(tmp_path):
    evaluate(tmp_path, [series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", {**WHOLE}, "0.9x20"),
                        series("DCGM_EXP_XID_ERRORS_COUNT", {**FREE, "xid": "13"}, "2x20")], [
        ("Allocated GPUs under", [({}, 0)]),
        ("GPUs with hardware XIDs", [({}, 0)]),  # an app fault (XID 13) is not a hardware XID
        ("Pods pending on a GPU", [({}, 0)]),
    ])


def test_hardware_xid_and_pending_pod_panels(tmp_path):
    pod = {"namespace": "research", "pod": "train-1"}
    evaluate(tmp_path, [
        series("DCGM_EXP_XID_ERRORS_COUNT", {**FREE, "xid": "79"}, "1x20"),
        series("DCGM_EXP_XID_ERRORS_COUNT", {**FREE, "xid": "48"}, "2x20"),  # same GPU: counted once
        series("kube_pod_container_resource_requests", {**pod, "container": "c", "resource": "nvidia_com_mig_1g_10gb"}, "1x20"),
        series("kube_pod_status_phase", {**pod, "phase": "Pending"}, "1x20"),
    ], [
        ("GPUs with hardware XIDs", [({}, 1)]),
        ("Pods pending on a GPU", [({}, 1)]),
    ])


@pytest.mark.parametrize("share", [1.0, 0.25])
def test_throttling_panel_reads_nanoseconds_as_a_share_of_time(tmp_path, share):
    # DCGM_FI_DEV_THERMAL_VIOLATION adds nanoseconds of throttling: throttled all the time is
    # +60e9 per minute, which the panel (unit percentunit) must show as 1.0, not 1000.
    per_minute = int(60e9 * share)
    gpu = {k: v for k, v in WHOLE.items() if not k.startswith("exported_")}
    evaluate(tmp_path, [series("DCGM_FI_DEV_THERMAL_VIOLATION", gpu, f"0+{per_minute}x20")], [
        ("Thermal throttling", [(gpu, share)]),
    ])


def test_memory_and_clock_panels_on_a_mig_slice(tmp_path):
    evaluate(tmp_path, [
        series("DCGM_FI_DEV_FB_USED", BUSY_SLICE, "9000x20"),
        series("DCGM_FI_DEV_FB_FREE", BUSY_SLICE, "1000x20"),
        series("DCGM_FI_DEV_SM_CLOCK", WHOLE, "1980x20"),
    ], [
        ("GPU memory used", [(BUSY_SLICE, 0.9)]),  # a share (percentunit) of the slice's memory
        ("SM clock", [(WHOLE, 1.98e9)]),             # MHz to Grafana's hertz
    ])

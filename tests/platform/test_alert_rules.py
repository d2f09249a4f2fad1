"""Every GPU alert under `promtool test rules`, with synthetic DCGM and kube-state-metrics
series: each fires when it should and stays silent when it should not.

promtool comes from Debian's `prometheus` package (.ci/run installs it). Without it the
tests skip loudly on a developer machine and fail in CI (CI=true).

Label facts the series follow: the DCGM exporter labels every GPU series `gpu`, `UUID`,
`modelName` (plus `GPU_I_ID`/`GPU_I_PROFILE` on MIG devices), the XID counter adds `xid`
(NVIDIA/dcgm-exporter internal/pkg/collector/xid_collector.go), the scrape adds `node`;
kube-state-metrics names node labels `label_<key>` and extended resources `nvidia_com_gpu`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from components.conventions import GPU_NODE_LABEL
from components.platform import alerts, monitoring
from tests.platform.promtool import PROMTOOL, requires_promtool, run_rule_tests, series

pytestmark = requires_promtool

GPU = {"gpu": "0", "UUID": "GPU-0a1b", "modelName": "NVIDIA H100 80GB HBM3", "node": "gpu-node-1"}
MIG = {**GPU, "GPU_I_ID": "3", "GPU_I_PROFILE": "1g.10gb"}
POD = {"exported_pod": "llm-0", "exported_namespace": "inference"}


def rule_groups(with_annotations: bool) -> list[dict[str, Any]]:
    groups = alerts.gpu_rule_groups({GPU_NODE_LABEL: "true"})
    if not with_annotations:
        # promtool compares annotations exactly; the expressions, `for` and labels are what
        # these tests pin. `promtool check rules` below validates the annotation templates.
        groups = [{**g, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]} for g in groups]
    return groups


def labels_of(alert: str) -> dict[str, str]:
    rule = next(r for g in alerts.gpu_rule_groups({GPU_NODE_LABEL: "true"}) for r in g["rules"] if r["alert"] == alert)
    return dict(rule["labels"])


def run_promtool(tmp_path: Path, tests: list[dict[str, Any]]) -> None:
    run_rule_tests(tmp_path, rule_groups(with_annotations=False), tests)


def case(input_series: list[dict[str, str]], alert: str, at: str, expected: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "interval": "1m",
        "input_series": input_series,
        "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": [{"exp_labels": {**labels_of(alert), **e}} for e in expected]}],
    }


def test_rules_and_their_templates_are_valid(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule_groups(with_annotations=True)}, sort_keys=False))
    done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    count = sum(len(g["rules"]) for g in rule_groups(with_annotations=True))
    assert count >= 11  # 6 health, 2 cost, 3 repair
    assert f"SUCCESS: {count} rules found" in done.stdout


def test_hardware_xid_pages_from_the_counter_not_the_latching_gauge(tmp_path):
    xid79 = {**GPU, "xid": "79"}
    by = {k: GPU[k] for k in ("gpu", "UUID", "modelName", "node")}
    run_promtool(tmp_path, [
        # XID 79 (fallen off the bus) counted in the window for 10 minutes: critical after 2m.
        case([series("DCGM_EXP_XID_ERRORS_COUNT", xid79, "1x10")], "GpuHardwareXid", "5m", [{**by, "xid": "79"}]),
        # ... and no page from a single sample: evaluated on that sample, a rule without its
        # `for` would already fire.
        case([series("DCGM_EXP_XID_ERRORS_COUNT", xid79, "0 1 0x10")], "GpuHardwareXid", "1m", []),
        # An app fault (XID 13, 31, 43, 45) is the workload's, not the GPU's.
        case([series("DCGM_EXP_XID_ERRORS_COUNT", {**GPU, "xid": "13"}, "3x10"),
              series("DCGM_EXP_XID_ERRORS_COUNT", {**GPU, "xid": "43"}, "1x10")], "GpuHardwareXid", "5m", []),
        # The last-XID gauge latches forever (DCGM_FI_DEV_XID_ERRORS never resets): not alerted on.
        case([series("DCGM_FI_DEV_XID_ERRORS", GPU, "79x30")], "GpuHardwareXid", "20m", []),
        # Once the window has passed the counter is back at 0 and the alert resolves.
        case([series("DCGM_EXP_XID_ERRORS_COUNT", xid79, "1x5 0x20")], "GpuHardwareXid", "20m", []),
    ])


def test_ecc_double_bit_alert_stays_firing_while_the_gpu_is_faulty(tmp_path):
    by = {k: GPU[k] for k in ("gpu", "UUID", "modelName", "node")}
    faulty = [series("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", GPU, "0 0 2x120")]
    # An uncorrectable error's row remap: pending (DCGM field 396) until the GPU is reset at
    # 60m, then applied; the lifetime count of uncorrectable remapped rows stays 1 for good.
    remapped = [series("DCGM_FI_DEV_ROW_REMAP_PENDING", GPU, "0 1x59 0x60"),
                series("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", GPU, "0 1x119"),
                series("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", GPU, "0x120")]
    run_promtool(tmp_path, [
        case(faulty, "GpuEccDoubleBitErrors", "5m", [by]),
        # Two hours later the volatile total is still 2 (it resets only when the driver
        # reloads): still firing, where increase() would have gone quiet.
        case(faulty, "GpuEccDoubleBitErrors", "120m", [by]),
        case([series("DCGM_FI_DEV_ROW_REMAP_FAILURE", GPU, "0 1x10")], "GpuEccDoubleBitErrors", "5m", [by]),
        # Firing while the remap waits for a reset ...
        case(remapped, "GpuEccDoubleBitErrors", "45m", [by]),
        # ... and silent once the reset applied it: the GPU is healthy again although its
        # lifetime count of remapped rows never goes down.
        case(remapped, "GpuEccDoubleBitErrors", "90m", []),
        case([series("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", GPU, "0x60"), series("DCGM_FI_DEV_ROW_REMAP_FAILURE", GPU, "0x60"),
              series("DCGM_FI_DEV_ROW_REMAP_PENDING", GPU, "0x60")], "GpuEccDoubleBitErrors", "30m", []),
        # No page from one sample (evaluated on it: without `for` it would fire).
        case([series("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", GPU, "0 2 0x10")], "GpuEccDoubleBitErrors", "1m", []),
    ])


def test_thermal_throttling_reads_nanoseconds(tmp_path):
    # Violation counters add nanoseconds: throttled all the time is +60e9 per minute.
    run_promtool(tmp_path, [
        case([series("DCGM_FI_DEV_THERMAL_VIOLATION", GPU, "0+60000000000x30")], "GpuThermalThrottling", "20m", [GPU]),
        # 60 ms of throttling a minute (0.1%): read as microseconds it would look like 1000 s.
        case([series("DCGM_FI_DEV_THERMAL_VIOLATION", GPU, "0+60000000x30")], "GpuThermalThrottling", "20m", []),
    ])


def test_high_temperature(tmp_path):
    run_promtool(tmp_path, [
        case([series("DCGM_FI_DEV_GPU_TEMP", GPU, "90x20")], "GpuHighTemperature", "15m", [GPU]),
        case([series("DCGM_FI_DEV_GPU_TEMP", GPU, "90x5 70x20")], "GpuHighTemperature", "15m", []),
        case([series("DCGM_FI_DEV_GPU_TEMP", GPU, "80x20")], "GpuHighTemperature", "15m", []),
    ])


def test_memory_nearly_full_also_on_mig_devices(tmp_path):
    full = {**MIG, **POD}
    run_promtool(tmp_path, [
        case([series("DCGM_FI_DEV_FB_USED", full, "9900x30"), series("DCGM_FI_DEV_FB_FREE", full, "100x30")],
             "GpuMemoryNearlyFull", "20m", [full]),
        case([series("DCGM_FI_DEV_FB_USED", full, "5000x30"), series("DCGM_FI_DEV_FB_FREE", full, "5000x30")],
             "GpuMemoryNearlyFull", "20m", []),
    ])


def test_gpu_node_without_device_plugin(tmp_path):
    node = {"node": "gpu-node-1", "label_ml_clusters_io_gpu": "true"}
    gpu_alloc = {"node": "gpu-node-1", "resource": "nvidia_com_gpu"}
    mig_alloc = {"node": "gpu-node-1", "resource": "nvidia_com_mig_1g_10gb"}
    run_promtool(tmp_path, [
        case([series("kube_node_labels", node, "1x30")], "GpuNodeWithoutDevicePlugin", "20m", [{"node": "gpu-node-1"}]),
        case([series("kube_node_labels", node, "1x30"), series("kube_node_status_allocatable", gpu_alloc, "8x30")],
             "GpuNodeWithoutDevicePlugin", "20m", []),
        # A mixed-MIG node advertises only its slices: that is a working plugin.
        case([series("kube_node_labels", node, "1x30"), series("kube_node_status_allocatable", mig_alloc, "7x30")],
             "GpuNodeWithoutDevicePlugin", "20m", []),
        # A CPU node is none of its business.
        case([series("kube_node_labels", {"node": "cpu-1", "label_ml_clusters_io_gpu": "false"}, "1x30")],
             "GpuNodeWithoutDevicePlugin", "20m", []),
    ])


def test_allocated_idle_gpu_on_whole_gpus_and_mig_devices(tmp_path):
    whole = {**GPU, **POD}
    slice_ = {**MIG, **POD}
    run_promtool(tmp_path, [
        # Engine activity is a 0..1 ratio and is reported per MIG device (GPU_UTIL is not).
        case([series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", whole, "0.01x40")], "GpuAllocatedIdle", "35m", [whole]),
        case([series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", slice_, "0x40")], "GpuAllocatedIdle", "35m", [slice_]),
        case([series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", whole, "0.6x40")], "GpuAllocatedIdle", "35m", []),
        # Idle but held by nobody: not a cost problem.
        case([series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", GPU, "0x40")], "GpuAllocatedIdle", "35m", []),
        # Busy 6 of 10 minutes: never idle for 30 minutes in a row.
        case([series("DCGM_FI_PROF_GR_ENGINE_ACTIVE", whole, "0x20 0.9 0x15")], "GpuAllocatedIdle", "35m", []),
    ])


def test_pods_pending_on_gpus(tmp_path):
    pod = {"namespace": "inference", "pod": "llm-0"}
    request = series("kube_pod_container_resource_requests", {**pod, "container": "llm", "resource": "nvidia_com_gpu", "node": ""}, "1x30")
    run_promtool(tmp_path, [
        case([request, series("kube_pod_status_phase", {**pod, "phase": "Pending"}, "1x30")], "GpuPodsPending", "20m", [pod]),
        case([request, series("kube_pod_status_phase", {**pod, "phase": "Pending"}, "0x30"),
              series("kube_pod_status_phase", {**pod, "phase": "Running"}, "1x30")], "GpuPodsPending", "20m", []),
        # A CPU-only pending pod is someone else's problem.
        case([series("kube_pod_container_resource_requests", {**pod, "container": "llm", "resource": "cpu", "node": ""}, "1x30"),
              series("kube_pod_status_phase", {**pod, "phase": "Pending"}, "1x30")], "GpuPodsPending", "20m", []),
    ])


def test_every_alert_has_a_promtool_test():
    text = Path(__file__).read_text()
    names = {r["alert"] for g in alerts.gpu_rule_groups({GPU_NODE_LABEL: "true"}) for r in g["rules"]}
    assert all(f'"{n}"' in text for n in names), [n for n in names if f'"{n}"' not in text]


def seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smh])", duration))


def test_critical_alerts_never_page_from_a_single_sample():
    # A page needs the condition to hold over at least two scrapes of the exporter.
    scrape = seconds(monitoring.SCRAPE_INTERVAL)
    for group in alerts.gpu_rule_groups({GPU_NODE_LABEL: "true"}):
        for rule in group["rules"]:
            if rule["labels"]["severity"] == "critical":
                assert seconds(rule.get("for", "0s")) >= 2 * scrape, rule["alert"]


# --- GPU repair (components/platform/health.py) ---------------------------------------------
# kured 1.23.0 (cmd/kured/main.go) exports kured_reboot_required{node} = 1 while its sentinel
# command finds a fault, refreshed every minute; the scrape keeps the gauge's `node` label
# (honorLabels, as chart kured-6.1.0's ServiceMonitor sets it).


def test_repairing_says_when_the_agent_acts_and_stalled_when_it_does_not_finish(tmp_path):
    node = {"node": "gpu-node-1"}
    scraped = {**node, "instance": "10.0.0.7:8080", "job": "gpu-health/kured"}
    stalled_after = seconds(alerts.REPAIR_STALLED_AFTER) // 60
    run_promtool(tmp_path, [
        # A hardware XID found: the agent cordons and drains; a warning after 2 minutes.
        case([series("kured_reboot_required", scraped, "0 1x20")], "GpuNodeRepairing", "5m", [node]),
        # ... not from one sample.
        case([series("kured_reboot_required", scraped, "0 1 0x20")], "GpuNodeRepairing", "2m", []),
        # A healthy node (0) never says so.
        case([series("kured_reboot_required", scraped, "0x30")], "GpuNodeRepairing", "20m", []),
        # After the reboot the sentinel reads the new boot's kernel log: back to 0, resolved.
        case([series("kured_reboot_required", scraped, "1x10 0x20")], "GpuNodeRepairing", "25m", []),
        # Still at 1 past REPAIR_STALLED_AFTER: the drain is blocked or the fault came back.
        case([series("kured_reboot_required", scraped, f"1x{stalled_after + 10}")], "GpuNodeRepairStalled",
             f"{stalled_after + 5}m", [node]),
        # A repair that finished in 20 minutes never pages.
        case([series("kured_reboot_required", scraped, f"1x20 0x{stalled_after}")], "GpuNodeRepairStalled",
             f"{stalled_after + 5}m", []),
        # ... nor one still within its time.
        case([series("kured_reboot_required", scraped, f"1x{stalled_after}")], "GpuNodeRepairStalled",
             f"{stalled_after - 5}m", []),
    ])


def test_hardware_not_ready_reads_the_cloud_agents_conditions(tmp_path):
    # EKS node monitoring agent: AcceleratedHardwareReady (False is the fault); GKE device
    # plugin: XidCriticalError (True is the fault, container-engine-accelerators health_checker.go).
    # kube-state-metrics: one series per condition status, 1 for the current one.
    def condition(status: str, value: str, name: str = "AcceleratedHardwareReady") -> dict[str, str]:
        return series("kube_node_status_condition", {"node": "gpu-node-1", "condition": name, "status": status}, value)

    node = {"node": "gpu-node-1"}
    run_promtool(tmp_path, [
        case([condition("false", "0 1x10"), condition("true", "1 0x10")], "GpuNodeHardwareNotReady", "5m", [node]),
        case([condition("false", "0x10"), condition("true", "1x10")], "GpuNodeHardwareNotReady", "5m", []),
        # Unknown (the agent stopped reporting) is not a hardware fault.
        case([condition("unknown", "1x10"), condition("false", "0x10")], "GpuNodeHardwareNotReady", "5m", []),
        # Another condition false is none of its business.
        case([condition("false", "1x10", "KernelReady")], "GpuNodeHardwareNotReady", "5m", []),
        # GKE's device plugin: XidCriticalError is a problem condition, so True is the fault.
        case([condition("true", "0 1x10", "XidCriticalError"), condition("false", "1 0x10", "XidCriticalError")],
             "GpuNodeHardwareNotReady", "5m", [node]),
        case([condition("false", "1x10", "XidCriticalError"), condition("true", "0x10", "XidCriticalError")],
             "GpuNodeHardwareNotReady", "5m", []),
    ])

"""GPU repair (components/platform/health.py): kured on every GPU node, on the plans of the
reference stacks (cached) and two platform runs for the switch.

Upstream facts each test relies on:
- kubereboot/charts kured-6.1.0 (appVersion 1.23.0) templates/daemonset.yaml, clusterrole.yaml,
  role.yaml, values.yaml: the DaemonSet runs /usr/bin/kured with `--ds-name`/`--ds-namespace`,
  hostPID, a privileged read-only-root container, KURED_NODE_ID from spec.nodeName, probes
  on /metrics at the metrics port; the ClusterRole (nodes get/patch, pods list/get/delete,
  daemonsets get, pods/eviction create) and the Role (update/patch on its own DaemonSet only;
  pkg/daemonsetlock/daemonsetlock.go at 1.23.0 calls Update only).
- kubereboot/kured 1.23.0 cmd/kured/main.go: `--drain-grace-period` "-1 ... the default value
  specified in the pod will be used"; drain() uses kubectl's drain helper (Eviction API,
  IgnoreAllDaemonSets); `--reboot-sentinel-command` exit 0 means repair;
  pkg/checkers/checker.go: the command is shlex-split and run under
  `nsenter -m/proc/1/ns/mnt --`; exit code 1 is "not required" without a warning.
- systemd journalctl(1): `-k` shows kernel messages and implies `-b` (this boot only).
- NVIDIA's driver logs an XID as `NVRM: Xid (PCI:<bus id>): <code>, ...` (NVIDIA XID docs,
  docs.nvidia.com/deploy/xid-errors; the lines quoted in NVIDIA's open-gpu-kernel-modules issues).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from components import catalog
from components.conventions import GPU_NODE_LABEL, GPU_TAINT
from components.platform import alerts, health
from policies import offline
from policies.rules.kubernetes import PRIVILEGED_WORKLOADS
from preview import engine
from tests.conftest import config_errors, inputs, plan_for_stack
from tests.platform import harness

KURED_DS = "kubernetes:apps/v1:DaemonSet"
STACKS = ("prod-aws", "prod-gcp", "prod-azure")


def kured(plan: engine.Plan) -> engine.PlannedResource:
    (ds,) = [r for r in plan.by_type(KURED_DS) if r.inputs["metadata"]["name"] == health.KURED]
    return ds


def by_name(plan: engine.Plan, suffix: str) -> engine.PlannedResource:
    (found,) = [r for r in plan.resources if r.name.endswith(suffix)]
    return found


@pytest.fixture(scope="module", params=STACKS)
def plan(request) -> engine.Plan:
    return plan_for_stack(request.param)


# --- the sentinel: what counts as a fault ------------------------------------------------------

SAMPLE = "NVRM: Xid (PCI:0000:3b:00): {code}, pid=1896, name=python, {text}"


@pytest.mark.skipif(shutil.which("grep") is None, reason="needs grep")
@pytest.mark.parametrize("code", alerts.REPAIR_XIDS)
def test_sentinel_finds_each_hardware_xid(code):
    line = SAMPLE.format(code=code, text="GPU has fallen off the bus.")
    assert subprocess.run(["grep", "-qE", health.xid_pattern()], input=line, text=True).returncode == 0


@pytest.mark.parametrize("line", [
    *(SAMPLE.format(code=c, text="app fault") for c in alerts.APP_FAULT_XIDS),  # the workload's own faults
    SAMPLE.format(code=92, text="High single-bit ECC error rate"),  # corrected in hardware: paged only
    SAMPLE.format(code=480, text="no such XID"), SAMPLE.format(code=790, text="no such XID"),  # whole numbers only
    "NVRM: GPU at PCI:0000:3b:00: GPU-0a1b",  # the driver's other lines
])
def test_sentinel_ignores_other_lines(line):
    # grep exits 1 on no match: kured reads that as "nothing to do" (pkg/checkers/checker.go).
    assert subprocess.run(["grep", "-qE", health.xid_pattern()], input=line, text=True).returncode == 1


def test_sentinel_reads_only_this_boots_kernel_log_and_survives_shlex():
    # kured shlex-splits the command (google/shlex, POSIX rules like Python's shlex) and runs it
    # in the host mount namespace: one `sh -c` whose script reads `journalctl -k` (this boot).
    argv = shlex.split(health.sentinel_command())
    assert argv[:2] == ["sh", "-c"] and len(argv) == 3
    script = argv[2]
    assert script.startswith("journalctl -k ") and "grep -qE" in script
    assert f"'{health.xid_pattern()}'" in script and "\\" not in health.xid_pattern()


def test_repair_xids_are_the_hardware_xids_less_the_corrected_ones():
    assert set(alerts.REPAIR_XIDS) >= set(alerts.HARDWARE_XIDS) - {92}
    assert not set(alerts.REPAIR_XIDS) & set(alerts.APP_FAULT_XIDS)


# --- resources and inputs on every reference stack ---------------------------------------------


def test_kured_runs_on_every_gpu_node_tolerating_the_gpu_taint(plan):
    spec = inputs(kured(plan))["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {GPU_NODE_LABEL: "true"}
    assert {"key": GPU_TAINT.key, "operator": "Exists", "effect": GPU_TAINT.effect} in spec["tolerations"]
    assert spec["priorityClassName"] == "system-node-critical"
    # The chart's pod: host PID and a privileged, read-only-root container (nsenter into PID 1).
    assert spec["hostPID"] is True and "hostNetwork" not in spec and "hostIPC" not in spec
    (container,) = spec["containers"]
    assert container["securityContext"] == {"privileged": True, "readOnlyRootFilesystem": True}
    assert container["image"] == catalog.IMAGES["kured"] and container["command"] == ["/usr/bin/kured"]
    assert {"name": "KURED_NODE_ID", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}} in container["env"]
    assert not spec.get("volumes")  # the sentinel is a command, not the host's reboot-required file


def test_kured_honours_each_pods_grace_period_and_drains_one_node_at_a_time(plan):
    args = inputs(kured(plan))["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--drain-grace-period=-1" in args  # the pod's own terminationGracePeriodSeconds
    assert f"--ds-name={health.KURED}" in args and f"--ds-namespace={health.HEALTH_NAMESPACE}" in args
    assert "--concurrency=1" in args and f"--period={health.CHECK_PERIOD}" in args
    assert f"--reboot-sentinel-command={health.sentinel_command()}" in args
    # Not set: a drain timeout (after which kured uncordons a failed drain and retries) and
    # --force-reboot (which reboots although the drain failed, cutting grace periods short).
    assert not [a for a in args if a.startswith(("--drain-timeout", "--force-reboot", "--skip-wait-for-delete-timeout"))]


def test_rbac_is_the_charts_less_pod_deletion_and_lock_patching(plan):
    (cluster_role,) = [inputs(r) for r in plan.by_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
                       if r.inputs["metadata"]["name"] == "ml-clusters-gpu-health"]
    rules = {(g, res): set(rule["verbs"]) for rule in cluster_role["rules"] for g in rule["apiGroups"] for res in rule["resources"]}
    assert rules == {("", "nodes"): {"get", "patch"}, ("", "pods"): {"get", "list"},
                     ("", "pods/eviction"): {"create"}, ("apps", "daemonsets"): {"get"}}
    (role,) = [inputs(r) for r in plan.by_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
               if r.inputs["metadata"].get("namespace") == health.HEALTH_NAMESPACE]
    assert role["rules"] == [{"apiGroups": ["apps"], "resources": ["daemonsets"], "resourceNames": [health.KURED],
                              "verbs": ["update"]}]  # daemonsetlock.go calls Update only
    account = {"kind": "ServiceAccount", "name": health.KURED, "namespace": health.HEALTH_NAMESPACE}
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        (binding,) = [inputs(r) for r in plan.by_type(f"kubernetes:rbac.authorization.k8s.io/v1:{kind}")
                      if r.name.endswith(("-kured-clusterrolebinding", "-kured-lock-rolebinding"))]
        assert binding["subjects"] == [account], kind


def test_namespace_enforces_privileged_and_holds_only_kured(plan):
    (ns,) = [inputs(r) for r in plan.by_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == health.HEALTH_NAMESPACE]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/warn"] == "restricted"
    workloads = [r for r in plan.resources if r.type.startswith("kubernetes:apps/")
                 and r.inputs["metadata"].get("namespace") == health.HEALTH_NAMESPACE]
    assert [r.inputs["metadata"]["name"] for r in workloads] == [health.KURED]


# --- order on the plan --------------------------------------------------------------------------


def test_kured_starts_after_its_permissions_and_the_system_pool_not_after_gpu_pools(plan):
    ds = kured(plan)
    for suffix in ("-health-namespace", "-kured-sa", "-kured-clusterrolebinding", "-kured-lock-rolebinding"):
        assert by_name(plan, suffix).urn in ds.dependencies, suffix
    pools = [r for r in plan.resources if r.type in ("aws:eks/nodeGroup:NodeGroup", "gcp:container/nodePool:NodePool",
                                                      "azure-native:containerservice:AgentPool")]
    # GPU pools carry the GPU taint (or GKE's GPU accelerators); the system pool does not.
    gpu_pools = {r.urn for r in pools if GPU_TAINT.key in str(r.inputs)}
    system = [r for r in pools if r.name.endswith("-system")]
    assert gpu_pools and system
    # It waits for the backend's ready list (the system pool among it), never for a GPU pool:
    # GPU pools come up in parallel with the platform (DESIGN.md, deploy order).
    assert system[0].urn in ds.dependencies
    assert not gpu_pools & set(ds.dependencies)


def test_pod_monitor_waits_for_the_monitoring_release(plan):
    monitor = by_name(plan, "-kured-podmonitor")
    release = by_name(plan, "-monitoring-kube-prometheus-stack")
    assert release.urn in monitor.dependencies
    endpoint = inputs(monitor)["spec"]["podMetricsEndpoints"][0]
    # honorLabels keeps the gauge's own `node` label, as the chart's ServiceMonitor does.
    assert endpoint["honorLabels"] is True and endpoint["port"] == health.METRICS_PORT_NAME


# --- the policy pack admits kured only under its reviewed name ----------------------------------


def test_policy_pack_admits_kured_by_its_allow_listed_name_only(plan):
    ds = kured(plan)
    assert f"{health.HEALTH_NAMESPACE}/{health.KURED}" in PRIVILEGED_WORKLOADS
    assert not [v for v in offline.evaluate([ds], "prod") if "kured" in v.message or v.urn == ds.urn]
    renamed = engine.PlannedResource(ds.urn + "-copy", ds.type, ds.name + "-copy", ds.parent, True,
                                     {**ds.inputs, "metadata": {**ds.inputs["metadata"], "name": "kured-copy"}})
    found = {v.policy for v in offline.evaluate([renamed], "prod")}
    assert {"k8s-no-privileged-containers", "k8s-no-host-namespaces"} <= found


# --- the switch ----------------------------------------------------------------------------------


def test_on_by_default_with_gpu_pools_off_without_and_off_when_asked():
    without_pools = harness.run_platform(harness.eks_shape([]))
    assert not [r for r in without_pools.plan.resources if r.type == "mlclusters:platform:Health"]
    switched_off = harness.run_platform(harness.eks_shape([harness.pool("l4", "g6.xlarge")]), {"gpuHealth": {"enabled": False}})
    assert not [o for o in switched_off.objects("DaemonSet") if o["metadata"]["name"] == health.KURED]
    assert not [o for o in switched_off.objects("Namespace") if o["metadata"]["name"] == health.HEALTH_NAMESPACE]
    # ... and the reference stacks, which have GPU pools and leave it unset, run it.
    for stack in STACKS:
        assert kured(plan_for_stack(stack))


# --- bad input: one clear line, nothing created ----------------------------------------------

BASE = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True},
        "gpuPools": [{"name": "l4", "instanceType": "g6.xlarge"}]}


@pytest.mark.parametrize(("health", "line"), [
    ({"enabled": "sometimes"}, "platform.gpuHealth.enabled: 'sometimes' is not valid; input should be a valid boolean"),
    ({"period": "5m"}, "platform.gpuHealth.period: unknown key; allowed keys: enabled"),
])
def test_bad_gpu_health_input_is_one_line_naming_the_key(health, line):
    (problem,) = config_errors({**BASE, "platform": {"gpuHealth": health}})
    assert problem.startswith(line), problem

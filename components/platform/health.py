"""GPU repair: a GPU node whose kernel log shows a hardware XID is cordoned, drained and
rebooted, so no new pod lands on a broken GPU and the GPU is reset.

The agent is kured (kubereboot/kured 1.23.0, chart kubereboot/charts kured-6.1.0), rendered
as plain objects from that chart's templates so the policy pack, the schema validation and
Checkov see every field. kured runs as a DaemonSet on every GPU node; there is no
controller: the nodes coordinate through a lock annotation on the DaemonSet itself
(pkg/daemonsetlock), so at most `--concurrency` nodes are drained at once. Every `--period`
it runs its sentinel command on the host (through `nsenter -m/proc/1/ns/mnt`, hence the host
PID namespace and the privileged container; pkg/checkers/checker.go NewCommandChecker);
exit 0 means "repair this node". Ours reads the kernel log of the current boot
(`journalctl -k` implies `-b`) for NVIDIA's hardware XIDs, so a reboot clears the finding
and a GPU that faults again after it is found again.

What kured then does (cmd/kured/main.go @ 1.23.0, rebootAsRequired and drain): takes the
lock, cordons the node, drains it with kubectl's drain helper (the Eviction API, so
PodDisruptionBudgets hold; `GracePeriodSeconds: -1` gives every pod its own
terminationGracePeriodSeconds; DaemonSet pods stay), reboots it with `systemctl reboot`,
and after the reboot uncordons it and releases the lock. A drain that fails (a PDB that
never allows the eviction) is retried on the next period; the node stays cordoned only
while kured holds it. `kured_reboot_required{node}` is 1 while the sentinel finds a fault:
the alerts in alerts.py (group ml-clusters.gpu-repair) say when it acted and when it is
stuck.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from .. import catalog
from ..handle import ClusterHandle
from .alerts import REPAIR_XIDS
from .common import (
    PROMETHEUS_SELECTOR,
    Scope,
    checkov_skips,
    gpu_tolerations,
    labels,
    metadata,
    namespace_labels,
    pod_security,
    resources,
    selector_labels,
    sorted_dict,
)

HEALTH_NAMESPACE = "gpu-health"
KURED = "kured"
METRICS_PORT = 8080
METRICS_PORT_NAME = "metrics"
# How often each node runs the sentinel (kured --period, default 1h): a faulty GPU is found
# within this period (plus kured's random jitter of up to a minute).
CHECK_PERIOD = "1m"
# Nodes repaired at once (kured --concurrency, default 1): one at a time, so a burst of
# faults (or a bad sentinel) never drains a whole GPU pool.
CONCURRENCY = 1
# -1: each pod's own terminationGracePeriodSeconds (kured --drain-grace-period, "if
# negative, the default value specified in the pod will be used").
DRAIN_GRACE_PERIOD = -1


def xid_pattern(xids: tuple[int, ...] = REPAIR_XIDS) -> str:
    """An extended regex for the NVIDIA driver's XID line, `NVRM: Xid (PCI:0000:3b:00): 79, ...`
    (the form NVIDIA's XID documentation and the driver print), matching only `xids`. No
    backslashes: kured splits the command with shlex before it runs it."""
    return "NVRM: Xid [(]PCI:[^)]*[)]: (" + "|".join(str(x) for x in xids) + "),"


def sentinel_command(xids: tuple[int, ...] = REPAIR_XIDS) -> str:
    """kured's --reboot-sentinel-command: exit 0 (repair) when this boot's kernel log holds a
    hardware XID, 1 otherwise (kured treats 1 as "nothing to do" without a warning)."""
    return f"sh -c \"journalctl -k -o cat --no-pager | grep -qE '{xid_pattern(xids)}'\""


def kured_args() -> list[str]:
    return [
        f"--ds-name={KURED}",
        f"--ds-namespace={HEALTH_NAMESPACE}",
        f"--metrics-port={METRICS_PORT}",
        f"--period={CHECK_PERIOD}",
        f"--concurrency={CONCURRENCY}",
        f"--drain-grace-period={DRAIN_GRACE_PERIOD}",
        f"--reboot-sentinel-command={sentinel_command()}",
        "--reboot-command=/bin/systemctl reboot",
        # weave.works/kured-reboot-in-progress and -most-recent-reboot-needed on the node:
        # what `kubectl describe node` shows while it is repaired.
        "--annotate-nodes=true",
        "--log-format=json",
    ]


def cluster_role_rules() -> list[dict[str, Any]]:
    """What the chart's ClusterRole grants (kured-6.1.0 templates/clusterrole.yaml), less the
    long-gone `extensions` API group and less pod `delete`: kubectl's drain helper deletes
    pods only where the Eviction API is not served (policy/v1 is, on every Kubernetes this
    program supports), and eviction is what keeps PodDisruptionBudgets and grace periods."""
    return [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
        {"apiGroups": ["apps"], "resources": ["daemonsets"], "verbs": ["get"]},
    ]


def lock_role_rules() -> list[dict[str, Any]]:
    """The lock: kured writes its annotation on its own DaemonSet and nothing else. The chart's
    Role grants update and patch (and the `extensions` group); pkg/daemonsetlock/daemonsetlock.go
    @ 1.23.0 only ever calls Update, so update alone."""
    return [{"apiGroups": ["apps"], "resources": ["daemonsets"], "resourceNames": [KURED], "verbs": ["update"]}]


KURED_SKIPS = checkov_skips({
    "CKV_K8S_16": "kured runs its sentinel and systemctl reboot in the host mount namespace through nsenter (kured 1.23.0 pkg/checkers)",
    "CKV_K8S_17": "kured enters the host's PID 1 mount namespace through nsenter",
    "CKV_K8S_20": "a privileged container (kured) enters the host namespaces",
    "CKV_K8S_23": "a privileged container (kured) enters the host namespaces",
    "CKV_K8S_28": "a privileged container (kured) enters the host namespaces",
    "CKV_K8S_37": "a privileged container (kured) enters the host namespaces",
    "CKV_K8S_40": "nsenter into the host mount namespace needs root",
    "CKV_K8S_38": "kured cordons and drains its node and takes its lock through the API",
    # Pinned by tag: no public file at kured 1.23.0 or chart kured-6.1.0 records the digest.
    "CKV_K8S_43": "no public file at kured 1.23.0 or its chart kured-6.1.0 records the image digest; pinned by tag in the catalog",
    "CKV_K8S_15": "IfNotPresent on a tag-pinned image (kured 1.23.0), as the chart sets it",
})


def kured_daemonset_spec(handle: ClusterHandle) -> dict[str, Any]:
    container = {
        "name": KURED,
        "image": catalog.IMAGES[KURED],
        "imagePullPolicy": "IfNotPresent",
        "command": ["/usr/bin/kured"],
        "args": kured_args(),
        "env": [{"name": "KURED_NODE_ID", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "ports": [{"containerPort": METRICS_PORT, "name": METRICS_PORT_NAME, "protocol": "TCP"}],
        # The chart probes /metrics on the metrics port (values.yaml livenessProbe/readinessProbe).
        "livenessProbe": {"httpGet": {"path": "/metrics", "port": METRICS_PORT_NAME, "scheme": "HTTP"},
                          "initialDelaySeconds": 10, "periodSeconds": 30, "timeoutSeconds": 5, "failureThreshold": 5},
        "readinessProbe": {"httpGet": {"path": "/metrics", "port": METRICS_PORT_NAME, "scheme": "HTTP"},
                           "initialDelaySeconds": 10, "periodSeconds": 30, "timeoutSeconds": 5, "failureThreshold": 5},
        "resources": resources("10m", "32Mi", "100m", "128Mi"),
        # The chart's containerSecurityContext: privileged (nsenter /proc/1/ns/mnt), read-only root.
        "securityContext": {"privileged": True, "readOnlyRootFilesystem": True},
    }
    pod = {
        "automountServiceAccountToken": True,  # it cordons, drains and locks through the API
        "containers": [container],
        "hostPID": True,
        "nodeSelector": sorted_dict(dict(handle.gpu_node_selector)),
        # Stays while its node drains (the drain skips DaemonSet pods) and outranks workloads.
        "priorityClassName": "system-node-critical",
        "securityContext": pod_security(),
        "serviceAccountName": KURED,
        "tolerations": gpu_tolerations(handle),
    }
    return {
        "selector": {"matchLabels": selector_labels(KURED)},
        "template": {"metadata": {"labels": labels(KURED, "gpu-health")}, "spec": pod},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
    }


def pod_monitor() -> dict[str, Any]:
    """PodMonitor for kured's metrics. honorLabels as the chart's ServiceMonitor sets it: the
    gauge carries its own `node` label (the node kured runs on)."""
    return {
        "api_version": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": KURED, "namespace": HEALTH_NAMESPACE, "labels": labels(KURED, "gpu-health", PROMETHEUS_SELECTOR)},
        "spec": {
            "selector": {"matchLabels": selector_labels(KURED)},
            "namespaceSelector": {"matchNames": [HEALTH_NAMESPACE]},
            "podMetricsEndpoints": [{"port": METRICS_PORT_NAME, "path": "/metrics", "interval": "60s", "honorLabels": True}],
        },
    }


def runs_health(handle: ClusterHandle, enabled: Optional[bool]) -> bool:
    """On where the stack says so; unset, wherever there are GPU pools to repair."""
    return bool(handle.gpu_pools) if enabled is None else enabled


@dataclass(frozen=True)
class HealthArgs:
    handle: ClusterHandle
    # The monitoring release (it installs the PodMonitor CRD); None: no monitoring, no PodMonitor.
    monitoring_release: Optional[pulumi.Resource] = None


class Health(pulumi.ComponentResource):
    """`.daemonset`: kured on every GPU node; `.pod_monitor` (None without monitoring)."""

    def __init__(self, name: str, args: HealthArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:platform:Health", name, None, opts)
        handle = args.handle
        scope = Scope(handle, self, tuple(handle.ready))
        # hostPID and a privileged container are beyond baseline: the namespace enforces
        # privileged and holds nothing else (audit and warn stay at restricted).
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": HEALTH_NAMESPACE, "labels": namespace_labels("privileged", handle.kubernetes_version)},
            opts=scope.opts(),
        )
        ns = self.namespace
        account = k8s.core.v1.ServiceAccount(
            f"{name}-kured-sa", metadata=metadata(KURED, HEALTH_NAMESPACE, KURED, "gpu-health"), opts=scope.opts(ns),
        )
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-kured-clusterrole", metadata=metadata("ml-clusters-gpu-health", app=KURED, component="gpu-health"),
            rules=cluster_role_rules(), opts=scope.opts(),
        )
        subject = [{"kind": "ServiceAccount", "name": KURED, "namespace": HEALTH_NAMESPACE}]
        cluster_binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-kured-clusterrolebinding", metadata=metadata("ml-clusters-gpu-health", app=KURED, component="gpu-health"),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ml-clusters-gpu-health"},
            subjects=subject, opts=scope.opts(role, account),
        )
        lock_role = k8s.rbac.v1.Role(
            f"{name}-kured-lock-role", metadata=metadata(KURED, HEALTH_NAMESPACE, KURED, "gpu-health"),
            rules=lock_role_rules(), opts=scope.opts(ns),
        )
        lock_binding = k8s.rbac.v1.RoleBinding(
            f"{name}-kured-lock-rolebinding", metadata=metadata(KURED, HEALTH_NAMESPACE, KURED, "gpu-health"),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": KURED},
            subjects=subject, opts=scope.opts(lock_role, account),
        )
        # The DaemonSet starts only once its permissions exist (it drains on its first check).
        self.daemonset = k8s.apps.v1.DaemonSet(
            f"{name}-kured",
            metadata=metadata(KURED, HEALTH_NAMESPACE, KURED, "gpu-health", annotations=KURED_SKIPS),
            spec=kured_daemonset_spec(handle),
            opts=scope.opts(ns, account, cluster_binding, lock_binding),
        )
        self.pod_monitor: Optional[k8s.apiextensions.CustomResource] = None
        if args.monitoring_release is not None:
            self.pod_monitor = k8s.apiextensions.CustomResource(
                f"{name}-kured-podmonitor", **pod_monitor(), opts=scope.opts(ns, args.monitoring_release),
            )
        self.register_outputs({})


__all__ = ["Health", "HealthArgs", "runs_health", "sentinel_command", "xid_pattern"]

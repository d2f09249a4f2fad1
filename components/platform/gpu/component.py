"""The GPU layer: NVIDIA's device plugin with per-pool sharing, GPU Feature Discovery and
the DCGM exporter, rendered as plain Kubernetes objects (not an opaque chart) so that the
policy pack, the schema validation and `--manifests` see every field.

Where the cloud (or an operator the user already runs) manages the device plugin
(`handle.cloud_manages_device_plugin`), none of the plugin objects are rendered and the
backend configures sharing on the node pool itself. Where the cloud exports DCGM metrics
(`handle.gpu_metrics.managed_by_cloud`), the exporter is not rendered either; the
monitoring layer scrapes the cloud's exporter instead. Each agent's pod spec is rendered in its
own module of this package; this one decides which run and creates their objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import yaml

from ... import catalog
from ...handle import ClusterHandle
from ..common import GPU_NAMESPACE, Scope, labels, metadata, namespace_labels, selector_labels, system_placement
from .agents import DCGM_EXPORTER, DEVICE_PLUGIN, GFD, MIG_MANAGER, runs_mig_manager
from .dcgm_exporter import DCGM_PORT, DCGM_PORT_NAME, DCGM_SKIPS, dcgm_daemonset_spec, dcgm_metrics_csv
from .device_plugin import device_plugin_daemonset_spec, device_plugin_skips
from .feature_discovery import NFD_RELEASE, gfd_daemonset_spec, gfd_skips
from .mig_manager import HOST_GPU_CLIENTS, MIG_MANAGER_CONFIG_MAP, MIG_MANAGER_SKIPS, mig_manager_daemonset_spec, mig_parted_config
from .sharing import DEVICE_PLUGIN_CONFIG_MAP, config_map_data, device_plugin_configs


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

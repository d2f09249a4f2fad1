"""The platform layer: what every cluster gets on top of Kubernetes, on any backend.

It reads only the ClusterHandle (never `if cloud == ...`): storage classes from the
backend's storage specs, the GPU layer unless the cloud runs the device plugin itself,
monitoring with GPU metrics from wherever they come, the serving namespaces, and the
ML workload layer (`workloads/`) where the stack turns it on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from ..config import Platform as PlatformSettings
from ..config import ServingNamespace
from ..dr import DrPlan
from ..handle import ClusterHandle
from . import serving_metrics
from .backup import Backup, BackupArgs
from .common import GRAFANA_DASHBOARD_LABEL, MONITORING_NAMESPACE, Scope, metadata
from .gateway import route_name
from .gpu import Gpu, GpuArgs
from .health import Health, HealthArgs, runs_health
from .modelstore import ModelStoreAccess, ModelStoreAccessArgs, workload_annotations
from .monitoring import Monitoring, MonitoringArgs
from .serving import Serving, ServingArgs
from .storage import Storage, StorageArgs
from .warm import Warm, WarmArgs, warm_pools
from .workloads import Workloads, WorkloadsArgs
from ..config.queue_plan import queue_plans
from .workloads.queueing import namespace_quotas, outside_queue_shares


@dataclass(frozen=True)
class PlatformArgs:
    handle: ClusterHandle
    settings: PlatformSettings = field(default_factory=PlatformSettings)
    namespaces: Sequence[ServingNamespace] = ()
    # Alert receivers (kind -> secret address) and routes (severity -> kinds), from
    # StackConfig.alert_receivers() / alert_routes().
    alert_receivers: Mapping[str, str] = field(default_factory=dict)
    alert_routes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Disaster recovery: with a plan and the handle's backup target, Velero is installed.
    dr: Optional[DrPlan] = None
    # Keep shared file-system volumes after their claims are deleted (prod); elsewhere a
    # teardown deletes them, so no Filestore instance or EFS access point is left billing.
    retain_shared_volumes: bool = True
    # The kopia repository password Velero encrypts volume data with (the stack's secret
    # `veleroRepositoryPassword`, shared by a primary and its standby); required with `dr`.
    backup_repository_password: Optional[str] = None
    # The token issuer the serving gateway accepts (components/config/checks/gateway.py).
    gateway_issuer: Optional[str] = None


class Platform(pulumi.ComponentResource):
    """Outputs: `grafana_admin_password` (a secret; None without monitoring),
    `block_storage_class`, `shared_storage_class` (None without a shared file system),
    `serving_namespaces`, `workload_control_plane_ports` (ports the API server must reach on
    the workload layer's controllers; empty without it)."""

    def __init__(self, name: str, args: PlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        handle = args.handle
        # Every Kubernetes object below goes to this cluster: the provider is inherited.
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[handle.provider]))
        super().__init__("mlclusters:platform:Platform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        monitoring = settings.monitoring

        self.storage = Storage(f"{name}-storage", StorageArgs(handle, settings.shared_file_system, args.retain_shared_volumes), child)
        self.gpu = Gpu(
            f"{name}-gpu",
            GpuArgs(handle, feature_discovery=settings.gpu_feature_discovery, dcgm_exporter=monitoring.enabled),
            child,
        )
        self.monitoring: Optional[Monitoring] = None
        self.grafana_admin_password: Optional[pulumi.Output[str]] = None
        if monitoring.enabled:
            self.monitoring = Monitoring(
                f"{name}-monitoring",
                MonitoringArgs(
                    handle,
                    monitoring,
                    block_class=self.storage.block_class,
                    exporter_target=self.gpu.exporter_target,
                    depends_on=(self.storage.block,),
                    receivers=tuple(sorted(args.alert_receivers.items())),
                    routes=tuple((k, tuple(v)) for k, v in sorted(args.alert_routes.items())),
                ),
                child,
            )
            self.grafana_admin_password = self.monitoring.grafana_admin_password
        # GPU repair (health.py): on GPU nodes, cordon, drain and reboot on a hardware XID.
        self.health: Optional[Health] = None
        if runs_health(handle, settings.gpu_health.enabled):
            self.health = Health(
                f"{name}-health",
                HealthArgs(handle, monitoring_release=self.monitoring.release if self.monitoring else None),
                child,
            )
        # Warm GPU nodes (warm.py): placeholders that keep gpuPools[].warmNodes nodes up per pool.
        self.warm: Optional[Warm] = None
        if warm_pools(handle):
            self.warm = Warm(f"{name}-warm", WarmArgs(handle), child)
        # With queueing on, one account of GPUs (docs/workloads.md): each namespace's quota is
        # what Kueue may admit for its team plus the team's share outside Kueue, and a second
        # quota holds the serving and notebook pods to that share.
        workload_settings = settings.workloads
        plans = queue_plans(tuple(args.namespaces), [f.pool.name for f in handle.gpu_pools], workload_settings.queueing,
                            [f.pool for f in handle.tpu_pools])
        namespaces = tuple(args.namespaces)
        outside = None
        if workload_settings.queueing.enabled:
            outside = outside_queue_shares(namespaces, plans)
            namespaces = namespace_quotas(namespaces, plans)
        self.serving = Serving(
            f"{name}-serving",
            ServingArgs(handle, namespaces, ingress_namespace=settings.ingress_namespace,
                        gateway=workload_settings.serving.enabled and workload_settings.serving.gateway.enabled,
                        workload_annotations=workload_annotations(handle), outside_queue=outside),
            child,
        )
        self.workloads: Optional[Workloads] = None
        if workload_settings.any_enabled:
            self.workloads = Workloads(
                f"{name}-workloads",
                WorkloadsArgs(
                    handle,
                    workload_settings,
                    namespaces=tuple(args.namespaces),
                    plans=tuple(plans),
                    namespace_resources=dict(self.serving.namespaces),
                    shared_class=self.storage.shared_class,
                    shared_class_resource=self.storage.shared,
                    block_class_resource=self.storage.block,
                    block_retain_class_resource=self.storage.block_retain,
                    gateway_issuer=args.gateway_issuer,
                ),
                child,
            )
        serving = workload_settings.serving
        if self.monitoring is not None and serving.enabled:
            # Serving metrics: objects of the chart's CRDs wait for the monitoring release.
            metrics_scope = Scope(handle, self.monitoring, tuple(handle.ready))
            release, ns = self.monitoring.release, self.monitoring.namespace
            llm = [f"{m.namespace}/{route_name(m)}" for m in serving.gateway.models if m.llm] if serving.gateway.enabled else []
            monitors = [serving_metrics.model_pod_monitor([n.name for n in namespaces])]
            if serving.gateway.enabled:
                monitors.append(serving_metrics.gateway_pod_monitor())
            for obj in (*monitors, serving_metrics.prometheus_rule(llm)):
                k8s.apiextensions.CustomResource(
                    f"{name}-{obj['metadata']['name']}-{obj['kind'].lower()}", api_version=obj["apiVersion"], kind=obj["kind"],
                    metadata=obj["metadata"], spec=obj["spec"], opts=metrics_scope.opts(release),
                )
            k8s.core.v1.ConfigMap(
                f"{name}-serving-dashboard",
                metadata=metadata("grafana-dashboard-serving", MONITORING_NAMESPACE, "grafana", "monitoring",
                                  extra_labels=dict([GRAFANA_DASHBOARD_LABEL])),
                data={"serving.json": serving_metrics.serving_dashboard_json()},
                opts=metrics_scope.opts(ns),
            )
        if handle.model_store is not None:
            ModelStoreAccess(
                f"{name}-model-store",
                ModelStoreAccessArgs(handle, handle.model_store, tuple(args.namespaces), self.serving.namespaces),
                child,
            )
        self.backup: Optional[Backup] = None
        if args.dr is not None and handle.backup is not None:
            self.backup = Backup(
                f"{name}-backup",
                BackupArgs(handle, handle.backup, args.dr, args.backup_repository_password),
                child,
            )
        self.block_storage_class = self.storage.block_class
        self.shared_storage_class = self.storage.shared_class
        self.serving_namespaces = sorted(self.serving.namespaces)
        # Ports the API server must reach on workload controllers (webhooks, aggregated APIs).
        self.workload_control_plane_ports = self.workloads.control_plane_ports if self.workloads else []
        self.register_outputs({
            "blockStorageClass": self.block_storage_class,
            "sharedStorageClass": self.shared_storage_class,
            "servingNamespaces": self.serving_namespaces,
            "grafanaAdminPassword": self.grafana_admin_password,
        })


__all__ = ["Platform", "PlatformArgs"]

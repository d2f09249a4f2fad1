"""The ML workload layer, on any backend, each part toggled in `platform.workloads`:

- queueing (Kueue): ResourceFlavors per GPU pool, a ClusterQueue per team, LocalQueues;
- training (Kubeflow Trainer v2 + JobSet): torch-distributed and mpi-distributed runtimes,
  a `checkpoints` claim per team namespace on the shared file system class;
- serving (KServe, Standard mode, with cert-manager);
- notebooks (JupyterHub) with GPU profiles from the GPU pools.

Each enabled part also gives teams what they need on its APIs (`team_access`): a
ClusterRole `ml-team-<part>` carrying the team aggregation label, so `ml-team`, bound in
every team namespace, takes it in; and where a team reads cluster-scoped kinds (training
and serving runtimes), a read-only ClusterRole `ml-team-<part>-cluster` bound to the
teams' groups cluster-wide. Notebooks need none.

Controllers run on the system pool. Each custom resource waits for the release that
installs its CRD, and each controller for the CRDs it needs. `control_plane_ports` lists
every port the API server must reach on a controller's pods (admission webhooks and
aggregated APIs), so a backend can open them (GKE private clusters reach only 443/10250).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from ...config import ServingNamespace
from ...config import Workloads as WorkloadSettings
from ...handle import ClusterHandle
from ..common import Scope, metadata, team_rules_metadata
from . import notebooks, queueing, serving, training
from ...config.queue_plan import TeamQueuePlan
from .releases import controller_namespace, release


@dataclass(frozen=True)
class ControlPlanePort:
    component: str
    port: int
    purpose: str


@dataclass(frozen=True)
class WorkloadsArgs:
    handle: ClusterHandle
    settings: WorkloadSettings
    namespaces: Sequence[ServingNamespace] = ()
    plans: Sequence[TeamQueuePlan] = ()
    # The team Namespace resources by name (from the serving layer), the shared file system
    # class's name and resource (None without one), and the block class's resource.
    namespace_resources: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    shared_class: Optional[str] = None
    shared_class_resource: Optional[pulumi.Resource] = None
    block_class_resource: Optional[pulumi.Resource] = None


@dataclass(frozen=True)
class TeamAccess:
    """What a team gets on a part's APIs: `rules` in its namespaces (aggregated into
    `ml-team`), `cluster_rules` (read only) on the part's cluster-scoped kinds."""

    part: str
    rules: Sequence[Mapping[str, object]]
    cluster_rules: Sequence[Mapping[str, object]] = ()

    @property
    def role(self) -> str:
        return f"ml-team-{self.part}"

    @property
    def cluster_role(self) -> str:
        return f"ml-team-{self.part}-cluster"


def team_access(settings: WorkloadSettings) -> list[TeamAccess]:
    """Team access per enabled part. Notebooks add none: users sign in to JupyterHub, whose
    own service account spawns their servers in their team's namespaces."""
    out = []
    if settings.queueing.enabled:
        out.append(TeamAccess("queueing", queueing.TEAM_RULES))
    if settings.training.enabled:
        out.append(TeamAccess("training", training.TEAM_RULES, training.TEAM_CLUSTER_RULES))
    if settings.serving.enabled:
        out.append(TeamAccess("serving", serving.TEAM_RULES, serving.TEAM_CLUSTER_RULES))
    return out


def control_plane_ports(settings: WorkloadSettings) -> list[ControlPlanePort]:
    """Ports the API server connects to on the enabled controllers' pods."""
    ports: list[ControlPlanePort] = []
    if settings.queueing.enabled:
        ports += [
            ControlPlanePort("kueue", queueing.WEBHOOK_PORT, "admission webhooks"),
            ControlPlanePort("kueue", queueing.VISIBILITY_PORT, "visibility API (aggregated APIService)"),
        ]
    if settings.training.enabled:
        ports += [
            ControlPlanePort("kubeflow-trainer", training.WEBHOOK_PORT, "admission webhooks"),
            ControlPlanePort("jobset", training.JOBSET_WEBHOOK_PORT, "admission webhooks"),
        ]
    if settings.serving.enabled:
        ports.append(ControlPlanePort("kserve", serving.WEBHOOK_PORT, "admission webhooks"))
        if settings.serving.cert_manager == "install":
            ports.append(ControlPlanePort("cert-manager", serving.CERT_MANAGER_WEBHOOK_PORT, "admission webhook"))
    return ports


class Workloads(pulumi.ComponentResource):
    """Outputs: `control_plane_ports` (sorted distinct port numbers), `releases` (by chart)."""

    def __init__(self, name: str, args: WorkloadsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:platform:Workloads", name, None, opts)
        handle, settings = args.handle, args.settings
        scope = Scope(handle, self, tuple(handle.ready))
        self.releases: dict[str, k8s.helm.v3.Release] = {}
        self.ports = control_plane_ports(settings)
        self.control_plane_ports = sorted({p.port for p in self.ports})

        trainer = None
        if settings.training.enabled:
            ns = controller_namespace(training.NAMESPACE, f"{name}-trainer-namespace", scope)
            trainer = release(f"{name}-kubeflow-trainer", "kubeflow-trainer", training.NAMESPACE, training.release_values(handle), scope, (ns,))
            self.releases["kubeflow-trainer"] = trainer
            checkpoints = args.shared_class is not None
            # /dev/shm sized for the largest GPU node the runtimes can land on.
            per_node = max((f.gpus_per_node for f in handle.gpu_pools), default=1)
            for runtime in (training.torch_runtime(checkpoints, per_node), training.mpi_runtime(checkpoints, per_node)):
                k8s.apiextensions.CustomResource(f"{name}-runtime-{runtime['metadata']['name']}", **runtime, opts=scope.opts(trainer))
            if args.shared_class is not None:
                for ns_cfg in args.namespaces:
                    claim = training.checkpoint_claim(ns_cfg.name, ns_cfg.team, settings.training.checkpoint_storage, args.shared_class)
                    k8s.core.v1.PersistentVolumeClaim(
                        f"{name}-{ns_cfg.name}-checkpoints", **claim,
                        opts=scope.opts(args.namespace_resources.get(ns_cfg.name), args.shared_class_resource),
                    )

        if settings.queueing.enabled:
            ns = controller_namespace(queueing.NAMESPACE, f"{name}-kueue-namespace", scope)
            # Kueue (v0.19.2) defers an integration's controller until its CRD appears
            # (jobframework/setup.go), so order is not required; installing the trainer's
            # CRDs first just avoids that wait.
            kueue = release(f"{name}-kueue", "kueue", queueing.NAMESPACE, queueing.release_values(handle), scope, (ns, trainer))
            self.releases["kueue"] = kueue
            k8s.apiextensions.CustomResource(f"{name}-flavor-{queueing.CPU_FLAVOR}", **queueing.cpu_flavor(), opts=scope.opts(kueue))
            for facts in handle.gpu_pools:
                flavor = queueing.resource_flavor(facts, handle)
                k8s.apiextensions.CustomResource(f"{name}-flavor-{flavor['metadata']['name']}", **flavor, opts=scope.opts(kueue))
            # Pools obtained through ProvisioningRequests: their config, then the check naming
            # it (Kueue keeps a check inactive while its parameters are missing), then the
            # ClusterQueues that use it (a queue with an inactive check admits nothing).
            checks = []
            for facts in handle.gpu_pools:
                if facts.provisioning_class is None:
                    continue
                prc = k8s.apiextensions.CustomResource(
                    f"{name}-{queueing.admission_check_name(facts)}-config", **queueing.provisioning_request_config(facts), opts=scope.opts(kueue)
                )
                checks.append(k8s.apiextensions.CustomResource(
                    f"{name}-{queueing.admission_check_name(facts)}", **queueing.admission_check(facts), opts=scope.opts(kueue, prc)
                ))
            for plan in args.plans:
                cq = k8s.apiextensions.CustomResource(
                    f"{name}-clusterqueue-{plan.team}", **queueing.cluster_queue(plan, settings.queueing.cohort, handle),
                    opts=scope.opts(kueue, *checks),
                )
                for ns_name in plan.namespaces:
                    k8s.apiextensions.CustomResource(
                        f"{name}-{ns_name}-localqueue", **queueing.local_queue(ns_name, plan.team),
                        opts=scope.opts(kueue, cq, args.namespace_resources.get(ns_name)),
                    )

        if settings.serving.enabled:
            cert_manager = None
            if settings.serving.cert_manager == "install":
                cm_ns = controller_namespace(serving.CERT_MANAGER_NAMESPACE, f"{name}-cert-manager-namespace", scope)
                cert_manager = release(f"{name}-cert-manager", "cert-manager", serving.CERT_MANAGER_NAMESPACE, serving.cert_manager_values(handle), scope, (cm_ns,))
                self.releases["cert-manager"] = cert_manager
            ks_ns = controller_namespace(serving.NAMESPACE, f"{name}-kserve-namespace", scope)
            crds = release(f"{name}-kserve-crd", "kserve-crd", serving.NAMESPACE, {}, scope, (ks_ns,))
            controller = release(f"{name}-kserve", "kserve-resources", serving.NAMESPACE, serving.kserve_values(handle), scope, (ks_ns, crds, cert_manager))
            runtimes = release(f"{name}-kserve-runtimes", "kserve-runtime-configs", serving.NAMESPACE, serving.runtime_values(), scope, (controller,))
            self.releases.update({"kserve-crd": crds, "kserve-resources": controller, "kserve-runtime-configs": runtimes})

        if settings.notebooks.enabled:
            # The hub's namespace holds only the hub and proxy (user servers run in the team
            # namespaces); it stays at `baseline` as before.
            nb_ns = controller_namespace(notebooks.NAMESPACE, f"{name}-jupyterhub-namespace", scope, pod_security="baseline")
            plans = args.plans if settings.queueing.enabled else ()
            hub = release(
                f"{name}-jupyterhub", "jupyterhub", notebooks.NAMESPACE,
                notebooks.release_values(handle, settings.notebooks, args.namespaces, plans), scope,
                (nb_ns, args.block_class_resource),
            )
            self.releases["jupyterhub"] = hub
            # Servers run in the team namespaces: the hub may spawn there, and reach them.
            for ns_cfg in args.namespaces:
                team_ns = args.namespace_resources.get(ns_cfg.name)
                access = notebooks.team_namespace_access(ns_cfg.name)
                role = k8s.rbac.v1.Role(f"{name}-{ns_cfg.name}-jupyterhub-role", **access["role"], opts=scope.opts(team_ns))
                k8s.rbac.v1.RoleBinding(f"{name}-{ns_cfg.name}-jupyterhub-binding", **access["binding"], opts=scope.opts(team_ns, role))
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-{ns_cfg.name}-allow-jupyterhub",
                    metadata={"name": "allow-jupyterhub", "namespace": ns_cfg.name},
                    spec=notebooks.team_namespace_policy(),
                    opts=scope.opts(team_ns),
                )

        # Team access: only with team namespaces (no `ml-team` and no groups without them).
        groups = sorted({ns.group for ns in args.namespaces})
        for access in team_access(settings) if groups else ():
            k8s.rbac.v1.ClusterRole(
                f"{name}-team-role-{access.part}",
                metadata=team_rules_metadata(access.role, access.part),
                rules=[dict(rule) for rule in access.rules],
                opts=scope.opts(),
            )
            if access.cluster_rules:
                cluster_role = k8s.rbac.v1.ClusterRole(
                    f"{name}-team-cluster-role-{access.part}",
                    metadata=metadata(access.cluster_role, app=access.part, component="identity"),
                    rules=[dict(rule) for rule in access.cluster_rules],
                    opts=scope.opts(),
                )
                k8s.rbac.v1.ClusterRoleBinding(
                    f"{name}-team-cluster-binding-{access.part}",
                    metadata=metadata(access.cluster_role, app=access.part, component="identity"),
                    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": access.cluster_role},
                    subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group} for group in groups],
                    opts=scope.opts(cluster_role),
                )

        self.register_outputs({"controlPlanePorts": self.control_plane_ports, "releases": sorted(self.releases)})


__all__ = ["ControlPlanePort", "TeamAccess", "Workloads", "WorkloadsArgs", "control_plane_ports", "team_access"]

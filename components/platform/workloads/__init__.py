"""The ML workload layer, on any backend, each part toggled in `platform.workloads`:

- queueing (Kueue): ResourceFlavors per GPU pool, a ClusterQueue per team, LocalQueues;
- training (Kubeflow Trainer v2 + JobSet): torch-distributed and mpi-distributed runtimes,
  a `checkpoints` claim per team namespace on the shared file system class;
- serving (KServe, Standard mode, with cert-manager);
- notebooks (JupyterHub) with GPU profiles from the GPU pools;
- pipelines (Argo Workflows) with a PostgreSQL archive, in the team namespaces that write
  the model store, artifacts there through workload identity;
- tuning (Katib) with a PostgreSQL database, its trials batch Jobs that Kueue admits.

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
import pulumi_random as random

from ...config import ServingNamespace
from ...config import Workloads as WorkloadSettings
from ...handle import ClusterHandle
from ..common import Scope, metadata, namespace_labels, team_rules_metadata
from .. import gateway
from . import model_streaming, nccl, notebooks, pipelines, queueing, serving, training, tuning
from .metadata_db import MetadataDatabase
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
    # The retained block class (`ml-block-retain`), where the metadata databases keep their data.
    block_retain_class_resource: Optional[pulumi.Resource] = None
    # The token issuer the serving gateway accepts (config checks resolve it).
    gateway_issuer: Optional[str] = None


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
    if settings.pipelines.enabled:
        out.append(TeamAccess("pipelines", pipelines.TEAM_RULES, pipelines.TEAM_CLUSTER_RULES))
    if settings.tuning.enabled:
        out.append(TeamAccess("tuning", tuning.TEAM_RULES))
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
        if settings.serving.keda:
            ports += [
                ControlPlanePort("keda", serving.KEDA_METRICS_API_PORT, "external metrics API (aggregated APIService)"),
                ControlPlanePort("keda", serving.KEDA_WEBHOOK_PORT, "admission webhooks"),
            ]
        if settings.serving.gateway.enabled:
            # charts/gateway-helm/templates/envoy-proxy-topology-injector-webhook.yaml @ v1.9.0.
            ports.append(ControlPlanePort("envoy-gateway", gateway.WEBHOOK_PORT, "admission webhook (topology injector)"))
        if settings.serving.cert_manager == "install":
            ports.append(ControlPlanePort("cert-manager", serving.CERT_MANAGER_WEBHOOK_PORT, "admission webhook"))
    # Argo Workflows registers no webhook or aggregated API (chart 1.0.18 templates).
    if settings.tuning.enabled:
        ports.append(ControlPlanePort("katib", tuning.WEBHOOK_PORT, "admission webhooks"))
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
            runtimes = (training.torch_runtime(checkpoints, per_node), training.mpi_runtime(checkpoints, per_node),
                        training.tensorflow_runtime(checkpoints, per_node))
            for runtime in runtimes:
                k8s.apiextensions.CustomResource(f"{name}-runtime-{runtime['metadata']['name']}", **runtime, opts=scope.opts(trainer))
                # A variant per fabric pool (`<runtime>-<pool>`), after what the fabric needs
                # on the nodes (device plugin, installers): choosing it chooses the pool.
                for facts in (f for f in handle.gpu_pools if f.fabric is not None):
                    variant = training.fabric_runtime(runtime, facts)
                    k8s.apiextensions.CustomResource(
                        f"{name}-runtime-{variant['metadata']['name']}", **variant, opts=scope.opts(trainer, *facts.fabric.ready),
                    )
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
            flavors = {}
            for facts in handle.gpu_pools:
                flavor = queueing.resource_flavor(facts, handle)
                flavors[facts.pool.name] = k8s.apiextensions.CustomResource(
                    f"{name}-flavor-{flavor['metadata']['name']}", **flavor, opts=scope.opts(kueue))
            for tpu_facts in handle.tpu_pools:
                flavor = queueing.tpu_resource_flavor(tpu_facts)
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
            if any(f.fabric is not None for f in handle.gpu_pools):
                self._fabric_acceptance(name, scope, settings, kueue, flavors)
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

        self.gateway: Optional[gateway.GatewayResources] = None
        if settings.serving.enabled:
            gw_settings = settings.serving.gateway
            gw_crds = gw_ns = None
            if gw_settings.enabled:
                # The Gateway API CRDs first: KServe with enableGatewayApi refuses to start
                # without the HTTPRoute CRD (kserve v0.20.0 pkg/controller/v1beta1/
                # inferenceservice/controller.go SetupWithManager), and cert-manager with
                # enableGatewayAPI starts Gateway API informers (cmd/controller/app/controller.go @ v1.17.4).
                gw_ns = controller_namespace(gateway.NAMESPACE, f"{name}-gateway-namespace", scope)
                gw_crds = gateway.install_crds(name, scope, gw_ns)
                self.releases["gateway-crds-helm"] = gw_crds
            cert_manager = None
            if settings.serving.cert_manager == "install":
                cm_ns = controller_namespace(serving.CERT_MANAGER_NAMESPACE, f"{name}-cert-manager-namespace", scope)
                # ACME HTTP-01 through the Gateway needs cert-manager's Gateway API support.
                acme = gw_settings.enabled and gw_settings.tls.mode == "acme"
                cert_manager = release(f"{name}-cert-manager", "cert-manager", serving.CERT_MANAGER_NAMESPACE,
                                       serving.cert_manager_values(handle, gateway_api=acme), scope, (cm_ns, gw_crds if acme else None))
                self.releases["cert-manager"] = cert_manager
            keda = None
            if settings.serving.keda:
                # KServe watches ScaledObjects only if their CRD exists when it starts
                # (kserve v0.20.0 controller.go SetupWithManager, IsCrdAvailable keda.sh): KEDA first.
                keda_ns = controller_namespace(serving.KEDA_NAMESPACE, f"{name}-keda-namespace", scope)
                keda = release(f"{name}-keda", "keda", serving.KEDA_NAMESPACE, serving.keda_values(handle), scope, (keda_ns,))
                self.releases["keda"] = keda
            ks_ns = controller_namespace(serving.NAMESPACE, f"{name}-kserve-namespace", scope)
            crds = release(f"{name}-kserve-crd", "kserve-crd", serving.NAMESPACE, {}, scope, (ks_ns,))
            controller = release(f"{name}-kserve", "kserve-resources", serving.NAMESPACE, serving.kserve_values(handle, gw_settings),
                                 scope, (ks_ns, crds, cert_manager, gw_crds, keda))
            runtimes = release(f"{name}-kserve-runtimes", "kserve-runtime-configs", serving.NAMESPACE, serving.runtime_values(), scope, (controller,))
            self.releases.update({"kserve-crd": crds, "kserve-resources": controller, "kserve-runtime-configs": runtimes})
            # The streamed-load runtime, checked by the same webhook as the chart's runtimes.
            self.streamer_runtime: Optional[k8s.apiextensions.CustomResource] = None
            if model_streaming.enabled(handle, settings.serving.model_streaming):
                self.streamer_runtime = k8s.apiextensions.CustomResource(
                    f"{name}-{model_streaming.facts.RUNTIME}", **model_streaming.runtime(), opts=scope.opts(crds, controller),
                )
            if args.shared_class is not None and settings.serving.model_cache is not None:
                for ns_cfg in args.namespaces:
                    claim = serving.model_cache_claim(ns_cfg.name, ns_cfg.team, settings.serving.model_cache, args.shared_class)
                    k8s.core.v1.PersistentVolumeClaim(
                        f"{name}-{ns_cfg.name}-model-cache", **claim,
                        opts=scope.opts(args.namespace_resources.get(ns_cfg.name), args.shared_class_resource),
                    )
            if gw_crds is not None and gw_ns is not None:
                self.gateway = gateway.install_gateway(
                    name, scope, gw_settings, args.gateway_issuer or "", gw_crds, gw_ns, cert_manager, args.namespace_resources,
                )
                if self.gateway.controller is not None:
                    self.releases["gateway-helm"] = self.gateway.controller

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

        if settings.pipelines.enabled:
            self._pipelines(name, scope, args)
        if settings.tuning.enabled:
            self._tuning(name, scope, args)

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

    def _pipelines(self, name: str, scope: Scope, args: WorkloadsArgs) -> None:
        """Argo Workflows: its namespace, then the archive database, then the release (whose
        controller connects to the database at start); per pipeline namespace the runner
        Role on `workload`, the API egress and the artifact repository (the model store)."""
        handle, settings = args.handle, args.settings.pipelines
        ns = controller_namespace(pipelines.NAMESPACE, f"{name}-argo-namespace", scope)
        db = MetadataDatabase(f"{name}-argo-db", pipelines.database(settings), scope, ns, args.block_retain_class_resource,
                              pulumi.ResourceOptions(parent=self))
        argo = release(f"{name}-argo-workflows", pipelines.RELEASE, pipelines.NAMESPACE, pipelines.release_values(handle, settings),
                       scope, (ns, *db.ready))
        self.releases[pipelines.RELEASE] = argo
        self.pipeline_database = db
        for ns_cfg in pipelines.pipeline_namespaces(args.namespaces):
            team_ns = args.namespace_resources.get(ns_cfg.name)
            labels = pipelines.team_labels(ns_cfg.team)
            role = k8s.rbac.v1.Role(f"{name}-{ns_cfg.name}-pipeline-runner", **pipelines.runner_role(ns_cfg.name, labels), opts=scope.opts(team_ns))
            k8s.rbac.v1.RoleBinding(
                f"{name}-{ns_cfg.name}-pipeline-runner", **pipelines.runner_binding(ns_cfg.name, labels), opts=scope.opts(team_ns, role),
            )
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{ns_cfg.name}-allow-workflow-api",
                metadata={"name": "allow-workflow-api", "namespace": ns_cfg.name, "labels": labels},
                spec=pipelines.api_server_policy(), opts=scope.opts(team_ns),
            )
            if handle.model_store is not None:
                k8s.core.v1.ConfigMap(
                    f"{name}-{ns_cfg.name}-artifact-repositories",
                    **pipelines.artifact_config_map(handle.model_store, ns_cfg, labels), opts=scope.opts(team_ns, argo),
                )

    def _tuning(self, name: str, scope: Scope, args: WorkloadsArgs) -> None:
        """Katib: namespace and CRDs first; the database before its manager; the controller
        after the CRDs, its configuration, account and rights; the webhook configurations
        after the controller (its certificate rotator fills in their CA as they appear)."""
        handle, settings = args.handle, args.settings.tuning
        ns_name = tuning.NAMESPACE
        ns = controller_namespace(ns_name, f"{name}-katib-namespace", scope)
        crds = [
            k8s.apiextensions.v1.CustomResourceDefinition(f"{name}-katib-crd-{plural}", **tuning.crd(kind, plural), opts=scope.opts())
            for kind, plural in tuning.CRD_KINDS
        ]
        db = MetadataDatabase(f"{name}-katib-db", tuning.database(settings), scope, ns, args.block_retain_class_resource,
                              pulumi.ResourceOptions(parent=self))
        self.tuning_database = db

        def meta(obj: str, component: str, annotations: Optional[Mapping[str, str]] = None) -> dict:
            out: dict = {"name": obj, "namespace": ns_name, "labels": tuning.labels(component)}
            if annotations:
                out["annotations"] = dict(annotations)
            return out

        account = k8s.core.v1.ServiceAccount(f"{name}-katib-controller-sa", metadata=meta(tuning.CONTROLLER, "controller"), opts=scope.opts(ns))
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-katib-controller-role",
            metadata={"name": tuning.CONTROLLER, "labels": tuning.labels("controller"), "annotations": tuning.ROLE_SKIPS},
            rules=[dict(r) for r in tuning.CONTROLLER_RULES], opts=scope.opts(),
        )
        binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-katib-controller-binding", metadata={"name": tuning.CONTROLLER, "labels": tuning.labels("controller")},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": tuning.CONTROLLER},
            subjects=[{"kind": "ServiceAccount", "name": tuning.CONTROLLER, "namespace": ns_name}],
            opts=scope.opts(role, account),
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-katib-config", metadata=meta(tuning.CONFIG_MAP, "controller"),
            data={"katib-config.yaml": tuning.katib_config()}, opts=scope.opts(ns),
        )
        # Empty: the controller's certificate rotator writes the keys (upstream's secretGenerator).
        cert = k8s.core.v1.Secret(
            f"{name}-katib-webhook-cert", metadata=meta(tuning.WEBHOOK_SECRET, "controller"),
            opts=pulumi.ResourceOptions.merge(scope.opts(ns), pulumi.ResourceOptions(ignore_changes=["data", "stringData"])),
        )
        manager_svc = k8s.core.v1.Service(
            f"{name}-katib-db-manager-service", **tuning.db_manager_service(meta(tuning.DB_MANAGER, "db-manager")), opts=scope.opts(ns),
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-katib-db-manager-policy", metadata=meta("katib-db-manager-clients", "network"),
            spec=tuning.db_manager_policy(), opts=scope.opts(ns),
        )
        manager = k8s.apps.v1.Deployment(
            f"{name}-katib-db-manager",
            **tuning.db_manager_deployment(handle, meta(tuning.DB_MANAGER, "db-manager", tuning.DB_MANAGER_SKIPS), tuning.database(settings)),
            opts=scope.opts(ns, *db.ready),
        )
        controller_svc = k8s.core.v1.Service(
            f"{name}-katib-controller-service", **tuning.controller_service(meta(tuning.CONTROLLER, "controller")), opts=scope.opts(ns),
        )
        controller = k8s.apps.v1.Deployment(
            f"{name}-katib-controller",
            **tuning.controller_deployment(handle, meta(tuning.CONTROLLER, "controller", tuning.CONTROLLER_SKIPS)),
            opts=scope.opts(ns, *crds, binding, config, cert, controller_svc, manager, manager_svc),
        )
        self.katib_controller = controller
        webhook_meta = {"name": tuning.WEBHOOK_NAME, "labels": tuning.labels("webhook")}
        k8s.admissionregistration.v1.ValidatingWebhookConfiguration(
            f"{name}-katib-validating-webhook", metadata=webhook_meta, webhooks=tuning.validating_webhooks(),
            opts=pulumi.ResourceOptions.merge(scope.opts(controller), pulumi.ResourceOptions(ignore_changes=["webhooks[*].clientConfig.caBundle"])),
        )
        k8s.admissionregistration.v1.MutatingWebhookConfiguration(
            f"{name}-katib-mutating-webhook", metadata=webhook_meta, webhooks=tuning.mutating_webhooks(),
            opts=pulumi.ResourceOptions.merge(scope.opts(controller), pulumi.ResourceOptions(ignore_changes=["webhooks[*].clientConfig.caBundle"])),
        )
        # Per team namespace: Katib's controller reaches the Experiments' services, trial
        # pods reach the database manager, suggestion pods reach the Kubernetes API.
        for ns_cfg in args.namespaces:
            team_ns = args.namespace_resources.get(ns_cfg.name)
            labels = {**tuning.labels("network"), "ml-clusters.io/team": ns_cfg.team}
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{ns_cfg.name}-allow-katib", metadata={"name": "allow-katib", "namespace": ns_cfg.name, "labels": labels},
                spec=tuning.team_namespace_policy(), opts=scope.opts(team_ns),
            )
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{ns_cfg.name}-allow-katib-suggestion-api",
                metadata={"name": "allow-katib-suggestion-api", "namespace": ns_cfg.name, "labels": labels},
                spec=pipelines.api_server_policy(tuning.SUGGESTION_LABEL), opts=scope.opts(team_ns),
            )

    def _fabric_acceptance(self, name: str, scope: Scope, settings: WorkloadSettings, kueue: pulumi.Resource,
                           flavors: Mapping[str, pulumi.Resource]) -> None:
        """The on-demand NCCL acceptance test of every fabric pool (nccl.py), in its own
        namespace and queue; each CronJob waits for what its fabric needs on the nodes."""
        handle = scope.handle
        ns = k8s.core.v1.Namespace(
            f"{name}-nccl-namespace",
            metadata={"name": nccl.NAMESPACE, "labels": namespace_labels("privileged", handle.kubernetes_version, nccl.namespace_labels_extra())},
            opts=scope.opts(),
        )
        cq = k8s.apiextensions.CustomResource(
            f"{name}-clusterqueue-{nccl.QUEUE}", **nccl.cluster_queue(handle.gpu_pools, settings.queueing.cohort),
            opts=scope.opts(kueue, *flavors.values()),
        )
        lq = k8s.apiextensions.CustomResource(f"{name}-nccl-localqueue", **nccl.local_queue(), opts=scope.opts(kueue, cq, ns))
        password = random.RandomPassword(f"{name}-nccl-ssh", length=32, special=False, opts=pulumi.ResourceOptions(parent=self))
        secret = k8s.core.v1.Secret(
            f"{name}-nccl-ssh",
            metadata={"name": nccl.SECRET, "namespace": nccl.NAMESPACE},
            string_data={"password": password.result},
            opts=scope.opts(ns),
        )
        k8s.networking.v1.NetworkPolicy(f"{name}-nccl-network-policy", **nccl.network_policy(), opts=scope.opts(ns))
        for facts in (f for f in handle.gpu_pools if f.fabric is not None):
            svc = k8s.core.v1.Service(f"{name}-nccl-{facts.pool.name}-service", **nccl.service(facts), opts=scope.opts(ns))
            k8s.batch.v1.CronJob(
                f"{name}-nccl-{facts.pool.name}", **nccl.cron_job(facts),
                opts=scope.opts(ns, lq, secret, svc, flavors.get(facts.pool.name), *facts.fabric.ready),
            )


__all__ = ["ControlPlanePort", "TeamAccess", "Workloads", "WorkloadsArgs", "control_plane_ports", "team_access"]

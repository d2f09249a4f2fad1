"""Run the Platform component on a hand-built ClusterHandle under Pulumi's mock engine.

The end-to-end path (`cloud: existing`) goes through tests.conftest.plan_for; this harness
covers the cloud flavours without their backends: handles shaped like EKS, GKE and AKS,
built here from the facts those backends state."""

from __future__ import annotations

from pathlib import Path
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.config import GpuPool, Platform as PlatformSettings, ServingNamespace
from components.conventions import GPU_NODE_LABEL, gpu_pool_labels
from components import catalog
from components.clouds.aws import load_balancer as aws_lb
from components.clouds.azure import load_balancer as azure_lb
from components.clouds.gcp import load_balancer as gcp_lb
from components.handle import ClusterHandle, GpuMetricsSource, GpuPoolFacts, StorageClassSpec
from components.platform import Platform, PlatformArgs
from preview import engine
from tests.conftest import inputs


@dataclass
class Result:
    plan: engine.Plan
    dependencies: dict[str, set[str]]
    kubernetes_version: str

    def of_type(self, type_: str) -> list[engine.PlannedResource]:
        return self.plan.by_type(type_)

    def objects(self, kind: str) -> list[dict[str, Any]]:
        """Rendered Kubernetes objects of `kind` (inputs, secrets unwrapped)."""
        return [inputs(r) for r in self.plan.resources if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")]

    def object(self, kind: str, name: str, namespace: Optional[str] = None) -> dict[str, Any]:
        found = [o for o in self.objects(kind) if o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace]
        assert len(found) == 1, f"expected one {kind} {namespace}/{name}, found {len(found)}"
        return found[0]

    def resource(self, kind: str, name: str) -> engine.PlannedResource:
        found = [r for r in self.plan.resources if r.type.endswith(f":{kind}") and r.inputs.get("metadata", {}).get("name") == name]
        assert len(found) == 1, f"expected one {kind} named {name}, found {len(found)}"
        return found[0]

    def depends_on(self, dependent: engine.PlannedResource, dependency: engine.PlannedResource) -> bool:
        return dependency.urn in self.dependencies.get(dependent.urn, set())


def run(build: Callable[[], Any], stack: str = "test") -> tuple[engine.Plan, dict[str, set[str]]]:
    plan = engine.evaluate(stack, build)
    return plan, {r.urn: set(r.dependencies) for r in plan.resources}


# --- Handles shaped like each backend's ----------------------------------------------------


def pool(name: str, instance_type: str, **extra: Any) -> GpuPool:
    return GpuPool.model_validate({"name": name, "instanceType": instance_type, **extra})


def _facts(cloud: str, pools: Sequence[GpuPool], manages: bool) -> list[GpuPoolFacts]:
    out = []
    for p in pools:
        itype = catalog.instance_type(cloud, p.instance_type)
        out.append(GpuPoolFacts(p, itype.gpu or "", itype.gpus, gpu_pool_labels(p, cloud, manages)))
    return out


@dataclass
class Shape:
    """What a backend would put in the handle, minus the provider (made inside the run)."""

    cloud: str
    block: StorageClassSpec
    files: Optional[StorageClassSpec]
    manages_plugin: bool
    metrics: GpuMetricsSource
    pools: Sequence[GpuPool] = ()
    system_tolerations: list[dict[str, Any]] = field(default_factory=list)
    kubernetes_version: str = "1.35"
    # File-storage parameters the backend hands over as Outputs (e.g. an EFS id).
    output_params: tuple[str, ...] = ()
    cloud_partitions_mig: bool = False
    cluster_dns: str = "coredns"
    identity_endpoint: Optional[str] = None
    # The load balancer annotations the cloud's backend states (components/clouds/<cloud>/load_balancer.py).
    internal_lb: dict[str, str] = field(default_factory=dict)
    public_lb: dict[str, str] = field(default_factory=dict)

    def handle(self, ready: Sequence[pulumi.Resource] = ()) -> ClusterHandle:
        provider = k8s.Provider(f"{self.cloud}-k8s", kubeconfig=pulumi.Output.secret("apiVersion: v1\nkind: Config\n"))
        files = self.files
        if files is not None and self.output_params:
            params = {k: pulumi.Output.from_input(v) if k in self.output_params else v for k, v in files.parameters.items()}
            files = replace(files, parameters=params)
        return ClusterHandle(
            name=f"ml-{self.cloud}",
            cloud=self.cloud,
            kubernetes_version=self.kubernetes_version,
            kubeconfig=pulumi.Output.secret("apiVersion: v1\nkind: Config\n"),
            provider=provider,
            block_storage=self.block,
            file_storage=files,
            cloud_manages_device_plugin=self.manages_plugin,
            gpu_metrics=self.metrics,
            gpu_pools=_facts(self.cloud, self.pools, self.manages_plugin),
            gpu_node_selector={GPU_NODE_LABEL: "true"},
            system_tolerations=list(self.system_tolerations),
            internal_lb_annotations=dict(self.internal_lb),
            public_lb_annotations=dict(self.public_lb),
            ready=list(ready),
            cloud_partitions_mig=self.cloud_partitions_mig,
            cluster_dns=self.cluster_dns,
            identity_endpoint=self.identity_endpoint,
        )


SYSTEM_TOLERATION = {"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}


def eks_shape(pools: Sequence[GpuPool] = (), **kw: Any) -> Shape:
    return Shape(
        internal_lb=dict(aws_lb.INTERNAL),
        public_lb=dict(aws_lb.PUBLIC),
        cloud="aws",
        block=StorageClassSpec("ebs.csi.aws.com", {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}),
        files=StorageClassSpec(
            "efs.csi.aws.com",
            {"provisioningMode": "efs-ap", "fileSystemId": "fs-0123456789abcdef0", "directoryPerms": "700"},
            access_mode="ReadWriteMany",
        ),
        # The EFS id is an Output of the backend's file system: parameters may hold Outputs.
        output_params=("fileSystemId",),
        identity_endpoint="169.254.170.23:80",  # the EKS Pod Identity agent
        manages_plugin=False,
        metrics=GpuMetricsSource(managed_by_cloud=False),
        pools=pools,
        # The EKS system pool is tainted CriticalAddonsOnly=true:NoSchedule, like AKS's.
        system_tolerations=[SYSTEM_TOLERATION],
        **kw,
    )


GKE_DCGM = GpuMetricsSource(
    managed_by_cloud=True,
    namespace="gke-managed-system",
    pod_selector={"app.kubernetes.io/name": "gke-managed-dcgm-exporter"},
    port="metrics",
)


def gke_shape(pools: Sequence[GpuPool] = (), **kw: Any) -> Shape:
    return Shape(
        internal_lb=dict(gcp_lb.INTERNAL),
        public_lb=dict(gcp_lb.PUBLIC),
        cloud="gcp",
        block=StorageClassSpec("pd.csi.storage.gke.io", {"type": "pd-balanced", "csi.storage.k8s.io/fstype": "ext4"}),
        files=StorageClassSpec("filestore.csi.storage.gke.io", {"tier": "standard", "network": "ml-gcp"}, access_mode="ReadWriteMany"),
        manages_plugin=True,
        metrics=GKE_DCGM,
        pools=pools,
        cloud_partitions_mig=True,
        cluster_dns="kube-dns",
        identity_endpoint="169.254.169.254:80",
        **kw,
    )


AKS_SYSTEM_TOLERATION = {"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}


def aks_shape(pools: Sequence[GpuPool] = (), **kw: Any) -> Shape:
    return Shape(
        internal_lb=dict(azure_lb.INTERNAL),
        public_lb=dict(azure_lb.PUBLIC),
        cloud="azure",
        block=StorageClassSpec("disk.csi.azure.com", {"skuName": "Premium_LRS"}),
        files=StorageClassSpec("file.csi.azure.com", {"skuName": "Premium_LRS", "protocol": "nfs"}, access_mode="ReadWriteMany"),
        manages_plugin=False,
        metrics=GpuMetricsSource(managed_by_cloud=False),
        pools=pools,
        system_tolerations=[AKS_SYSTEM_TOLERATION],
        cloud_partitions_mig=True,
        **kw,
    )


def namespaces(*items: dict[str, Any]) -> tuple[ServingNamespace, ...]:
    return tuple(ServingNamespace.model_validate(i) for i in items)


def run_platform(shape: Shape, settings: Optional[dict[str, Any]] = None, serving: Sequence[ServingNamespace] = (),
                 with_ready: bool = False, receivers: Optional[dict[str, str]] = None,
                 routes: Optional[dict[str, list[str]]] = None, gateway_issuer: Optional[str] = None) -> Result:
    """Instantiate Platform on `shape`'s handle; with_ready adds a stand-in node pool to
    the handle's `ready` list (any custom resource will do; a component would be expanded
    into its children, and this one has none)."""
    platform_settings = PlatformSettings.model_validate(settings or {})

    def build():
        ready = []
        if with_ready:
            ready = [random.RandomId("gpu-pool", byte_length=4)]
        handle = shape.handle(ready)
        Platform(handle.name, PlatformArgs(handle, platform_settings, tuple(serving), receivers or {}, routes or {},
                                           gateway_issuer=gateway_issuer))

    plan, deps = run(build, stack=f"test-{shape.cloud}")
    return Result(plan, deps, shape.kubernetes_version)


# --- The end-to-end path: a config for `cloud: existing` ------------------------------------

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
  - name: lab
    cluster: {server: "https://10.0.0.1:6443"}
contexts:
  - name: lab-admin
    context: {cluster: lab, user: admin}
  - name: lab-readonly
    context: {cluster: lab, user: viewer}
current-context: lab-readonly
users:
  - name: admin
    user: {}
  - name: viewer
    user: {}
"""


def existing_config(kubeconfig: Path, version: str = "1.35") -> dict[str, Any]:
    return {
        "cloud": "existing",
        "kubernetesVersion": version,
        "existing": {
            "kubeconfig": str(kubeconfig),
            "context": "lab-admin",
            "fileStorageProvisioner": "nfs.csi.k8s.io",
            "fileStorageParameters": {"share": "/datasets", "server": "nfs.lab.internal"},
        },
        "gpuPools": [
            {"name": "l4", "instanceType": "g6.xlarge", "sharing": {"timeSlicing": {"replicas": 2}}},
            {"name": "h100", "instanceType": "p5.48xlarge", "sharing": {"mig": {"strategy": "mixed", "profile": "1g.10gb"}}},
        ],
        "namespaces": [
            {"name": "inference", "team": "serving", "group": "ml-serving", "gpus": 4},
            {"name": "notebooks", "team": "research", "group": "ml-research", "podSecurity": "baseline"},
        ],
    }

"""ClusterHandle: what every cloud backend returns and the platform layer consumes.

The platform layer asks the handle, never `if cloud == ...`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from .config import CapacityTier, GpuPool
from .conventions import Taint, system_pool_labels


@dataclass(frozen=True)
class StorageClassSpec:
    """How to make a StorageClass on this cluster. Parameters may hold Outputs (e.g. an EFS id)."""

    provisioner: str
    parameters: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # The access mode the class is for: ReadWriteOnce (block) or ReadWriteMany (shared files).
    access_mode: str = "ReadWriteOnce"
    mount_options: tuple[str, ...] = ()
    # The cloud encrypts volumes of this class at rest (by a parameter or by default).
    encrypted: bool = True


@dataclass(frozen=True)
class GpuMetricsSource:
    """Where DCGM GPU metrics come from. `managed_by_cloud` False: the platform runs the
    DCGM exporter. True: scrape the cloud's exporter pods described by the selector."""

    managed_by_cloud: bool
    namespace: Optional[str] = None
    pod_selector: Mapping[str, str] = field(default_factory=dict)
    port: Optional[str] = None  # container port name
    path: str = "/metrics"


@dataclass(frozen=True)
class ScrapeTarget:
    """A controller the cloud backend installs whose metrics Prometheus scrapes (EKS:
    Karpenter): its Service in `namespace`, selected by `service_selector`, on the named port.
    The platform makes the ServiceMonitor once the monitoring stack's CRDs exist; a chart
    installed before them cannot (Karpenter's renders its own only when the API is there)."""

    name: str
    namespace: str
    service_selector: Mapping[str, str]
    port: str  # the Service's port name
    path: str = "/metrics"


@dataclass(frozen=True)
class EgressRule:
    """One egress destination pods may need: an IP range (with exceptions) and a TCP port."""

    cidr: str
    port: int
    except_cidrs: tuple[str, ...] = ()
    protocol: str = "TCP"


# Object storage (S3, GCS, Azure Blob) answers on public addresses over HTTPS on every cloud,
# also through VPC endpoints, Private Google Access and service endpoints; NetworkPolicy
# cannot name a host, so "object storage" is HTTPS to any address outside the private and
# link-local ranges (cluster-internal traffic stays fenced).
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10")
PUBLIC_HTTPS = EgressRule("0.0.0.0/0", 443, except_cidrs=PRIVATE_RANGES)


@dataclass(frozen=True)
class PoolFabric:
    """A GPU pool's multi-node fabric as pods use it, in the same shape on every cloud: the
    cloud backend fills it (components/clouds/<cloud>/fabric.py), the platform (training
    runtimes, Kueue quotas, the NCCL acceptance job) reads it and never asks which cloud."""

    kind: str  # catalog.FABRIC_KINDS: efa, tcpx, tcpxo, rdma, infiniband
    name: str  # e.g. "EFA v2"
    nics: int  # fabric NICs per node
    line_rate_gbps: int  # the node's aggregate fabric line rate
    expected_busbw_gbs: float  # catalog: 2-node all_reduce_perf bus bandwidth, GB/s
    # Extended resources a pod that uses the whole node's fabric requests, e.g.
    # {"vpc.amazonaws.com/efa": 32}; empty where pods reach the NICs another way (GKE
    # TCPX/TCPXO and RDMA: multi-network annotations; the RxDM sidecar).
    resources: Mapping[str, int] = field(default_factory=dict)
    # NCCL / libfabric environment every rank needs on this fabric.
    env: Mapping[str, str] = field(default_factory=dict)
    # Pod annotations (GKE multi-networking: networking.gke.io/interfaces ...).
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    # Registering memory with the NIC pins pages: whether team pods must add IPC_LOCK for
    # it (False where the node's memlock limit already allows it; a non-root process never
    # has an added capability in effect, and Pod Security baseline/restricted refuse it).
    # NCCL's intra-node buffers live in /dev/shm: a memory-backed volume larger than the
    # runtime's 64 MiB default.
    ipc_lock: bool = True
    shm_size: str = "64Gi"
    # Host paths a rank mounts (GKE gIB / TCPXO libraries), mount path -> host path.
    host_paths: Mapping[str, str] = field(default_factory=dict)
    # Sidecar containers every rank's pod runs beside the workload (GKE TCPX/TCPXO RxDM), as
    # Kubernetes container dicts (native sidecars: initContainers with restartPolicy Always).
    sidecars: tuple[Mapping[str, Any], ...] = ()
    # Pod volumes the sidecars mount (Kubernetes volume dicts), beside host_paths' volumes.
    volumes: tuple[Mapping[str, Any], ...] = ()
    # The nccl-tests image built for this fabric (NCCL with the fabric's net plugin, OpenMPI
    # and sshd), pinned in catalog/versions.py; the NCCL acceptance job runs it.
    nccl_tests_image: str = ""
    # nccl-tests' all_reduce_perf in that image (a path, or a name on its PATH).
    all_reduce_perf: str = "all_reduce_perf"
    # What must exist before pods can use the fabric (the device plugin, installers):
    # workloads that request it wait for these.
    ready: tuple[pulumi.Resource, ...] = ()


@dataclass(frozen=True)
class GpuPoolFacts:
    pool: GpuPool
    gpu_model: str  # catalog key, e.g. "l4"
    gpus_per_node: int
    node_labels: Mapping[str, str]
    # The pool's fabric as the backend wired it; None: plain TCP (no fabric, or interconnect none).
    fabric: Optional[PoolFabric] = None
    # Node labels a pod must also select to get this pool's capacity, beyond the portable
    # ones (GKE ComputeClasses: `cloud.google.com/compute-class`, which is what lets GKE's
    # autoscaler fall back along the class's priorities); Kueue's flavor carries them.
    placement_labels: Mapping[str, str] = field(default_factory=dict)
    # The ProvisioningRequest class through which this pool's nodes are obtained (GKE DWS
    # flex-start with queued provisioning: `queued-provisioning.gke.io`); Kueue then admits a
    # job on this pool only once the cloud has provisioned all of its nodes. None: no check.
    provisioning_class: Optional[str] = None
    # What starts the pool's nodes (components/config/capacity.py pool_provisioner):
    # cluster-autoscaler, karpenter, compute-classes, node-auto-provisioning, or none (cloud
    # existing). MlCluster sets it from the config for every backend.
    provisioner: str = "cluster-autoscaler"

    @property
    def capacity(self) -> tuple[CapacityTier, ...]:
        """The pool's capacity chain, in the order it is tried (reserved, spot, on-demand)."""
        return self.pool.capacity_chain()


@dataclass(frozen=True)
class TpuPoolFacts:
    """A TPU slice pool as the platform sees it, on whatever cloud offers TPUs: the extended
    resource its chips are requested as, the node labels that select its nodes (the
    portable ones and the cloud's own slice labels), the taint its nodes carry, and its size."""

    pool: str
    generation: str  # catalog key, e.g. "v5e"
    topology: str  # e.g. "4x4"
    chips_per_node: int
    nodes_per_slice: int
    max_slices: int
    resource: str  # e.g. google.com/tpu
    node_labels: Mapping[str, str]  # labels a flavor selects the pool's nodes by
    taint: Taint

    @property
    def chips(self) -> int:
        """Chips the pool holds at its largest."""
        return self.chips_per_node * self.nodes_per_slice * self.max_slices


@dataclass(frozen=True)
class ModelStore:
    """The cluster's model store (models, datasets, checkpoints) and container registry, as
    workloads reach them: the bucket's URL, the registry, and per namespace the
    ServiceAccount annotations that bind the namespace's cloud identity to the store."""

    url: pulumi.Input[str]  # s3://..., gs://..., https://<account>.blob.core.windows.net/models
    registry: pulumi.Input[str]
    # namespace -> annotations for its `workload` ServiceAccount ({} where the cloud binds
    # identities without one, as EKS Pod Identity does).
    workload_annotations: Mapping[str, Mapping[str, pulumi.Input[str]]] = field(default_factory=dict)
    # Pod labels a workload must carry for its identity to be injected (AKS workload identity).
    workload_pod_labels: Mapping[str, str] = field(default_factory=dict)
    # The store's region and, with DR, where its replica lives.
    region: str = ""
    replica_region: Optional[str] = None
    # Where readwrite namespaces write, when that is not `url`: a failed-over Azure standby
    # (an object-replication destination container refuses writes while the policy exists).
    write_url: Optional[pulumi.Input[str]] = None


@dataclass(frozen=True)
class BackupTarget:
    """Where Velero keeps cluster backups on this cloud: its object-store plugin, the bucket,
    the BackupStorageLocation config, and how Velero's ServiceAccount gets an identity."""

    provider: str  # Velero provider name: aws, gcp, azure
    plugin_image: str
    bucket: pulumi.Input[str]
    config: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    # A Secret (key `cloud`) in the velero namespace, for stores without workload identity.
    credentials_secret: Optional[str] = None
    # Azure's plugin reads its subscription and group from a credentials file (no secret in it).
    credentials_file: Optional[pulumi.Input[str]] = None
    # The cluster snapshots volumes through CSI (Velero then moves the data into the bucket);
    # False: Velero's file-system backup instead (an existing cluster's drivers are unknown).
    csi_snapshots: bool = True
    # The standby reads the primary's replicated backups and never writes there.
    read_only: bool = False
    # Identity grants Velero needs before it starts.
    ready: list[pulumi.Resource] = field(default_factory=list)
    # A failed-over standby backs itself up again (Velero's disaster-case procedure): into this
    # writable location in the recovery region, apart from the primary's replicated backups.
    recovery: Optional["RecoveryLocation"] = None


@dataclass(frozen=True)
class RecoveryLocation:
    bucket: pulumi.Input[str]
    prefix: str
    config: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


@dataclass
class ClusterHandle:
    name: str
    cloud: str
    kubernetes_version: str
    kubeconfig: pulumi.Output[str]  # a Pulumi secret
    provider: k8s.Provider
    block_storage: StorageClassSpec
    file_storage: Optional[StorageClassSpec]
    # The cloud installs the GPU driver and NVIDIA's device plugin itself (GKE).
    cloud_manages_device_plugin: bool
    gpu_metrics: GpuMetricsSource
    gpu_pools: list[GpuPoolFacts]
    # Selects every GPU node (the portable label), and tolerations the platform's own
    # workloads need to land on the system pool.
    gpu_node_selector: Mapping[str, str]
    system_tolerations: list[dict[str, Any]]
    # Service annotations that make a LoadBalancer internal on this cloud.
    internal_lb_annotations: Mapping[str, str]
    # ServiceAccount annotation that binds a cloud identity (None: the cloud binds another way).
    workload_identity_annotation: Optional[str] = None
    # Taints the cloud itself adds to some GPU nodes (AKS spot nodes), which node agents such
    # as the device plugin and the DCGM exporter must tolerate besides the GPU taint.
    gpu_node_tolerations: list[dict[str, Any]] = field(default_factory=list)
    # Resources the platform must wait for before it installs: the system pool and the access
    # grants that let `pulumi up` talk to the cluster (never GPU or CPU worker pools, which
    # come up in parallel with the platform).
    ready: list[pulumi.Resource] = field(default_factory=list)
    # Extra block StorageClasses by name, for node types the default class cannot serve
    # (e.g. GKE A3 Ultra, which attaches Hyperdisk only). Same rules as `ml-block`.
    extra_block_storage: Mapping[str, StorageClassSpec] = field(default_factory=dict)
    # The cloud cuts MIG GPUs into their profile when it creates the node (GKE, AKS); False:
    # the platform runs NVIDIA's mig-manager on MIG pools (EKS, existing clusters).
    cloud_partitions_mig: bool = False
    # The cluster DNS add-on Prometheus scrapes: "coredns" (EKS, AKS, most clusters) or
    # "kube-dns" (GKE Standard).
    cluster_dns: str = "coredns"
    # Where pods get cloud credentials, `<IPv4>:<port>` (EKS Pod Identity agent, GKE metadata
    # server), which a namespace with `egress: cloud-apis` may reach; None: pods need no such
    # endpoint (AKS workload identity is HTTPS to Entra ID). And the object store's endpoints.
    identity_endpoint: Optional[str] = None
    object_storage_egress: tuple[EgressRule, ...] = (PUBLIC_HTTPS,)
    # Set by the cloud's stores (components/clouds/<cloud>/stores.py) after the cluster.
    model_store: Optional[ModelStore] = None
    backup: Optional[BackupTarget] = None
    # TPU slice pools (GKE): what Kueue needs to make a flavor per pool and queue their chips.
    tpu_pools: list[TpuPoolFacts] = field(default_factory=list)
    # Node labels that pin the platform's controllers to the system pool: the labels every
    # cloud backend puts on its system pool; empty where the nodes are not ours to label.
    system_node_selector: Mapping[str, str] = field(default_factory=system_pool_labels)
    # Service annotations for an internet-facing LoadBalancer on this cloud (the serving
    # gateway's `loadBalancer: public`); {} where the cloud's default already is one.
    public_lb_annotations: Mapping[str, str] = field(default_factory=dict)
    # Controllers of the cloud's own (EKS: Karpenter) that Prometheus scrapes, and the alert
    # groups (PrometheusRule `groups` entries) on their metrics, which the platform adds to its
    # alerts as they are: the cloud knows the metric names, the platform never asks which cloud.
    scrape_targets: tuple[ScrapeTarget, ...] = ()
    alert_groups: tuple[Mapping[str, Any], ...] = ()

"""The one typed model of a stack's config, and every check of user input.

A stack file says `ml-clusters:<key>: value`. `load()` validates all of it before a
single resource is registered and reports every problem at once, one line each:
`<key path>: <bad value> <what is wrong>; <what is allowed>`.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
import types
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
import typing
from typing import Any, Literal, Optional

import pulumi
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError
from pydantic.alias_generators import to_camel

from .. import catalog
from ..catalog import resolve

PROJECT = "ml-clusters"

Cloud = Literal["aws", "gcp", "azure", "existing"]
Environment = Literal["dev", "staging", "prod"]

# Pool names become cloud resource names and Kubernetes label values. AKS is the tightest
# (lowercase letters and digits, at most 12 for Linux pools), so that is the portable rule.
POOL_NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
POOL_NAME_RULE = "1-12 lowercase letters or digits, starting with a letter"
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
QUANTITY_RE = re.compile(r"^([0-9]+(\.[0-9]+)?)(m|k|Ki|Mi|Gi|Ti|M|G|T)?$")
DURATION_RE = re.compile(r"^[1-9][0-9]*(h|d|w)$")
AWS_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$")
AWS_STS_ARN_RE = re.compile(r"^arn:(aws[a-z-]*):sts::([0-9]{12}):assumed-role/([A-Za-z0-9+=,.@_-]+)/.+$")
# RFC 5737 reserves these for documentation: no real client ever comes from them.
DOCUMENTATION_RANGES = tuple(ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
GCP_PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
RESERVED_POOL_NAMES = ("system",)


def default_cluster_name(stack: str) -> str:
    """`ml-<stack>` made safe for every cloud: the cluster name a stack gets without `clusterName`."""
    safe = re.sub(r"[^a-z0-9-]+", "-", f"ml-{stack}".lower()).strip("-")
    return safe[:32].rstrip("-")


class ConfigError(pulumi.RunError):
    """Stack config is invalid. `str()` is one line per problem; Pulumi prints it without a traceback."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Model(BaseModel):
    # A string literal under a field is its description: the README's config reference is
    # generated from it (components/config_reference.py), so docs and model cannot drift.
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True, use_attribute_docstrings=True)


# --- GPU pools -------------------------------------------------------------------------


class TimeSlicing(_Model):
    """Oversubscribe each GPU: `replicas` pods share one GPU, with no memory isolation."""

    replicas: int = Field(ge=2, le=48)
    """Pods that share each GPU (no memory isolation between them)."""


class Mig(_Model):
    """Multi-Instance GPU: hardware partitions of one profile (e.g. `1g.10gb`)."""

    strategy: Literal["single", "mixed"] = "single"
    """How the device plugin exposes MIG devices: `single` as nvidia.com/gpu, `mixed` as nvidia.com/mig-<profile>."""
    profile: str
    """The MIG profile every GPU is partitioned into, from the GPU's list in the catalog."""


class Sharing(_Model):
    time_slicing: Optional[TimeSlicing] = None
    """Time-slicing: several pods take turns on one GPU."""
    mig: Optional[Mig] = None
    """Multi-Instance GPU partitions (A100, H100, H200, B200). Not together with timeSlicing."""


Arch = Literal["x86_64", "arm64"]


class GpuPool(_Model):
    name: str
    """Pool name: 1-12 lowercase letters or digits, starting with a letter; becomes the `ml-clusters.io/pool` label."""
    instance_type: Optional[str] = None
    """A GPU instance type / machine type / VM size from the catalog for the stack's cloud. Wins over `gpu` and the other needs when both are set. Unset: the catalog picks one from `gpu`/`minGpuMemoryGb` and `gpusPerNode`."""
    gpu: Optional[str] = None
    """Instead of `instanceType`: the GPU model the nodes carry (a catalog key: t4, t4g, a10g, l4, l40s, a100, a100-80gb, h100, h100-nvl, h200, b200). The catalog picks the cloud's cheapest type with it in the stack's region (on GCP, in zones that have the accelerator)."""
    gpus_per_node: int = Field(default=1, ge=1, le=16)
    """With `gpu`/`minGpuMemoryGb`: GPUs per node, exactly."""
    min_gpu_memory_gb: Optional[int] = Field(default=None, ge=1, le=1024)
    """With or instead of `gpu`: the least memory per GPU in GB (any model with at least this much, when `gpu` is unset)."""
    min_vcpus: Optional[int] = Field(default=None, ge=1, le=1024)
    """With `gpu`/`minGpuMemoryGb`: the fewest vCPUs per node."""
    min_memory_gb: Optional[int] = Field(default=None, ge=1, le=32768)
    """With `gpu`/`minGpuMemoryGb`: the least node memory in GB."""
    arch: Arch = "x86_64"
    """With `gpu`/`minGpuMemoryGb`: the nodes' CPU architecture (`arm64` for t4g); ignored when `instanceType` is set."""
    min_nodes: int = Field(default=0, ge=0)
    """Fewest nodes; 0 lets the pool scale to zero when no pod asks for a GPU."""
    max_nodes: int = Field(default=2, ge=0, le=1000)
    """Most nodes the autoscaler may start."""
    spot: bool = False
    """Run on spot / preemptible capacity (cheaper, can be reclaimed)."""
    disk_gb: int = Field(default=200, ge=50, le=16384)
    """Node OS disk in GB; ML images are large. On Azure at most the VM's ephemeral disk."""
    sharing: Optional[Sharing] = None
    """GPU sharing for the pool's nodes: `timeSlicing` or `mig`."""


class CpuPool(_Model):
    """A CPU worker pool for CPU-only serving, jobs and the ingress controller (not the platform)."""

    name: str
    """Pool name: 1-12 lowercase letters or digits, starting with a letter, unique among all pools; becomes the `ml-clusters.io/pool` label."""
    instance_type: Optional[str] = None
    """A CPU instance type / machine type / VM size from the catalog for the stack's cloud; wins over `minVcpus`/`minMemoryGb`. Unset: the catalog picks one from them."""
    min_vcpus: Optional[int] = Field(default=None, ge=1, le=1024)
    """Instead of `instanceType`: the fewest vCPUs per node; the catalog picks the cloud's cheapest CPU type with at least this size."""
    min_memory_gb: Optional[int] = Field(default=None, ge=1, le=32768)
    """Instead of `instanceType`: the least memory per node in GB."""
    arch: Arch = "x86_64"
    """With `minVcpus`/`minMemoryGb`: the nodes' CPU architecture; ignored when `instanceType` is set."""
    min_nodes: int = Field(default=0, ge=0)
    """Fewest nodes; 0 lets the pool scale to zero when nothing runs on it."""
    max_nodes: int = Field(default=3, ge=0, le=1000)
    """Most nodes the autoscaler may start."""
    spot: bool = False
    """Run on spot / preemptible capacity (cheaper, can be reclaimed)."""
    disk_gb: int = Field(default=100, ge=30, le=16384)
    """Node OS disk in GB. On Azure at most the VM's ephemeral disk."""


class SystemPool(_Model):
    instance_type: Optional[str] = None
    """A CPU type from the catalog; default: picked from `minVcpus`/`minMemoryGb` when set, else the cloud's default system type (m7i.xlarge, e2-standard-4, Standard_D4ds_v5)."""
    min_vcpus: Optional[int] = Field(default=None, ge=1, le=1024)
    """Instead of `instanceType`: the fewest vCPUs per system node; the catalog picks the cloud's cheapest CPU type with at least this size."""
    min_memory_gb: Optional[int] = Field(default=None, ge=1, le=32768)
    """Instead of `instanceType`: the least memory per system node in GB."""
    arch: Arch = "x86_64"
    """With `minVcpus`/`minMemoryGb`: the system nodes' CPU architecture; ignored when `instanceType` is set."""
    min_nodes: int = Field(default=2, ge=1)
    """Fewest system nodes (at least 1; 2 or more keeps the platform up through a node loss)."""
    max_nodes: int = Field(default=4, ge=1, le=100)
    """Most system nodes."""
    disk_gb: int = Field(default=100, ge=30, le=2048)
    """System node OS disk in GB."""
    spot: bool = False
    """Run the system pool on spot capacity (refused where the cloud does not allow it, e.g. AKS)."""


# --- Networking ------------------------------------------------------------------------


class Network(_Model):
    vpc_cidr: str = "10.0.0.0/16"
    """The VPC / VNet range, /16 to /20."""
    pod_cidr: str = "10.64.0.0/14"
    """Pod range (GKE secondary range, AKS overlay); must not overlap the VPC or services."""
    service_cidr: str = "10.96.0.0/16"
    """Kubernetes Service range; must not overlap the VPC or pods."""
    api_allowed_cidrs: list[str] = Field(default_factory=list)
    """CIDRs that may reach the Kubernetes API's public endpoint (EKS and GKE keep a private one too). Empty needs `privateApi: true`. 0.0.0.0/0 is refused in prod; documentation ranges (RFC 5737) get a preview warning."""
    private_api: bool = False
    """No public API endpoint at all: `pulumi up`, kubectl and CI must then run inside the network (VPN, peered network, a runner in the VPC). Required, and only allowed, when `apiAllowedCidrs` is empty: the stack says so explicitly. Ignored for cloud existing."""


# --- Per-cloud settings ----------------------------------------------------------------


class AwsIdentityProvider(_Model):
    """An OIDC identity provider EKS trusts for user sign-in (aws.eks.IdentityProviderConfig)."""

    issuer_url: str
    """The provider's issuer URL (https), e.g. `https://login.example.com/oauth2/default`."""
    client_id: str
    """The client (audience) id the provider issues kubectl tokens for."""
    groups_claim: str = "groups"
    """Token claim holding the user's groups; each group becomes a Kubernetes group of that name."""
    username_claim: str = "email"
    """Token claim that becomes the Kubernetes user name."""


class AwsSettings(_Model):
    admin_principal_arns: list[str] = Field(default_factory=list)
    """IAM role or user ARNs (not `sts` session ARNs) given cluster-admin through EKS access entries. Leave out whoever creates the cluster: EKS already made it admin (a second entry fails with 409)."""
    group_principal_arns: dict[str, list[str]] = Field(default_factory=dict)
    """Team access through access entries: a Kubernetes group (a namespace's `group`) -> the IAM role or user ARNs whose access entry carries it. Use this or `identityProvider`; every namespace group must come from one of them."""
    identity_provider: Optional[AwsIdentityProvider] = None
    """Team access through your OIDC identity provider: the token's groups claim supplies the namespaces' groups (users sign in with an OIDC kubectl plugin)."""
    addon_versions: dict[str, str] = Field(default_factory=dict)
    """Pin EKS add-on versions, e.g. `{aws-ebs-csi-driver: v1.48.0-eksbuild.1}`; unset: EKS's default for the cluster version."""


class GcpSettings(_Model):
    project: str
    """The GCP project id the cluster and its network live in."""
    regional: bool = True
    """A regional control plane (replicated across the region's zones); false: a cheaper zonal one, refused in prod."""
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    """The GKE release channel that upgrades the control plane and nodes."""
    gpu_driver_version: Literal["LATEST", "DEFAULT"] = "LATEST"
    """Which NVIDIA driver GKE installs on GPU nodes (GKE also runs its own device plugin there)."""
    maintenance_start: str = Field(default="03:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    """Start of the daily 4-hour maintenance window, HH:MM in UTC."""


class AzureSettings(_Model):
    admin_group_object_ids: list[str] = Field(default_factory=list)
    """Entra ID group object ids whose members are cluster admins (local accounts are disabled)."""
    tenant_id: Optional[str] = None
    """Entra ID tenant of those groups; unset: the subscription's tenant."""
    network_policy: Literal["cilium", "azure"] = "cilium"
    """`cilium`: Azure CNI powered by Cilium (dataplane and network policy); `azure`: Azure Network Policy Manager. Both on CNI overlay."""
    private_cluster: Optional[bool] = None
    """Replaced by `network.privateApi` (the same choice on every cloud); setting it is an error that names the replacement."""
    upgrade_channel: Literal["patch", "stable", "rapid", "node-image", "none"] = "patch"
    """AKS auto-upgrade channel for the Kubernetes version."""
    node_os_upgrade_channel: Literal["NodeImage", "SecurityPatch", "Unmanaged"] = "NodeImage"
    """How AKS keeps node OS images patched."""
    deployer_principal_type: Literal["User", "ServicePrincipal"] = "User"
    """What runs `pulumi up` (it is made Kubernetes admin through Azure RBAC): `User` after `az login`, `ServicePrincipal` for CI with a service principal or managed identity."""
    kubelogin_mode: Optional[Literal["azurecli", "spn", "workloadidentity", "msi"]] = None
    """How the kubeconfig's `kubelogin get-token --login` gets a token; unset: `azurecli` for a `User` deployer, `spn` for a `ServicePrincipal` (CI sets AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID). `workloadidentity` for CI with federated credentials, `msi` on an Azure VM's managed identity."""
    maintenance_day: Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] = "Sunday"
    """prod: weekday of the 4-hour window in which AKS may upgrade Kubernetes and node OS images."""
    maintenance_start: str = Field(default="03:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    """prod: start of that weekly window, HH:MM in UTC."""


class ExistingSettings(_Model):
    """A cluster the user already has: the facts a bare cluster cannot tell us."""

    kubeconfig: str
    """Path to the cluster's kubeconfig, absolute, `~/...` or relative to the project root; read at preview time and kept as a secret."""
    context: Optional[str] = None
    """The kubeconfig context to use; unset: its current-context."""
    block_storage_provisioner: str = "rancher.io/local-path"
    """Provisioner of the default block StorageClass `ml-block` (and `ml-block-retain`), e.g. a CSI driver name."""
    block_storage_parameters: dict[str, str] = Field(default_factory=dict)
    """StorageClass parameters the block provisioner needs (e.g. a Ceph pool and clusterID)."""
    file_storage_provisioner: Optional[str] = None
    """A ReadWriteMany provisioner (NFS, CephFS, ...) for the shared class `ml-shared`; unset: no shared class."""
    file_storage_parameters: dict[str, str] = Field(default_factory=dict)
    """StorageClass parameters of the shared provisioner (e.g. NFS server and share)."""
    storage_encrypted: bool = False
    """The provisioners' volumes are encrypted at rest (e.g. on encrypted node disks); recorded on the classes as `ml-clusters.io/encrypted`."""
    device_plugin_installed: bool = False
    """The GPU nodes already run a device plugin (e.g. the NVIDIA GPU operator): the platform deploys none, and sharing is left to its owner."""
    gpu_node_label: str = Field(default="nvidia.com/gpu.present=true", pattern=r"^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*$")
    """`key=value` of the label on your GPU nodes; the device plugin and DCGM exporter run where it is set."""


# --- Platform layer --------------------------------------------------------------------


AlertReceiverKind = Literal["slack", "pagerduty", "webhook"]
# The secret stack key holding each receiver's address (a URL or PagerDuty routing key).
ALERT_RECEIVER_SECRETS: dict[str, str] = {
    "slack": "alertSlackWebhookUrl",
    "pagerduty": "alertPagerdutyRoutingKey",
    "webhook": "alertWebhookUrl",
}


class Alerts(_Model):
    """Where Alertmanager sends alerts. A receiver exists when its secret stack key is set:
    `alertSlackWebhookUrl`, `alertPagerdutyRoutingKey`, `alertWebhookUrl`."""

    critical: Optional[list[AlertReceiverKind]] = None
    """Receivers of `severity: critical` alerts; unset: every receiver whose secret is set."""
    warning: Optional[list[AlertReceiverKind]] = None
    """Receivers of `severity: warning` alerts; unset: Slack and the webhook where their secrets are set (PagerDuty pages only for critical)."""
    slack_channel: Optional[str] = Field(default=None, pattern=r"^[#@]?[a-z0-9][a-z0-9._-]{0,79}$")
    """Slack channel to post to, e.g. `#ml-alerts`; unset: the webhook's own channel."""


class Monitoring(_Model):
    """kube-prometheus-stack: Prometheus (persistent, on the block class), Alertmanager,
    Grafana, plus GPU metrics, the GPU dashboard and the GPU alert rules."""

    enabled: bool = True
    """Install kube-prometheus-stack with GPU metrics, the GPU dashboard and GPU alerts."""
    retention: str = Field(default="15d", pattern=DURATION_RE.pattern)
    """How long Prometheus keeps metrics, e.g. `15d`, `2w`, `48h`."""
    storage_gb: int = Field(default=50, ge=10, le=4096)
    """Size of Prometheus's volume on the `ml-block` class, in GiB; data is pruned at 85% of it."""
    alerts: Alerts = Field(default_factory=Alerts)
    """Alert routing by severity (below); without any receiver, alerts stay in Alertmanager (refused in prod by the policy pack)."""


# --- ML workload layer (components/platform/workloads/) ---------------------------------


class TeamQueue(_Model):
    """Overrides for one team's ClusterQueue; a team without an entry gets the defaults."""

    team: str
    """The team (namespaces[].team) whose ClusterQueue this configures."""
    gpus: dict[str, int] = Field(default_factory=dict)
    """The team's guaranteed GPUs per GPU pool, e.g. `{h100: 24, l4: 8}`; they must add up to the GPUs of the team's namespaces. Unset: spread evenly over every GPU pool."""
    borrowing_limit: Optional[int] = Field(default=None, ge=0)
    """GPUs the team may borrow beyond its own while other teams leave theirs idle; at most what the rest of the cohort holds. Unset: all of it."""
    weight: int = Field(default=1, ge=0, le=100)
    """Fair-sharing weight when teams compete for idle GPUs (0: always last)."""


class Queueing(_Model):
    """Kueue: GPU job queues per team, sharing idle quota fairly within one cohort."""

    enabled: bool = False
    """Install Kueue: a ResourceFlavor per GPU pool, a ClusterQueue per team and a LocalQueue in each team namespace."""
    cohort: str = Field(default="ml-teams", pattern=DNS_LABEL_RE.pattern)
    """The cohort every team's ClusterQueue joins; teams borrow each other's idle quota within it."""
    queues: list[TeamQueue] = Field(default_factory=list)
    """Per-team overrides (GPUs per pool, borrowing limit, fair-sharing weight)."""


class Training(_Model):
    """Kubeflow Trainer v2 with JobSet: distributed training jobs (TrainJob) through Kueue."""

    enabled: bool = False
    """Install Kubeflow Trainer and JobSet with the torch-distributed and mpi-distributed runtimes (needs queueing)."""
    checkpoint_storage: str = Field(default="100Gi", pattern=QUANTITY_RE.pattern)
    """Size of the `checkpoints` claim made in each team namespace on the shared file system class (none without one)."""


class ModelServing(_Model):
    """KServe in Standard mode (plain Deployments + HPA) with cert-manager for its webhooks."""

    enabled: bool = False
    """Install KServe (Standard deployment mode) and its serving runtimes."""
    cert_manager: Literal["install", "existing", "none"] = "install"
    """cert-manager, which KServe's webhook certificates need: `install` it here, use an `existing` one, or `none` (refused with serving on)."""


class NotebookProfile(_Model):
    name: str = Field(pattern=DNS_LABEL_RE.pattern)
    """Profile slug shown in JupyterHub's spawn form."""
    pool: str
    """The GPU pool the notebook runs on."""
    gpus: int = Field(default=1, ge=1, le=8)
    """GPUs the notebook gets (at most the pool's GPUs per node)."""


class Notebooks(_Model):
    """JupyterHub with a CPU profile and GPU profiles generated from the GPU pools."""

    enabled: bool = False
    """Install JupyterHub (off by default)."""
    profiles: list[NotebookProfile] = Field(default_factory=list)
    """GPU profiles; unset: one single-GPU profile per GPU pool."""
    storage_class: str = "ml-block"
    """Block storage class for each user's home volume (`ml-block` or `ml-block-retain`)."""
    home_storage: str = Field(default="10Gi", pattern=QUANTITY_RE.pattern)
    """Size of each user's home volume."""


class Workloads(_Model):
    """The ML workload layer, each part toggled on its own."""

    queueing: Queueing = Field(default_factory=Queueing)
    """Kueue job queues (below)."""
    training: Training = Field(default_factory=Training)
    """Kubeflow Trainer (below)."""
    serving: ModelServing = Field(default_factory=ModelServing)
    """KServe model serving (below)."""
    notebooks: Notebooks = Field(default_factory=Notebooks)
    """JupyterHub notebooks (below)."""

    @property
    def any_enabled(self) -> bool:
        return any(part.enabled for part in (self.queueing, self.training, self.serving, self.notebooks))


class Platform(_Model):
    gpu_feature_discovery: bool = False
    """Run GPU Feature Discovery (node labels such as `nvidia.com/gpu.product`) with Node Feature Discovery, where the platform runs the device plugin."""
    shared_file_system: bool = True
    """Create the ReadWriteMany class `ml-shared` for datasets and checkpoints, where the backend offers a file system."""
    ingress_namespace: str = "ingress"
    """Namespace of your ingress controller; serving namespaces admit traffic from it."""
    monitoring: Monitoring = Field(default_factory=Monitoring)
    """Monitoring settings (below)."""
    workloads: Workloads = Field(default_factory=Workloads)
    """The ML workload layer: queueing, training, model serving, notebooks (below)."""


class ServingNamespace(_Model):
    name: str
    """Namespace name (a DNS label); not a platform namespace (monitoring, gpu-system, velero, kube-*)."""
    team: str
    """Owning team; becomes the `ml-clusters.io/team` label."""
    group: str
    """Identity-provider group bound to the namespace's team role (`ml-team`: edit workloads, TrainJobs and InferenceServices included, not the quota, limits or network policies), as your cluster's authentication reports it (name, email or object id)."""
    gpus: int = Field(default=0, ge=0, le=4096)
    """Quota of GPUs (`requests.nvidia.com/gpu`; a time-slice replica or MIG slice counts as one)."""
    cpu: str = "16"
    """Quota of CPU requests, a Kubernetes quantity."""
    memory: str = "64Gi"
    """Quota of memory requests, a Kubernetes quantity."""
    pod_security: Literal["restricted", "baseline"] = "restricted"
    """Pod Security Standard the namespace enforces (audit and warn stay at restricted)."""
    egress: Literal["cloud-apis", "internet", "none"] = "cloud-apis"
    """Where pods may connect besides DNS and their own namespace: `cloud-apis` the cloud's workload-identity endpoint and HTTPS to object storage (public addresses on 443), `internet` anywhere, `none` nowhere else."""
    model_store: Literal["read", "readwrite", "none"] = "read"
    """Access of the namespace's `workload` ServiceAccount to the model store, through workload identity: `read` (serving), `readwrite` (training), `none`."""


# --- Disaster recovery -------------------------------------------------------------------


class BackupStore(_Model):
    """cloud existing: the S3-compatible object store (MinIO, Ceph RGW, ...) Velero writes backups to."""

    url: str = Field(pattern=r"^https?://[^\s/]+(/.*)?$")
    """The store's endpoint, e.g. `https://minio.example.internal:9000`."""
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    """The bucket backups go to; it must exist."""
    region: str = "us-east-1"
    """The region the store reports (MinIO's default is us-east-1)."""
    credentials_secret: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    """A Secret in the `velero` namespace, key `cloud`, holding an AWS-style credentials file for the store; created outside this stack."""


class DisasterRecovery(_Model):
    """Pilot-light disaster recovery: stores replicated to a recovery region, cluster backups
    with Velero, and a standby stack there that fails over with one config change."""

    role: Literal["primary", "standby"] = "primary"
    """`primary`: this stack owns the stores and their replicas in the recovery region and backs the cluster up; `standby`: the pilot-light stack in the recovery region (GPU pools at 0 until failover)."""
    recovery_region: Optional[str] = None
    """primary: the region the replicas and the standby live in (a region or a place, as for `region`); default: the catalog's DR pair of `region`."""
    primary_region: Optional[str] = None
    """standby: the primary stack's region, whose replicas it reads (a region or a place, as for `region`); default: the catalog's DR pair of `region`."""
    primary_stack: Optional[str] = None
    """standby: the primary stack's name; default: this stack's name without `-dr`."""
    primary_cluster_name: Optional[str] = Field(default=None, pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
    """standby: the primary's cluster name, from which its store names derive; default: `ml-<primaryStack>` (set it when the primary sets clusterName)."""
    standby_stack: Optional[str] = None
    """primary: the standby stack's name, shown in the preview; default: `<stack>-dr`."""
    rpo_minutes: int = Field(default=60, ge=1, le=10080)
    """The recovery point objective you state, in minutes: store replication must be able to meet it and backups must run at least this often."""
    backup_schedule: str = "0 * * * *"
    """Velero backup schedule, cron in UTC (or `@hourly`, `@every 30m`); its longest gap must not exceed rpoMinutes."""
    backup_retention: str = Field(default="30d", pattern=DURATION_RE.pattern)
    """How long each backup is kept (Velero's ttl), e.g. `30d`, `2w`, `720h`."""
    failover: bool = False
    """standby only: fail over. GPU pools take their stated sizes and Velero restores the latest backup of the primary."""
    backup_store: Optional[BackupStore] = None
    """cloud existing only (required there): the S3-compatible store backups go to. Existing clusters get backups only, no replicated model store."""


# --- The stack -------------------------------------------------------------------------


class StackConfig(_Model):
    cloud: Cloud
    """Where the cluster runs; `existing` installs the platform on a cluster you already have."""
    region: Optional[str] = None
    """The cloud region from the catalog, or a place the catalog maps to each cloud's nearest region (us-east, us-central, us-west, europe-west, asia-northeast, asia-southeast); required unless cloud is existing."""
    environment: Environment = "dev"
    """prod turns on deletion protection, HA NAT, stricter checks and the strict policy config."""
    cluster_name: Optional[str] = Field(default=None, pattern=r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
    """Cluster name; default `ml-<stack>`."""
    kubernetes_version: str = catalog.DEFAULT_KUBERNETES_VERSION
    """Kubernetes minor version, quoted in YAML."""
    system_pool: SystemPool = Field(default_factory=SystemPool)
    """The CPU pool for the platform's own workloads."""
    gpu_pools: list[GpuPool] = Field(default_factory=list)
    """GPU node pools, tainted `nvidia.com/gpu=present:NoSchedule` and labelled portably."""
    cpu_pools: list[CpuPool] = Field(default_factory=list)
    """CPU worker pools (untainted, labelled portably) for CPU-only workloads; the system pool runs only the platform."""
    network: Network = Field(default_factory=Network)
    """Address ranges and API access."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags / labels put on every cloud resource."""
    aws: Optional[AwsSettings] = None
    """EKS-only settings."""
    gcp: Optional[GcpSettings] = None
    """GKE-only settings (required for cloud gcp)."""
    azure: Optional[AzureSettings] = None
    """AKS-only settings."""
    existing: Optional[ExistingSettings] = None
    """Settings for cloud existing (required there)."""
    platform: Platform = Field(default_factory=Platform)
    """The cloud-agnostic platform layer."""
    namespaces: list[ServingNamespace] = Field(default_factory=list)
    """Serving namespaces with quotas, limits, network policies and access."""
    alert_slack_webhook_url: Optional[str] = None
    """Slack incoming-webhook URL alerts go to; a secret (`pulumi config set --secret alertSlackWebhookUrl <url>`)."""
    alert_pagerduty_routing_key: Optional[str] = None
    """PagerDuty Events API v2 routing key alerts page; a secret (`pulumi config set --secret alertPagerdutyRoutingKey <key>`)."""
    alert_webhook_url: Optional[str] = None
    """Generic webhook URL alerts are posted to (Alertmanager's webhook format); a secret (`pulumi config set --secret alertWebhookUrl <url>`)."""

    def alert_receivers(self) -> dict[str, str]:
        """Receiver kind -> its secret address, for the receivers whose secret is set."""
        out = {}
        for kind, key in ALERT_RECEIVER_SECRETS.items():
            value = getattr(self, to_snake(key))
            if value:
                out[kind] = value
        return out

    def alert_routes(self) -> dict[str, list[str]]:
        """Severity -> receiver kinds, with the defaults of `platform.monitoring.alerts` applied."""
        receivers = self.alert_receivers()
        alerts = self.platform.monitoring.alerts
        critical = alerts.critical if alerts.critical is not None else list(receivers)
        warning = alerts.warning if alerts.warning is not None else [k for k in receivers if k != "pagerduty"]
        return {"critical": list(dict.fromkeys(critical)), "warning": list(dict.fromkeys(warning))}
    dr: Optional[DisasterRecovery] = None
    """Disaster recovery (replicated stores, cluster backups, standby); required in prod by the policy pack."""

    # What the catalog chose while the stack loaded (a place's region, pools by need).
    _choices: tuple[resolve.Choice, ...] = PrivateAttr(default=())

    @property
    def choices(self) -> tuple[resolve.Choice, ...]:
        """The catalog's choices for this stack: asked, chosen, why (empty when nothing was resolved)."""
        return self._choices

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    def name_for(self, stack: str) -> str:
        """The cluster's name: `clusterName`, or `ml-<stack>` made safe for every cloud."""
        return self.cluster_name or default_cluster_name(stack)

    def system_instance_type(self) -> str:
        if self.system_pool.instance_type:
            return self.system_pool.instance_type
        return catalog.cloud(self.cloud).default_system_instance_type if self.cloud != "existing" else ""

    def settings(self, cloud: str) -> Any:
        """The cloud's settings block, with defaults when the stack left it out."""
        value = getattr(self, cloud)
        if value is None:
            value = {"aws": AwsSettings, "azure": AzureSettings}[cloud]()
        return value


# --- Reading config ----------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """Optional[X] -> X; list[X] -> X; dict[str, X] -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        elif origin in (list, dict):
            annotation = typing.get_args(annotation)[-1]
        else:
            return annotation


def _is_structured(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_structured(a) for a in typing.get_args(annotation) if a is not type(None))
    return origin in (list, dict) or (isinstance(annotation, type) and issubclass(annotation, BaseModel))


def _field_by_alias(model: type[BaseModel], alias: str) -> Any:
    for field in model.model_fields.values():
        if field.alias == alias:
            return field
    return None


def raw_from_pulumi(values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Turn Pulumi's flat config (`ml-clusters:key` -> string) into the model's dict.

    Pulumi hands every value over as a string; structured keys hold JSON. Keys of other
    namespaces (provider settings like `aws:region`) are not ours and are left alone.
    """
    raw: dict[str, Any] = {}
    problems: list[str] = []
    prefix = PROJECT + ":"
    for full_key in sorted(values):
        if not full_key.startswith(prefix):
            continue
        key, value = full_key[len(prefix) :], values[full_key]
        if value == "":
            continue  # Pulumi.yaml declares optional scalars with an empty default: unset
        field = _field_by_alias(StackConfig, key)
        if field is not None and _is_structured(field.annotation) and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                problems.append(f"{key}: {value!r} is not a structured value; write it as a YAML mapping or list")
                continue
        raw[key] = value
    # The GCP project may come from the provider's own config (`gcp:project`), so a stack
    # can move between clouds by changing `cloud` alone. An explicit gcp.project wins.
    project = values.get("gcp:project")
    if raw.get("cloud") == "gcp" and isinstance(project, str) and project:
        block = raw.get("gcp", {})
        if isinstance(block, dict) and "project" not in block:
            raw["gcp"] = {**block, "project": project}
    return raw, problems


def pulumi_config_values() -> dict[str, Any]:
    """Every config value the engine gave this program (explicit config wins over env)."""
    merged = dict(pulumi.runtime.config.get_config_env())
    merged.update(pulumi.runtime.config.CONFIG.get())
    return merged


def load_from_pulumi() -> StackConfig:
    values = pulumi_config_values()
    raw, problems = raw_from_pulumi(values)
    prefix = PROJECT + ":"
    secrets = {k[len(prefix):] for k in values if k.startswith(prefix) and pulumi.runtime.config.is_config_secret(k)}
    cfg = load(raw, problems + azure_tenant_problems(raw, values.get("azure-native:tenantId")), secrets)
    for warning in config_warnings(cfg):
        pulumi.log.warn(warning)
    return cfg


def azure_tenant_problems(raw: dict[str, Any], subscription_tenant: Optional[str]) -> list[str]:
    """Azure RBAC for Kubernetes Authorization needs the Entra tenant to be the tenant of the
    cluster's subscription (AKS docs, manage-azure-rbac), and this program always turns Azure
    RBAC on: a tenantId other than the provider's is refused."""
    azure = raw.get("azure")
    tenant = azure.get("tenantId") if isinstance(azure, dict) else None
    if not tenant or not subscription_tenant or str(tenant).lower() == subscription_tenant.lower():
        return []
    return [f"azure.tenantId: {tenant!r} is not the subscription's tenant (azure-native:tenantId {subscription_tenant!r}); "
            f"Azure RBAC for Kubernetes needs the subscription's own tenant; allowed: {subscription_tenant} or leave tenantId unset"]


def _plain_secret_problems(raw: dict[str, Any], secret_keys: set[str]) -> list[str]:
    """Receiver addresses must be Pulumi secrets: one in plain text is in the stack file for
    anyone with the repository, and in the state unencrypted."""
    out = []
    for key in sorted(ALERT_RECEIVER_SECRETS.values()):
        if key in raw and key not in secret_keys:
            out.append(f"{key}: set in plain text; allowed: a secret, `pulumi config set --secret {key} <value>` (the stack file then holds `secure: ...`)")
    return out


def load(raw: dict[str, Any], problems: Optional[list[str]] = None, secret_keys: Optional[set[str]] = None) -> StackConfig:
    """Validate `raw` (the stack's keys without the project prefix); raise ConfigError
    listing every problem found. `secret_keys`: the keys Pulumi holds as secrets (None:
    not known, e.g. a config built in code; the plain-text check is then skipped). The
    result is resolved: a place in `region` is the cloud's region and every pool has a
    concrete instance type (see `resolve_config`)."""
    problems = list(problems or [])
    if secret_keys is not None:
        problems.extend(_plain_secret_problems(raw, secret_keys))
    cfg: Optional[StackConfig] = None
    err: Optional[ValidationError] = None
    try:
        cfg = StackConfig.model_validate(raw)
    except ValidationError as error:
        err = error
        problems.extend(_format_validation_error(err))
    if cfg is not None:
        problems.extend(semantic_problems(cfg))
    else:
        problems.extend(_partial_semantic_problems(raw, err))
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    assert cfg is not None
    return resolve_config(cfg)


# --- Formatting pydantic's findings ------------------------------------------------------


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, sort_keys=True, default=str)


def _model_at(loc: tuple[Any, ...]) -> Optional[type[BaseModel]]:
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = _field_by_alias(model, str(part))
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _allowed_literals(loc: tuple[Any, ...]) -> Optional[list[str]]:
    while loc and isinstance(loc[-1], int):
        loc = loc[:-1]  # an item of a list of literals: the list's field says what is allowed
    parent = _model_at(loc[:-1])
    if parent is None or not loc or isinstance(loc[-1], int):
        return None
    field = _field_by_alias(parent, str(loc[-1]))
    ann = _unwrap(field.annotation) if field else None
    if typing.get_origin(ann) is Literal:
        return [str(a) for a in typing.get_args(ann)]
    return None


def _format_validation_error(err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        # Pydantic reports a Literal inside Optional once per branch; keep the useful one.
        loc = tuple(p for p in loc if p not in ("literal['aws','gcp','azure','existing']",))
        path, kind, value = _path(loc), e["type"], e.get("input")
        if kind == "extra_forbidden":
            parent = _model_at(loc[:-1])
            allowed = sorted(f.alias or n for n, f in parent.model_fields.items()) if parent else []
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            maybe = f" (did you mean {hint[0]}?)" if hint else ""
            lines.append(f"{path}: unknown key{maybe}; allowed keys: {', '.join(allowed)}")
        elif kind == "missing":
            lines.append(f"{path}: required key is missing")
        elif kind == "literal_error":
            allowed = _allowed_literals(loc) or []
            lines.append(f"{path}: {_show(value)} is not allowed; allowed: {', '.join(allowed)}")
        elif kind in ("greater_than_equal", "less_than_equal"):
            bound = e["ctx"].get("ge", e["ctx"].get("le"))
            word = "less than" if kind == "greater_than_equal" else "more than"
            lines.append(f"{path}: {_show(value)} is {word} the allowed {'minimum' if kind == 'greater_than_equal' else 'maximum'} {bound}")
        elif kind == "string_pattern_mismatch":
            lines.append(f"{path}: {_show(value)} is not valid; it must match {e['ctx']['pattern']}")
        elif kind == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
            # YAML reads an unquoted 16 or 1.5 as a number; the key takes a string.
            lines.append(f'{path}: {_show(value)} is a number, a string is expected; quote it: "{value}"')
        else:
            lines.append(f"{path}: {_show(value)} is not valid; {e['msg'][0].lower()}{e['msg'][1:]}")
    return lines


# --- Checks across keys and against the catalog ------------------------------------------


def _net(value: str) -> Optional[ipaddress.IPv4Network]:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        return None
    return net if isinstance(net, ipaddress.IPv4Network) else None


def _cidr_problems(cfg: StackConfig) -> list[str]:
    out = []
    named = {}
    for key in ("vpcCidr", "podCidr", "serviceCidr"):
        value = getattr(cfg.network, to_snake(key))
        net = _net(value)
        if net is None:
            out.append(f"network.{key}: {value!r} is not an IPv4 CIDR with no host bits set, e.g. 10.0.0.0/16")
            continue
        named[key] = net
    vpc = named.get("vpcCidr")
    if vpc is not None and not 16 <= vpc.prefixlen <= 20:
        out.append(f"network.vpcCidr: {str(vpc)!r} has prefix /{vpc.prefixlen}; allowed: /16 to /20")
    keys = list(named)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if named[a].overlaps(named[b]):
                out.append(f"network.{b}: {str(named[b])!r} overlaps network.{a} {str(named[a])!r}; the ranges must be disjoint")
    for i, value in enumerate(cfg.network.api_allowed_cidrs):
        net = _net(value)
        if net is None:
            out.append(f"network.apiAllowedCidrs[{i}]: {value!r} is not an IPv4 CIDR with no host bits set, e.g. 203.0.113.0/24")
        elif net.prefixlen == 0 and cfg.is_prod:
            out.append(f"network.apiAllowedCidrs[{i}]: {value!r} opens the Kubernetes API to the whole internet, which prod does not allow; list your office or VPN ranges")
    return out + _private_api_problems(cfg)


def _private_api_problems(cfg: StackConfig) -> list[str]:
    """An empty apiAllowedCidrs makes the API private on every cloud, and then `pulumi up`
    only works from inside the network: the stack must choose that with privateApi."""
    net = cfg.network
    if cfg.cloud == "existing":
        return []
    if net.private_api and net.api_allowed_cidrs:
        return [f"network.privateApi: true leaves no public endpoint for the {len(net.api_allowed_cidrs)} network.apiAllowedCidrs to open; allowed: remove apiAllowedCidrs, or set privateApi false"]
    if not net.private_api and not net.api_allowed_cidrs:
        return ["network.apiAllowedCidrs: empty makes the Kubernetes API private, so `pulumi up` would have to run inside the network; allowed: list the ranges that may reach the API, or set network.privateApi: true to choose a private API"]
    return []


def config_warnings(cfg: StackConfig) -> list[str]:
    """Settings that are valid but almost certainly not what the user meant; the program
    logs each with pulumi.log.warn, which the preview prints and `pulumi up` shows."""
    out = []
    for i, value in enumerate(cfg.network.api_allowed_cidrs):
        net = _net(value)
        if net is not None and any(net.overlaps(doc) for doc in DOCUMENTATION_RANGES):
            out.append(f"network.apiAllowedCidrs[{i}]: {value!r} is a documentation range (RFC 5737) that no real client comes from; replace it with your office, VPN or CI egress range or nobody reaches the API")
    return out + _eks_group_problems(cfg)


def to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _pool_problems(pool: GpuPool, i: int, cloud: Optional[str], region: Optional[str]) -> list[str]:
    out = []
    where = f"gpuPools[{i}]"
    if not POOL_NAME_RE.match(pool.name):
        out.append(f"{where}.name: {pool.name!r} is not a valid pool name; allowed: {POOL_NAME_RULE}")
    elif pool.name in RESERVED_POOL_NAMES:
        out.append(f"{where}.name: {pool.name!r} is reserved for the system pool; choose another name")
    if pool.min_nodes > pool.max_nodes:
        out.append(f"{where}.maxNodes: {pool.max_nodes} is less than minNodes {pool.min_nodes}")
    elif pool.max_nodes == 0:
        out.append(f"{where}.maxNodes: 0 leaves the pool without nodes; allowed: 1 to 1000 (remove the pool to drop it)")
    if pool.sharing is not None and pool.sharing.time_slicing and pool.sharing.mig:
        out.append(f"{where}.sharing: sets both timeSlicing and mig; choose one")
    if cloud is None or pool.instance_type is None:
        return out  # an unresolved need is reported by _pools_problems
    if cloud == "existing":
        # An existing cluster's nodes are not ours to size; the pool only names a GPU model.
        itype = catalog.find_instance_type(pool.instance_type)
        if itype is None:
            out.append(f"{where}.instanceType: {pool.instance_type!r} is not in the catalog of any cloud; use a type listed in the README's catalog")
            return out
    else:
        cat = catalog.cloud(cloud)
        itype = cat.instance_types.get(pool.instance_type)
        gpu_types = sorted(n for n, t in cat.instance_types.items() if t.gpu)
        if itype is None:
            hint = difflib.get_close_matches(pool.instance_type, gpu_types, n=1)
            maybe = f" (did you mean {hint[0]}?)" if hint else ""
            out.append(f"{where}.instanceType: {pool.instance_type!r} is not a known {cloud} GPU type{maybe}; allowed: {', '.join(gpu_types)}")
            return out
        if itype.gpu is None:
            out.append(f"{where}.instanceType: {pool.instance_type!r} has no GPU; allowed: {', '.join(gpu_types)}")
            return out
        if region is not None and region in cat.regions:
            offered = cat.regions_offering(pool.instance_type)
            if region not in offered:
                out.append(f"{where}.instanceType: {pool.instance_type!r} ({catalog.gpu_model(itype.gpu).name}) is not offered in {region}; regions with it: {', '.join(offered) or 'none'}")
        if itype.ephemeral_os_disk_gb is not None and pool.disk_gb > itype.ephemeral_os_disk_gb:
            out.append(f"{where}.diskGb: {pool.disk_gb} is larger than the {itype.ephemeral_os_disk_gb} GB ephemeral OS disk {pool.instance_type} can hold; allowed: 50 to {itype.ephemeral_os_disk_gb}")
    if itype.gpu is None:
        out.append(f"{where}.instanceType: {pool.instance_type!r} has no GPU")
        return out
    gpu = catalog.gpu_model(itype.gpu)
    mig = pool.sharing.mig if pool.sharing else None
    if mig is not None:
        if not gpu.mig_profiles:
            mig_gpus = sorted(k for k, g in catalog.GPU_MODELS.items() if g.mig_profiles)
            out.append(f"{where}.sharing.mig: {gpu.name} ({pool.instance_type}) does not support MIG; MIG GPUs: {', '.join(mig_gpus)}")
        elif mig.profile not in gpu.mig_profiles:
            out.append(f"{where}.sharing.mig.profile: {mig.profile!r} is not a MIG profile of {gpu.name}; allowed: {', '.join(gpu.mig_profiles)}")
    return out


# --- Places and needs made concrete -----------------------------------------------------------


def _gpu_need(pool: GpuPool) -> Optional[resolve.GpuNeed]:
    if pool.gpu is None and pool.min_gpu_memory_gb is None:
        return None
    return resolve.GpuNeed(
        gpu=pool.gpu, gpus=pool.gpus_per_node, min_gpu_memory_gb=pool.min_gpu_memory_gb,
        min_vcpus=pool.min_vcpus, min_memory_gb=pool.min_memory_gb, arch=pool.arch, disk_gb=pool.disk_gb,
        mig_profile=pool.sharing.mig.profile if pool.sharing is not None and pool.sharing.mig is not None else None,
    )


def _size_need(pool: SystemPool | CpuPool) -> Optional[resolve.SizeNeed]:
    if pool.min_vcpus is None and pool.min_memory_gb is None:
        return None
    return resolve.SizeNeed(min_vcpus=pool.min_vcpus, min_memory_gb=pool.min_memory_gb, arch=pool.arch, disk_gb=pool.disk_gb)


def _resolve_gpu_pool(pool: GpuPool, where: str, cloud: str, region: Optional[str]) -> tuple[GpuPool, Optional[resolve.Choice], Optional[str]]:
    """The pool with a concrete instance type, the choice made, or the problem (one line)."""
    need = _gpu_need(pool)
    if pool.instance_type is not None:
        if need is None:
            return pool, None, None
        why = "instanceType is set, and wins over the needs"
        itype = catalog.instance_type(cloud, pool.instance_type) or catalog.find_instance_type(pool.instance_type)
        if itype is not None and itype.gpu and (itype.gpus, itype.gpu) != (need.gpus, need.gpu or itype.gpu):
            why += f" (it has {itype.gpus} x {itype.gpu})"
        return pool, resolve.Choice(where, need.describe(), pool.instance_type, why), None
    if need is None:
        return pool, None, f"{where}: sets neither instanceType nor gpu; allowed: instanceType (a GPU type of {cloud}), or gpu (a GPU model) with gpusPerNode"
    try:
        if cloud == "existing":
            itype, why = resolve.gpu_type_any_cloud(catalog.CLOUDS.values(), need)
        elif region is None:
            return pool, None, None  # the region's own problem is reported
        else:
            itype, why = resolve.gpu_type(catalog.cloud(cloud), region, need)
    except resolve.NotOffered as err:
        key = f"{where}.gpu" if "GPU model" in str(err) else where
        return pool, None, f"{key}: {err}"
    return pool.model_copy(update={"instance_type": itype.name}), resolve.Choice(where, need.describe(), itype.name, why), None


def _resolve_size_pool(pool: SystemPool | CpuPool, where: str, cloud: str, region: Optional[str]) -> tuple[Any, Optional[resolve.Choice], Optional[str]]:
    need = _size_need(pool)
    if pool.instance_type is not None:
        choice = None if need is None else resolve.Choice(where, need.describe(), pool.instance_type, "instanceType is set, and wins over the needs")
        return pool, choice, None
    if need is None:
        if isinstance(pool, SystemPool):
            return pool, None, None  # the cloud's default system type
        return pool, None, f"{where}: sets neither instanceType nor minVcpus/minMemoryGb; allowed: instanceType (a CPU type of {cloud}), or minVcpus and/or minMemoryGb"
    if cloud == "existing" or region is None:
        return pool, None, None  # existing: not ours to size; no region: reported on its own
    try:
        itype, why = resolve.cpu_type(catalog.cloud(cloud), region, need)
    except resolve.NotOffered as err:
        return pool, None, f"{where}: {err}"
    return pool.model_copy(update={"instance_type": itype.name}), resolve.Choice(where, need.describe(), itype.name, why), None


def _resolved_region(cloud: str, region: Optional[str]) -> Optional[str]:
    """The cloud's region for `region` (a region or a place), or None when it is neither."""
    if cloud == "existing" or region is None:
        return region
    try:
        return resolve.region_of(catalog.cloud(cloud), region)
    except resolve.NotOffered:
        return None


def resolve_config(cfg: StackConfig) -> StackConfig:
    """`cfg` with a place in `region` replaced by the cloud's region and every pool given
    by what it needs (GPU model and count, or a size) given a concrete instance type of the
    stack's cloud; the choices are recorded on it (`choices`). Best effort: what cannot be
    resolved stays as written, and `semantic_problems` reports it."""
    choices: list[resolve.Choice] = []
    update: dict[str, Any] = {}
    region = _resolved_region(cfg.cloud, cfg.region)
    if region is not None and region != cfg.region:
        cat = catalog.cloud(cfg.cloud)
        pair = cat.regions[region].pair
        choices.append(resolve.Choice("region", str(cfg.region), region, f"place {cfg.region} on {cfg.cloud}" + (f"; its DR pair is {pair}" if pair else "")))
        update["region"] = region
    system, choice, _ = _resolve_size_pool(cfg.system_pool, "systemPool", cfg.cloud, region)
    choices += [choice] if choice else []
    gpu_pools, cpu_pools = [], []
    for i, pool in enumerate(cfg.gpu_pools):
        pool, choice, _ = _resolve_gpu_pool(pool, f"gpuPools[{i}]", cfg.cloud, region)
        gpu_pools.append(pool)
        choices += [choice] if choice else []
    for i, cpu_pool in enumerate(cfg.cpu_pools):
        cpu_pool, choice, _ = _resolve_size_pool(cpu_pool, f"cpuPools[{i}]", cfg.cloud, region)
        cpu_pools.append(cpu_pool)
        choices += [choice] if choice else []
    update.update(system_pool=system, gpu_pools=gpu_pools, cpu_pools=cpu_pools)
    # The DR pair follows the same map: a place in dr.recoveryRegion / dr.primaryRegion is
    # the cloud's region there (unset, the DR plan takes the cloud's pair of `region`).
    if cfg.dr is not None and cfg.cloud != "existing":
        dr_update = {}
        for field, key in (("recovery_region", "dr.recoveryRegion"), ("primary_region", "dr.primaryRegion")):
            value = getattr(cfg.dr, field)
            mapped = _resolved_region(cfg.cloud, value) if value else None
            if mapped is not None and mapped != value:
                dr_update[field] = mapped
                choices.append(resolve.Choice(key, value, mapped, f"place {value} on {cfg.cloud}"))
        if dr_update:
            update["dr"] = cfg.dr.model_copy(update=dr_update)
    resolved = cfg.model_copy(update=update)
    resolved._choices = tuple(choices)
    return resolved


def _region_problems(cloud: str, region: Optional[str]) -> list[str]:
    if cloud == "existing":
        return []
    regions = sorted(catalog.cloud(cloud).regions)
    if region is None:
        return [f"region: required key is missing for cloud {cloud}; allowed: {', '.join(regions)}; places: {', '.join(resolve.places_on(cloud))}"]
    if region in regions or resolve.place_region(cloud, region) is not None:
        return []
    if region in catalog.PLACES:
        try:
            resolve.region_of(catalog.cloud(cloud), region)
        except resolve.NotOffered as err:
            return [f"region: {err}"]
    places = resolve.places_on(cloud)
    hint = difflib.get_close_matches(region, regions + places, n=1)
    maybe = f" (did you mean {hint[0]}?)" if hint else ""
    return [f"region: {region!r} is not a known {cloud} region or place{maybe}; allowed: {', '.join(regions)}; places: {', '.join(places)}"]


def semantic_problems(cfg: StackConfig) -> list[str]:
    out: list[str] = []
    out += _region_problems(cfg.cloud, cfg.region)
    cfg = resolve_config(cfg)
    region = cfg.region if not out else None
    if cfg.kubernetes_version not in catalog.KUBERNETES_VERSIONS:
        out.append(
            f"kubernetesVersion: {cfg.kubernetes_version!r} is not supported; allowed: {', '.join(catalog.KUBERNETES_VERSIONS)} (quote it in YAML)"
        )
    for other in ("aws", "gcp", "azure", "existing"):
        if other != cfg.cloud and getattr(cfg, other) is not None:
            out.append(f"{other}: settings for {other} are set, but cloud is {cfg.cloud}; remove the {other} block")
    if cfg.cloud in ("gcp", "existing") and getattr(cfg, cfg.cloud) is None:
        required = {"gcp": "project", "existing": "kubeconfig"}[cfg.cloud]
        also = " (or set the provider's gcp:project)" if cfg.cloud == "gcp" else ""
        out.append(f"{cfg.cloud}: required for cloud {cfg.cloud}; it must set at least {cfg.cloud}.{required}{also}")
    out += _cidr_problems(cfg)
    out += _system_pool_problems(cfg)
    out += _cpu_pools_problems(cfg, region)
    out += _pools_problems(cfg.gpu_pools, cfg.cloud, region)
    out += _cloud_settings_problems(cfg)
    if cfg.existing is not None and cfg.cloud == "existing":
        try:
            read_kubeconfig(cfg.existing)
        except ConfigError as err:
            out += err.problems
    out += _namespace_problems(cfg)
    out += dr_problems(cfg, region)
    out += _workloads_problems(cfg)
    for key, value in cfg.tags.items():
        if not re.match(r"^[A-Za-z0-9_.:/=+@ -]{1,63}$", key) or len(value) > 63:
            out.append(f"tags.{key}: key or value is not portable; allowed: keys of 1-63 letters, digits and _.:/=+@- and values up to 63 characters")
    return list(dict.fromkeys(out))


def _system_pool_problems(cfg: StackConfig) -> list[str]:
    sp = cfg.system_pool
    out = []
    if sp.min_nodes > sp.max_nodes:
        out.append(f"systemPool.maxNodes: {sp.max_nodes} is less than minNodes {sp.min_nodes}")
    if cfg.cloud == "existing":
        return out
    cat = catalog.cloud(cfg.cloud)
    if sp.spot and not cat.system_pool_spot_allowed:
        out.append(f"systemPool.spot: true is not allowed on {cfg.cloud}: system pools cannot run on spot capacity there; allowed: false")
    if sp.instance_type is None and _size_need(sp) is not None:
        _, _, problem = _resolve_size_pool(sp, "systemPool", cfg.cloud, _resolved_region(cfg.cloud, cfg.region))
        out += [problem] if problem else []
    elif sp.instance_type is not None:
        cpu_types = sorted(n for n, t in cat.instance_types.items() if not t.gpu)
        itype = cat.instance_types.get(sp.instance_type)
        if itype is None or itype.gpu:
            why = "has GPUs" if itype else f"is not a known {cfg.cloud} type"
            out.append(f"systemPool.instanceType: {sp.instance_type!r} {why}; allowed: {', '.join(cpu_types)}")
        elif itype.ephemeral_os_disk_gb is not None and sp.disk_gb > itype.ephemeral_os_disk_gb:
            out.append(f"systemPool.diskGb: {sp.disk_gb} is larger than the {itype.ephemeral_os_disk_gb} GB ephemeral OS disk {sp.instance_type} can hold; allowed: 30 to {itype.ephemeral_os_disk_gb}")
    else:
        itype = cat.instance_types[cat.default_system_instance_type]
        if itype.ephemeral_os_disk_gb is not None and sp.disk_gb > itype.ephemeral_os_disk_gb:
            out.append(f"systemPool.diskGb: {sp.disk_gb} is larger than the {itype.ephemeral_os_disk_gb} GB ephemeral OS disk {itype.name} can hold; allowed: 30 to {itype.ephemeral_os_disk_gb}")
    return out


def _cpu_pools_problems(cfg: StackConfig, region: Optional[str] = None) -> list[str]:
    """CPU pools: a CPU type of the stack's cloud, a sane range, and names unique across every pool."""
    out: list[str] = []
    names = {p.name: f"gpuPools[{i}]" for i, p in enumerate(cfg.gpu_pools)}
    if cfg.cloud == "existing" and cfg.cpu_pools:
        return [f"cpuPools: {len(cfg.cpu_pools)} pool(s) set on cloud existing, whose node pools are managed outside this stack; allowed: leave cpuPools out"]
    cat = catalog.cloud(cfg.cloud) if cfg.cloud != "existing" else None
    for i, pool in enumerate(cfg.cpu_pools):
        where = f"cpuPools[{i}]"
        if not POOL_NAME_RE.match(pool.name):
            out.append(f"{where}.name: {pool.name!r} is not a valid pool name; allowed: {POOL_NAME_RULE}")
        elif pool.name in RESERVED_POOL_NAMES:
            out.append(f"{where}.name: {pool.name!r} is reserved; allowed: any other name")
        elif pool.name in names:
            out.append(f"{where}.name: {pool.name!r} is already used by {names[pool.name]}; pool names must be unique")
        names.setdefault(pool.name, where)
        if pool.min_nodes > pool.max_nodes:
            out.append(f"{where}.maxNodes: {pool.max_nodes} is less than minNodes {pool.min_nodes}")
        if cat is None:
            continue
        if pool.instance_type is None:
            _, _, problem = _resolve_size_pool(pool, where, cfg.cloud, region)
            out += [problem] if problem else []
            continue
        cpu_types = sorted(n for n, t in cat.instance_types.items() if not t.gpu)
        itype = cat.instance_types.get(pool.instance_type)
        if itype is None or itype.gpu:
            why = "has GPUs (use gpuPools)" if itype else f"is not a known {cfg.cloud} CPU type"
            hint = difflib.get_close_matches(pool.instance_type, cpu_types, n=1)
            maybe = f" (did you mean {hint[0]!r}?)" if hint and itype is None else ""
            out.append(f"{where}.instanceType: {pool.instance_type!r} {why}{maybe}; allowed: {', '.join(cpu_types)}")
        elif itype.ephemeral_os_disk_gb is not None and pool.disk_gb > itype.ephemeral_os_disk_gb:
            out.append(f"{where}.diskGb: {pool.disk_gb} is larger than the {itype.ephemeral_os_disk_gb} GB ephemeral OS disk {pool.instance_type} can hold; allowed: 30 to {itype.ephemeral_os_disk_gb}")
    return out


def _cloud_settings_problems(cfg: StackConfig) -> list[str]:
    out = []
    if cfg.aws is not None:
        out += _aws_access_problems(cfg)
        for name in cfg.aws.addon_versions:
            if name not in catalog.EKS_ADDONS:
                out.append(f"aws.addonVersions.{name}: unknown add-on; allowed: {', '.join(sorted(catalog.EKS_ADDONS))}")
    if cfg.gcp is not None and not GCP_PROJECT_RE.match(cfg.gcp.project):
        out.append(f"gcp.project: {cfg.gcp.project!r} is not a GCP project id; allowed: 6-30 lowercase letters, digits and hyphens, starting with a letter")
    if cfg.gcp is not None and not cfg.gcp.regional and cfg.is_prod:
        out.append("gcp.regional: false is not allowed in prod: a zonal control plane has no zone redundancy; allowed: true")
    if cfg.cloud == "gcp":
        for i, pool in enumerate(cfg.gpu_pools):
            mig = pool.sharing.mig if pool.sharing else None
            if mig is not None and mig.strategy == "mixed":
                out.append(f"gpuPools[{i}].sharing.mig.strategy: 'mixed' is not available on gcp: GKE cuts every GPU of a pool into the one profile; allowed: single")
    if cfg.azure is not None:
        for i, gid in enumerate(cfg.azure.admin_group_object_ids):
            if not UUID_RE.match(gid):
                out.append(f"azure.adminGroupObjectIds[{i}]: {gid!r} is not an Entra ID object id (a UUID)")
        if cfg.azure.tenant_id is not None and not UUID_RE.match(cfg.azure.tenant_id):
            out.append(f"azure.tenantId: {cfg.azure.tenant_id!r} is not an Entra ID tenant id (a UUID)")
        if cfg.azure.upgrade_channel == "node-image" and cfg.azure.node_os_upgrade_channel != "NodeImage":
            # AKS: the node-image upgrade channel sets the node OS channel to NodeImage itself.
            out.append(f"azure.nodeOsUpgradeChannel: {cfg.azure.node_os_upgrade_channel!r} cannot be combined with upgradeChannel 'node-image', which upgrades node images itself; allowed: NodeImage")
        if cfg.azure.deployer_principal_type == "User" and cfg.azure.kubelogin_mode not in (None, "azurecli"):
            out.append(f"azure.kubeloginMode: {cfg.azure.kubelogin_mode!r} signs in as an application, but deployerPrincipalType is 'User'; allowed: azurecli, or set deployerPrincipalType ServicePrincipal")
        if cfg.azure.private_cluster is not None:
            value = "true" if cfg.azure.private_cluster else "false"
            choice = "set network.privateApi: true" if cfg.azure.private_cluster else "list network.apiAllowedCidrs"
            out.append(f"azure.privateCluster: {value} is replaced by network.privateApi, the same choice on every cloud; allowed: remove azure.privateCluster and {choice}")
    if cfg.cloud == "azure":
        for key in cfg.tags:
            if "/" in key:
                out.append(f"tags.{key}: Azure tag names cannot contain '/'; use '-' or '.' instead")
        for i, pool in enumerate(cfg.gpu_pools):
            itype = catalog.instance_type("azure", pool.instance_type)
            mig = pool.sharing.mig if pool.sharing else None
            profiles = catalog.gpu_model(itype.gpu).mig_profiles if itype and itype.gpu else ()
            if mig is None or mig.profile not in profiles:
                continue  # no MIG, or a profile the generic check already reports
            # AKS partitions by slice count (MIG1g..MIG7g) and gives each slice the GPU's
            # standard memory share: the first profile NVIDIA lists for that slice count.
            aks_profiles: dict[str, str] = {}
            for profile in profiles:
                aks_profiles.setdefault(profile.split(".")[0], profile)
            if mig.profile not in aks_profiles.values():
                out.append(f"gpuPools[{i}].sharing.mig.profile: {mig.profile!r} is not a partition AKS can create on {pool.instance_type}; allowed: {', '.join(aks_profiles.values())}")
    return out


def _arn_problem(where: str, arn: str) -> Optional[str]:
    sts = AWS_STS_ARN_RE.match(arn)
    if sts:
        partition, account, role = sts.groups()
        return (f"{where}: {arn!r} is an STS session ARN, which EKS access entries do not take; "
                f"allowed: the IAM role behind it, e.g. arn:{partition}:iam::{account}:role/{role} (with its path, if any)")
    if not AWS_ARN_RE.match(arn):
        return f"{where}: {arn!r} is not an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/platform-admins"
    return None


def _aws_access_problems(cfg: StackConfig) -> list[str]:
    """EKS access entries: IAM ARNs only, and one entry per principal (EKS answers a second
    entry for the same principal with 409 ResourceInUseException)."""
    aws = cfg.aws
    assert aws is not None
    out = []
    admins = {}
    for i, arn in enumerate(aws.admin_principal_arns):
        problem = _arn_problem(f"aws.adminPrincipalArns[{i}]", arn)
        if problem:
            out.append(problem)
        elif arn in admins:
            out.append(f"aws.adminPrincipalArns[{i}]: {arn!r} is already listed as adminPrincipalArns[{admins[arn]}]; each principal gets one access entry")
        admins.setdefault(arn, i)
    for group, arns in sorted(aws.group_principal_arns.items()):
        if not group.strip() or group != group.strip() or group.startswith("system:"):
            out.append(f"aws.groupPrincipalArns.{group}: not a group EKS can map; allowed: a group name without surrounding spaces, not starting with system:")
        if not arns:
            out.append(f"aws.groupPrincipalArns.{group}: lists no principals; allowed: one or more IAM role or user ARNs")
        for i, arn in enumerate(arns):
            where = f"aws.groupPrincipalArns.{group}[{i}]"
            problem = _arn_problem(where, arn)
            if problem:
                out.append(problem)
            elif arn in admins:
                out.append(f"{where}: {arn!r} already has an access entry as aws.adminPrincipalArns[{admins[arn]}]; EKS takes one entry per principal; allowed: drop it here (admins see every namespace)")
    idp = aws.identity_provider
    if idp is not None and not re.match(r"^https://[^\s/]+(/\S*)?$", idp.issuer_url):
        out.append(f"aws.identityProvider.issuerUrl: {idp.issuer_url!r} is not an https URL; allowed: the provider's issuer, e.g. https://login.example.com")
    return out


def _eks_group_problems(cfg: StackConfig) -> list[str]:
    """A namespace's RoleBinding names a group; on EKS only access entries or an OIDC
    identity provider put users in groups, so a group nothing supplies is inert. A warning,
    not an error: the cluster still works, and a portable stack (one file for every cloud,
    preview --compare) cannot carry EKS-only settings."""
    if cfg.cloud != "aws":
        return []
    aws = cfg.settings("aws")
    if aws.identity_provider is not None:
        return []
    out = []
    for i, ns in enumerate(cfg.namespaces):
        if ns.group not in aws.group_principal_arns:
            out.append(
                f"namespaces[{i}].group: {ns.group!r} is given to nobody on EKS: no aws.groupPrincipalArns entry maps IAM principals to it "
                f"and no aws.identityProvider supplies groups, so its RoleBinding grants nothing; add aws.groupPrincipalArns.{ns.group}, or set aws.identityProvider"
            )
    return out


# --- The kubeconfig of an existing cluster ----------------------------------------------------

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PATH_HINT = "a path to a kubeconfig file, absolute or relative to the project root"


def kubeconfig_path(setting: str) -> Path:
    """`existing.kubeconfig` as a path: `~` expanded, relative paths from the project root."""
    path = Path(setting).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def read_kubeconfig(settings: ExistingSettings) -> tuple[str, str]:
    """The kubeconfig's text and the context to use. Raises ConfigError (one line per
    problem) when the file is missing, is not a kubeconfig, or lacks the context."""
    path = kubeconfig_path(settings.kubeconfig)
    if not path.is_file():
        raise ConfigError([f"existing.kubeconfig: {settings.kubeconfig!r} does not exist (looked at {path}); allowed: {PATH_HINT}"])
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError([f"existing.kubeconfig: {settings.kubeconfig!r} is not valid YAML{line}; allowed: a kubeconfig file"]) from None
    contexts = _context_names(doc)
    if not contexts:
        raise ConfigError([f"existing.kubeconfig: {settings.kubeconfig!r} has no contexts, so it is not a kubeconfig; allowed: {PATH_HINT}"])
    context = settings.context or (doc.get("current-context") or None)
    if context is None:
        raise ConfigError([f"existing.context: not set and {settings.kubeconfig!r} has no current-context; allowed: {', '.join(contexts)}"])
    if context not in contexts:
        key = "existing.context" if settings.context else "existing.kubeconfig"
        raise ConfigError([f"{key}: context {context!r} is not in {settings.kubeconfig!r}; allowed: {', '.join(contexts)}"])
    return text, context


def _context_names(doc: Any) -> list[str]:
    if not isinstance(doc, dict) or not isinstance(doc.get("contexts"), list):
        return []
    return sorted(str(c["name"]) for c in doc["contexts"] if isinstance(c, dict) and c.get("name"))


def _alert_problems(cfg: StackConfig) -> list[str]:
    """Alert routes name only receivers whose secret is set."""
    out = []
    receivers = cfg.alert_receivers()
    alerts = cfg.platform.monitoring.alerts
    for severity in ("critical", "warning"):
        for i, kind in enumerate(getattr(alerts, severity) or []):
            if kind not in receivers:
                key = ALERT_RECEIVER_SECRETS[kind]
                out.append(f"platform.monitoring.alerts.{severity}[{i}]: {kind!r} has no address: the secret {key} is not set; allowed: set it with `pulumi config set --secret {key} <value>`, or one of: {', '.join(receivers) or 'no receiver is set'}")
    if alerts.slack_channel and "slack" not in receivers:
        out.append("platform.monitoring.alerts.slackChannel: set but alertSlackWebhookUrl is not; allowed: set the secret alertSlackWebhookUrl, or remove slackChannel")
    if receivers and not cfg.platform.monitoring.enabled:
        out.append(f"{ALERT_RECEIVER_SECRETS[next(iter(receivers))]}: set but platform.monitoring.enabled is false, so no Alertmanager would use it; allowed: enable monitoring or remove the key")
    return out


def _namespace_problems(cfg: StackConfig) -> list[str]:
    """Serving namespaces, the platform block and the existing-cluster facts."""
    out = _alert_problems(cfg)
    seen: dict[str, int] = {}
    reserved = ("default", "kube-system", "kube-public", "kube-node-lease", "monitoring", "gpu-system", "velero")
    ingress = cfg.platform.ingress_namespace
    if not DNS_LABEL_RE.match(ingress):
        out.append(f"platform.ingressNamespace: {ingress!r} is not a valid namespace name; allowed: lowercase letters, digits and '-', at most 63")
    elif ingress in ("monitoring", "gpu-system", "velero"):
        out.append(f"platform.ingressNamespace: {ingress!r} is used by the platform itself; allowed: the namespace your ingress controller runs in")
    if cfg.platform.gpu_feature_discovery and "node-feature-discovery" not in catalog.CHARTS:
        out.append(
            "platform.gpuFeatureDiscovery: true needs Node Feature Discovery, which the catalog does not pin "
            "(components/catalog/versions.py CHARTS['node-feature-discovery']); allowed: false until it is pinned"
        )
    for i, ns in enumerate(cfg.namespaces):
        where = f"namespaces[{i}]"
        if not DNS_LABEL_RE.match(ns.name):
            out.append(f"{where}.name: {ns.name!r} is not a valid namespace name; allowed: lowercase letters, digits and '-', at most 63")
        elif ns.name in reserved:
            out.append(f"{where}.name: {ns.name!r} is reserved by the platform; choose another name")
        elif ns.name == ingress:
            out.append(f"{where}.name: {ns.name!r} is the ingress namespace (platform.ingressNamespace); choose another name")
        if ns.name in seen:
            out.append(f"{where}.name: {ns.name!r} is already used by namespaces[{seen[ns.name]}]; names must be unique")
        seen.setdefault(ns.name, i)
        if not DNS_LABEL_RE.match(ns.team):
            out.append(f"{where}.team: {ns.team!r} is not a valid label value; allowed: lowercase letters, digits and '-'")
        if not ns.group.strip() or ns.group != ns.group.strip():
            out.append(f"{where}.group: {ns.group!r} is not a group name; allowed: the identity provider's group name or id, without surrounding spaces")
        for key in ("cpu", "memory"):
            value = getattr(ns, key)
            if not QUANTITY_RE.match(value):
                out.append(f"{where}.{key}: {value!r} is not a Kubernetes quantity, e.g. 16, 500m, 64Gi")
    existing = cfg.existing
    provisioner_re = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?(/[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?)?$")
    if existing is not None:
        if not existing.kubeconfig.strip():
            out.append(f"existing.kubeconfig: {existing.kubeconfig!r} is empty; allowed: a path to a kubeconfig file, absolute or relative to the project root")
        for key in ("blockStorageProvisioner", "fileStorageProvisioner"):
            value = getattr(existing, to_snake(key))
            if value is not None and not provisioner_re.match(value):
                out.append(f"existing.{key}: {value!r} is not a provisioner name; allowed: a CSI driver or provisioner name such as rancher.io/local-path or nfs.csi.k8s.io")
        if existing.file_storage_parameters and existing.file_storage_provisioner is None:
            out.append("existing.fileStorageParameters: set without fileStorageProvisioner; allowed: set fileStorageProvisioner too, or remove the parameters")
    return out


def _pools_problems(pools: list[GpuPool | None], cloud: Optional[str], region: Optional[str]) -> list[str]:
    """Per-pool checks plus unique names. A None entry is a pool pydantic already rejected.
    A pool given by what it needs is checked as the type the catalog picks for it."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, pool in enumerate(pools):
        if pool is None:
            continue
        if pool.instance_type is None and cloud is not None:
            pool, _, problem = _resolve_gpu_pool(pool, f"gpuPools[{i}]", cloud, region)
            out += [problem] if problem else []
        out += _pool_problems(pool, i, cloud, region)
        if pool.name in seen:
            out.append(f"gpuPools[{i}].name: {pool.name!r} is already used by gpuPools[{seen[pool.name]}]; pool names must be unique")
        seen.setdefault(pool.name, i)
    return out


def _salvage(model: type[BaseModel], item: Any) -> Any:
    """`item` validated as `model`, or with the keys pydantic rejected dropped (so a typo in
    one key does not hide the checks of the others), or None."""
    try:
        return model.model_validate(item)
    except ValidationError as err:
        if not isinstance(item, dict):
            return None
        bad = {e["loc"][0] for e in err.errors() if e["loc"]}
        try:
            return model.model_validate({k: v for k, v in item.items() if k not in bad})
        except ValidationError:
            return None


def _partial_semantic_problems(raw: dict[str, Any], err: ValidationError) -> list[str]:
    """Checks that still run when pydantic rejected part of the config, so that one typo
    does not hide the catalog and range problems of everything else."""
    rejected = {e["loc"][0] for e in err.errors() if e["loc"]}
    trimmed = {k: v for k, v in raw.items() if k not in rejected and k != "gpuPools"}
    out: list[str] = []
    cloud = raw.get("cloud") if "cloud" not in rejected else None
    region = raw.get("region") if "region" not in rejected else None
    try:
        rest = StackConfig.model_validate(trimmed)
    except ValidationError:
        rest = None
    if rest is not None:
        out += semantic_problems(rest)
        region = None if _region_problems(rest.cloud, rest.region) else _resolved_region(rest.cloud, rest.region)
    else:
        cloud = None
    pools: list[GpuPool | None] = []
    for item in raw.get("gpuPools") or [] if isinstance(raw.get("gpuPools"), list) else []:
        pools.append(_salvage(GpuPool, item))
    return out + _pools_problems(pools, cloud, region)


# --- Disaster recovery -------------------------------------------------------------------

# Velero's retention (ttl) is a Go duration: hours at most.
_DURATION_HOURS = {"h": 1, "d": 24, "w": 24 * 7}


def duration_hours(value: str) -> int:
    """`30d` -> 720."""
    return int(value[:-1]) * _DURATION_HOURS[value[-1]]


def dr_problems(cfg: StackConfig, region: Optional[str]) -> list[str]:
    """The `dr` block: a recovery region that is not the primary's, an RPO the cloud's store
    replication can back, and a backup schedule that runs within the RPO."""
    from policies.rules.cron import CronError, max_interval_minutes

    from ..catalog import dr as dr_catalog

    dr = cfg.dr
    if dr is None:
        return []
    out: list[str] = []
    if cfg.cloud == "existing":
        if dr.backup_store is None:
            out.append("dr.backupStore: required on cloud existing: the S3-compatible store Velero writes backups to (url, bucket, credentialsSecret)")
        for key in ("recoveryRegion", "primaryRegion"):
            if getattr(dr, to_snake(key)) is not None:
                out.append(f"dr.{key}: set on cloud existing, which gets backups only (no replicated stores); allowed: leave it out")
        if dr.role != "primary":
            out.append(f"dr.role: {dr.role!r} is not available on cloud existing (backups only, no standby stack); allowed: primary")
    else:
        if dr.backup_store is not None:
            out.append(f"dr.backupStore: set on cloud {cfg.cloud}, whose backups go to the stack's own replicated bucket; allowed: leave it out (cloud existing only)")
        cat = catalog.cloud(cfg.cloud)
        regions = sorted(cat.regions)
        own, other = ("recoveryRegion", "primaryRegion") if dr.role == "primary" else ("primaryRegion", "recoveryRegion")
        if getattr(dr, to_snake(other)) is not None:
            out.append(f"dr.{other}: set on a {dr.role} stack; allowed: set dr.{own} instead (the other region of the pair)")
        pair = getattr(dr, to_snake(own))
        if region is not None:
            pair = pair or cat.regions[region].pair
            if pair is None:
                out.append(f"dr.{own}: not set and the catalog has no DR pair for {region}; allowed: one of {', '.join(r for r in regions if r != region)}")
            elif pair == region:
                out.append(f"dr.{own}: {pair!r} is the stack's own region; a replica there does not survive a region outage; allowed: another {cfg.cloud} region, e.g. {cat.regions[region].pair}")
            elif pair not in cat.regions:
                hint = difflib.get_close_matches(pair, regions, n=1)
                maybe = f" (did you mean {hint[0]}?)" if hint else ""
                out.append(f"dr.{own}: {pair!r} is not a known {cfg.cloud} region{maybe}; allowed: {', '.join(r for r in regions if r != region)}")
            elif cfg.cloud == "gcp" and dr_catalog.gcp_multi_region(pair) != dr_catalog.gcp_multi_region(region):
                same = [r for r in regions if r != region and dr_catalog.gcp_multi_region(r) == dr_catalog.gcp_multi_region(region)]
                out.append(f"dr.{own}: {pair!r} is on another continent than {region}; a dual-region bucket pairs two regions of one multi-region; allowed: {', '.join(same) or 'none in the catalog'}")
        replication = dr_catalog.STORE_REPLICATION[cfg.cloud]
        if dr.rpo_minutes < replication.rpo_minutes:
            out.append(
                f"dr.rpoMinutes: {dr.rpo_minutes} is shorter than {cfg.cloud} can back: {replication.mechanism} "
                f"replicates within {replication.rpo_text}; allowed: {replication.rpo_minutes} or more"
            )
    if dr.role == "primary" and dr.failover:
        out.append("dr.failover: true is only meaningful on a standby stack (dr.role standby); allowed: false")
    if dr.role == "standby" and dr.standby_stack is not None:
        out.append("dr.standbyStack: set on a standby stack; allowed: leave it out (set it on the primary)")
    if dr.role == "primary":
        for key in ("primaryStack", "primaryClusterName"):
            if getattr(dr, to_snake(key)) is not None:
                out.append(f"dr.{key}: set on a primary stack; allowed: leave it out (set it on the standby)")
    try:
        gap = max_interval_minutes(dr.backup_schedule)
    except CronError as err:
        out.append(f"dr.backupSchedule: {dr.backup_schedule!r} is not a schedule Velero accepts ({err}); allowed: five cron fields in UTC, e.g. '0 * * * *', or @hourly, @every 30m")
    else:
        if gap > dr.rpo_minutes:
            out.append(
                f"dr.backupSchedule: {dr.backup_schedule!r} leaves up to {gap:g} minutes between backups, longer than dr.rpoMinutes "
                f"{dr.rpo_minutes}; allowed: a schedule that runs at least every {dr.rpo_minutes} minutes, e.g. '{_example_cron(dr.rpo_minutes)}'"
            )
    return out


def _example_cron(rpo_minutes: int) -> str:
    if rpo_minutes >= 60:
        hours = min(rpo_minutes // 60, 24)
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *" if 24 % hours == 0 else "0 * * * *"
    step = max(d for d in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30) if d <= rpo_minutes)
    return f"*/{step} * * * *"
# --- The workload layer: the queue plan and its checks -------------------------------------

_QUANTITY_FACTORS = {
    "": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}


def sum_quantities(values: list[str]) -> str:
    """The sum of Kubernetes quantities (already checked against QUANTITY_RE), written in
    their common suffix when they share one, else as a plain number (millicores as `m`)."""
    parsed = [QUANTITY_RE.match(v) for v in values]
    suffixes = {m.group(3) or "" for m in parsed if m}
    if len(suffixes) == 1:
        total = sum((Decimal(m.group(1)) for m in parsed if m), Decimal(0))
        return f"{total.normalize():f}{suffixes.pop()}"
    total = sum((Decimal(m.group(1)) * Decimal(_QUANTITY_FACTORS[m.group(3) or ""]) for m in parsed if m), Decimal(0))
    if total == total.to_integral_value():
        return str(int(total))
    return f"{int(total * 1000)}m"


@dataclass(frozen=True)
class TeamQueuePlan:
    """One team's ClusterQueue, worked out from its namespaces and the queueing settings."""

    team: str
    namespaces: tuple[str, ...]
    gpus: int  # the sum of the team's namespace GPU quotas
    gpus_per_pool: dict[str, int]  # guaranteed (nominal) GPUs per GPU pool, in pool order
    borrowing_limit: int  # GPUs the team may borrow beyond its own, across the cohort
    borrowing_per_pool: dict[str, int]  # the same, capped by what the others hold in each pool
    weight: int
    cpu: str
    memory: str


def _even_split(total: int, pools: list[str]) -> dict[str, int]:
    if not pools:
        return {}
    base, extra = divmod(total, len(pools))
    return {p: base + (1 if i < extra else 0) for i, p in enumerate(pools)}


def queue_plans(namespaces: "typing.Sequence[ServingNamespace]", pools: list[str], queueing: Queueing) -> list[TeamQueuePlan]:
    """A ClusterQueue per team (teams in the order their first namespace appears) over the
    GPU pools named `pools`. Assumes the config passed `_workloads_problems`."""
    overrides = {q.team: q for q in queueing.queues}
    teams: dict[str, list[ServingNamespace]] = {}
    for ns in namespaces:
        teams.setdefault(ns.team, []).append(ns)
    nominal: dict[str, dict[str, int]] = {}
    for team, spaces in teams.items():
        total = sum(ns.gpus for ns in spaces)
        override = overrides.get(team)
        if override is not None and override.gpus:
            nominal[team] = {p: override.gpus.get(p, 0) for p in pools}
        else:
            nominal[team] = _even_split(total, pools)
    cohort_per_pool = {p: sum(n[p] for n in nominal.values()) for p in pools}
    cohort_total = sum(cohort_per_pool.values())
    plans = []
    for team, spaces in teams.items():
        mine = nominal[team]
        others = cohort_total - sum(mine.values())
        override = overrides.get(team)
        wanted = override.borrowing_limit if override and override.borrowing_limit is not None else others
        limit = min(wanted, others)
        plans.append(TeamQueuePlan(
            team=team,
            namespaces=tuple(ns.name for ns in spaces),
            gpus=sum(ns.gpus for ns in spaces),
            gpus_per_pool=mine,
            borrowing_limit=limit,
            borrowing_per_pool={p: min(limit, cohort_per_pool[p] - mine[p]) for p in pools},
            weight=override.weight if override else 1,
            cpu=sum_quantities([ns.cpu for ns in spaces]),
            memory=sum_quantities([ns.memory for ns in spaces]),
        ))
    return plans


def _workloads_problems(cfg: "StackConfig") -> list[str]:
    """The workload layer: queues and profiles name real teams and pools, quotas add up,
    borrowing stays within the cohort, and each part has what it needs."""
    wl = cfg.platform.workloads
    out: list[str] = []
    pools = {p.name: p for p in cfg.gpu_pools}
    pool_names = ", ".join(pools) or "none (no gpuPools)"
    teams: dict[str, int] = {}
    for ns in cfg.namespaces:
        teams[ns.team] = teams.get(ns.team, 0) + ns.gpus
    key = "platform.workloads"
    q = wl.queueing
    if q.enabled and not cfg.namespaces:
        out.append(f"{key}.queueing.enabled: true has no team to queue for: namespaces is empty; allowed: add namespaces, or set queueing.enabled false")
    seen: dict[str, int] = {}
    ok = True
    for i, queue in enumerate(q.queues):
        where = f"{key}.queueing.queues[{i}]"
        if queue.team in seen:
            out.append(f"{where}.team: {queue.team!r} is already configured by queues[{seen[queue.team]}]; one entry per team")
            ok = False
        seen.setdefault(queue.team, i)
        if queue.team not in teams:
            out.append(f"{where}.team: {queue.team!r} owns no namespace; allowed: {', '.join(teams) or 'none (namespaces is empty)'}")
            ok = False
            continue
        for pool, gpus in queue.gpus.items():
            if pool not in pools:
                out.append(f"{where}.gpus.{pool}: no GPU pool is named {pool!r}; allowed: {pool_names}")
                ok = False
            elif gpus < 0:
                out.append(f"{where}.gpus.{pool}: {gpus} is negative; allowed: 0 or more GPUs")
                ok = False
        if queue.gpus and ok and sum(queue.gpus.values()) != teams[queue.team]:
            out.append(
                f"{where}.gpus: adds up to {sum(queue.gpus.values())} GPUs, but team {queue.team!r}'s namespaces have a quota of "
                f"{teams[queue.team]}; the per-pool GPUs must add up to namespaces[].gpus"
            )
            ok = False
    if ok and cfg.namespaces:
        plans = {p.team: p for p in queue_plans(cfg.namespaces, list(pools), q)}
        for i, queue in enumerate(q.queues):
            plan = plans.get(queue.team)
            if plan is None or queue.borrowing_limit is None:
                continue
            rest = sum(p.gpus for p in plans.values()) - sum(plan.gpus_per_pool.values())
            if queue.borrowing_limit > rest:
                out.append(
                    f"{key}.queueing.queues[{i}].borrowingLimit: {queue.borrowing_limit} is more than the {rest} GPUs the rest of "
                    f"cohort {q.cohort!r} holds; allowed: 0 to {rest}"
                )
    if wl.training.enabled and not q.enabled:
        out.append(f"{key}.training.enabled: true needs queueing (TrainJobs are admitted by Kueue); allowed: set {key}.queueing.enabled true")
    if wl.serving.enabled and wl.serving.cert_manager == "none":
        out.append(
            f"{key}.serving.certManager: 'none' leaves KServe's webhooks without certificates; allowed: install, or existing where cert-manager already runs"
        )
    nb = wl.notebooks
    if nb.enabled and nb.storage_class not in ("ml-block", "ml-block-retain"):
        why = "is the shared file system class, not block storage" if nb.storage_class == "ml-shared" else "is not a block storage class the platform creates"
        out.append(f"{key}.notebooks.storageClass: {nb.storage_class!r} {why}; allowed: ml-block, ml-block-retain")
    if nb.enabled and cfg.existing is not None and not cfg.existing.block_storage_provisioner.strip():
        out.append("existing.blockStorageProvisioner: empty, but notebooks keep each user's home on the block class; allowed: a block provisioner such as rancher.io/local-path")
    names: dict[str, int] = {}
    for i, profile in enumerate(nb.profiles):
        where = f"{key}.notebooks.profiles[{i}]"
        if profile.name in names or profile.name == "cpu":
            out.append(f"{where}.name: {profile.name!r} is already used; profile names must be unique (and 'cpu' is the built-in CPU profile)")
        names.setdefault(profile.name, i)
        pool = pools.get(profile.pool)
        if pool is None:
            out.append(f"{where}.pool: no GPU pool is named {profile.pool!r}; allowed: {pool_names}")
            continue
        itype = catalog.instance_type(cfg.cloud, pool.instance_type) or catalog.find_instance_type(pool.instance_type)
        if itype is not None and itype.gpus and profile.gpus > itype.gpus:
            out.append(f"{where}.gpus: {profile.gpus} is more than the {itype.gpus} GPU(s) a {pool.instance_type} node has; allowed: 1 to {itype.gpus}")
    return out

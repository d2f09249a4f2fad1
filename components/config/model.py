"""The typed model of a stack's config: one pydantic model per block of the stack file.

Each field's docstring is its description: docs/config.md is generated from
them (components/config_reference.py). The checks across keys live in `checks/`, reading
the stack file in `read.py`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError
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


def to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# Velero's retention (ttl) is a Go duration: hours at most.
_DURATION_HOURS = {"h": 1, "d": 24, "w": 24 * 7}


def duration_hours(value: str) -> int:
    """`30d` -> 720."""
    return int(value[:-1]) * _DURATION_HOURS[value[-1]]


def default_cluster_name(stack: str) -> str:
    """`ml-<stack>` made safe for every cloud: the cluster name a stack gets without `clusterName`."""
    safe = re.sub(r"[^a-z0-9-]+", "-", f"ml-{stack}".lower()).strip("-")
    return safe[:32].rstrip("-")


class _Model(BaseModel):
    # A string literal under a field is its description: docs/config.md is
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
# `auto` or `none`, or one of the catalog's fabric kinds (catalog.model.FABRIC_KINDS).
Interconnect = Literal["auto", "none", "efa", "tcpx", "tcpxo", "rdma", "infiniband"]


class Reservation(_Model):
    """Reserved capacity a pool consumes, by `id` or by `name` (one of them; docs/config.md#capacity lists each cloud's forms)."""

    id: Optional[str] = None
    """aws: a capacity reservation id (`cr-` and 17 hex digits; ODCRs and Capacity Blocks alike). azure: a capacity reservation group's resource id. Not on gcp."""
    name: Optional[str] = None
    """aws: the value of the reservations' `Name` tag. gcp: the reservation's name, or `projects/<project>/reservations/<name>` for a shared one. Not on azure."""
    capacity_block: bool = False
    """aws only: the reservation is an EC2 Capacity Block for ML (a fixed window; its nodes end with it). Not in a chain with `spot`."""


class CapacityTier(_Model):
    """One tier of a GPU pool's capacity chain. In the stack file: `spot`, `onDemand`, or `{reserved: {id: ...}}` / `{reserved: {name: ...}}`."""

    reserved: Optional[Reservation] = None
    """Reserved capacity (below): ODCRs and Capacity Blocks on aws, reservations on gcp, capacity reservation groups on azure."""
    spot: bool = False
    """The tier `spot`: spot / preemptible capacity (cheaper, can be reclaimed)."""
    on_demand: bool = False
    """The tier `onDemand`: on-demand capacity."""

    @model_validator(mode="before")
    @classmethod
    def _from_word(cls, value: Any) -> Any:
        if value in ("spot", "onDemand"):
            return {value: True}
        if not isinstance(value, dict):
            raise PydanticCustomError("capacity_tier", "allowed: spot, onDemand, or {reserved: {id: ...}} / {reserved: {name: ...}}")
        return value

    @property
    def kind(self) -> str:
        """`reserved`, `spot` or `onDemand`; '' when the item names none or several (a config error)."""
        kinds = [k for k, on in (("reserved", self.reserved is not None), ("spot", self.spot), ("onDemand", self.on_demand)) if on]
        return kinds[0] if len(kinds) == 1 else ""

    def spelled(self) -> str:
        """The tier as a stack file spells it: `reserved cr-0a1b...`, `spot`, `onDemand` (for errors)."""
        if self.reserved is not None:
            return f"reserved {self.reserved.id or self.reserved.name or '?'}"
        return "spot" if self.spot else "onDemand"

    def label(self) -> str:
        """How the preview and errors name the tier: `reserved cr-0a1b... (Capacity Block)`, `spot`, `on-demand`."""
        if self.reserved is not None:
            what = self.reserved.id or self.reserved.name or "?"
            return f"reserved {what}" + (" (Capacity Block)" if self.reserved.capacity_block else "")
        return "spot" if self.spot else "on-demand"


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
    """Run on spot / preemptible capacity (cheaper, can be reclaimed). Short for `capacity: [spot]`; not together with `capacity`."""
    capacity: Optional[list[CapacityTier]] = None
    """Where the pool's nodes come from, tried in order: reserved tiers first, then `spot`, then `onDemand`, e.g. `[{reserved: {id: cr-0123456789abcdef0}}, spot, onDemand]`. Unset: `[spot]` with `spot: true`, else `[onDemand]`. A reservation or more than one tier needs the cloud's node-provisioning autoscaler (`provisioner`; docs/config.md#capacity)."""
    provisioner: Optional[Literal["auto", "cluster-autoscaler", "karpenter", "compute-classes", "node-auto-provisioning"]] = None
    """This pool's provisioner, when it differs from the stack's `provisioner` (e.g. a `cluster-autoscaler` pool that keeps `minNodes` warm beside Karpenter pools)."""
    disk_gb: int = Field(default=200, ge=50, le=16384)
    """Node OS disk in GB; ML images are large. On Azure at most the VM's ephemeral disk."""
    warm_nodes: int = Field(default=0, ge=0, le=1000)
    """Nodes kept up with their GPUs free and the serving image pulled, so the first pods that preempt (serving, or no priority class) start without waiting for a node: placeholder pods at a negative priority hold them, and the autoscaler brings a fresh warm node for each one a pod takes (docs/platform.md#warm-gpu-nodes). At most `maxNodes`; not on flex-start pools or cloud existing. Costs these nodes at the chain's first tier, nothing more within a reservation."""
    sharing: Optional[Sharing] = None
    """GPU sharing for the pool's nodes: `timeSlicing` or `mig`."""
    interconnect: Interconnect = "auto"
    """The multi-node GPU fabric: `auto` the one the type has (EFA on p4d/p5/p5en/p6-b200, GPUDirect-TCPX or RDMA on A3, InfiniBand on ND; none on other types), `none` plain TCP; naming the kind (`efa`, `tcpx`, `tcpxo`, `rdma`, `infiniband`) asks for exactly that one and is an error on a type without it."""
    interconnect_waiver: Optional[str] = Field(default=None, min_length=1)
    """prod: why this pool runs without the fabric its type has (`interconnect: none`); the policy pack refuses that in prod without a reason."""
    interconnect_spot_reason: Optional[str] = Field(default=None, min_length=1)
    """Why this fabric pool runs on spot capacity (`spot: true`, or a `spot` tier in `capacity`): one reclaim stops every rank of a multi-node job, so the policy pack refuses a spot fabric pool without a reason."""

    def fabric(self, cloud: str) -> Optional[catalog.Fabric]:
        """The fabric the pool's nodes get: its type's unless `interconnect: none` (a name
        that does not match the type is a config error); none on cloud existing."""
        if self.interconnect == "none" or cloud == "existing" or self.instance_type is None:
            return None
        return catalog.cloud(cloud).fabric(self.instance_type)

    def capacity_chain(self) -> tuple[CapacityTier, ...]:
        """The pool's capacity chain: `capacity`, or the one `spot` stands for."""
        if self.capacity is not None:
            return tuple(self.capacity)
        return (CapacityTier.model_validate("spot" if self.spot else "onDemand"),)


class TpuPool(_Model):
    """A Cloud TPU slice pool on GKE: one node pool per pool. A single-host slice is one VM
    (the pool holds up to `maxSlices` of them); a multi-host slice is several VMs joined by
    the chips' interconnect, placed COMPACT with its topology, and GKE creates, repairs and
    scales them together (0 or all)."""

    name: str
    """Pool name: 1-12 lowercase letters or digits, starting with a letter, unique among all pools; becomes the `ml-clusters.io/pool` label."""
    generation: Literal["v5e", "v5p", "v6e"]
    """TPU generation from the catalog: `v5e` (tpu-v5-lite-podslice), `v5p` (tpu-v5p-slice), `v6e` (tpu-v6e-slice, Trillium)."""
    topology: str = Field(pattern=r"^[0-9]+x[0-9]+(x[0-9]+)?$")
    """Chips of one slice and their arrangement, e.g. `2x4` (v5e/v6e, 2D) or `2x2x2` (v5p, 3D); the allowed topologies per generation are in the catalog (docs/gcp.md). It decides the machine type and, for a multi-host slice, its nodes (chips / 4)."""
    max_slices: int = Field(default=1, ge=1, le=64)
    """Single-host topologies: most slices (nodes) the autoscaler may start. Multi-host: 1 (one GKE node pool is one slice; add a pool per slice)."""
    min_slices: int = Field(default=0, ge=0, le=64)
    """Slices kept up when idle; 0 scales the pool to zero. Multi-host: 0 or 1 (GKE scales a slice's nodes together)."""
    spot: bool = False
    """Run on Spot VMs (cheaper, can be reclaimed; GKE reclaims a multi-host slice as a whole)."""
    reservation: Optional[str] = Field(default=None, pattern=r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
    """Name of a specific Compute Engine reservation in the cluster's project and the pool's zone that the nodes must consume (`SPECIFIC_RESERVATION`); unset: no reservation affinity. Not with `spot`."""
    disk_gb: int = Field(default=100, ge=50, le=16384)
    """Node boot disk in GB."""


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
    """CIDRs that may reach the Kubernetes API's public endpoint (EKS and GKE keep a private one too). Empty needs `privateApi: true`. 0.0.0.0/0 is refused in prod; documentation ranges (RFC 5737) are placeholders (docs/preview.md#placeholders)."""
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
    parallel_image_pull: bool = True
    """GPU pools pull and unpack image layers in parallel (nodeadm's `FastImagePull` gate, the SOCI snapshotter in the EKS AL2023 AMIs, marked experimental upstream) on a gp3 root volume at 600 MiB/s; `false` turns it off for the stack. Changing it rolls every GPU node (docs/aws.md#gpu-cold-start)."""


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
    flex_start_pools: list[str] = Field(default_factory=list)
    """GPU pools whose nodes come only from DWS flex-start with queued provisioning, e.g. `[batch]`: Kueue asks GKE for all of a job's nodes at once (a ProvisioningRequest) and admits the job when they exist; nodes run for at most 7 days. Needs `platform.workloads.queueing.enabled`; such a pool has `minNodes: 0`, no `spot` and no `capacity` (docs/gcp.md#capacity)."""


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
# Every stack key whose value must be a Pulumi secret.
SECRET_KEYS: tuple[str, ...] = (*ALERT_RECEIVER_SECRETS.values(), "veleroRepositoryPassword")


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
    tpus: dict[str, int] = Field(default_factory=dict)
    """The team's guaranteed TPU chips per TPU pool, e.g. `{v5e16: 16}`; they must add up to the TPU chips of the team's namespaces. Unset: spread evenly over every TPU pool. Borrowing across the cohort works as for GPUs, so a team can run a whole slice on chips other teams leave idle."""
    reserved_gpus: dict[str, int] = Field(default_factory=dict)
    """GPUs per pool the team holds outside Kueue, for model servers and notebooks (pods of priority class `ml-serving-high` or `ml-notebook`), e.g. `{l4: 4}`; Kueue does not hand them out. With `gpus` they add up to the team's namespace GPUs; a team with reserved GPUs has one namespace."""
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


class ServedModelVersion(_Model):
    """One version behind a model's stable hostname: an InferenceService and its share of requests."""

    inference_service: str = Field(pattern=DNS_LABEL_RE.pattern)
    """The InferenceService (in the model's namespace) serving this version, e.g. `sentiment-v2`."""
    weight: int = Field(ge=0, le=100)
    """Percent of the model's requests this version gets; the versions' weights add up to 100 (0 keeps a version deployed but idle)."""


class ServedModel(_Model):
    """A model published at the gateway: `https://<name>-<namespace>.<domain>`, the URL KServe reports for an InferenceService of that name."""

    name: str = Field(pattern=DNS_LABEL_RE.pattern)
    """The model's stable name: its hostname is `<name>-<namespace>.<domain>`, the same across versions."""
    namespace: str
    """The team namespace (namespaces[].name) its InferenceServices run in."""
    versions: list[ServedModelVersion] = Field(min_length=1)
    """The InferenceServices behind the URL with their weights: one at 100 normally, two during a rollout (each version its own InferenceService, named apart from the model)."""
    llm: bool = False
    """An LLM (vLLM runtime): its alerts judge the time to first token, not whole-request latency, which grows with the answer."""


class GatewayTls(_Model):
    """The gateway's certificate, from cert-manager: ACME (HTTP-01 answered through the gateway) or a certificate you supply."""

    mode: Literal["acme", "secret"] = "acme"
    """`acme`: cert-manager obtains a certificate for every model hostname from `acmeServer` (HTTP-01 through the gateway's port 80, which otherwise only redirects to HTTPS); `secret`: a kubernetes.io/tls Secret you create in the gateway namespace (`secretName`)."""
    acme_server: str = Field(default="https://acme-v02.api.letsencrypt.org/directory", pattern=r"^https://\S+$")
    """The ACME directory URL (Let's Encrypt production by default; your CA's, e.g. an internal step-ca, for internal load balancers)."""
    email: Optional[str] = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    """Contact address registered with the ACME account; required with `acme`."""
    secret_name: Optional[str] = Field(default=None, pattern=DNS_LABEL_RE.pattern)
    """`secret` mode: the kubernetes.io/tls Secret in the gateway namespace covering every model hostname (a wildcard `*.<domain>` certificate does)."""


class GatewaySignIn(_Model):
    """Who may call a model: bearer tokens (JWT) from your identity provider, or an API key for service clients."""

    issuer_url: Optional[str] = None
    """The token issuer (https); unset: `aws.identityProvider.issuerUrl`, else `notebooks.signIn.issuerUrl` (the provider the teams already sign in with)."""
    jwks_uri: str = Field(pattern=r"^https://\S+$")
    """The issuer's signing keys (its discovery document's `jwks_uri`), which the gateway fetches."""
    audiences: list[str] = Field(min_length=1)
    """Token audiences the gateway accepts (the client ids your applications request tokens for)."""
    api_keys: bool = True
    """Also accept an `x-api-key` header checked against the Secret `serving-api-keys` in the model's namespace (one key per client id; the team manages it)."""


class ServingGateway(_Model):
    """The models' front door: the Kubernetes Gateway API implemented by Envoy Gateway, behind the cloud's load balancer, with TLS and sign-in."""

    enabled: bool = False
    """Install the Gateway API CRDs, Envoy Gateway and one Gateway for every model, and point KServe's URLs at it."""
    domain: Optional[str] = Field(default=None, pattern=r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
    """The stack's serving domain, e.g. `models.example.com`; each model is `<name>-<namespace>.<domain>` (point a wildcard DNS record at the load balancer)."""
    load_balancer: Literal["internal", "public"] = "internal"
    """`internal`: the cloud's internal load balancer (reachable from your networks); `public`: an internet-facing one."""
    service_annotations: dict[str, str] = Field(default_factory=dict)
    """Extra annotations on the load balancer Service (added to the cloud's own); cloud existing with `internal` needs your load balancer's internal annotation here."""
    replicas: int = Field(default=2, ge=1, le=20)
    """Envoy proxy replicas (on the system or CPU pool)."""
    tls: GatewayTls = Field(default_factory=GatewayTls)
    """TLS (below): HTTPS only; port 80 answers ACME challenges and redirects."""
    sign_in: Optional[GatewaySignIn] = None
    """Sign-in (below); required: no model is served without it."""
    models: list[ServedModel] = Field(default_factory=list)
    """The models published at the gateway, each with its hostname and optional traffic split."""


class ModelServing(_Model):
    """KServe in Standard mode (plain Deployments + HPA) with cert-manager for its webhooks."""

    enabled: bool = False
    """Install KServe (Standard deployment mode) and its serving runtimes."""
    cert_manager: Literal["install", "existing", "none"] = "install"
    """cert-manager, which KServe's webhook certificates need: `install` it here, use an `existing` one, or `none` (refused with serving on)."""
    gateway: ServingGateway = Field(default_factory=ServingGateway)
    """The gateway models are called through (below)."""
    keda: bool = False
    """Install KEDA, so an InferenceService with `serving.kserve.io/autoscalerClass: keda` scales on a Prometheus query (request rate at the gateway, vLLM's queue depth) and, with `minReplicas: 0`, to zero (needs monitoring)."""
    model_cache: Optional[str] = Field(default=None, pattern=QUANTITY_RE.pattern)
    """Size of a `model-cache` claim made in each team namespace on the shared file system class (none without one), e.g. `200Gi`: model weights copied there once from the model store are mounted read-only by every replica (`storageUri: pvc://model-cache/<path>`). Unset: no claim (each claim is its own Filestore instance on GKE, at least 1 TiB, and at least 100 GiB on Azure Files NFS)."""
    model_streaming: Optional[bool] = None
    """The `kserve-vllm-streamer` ClusterServingRuntime: vLLM (Run:ai Model Streamer) streams a model's safetensors from the model store (s3://, gs://, az://) into the GPU with the namespace's workload identity, no storage initializer. Unset: on wherever the stack has a model store (aws, gcp, azure); `false`: off; `true` is refused where there is none (`existing`)."""


class NotebookProfile(_Model):
    name: str = Field(pattern=DNS_LABEL_RE.pattern)
    """Profile slug shown in JupyterHub's spawn form."""
    pool: str
    """The GPU pool the notebook runs on."""
    gpus: int = Field(default=1, ge=1, le=8)
    """GPUs the notebook gets (at most the pool's GPUs per node)."""


class NotebookSignIn(_Model):
    """OIDC sign-in to JupyterHub (oauthenticator's GenericOAuthenticator, as the pinned hub image ships it)."""

    client_id: str = Field(min_length=1)
    """The hub's OAuth client id at your identity provider (its redirect URI: `<url>/hub/oauth_callback`)."""
    client_secret_name: str = Field(default="jupyterhub-oidc", pattern=DNS_LABEL_RE.pattern)
    """A Secret in the `jupyterhub` namespace, key `client-secret`, holding the client's secret; created outside this stack."""
    authorize_url: str
    """The provider's authorization endpoint (https), as its `/.well-known/openid-configuration` lists it."""
    token_url: str
    """The provider's token endpoint (https)."""
    userdata_url: str
    """The provider's userinfo endpoint (https); it must return the groups claim."""
    issuer_url: Optional[str] = None
    """The issuer the endpoints belong to; unset: `aws.identityProvider.issuerUrl` (the one the teams already sign in with), else required."""
    groups_claim: Optional[str] = None
    """Claim holding the user's groups (namespaces[].group values); unset: `aws.identityProvider.groupsClaim`, else `groups`."""
    username_claim: Optional[str] = None
    """Claim that becomes the hub user name; unset: `aws.identityProvider.usernameClaim`, else `email`."""
    admin_group: str = Field(min_length=1)
    """Group whose members are hub admins (they still spawn only in their own team's namespaces)."""
    url: str
    """The address users reach the hub at (https), through your ingress; the OAuth callback is derived from it."""


class Notebooks(_Model):
    """JupyterHub with a CPU profile and GPU profiles generated from the GPU pools."""

    enabled: bool = False
    """Install JupyterHub (off by default; needs `signIn`)."""
    sign_in: Optional[NotebookSignIn] = None
    """OIDC sign-in (below); users are let in by their teams' groups and spawn in their team's namespaces."""
    idle_timeout: int = Field(default=3600, ge=300, le=86400)
    """Seconds a server may sit idle before the culler stops it (freeing its GPUs)."""
    profiles: list[NotebookProfile] = Field(default_factory=list)
    """GPU profiles; unset: one single-GPU profile per GPU pool."""
    storage_class: str = "ml-block"
    """Block storage class for each user's home volume (`ml-block` or `ml-block-retain`)."""
    home_storage: str = Field(default="10Gi", pattern=QUANTITY_RE.pattern)
    """Size of each user's home volume."""


class Pipelines(_Model):
    """Argo Workflows: pipelines (prepare, train, evaluate, register, deploy) in the team namespaces, artifacts in the model store, a PostgreSQL workflow archive."""

    enabled: bool = False
    """Install Argo Workflows (controller and server on the system pool) and its archive database (off by default: it costs system-pool capacity)."""
    archive_storage: str = Field(default="20Gi", pattern=QUANTITY_RE.pattern)
    """Size of the workflow archive's PostgreSQL volume (on `ml-block-retain`, backed up with the cluster)."""
    archive_ttl: str = Field(default="30d", pattern=r"^[0-9]+[dh]$")
    """How long finished workflows stay in the archive, e.g. `30d`, `72h`."""


class Tuning(_Model):
    """Katib: hyperparameter tuning experiments whose trials Kueue admits, with early stopping."""

    enabled: bool = False
    """Install Katib (controller and database manager on the system pool) and its PostgreSQL database (off by default; needs queueing)."""
    database_storage: str = Field(default="10Gi", pattern=QUANTITY_RE.pattern)
    """Size of Katib's PostgreSQL volume (on `ml-block-retain`, backed up with the cluster)."""


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
    pipelines: Pipelines = Field(default_factory=Pipelines)
    """Argo Workflows pipelines (below)."""
    tuning: Tuning = Field(default_factory=Tuning)
    """Katib hyperparameter tuning (below)."""

    @property
    def any_enabled(self) -> bool:
        return any(part.enabled for part in (self.queueing, self.training, self.serving, self.notebooks, self.pipelines, self.tuning))


class GpuHealth(_Model):
    """GPU repair (docs/platform.md#gpu-health-repair): kured on every GPU node cordons and drains a
    node whose kernel log shows a hardware XID (NVIDIA's XID catalog: GPU fallen off the bus,
    uncorrectable ECC, row-remap, NVLink and GSP faults) in the current boot, honouring each
    pod's termination grace period and PodDisruptionBudgets, then reboots it to reset the GPU."""

    enabled: Optional[bool] = None
    """Run the GPU repair agent; unset: on when the stack has GPU pools."""


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
    gpu_health: GpuHealth = Field(default_factory=GpuHealth)
    """GPU repair on hardware faults (below)."""


class ServingNamespace(_Model):
    name: str
    """Namespace name (a DNS label); not a platform namespace (monitoring, gpu-system, velero, kube-*)."""
    team: str
    """Owning team; becomes the `ml-clusters.io/team` label."""
    group: str
    """Identity-provider group bound to the namespace's team role (`ml-team`: edit workloads, TrainJobs and InferenceServices included, not the quota, limits or network policies), as your cluster's authentication reports it (name, email or object id)."""
    gpus: int = Field(default=0, ge=0, le=4096)
    """Quota of GPUs (`requests.nvidia.com/gpu`; a time-slice replica or MIG slice counts as one)."""
    tpus: int = Field(default=0, ge=0, le=65536)
    """Quota of TPU chips (`requests.google.com/tpu`), set only on a stack with tpuPools."""
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
    payload_logging: bool = False
    """Let the namespace's InferenceServices log their requests and responses to the model store, under `payloads/` (KServe's logger writing straight to the store as the `workload` ServiceAccount; the namespace's ConfigMap `model-store` gets the URL as `PAYLOAD_LOG_URL`; docs/platform.md#monitoring). Needs `modelStore: readwrite`, egress other than `none` and an S3 model store (cloud aws): KServe v0.20.0's logger signs in to GCS and Azure Blob with keys only."""


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
    provisioner: Literal["auto", "cluster-autoscaler", "karpenter", "compute-classes", "node-auto-provisioning"] = "auto"
    """What starts the GPU pools' nodes: `cluster-autoscaler` (a node group per pool, every cloud), `karpenter` (aws), `compute-classes` (gcp), `node-auto-provisioning` (azure). `auto`: per pool, the cloud's node-provisioning autoscaler when its `capacity` names a reservation or more than one tier, else `cluster-autoscaler` (docs/config.md#capacity says why); on azure always `cluster-autoscaler`, since NAP is a mode of the whole cluster: set `node-auto-provisioning` here to turn it on, and then every CPU and GPU pool is a Karpenter NodePool and the system pool a fixed-size agent pool (docs/azure.md#capacity). A pool may override it (`gpuPools[].provisioner`), except under NAP; otherwise CPU and system pools stay node groups."""
    gpu_pools: list[GpuPool] = Field(default_factory=list)
    """GPU node pools, tainted `nvidia.com/gpu=present:NoSchedule` and labelled portably."""
    cpu_pools: list[CpuPool] = Field(default_factory=list)
    """CPU worker pools (untainted, labelled portably) for CPU-only workloads; the system pool runs only the platform."""
    tpu_pools: list[TpuPool] = Field(default_factory=list)
    """Cloud TPU slice pools (GKE only; a one-line error on other clouds), tainted `google.com/tpu=present:NoSchedule` and labelled portably."""
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
    velero_repository_password: Optional[str] = None
    """The password of Velero's kopia repositories (volume data in the backups); a secret, required with `dr`, and the same on a primary and its standby, which otherwise cannot read the primary's repositories (`pulumi config set --secret veleroRepositoryPassword "$(openssl rand -base64 32)"`, then the same value on the other stack)."""

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

"""GKE backend: VPC with pod and service ranges, Cloud NAT, a least-privilege node
service account, a private GKE Standard cluster, a firewall rule for admission webhooks,
a system node pool, CPU worker pools and one node pool per GPU pool. Returns a ClusterHandle."""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from . import load_balancer
from ... import catalog, conventions
from ...catalog import gcp as gcp_catalog
from ...catalog import versions
from ...config import CpuPool, GpuPool, StackConfig
from ...handle import ClusterHandle, GpuMetricsSource, GpuPoolFacts, StorageClassSpec
from ..kubeconfig import exec_kubeconfig
from . import capacity, coldstart, tpu
from .admission import CLUSTER_EVALUATION_MODE
from .fabric import GkeFabric

# Everything a node does with Google APIs is governed by IAM; the scope only opens the door.
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# What a node needs: GKE's own minimal node role (logs, metrics, resource metadata,
# autoscaling metrics; GKE docs "Use least privilege IAM service accounts"), and image pulls.
NODE_ROLES = (
    "roles/container.defaultNodeServiceAccount",
    "roles/artifactregistry.reader",
)
# A private cluster's firewall admits control-plane-to-node traffic on 443 and 10250 only;
# admission webhooks served on other ports (the catalog lists those of the pinned charts)
# need their own rule, or the API server times out calling them.
# A3 Ultra attaches Hyperdisk only (its boot disk is hyperdisk-balanced): volumes for pods
# on those nodes need a Hyperdisk class.
HYPERDISK_CLASS = "ml-hyperdisk"
KMS_ENCRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
POD_RANGE = "pods"
SERVICE_RANGE = "services"
LOGGING_COMPONENTS = ["SYSTEM_COMPONENTS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER", "WORKLOADS"]
# DCGM makes GKE run NVIDIA's DCGM exporter on GPU nodes and scrape it with Managed Prometheus.
MONITORING_COMPONENTS = [
    "SYSTEM_COMPONENTS", "APISERVER", "SCHEDULER", "CONTROLLER_MANAGER", "STORAGE",
    "HPA", "POD", "DAEMONSET", "DEPLOYMENT", "STATEFULSET", "DCGM",
]
# GKE's managed DCGM exporter: a DaemonSet in gke-managed-system whose pods carry this label
# and name their port `metrics` (9400).
GKE_DCGM = GpuMetricsSource(
    managed_by_cloud=True,
    namespace="gke-managed-system",
    pod_selector={"app.kubernetes.io/name": "gke-managed-dcgm-exporter"},
    port="metrics",
)
ARM_TAINT = conventions.Taint("kubernetes.io/arch", "arm64", "NoSchedule")
KEY_ROTATION = "7776000s"  # 90 days
AUTH_PLUGIN = "gke-gcloud-auth-plugin"
AUTH_PLUGIN_HINT = (
    "gke-gcloud-auth-plugin is required: `gcloud components install gke-gcloud-auth-plugin` "
    "(or the google-cloud-cli-gke-gcloud-auth-plugin package)"
)

_LABEL_BAD = re.compile(r"[^a-z0-9_-]")


def gcp_label_key(key: str) -> str:
    """A GCP label key: lowercase letters, digits, `_` and `-`, starting with a letter, at most 63."""
    safe = _LABEL_BAD.sub("_", key.lower())
    if not safe[:1].isalpha():
        safe = f"tag-{safe}"
    return safe[:63]


def gcp_label_value(value: str) -> str:
    return _LABEL_BAD.sub("_", value.lower())[:63]


def gcp_labels(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags made GCP-safe, sorted so plans are stable."""
    return dict(sorted((gcp_label_key(k), gcp_label_value(v)) for k, v in tags.items()))


def zonal_location(config: StackConfig) -> str:
    """The zone of a zonal cluster: the first zone of the region that offers the most GPU pools."""
    assert config.region is not None
    cat = catalog.cloud("gcp")
    zones = cat.regions[config.region].zones
    offered = [set(cat.zones_offering(p.instance_type, config.region)) for p in config.gpu_pools]
    return max(zones, key=lambda z: (sum(z in o for o in offered), -zones.index(z)))


def control_plane_ranges(private_cluster_config) -> list[str]:
    """Where the control plane's calls to the nodes come from: its reserved range on a
    VPC-peering cluster, else (Private Service Connect) its private endpoint address."""
    cfg = private_cluster_config or {}
    get = cfg.get if isinstance(cfg, dict) else lambda k: getattr(cfg, k, None)
    cidr = get("master_ipv4_cidr_block")
    if cidr:
        return [cidr]
    endpoint = get("private_endpoint")
    return [f"{endpoint}/32"] if endpoint else []


def node_service_account_id(cluster_name: str) -> str:
    # Service account ids are 6-30 characters.
    return f"{cluster_name[:24].rstrip('-')}-nodes"


def initial_nodes_per_zone(min_nodes: int, max_nodes: int, zones: int) -> int:
    """GKE creates `initial_node_count` nodes in every zone; keep the total within max."""
    return min(-(-min_nodes // zones), max_nodes // zones)


class GkeCluster(pulumi.ComponentResource):
    def __init__(self, name: str, config: StackConfig, stack: str, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:clouds:GkeCluster", name, None, opts)
        assert config.region is not None and config.gcp is not None
        self.config = config
        self.cluster_name = name
        self.settings = config.gcp
        self.project = self.settings.project
        self.region = config.region
        self.zones = catalog.cloud("gcp").regions[self.region].zones
        self.location = self.region if self.settings.regional else zonal_location(config)
        self.labels = gcp_labels(
            {
                **config.tags,
                "ml-clusters-cluster": name,
                "ml-clusters-environment": config.environment,
                "ml-clusters-stack": stack,
            }
        )
        self.provider = gcp.Provider(
            f"{name}-gcp",
            project=self.project,
            region=self.region,
            zone=None if self.settings.regional else self.location,
            default_labels=self.labels,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._opts = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self._prod_protect = pulumi.ResourceOptions(protect=config.is_prod)

        self._network()
        # GPU fabric VPCs (GPUDirect-TCPX/TCPXO/RDMA pools), before the cluster and its pools.
        self.fabric = GkeFabric(self)
        self.fabric.networks()
        self._node_identity()
        self.secrets_key, self.disks_key = self._encryption() if config.is_prod else (None, None)
        self._cluster()
        self._webhook_firewall()
        self.system_pool = self._node_pool(
            conventions.SYSTEM_POOL,
            machine_type=config.system_instance_type(),
            min_nodes=config.system_pool.min_nodes,
            max_nodes=config.system_pool.max_nodes,
            disk_gb=config.system_pool.disk_gb,
            spot=config.system_pool.spot,
            labels=conventions.system_pool_labels(),
            # Regional: spread over up to three zones, never more zones than nodes allowed.
            zones=[self.location] if not self.settings.regional else list(self.zones[: min(3, config.system_pool.max_nodes)]),
        )
        self.cpu_pools = {pool.name: self._cpu_pool(pool) for pool in config.cpu_pools}
        self.gpu_pools = {pool.name: self._gpu_pool(pool) for pool in config.gpu_pools}
        # TPU slice pools (tpu.py), in parallel with the GPU pools.
        self.tpu_pools = {pool.name: tpu.tpu_node_pool(self, pool) for pool in config.tpu_pools}

        kubeconfig = exec_kubeconfig(
            cluster_name=self.cluster.name,
            endpoint=pulumi.Output.concat("https://", self.cluster.endpoint),
            ca_data=self.cluster.master_auth.cluster_ca_certificate,
            command=AUTH_PLUGIN,
            # The same identity Pulumi's GCP provider uses (ADC), so CI needs no `gcloud auth login`.
            args=["--use_application_default_credentials"],
            install_hint=AUTH_PLUGIN_HINT,
        )
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        # What the platform waits for: the system pool (its node roles come before it) and the
        # webhook firewall rule; never CPU or GPU pools, which come up in parallel.
        self.platform_ready: list[pulumi.Resource] = [self.system_pool, self.webhook_firewall]
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.platform_ready),
        )
        # The fabric's networks, device injector and NCCL plugin installers in the cluster.
        self.fabric.kubernetes(self.k8s_provider)
        self.compute_classes = self._compute_classes()
        self.handle = self._handle()
        self.register_outputs(
            {
                "clusterName": self.cluster.name,
                "endpoint": self.cluster.endpoint,
                "network": self.network.name,
                "kubeconfig": self.kubeconfig,
                "nodeServiceAccount": self.node_account.email,
                "workloadPool": self.workload_pool,
            }
        )

    # --- network --------------------------------------------------------------------

    def _network(self) -> None:
        name, net = self.cluster_name, self.config.network
        self.network = gcp.compute.Network(
            f"{name}-vpc",
            name=f"{name}-vpc",
            project=self.project,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            opts=self._opts,
        )
        # One subnet for the nodes; pods and services get VPC-native secondary ranges.
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            name=f"{name}-nodes",
            project=self.project,
            region=self.region,
            network=self.network.self_link,
            ip_cidr_range=net.vpc_cidr,
            secondary_ip_ranges=[
                {"range_name": POD_RANGE, "ip_cidr_range": net.pod_cidr},
                {"range_name": SERVICE_RANGE, "ip_cidr_range": net.service_cidr},
            ],
            # Private nodes reach Google APIs (Artifact Registry, GCS) without NAT.
            private_ip_google_access=True,
            log_config={
                "aggregation_interval": "INTERVAL_10_MIN",
                "flow_sampling": 0.5,
                "metadata": "INCLUDE_ALL_METADATA",
            },
            opts=self._opts,
        )
        self.router = gcp.compute.Router(
            f"{name}-router", name=f"{name}-router", project=self.project, region=self.region,
            network=self.network.self_link, opts=self._opts,
        )
        # Private nodes have no external IP: NAT is how they pull from registries outside Google.
        self.nat = gcp.compute.RouterNat(
            f"{name}-nat",
            name=f"{name}-nat",
            project=self.project,
            region=self.region,
            router=self.router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[{"name": self.subnet.self_link, "source_ip_ranges_to_nats": ["ALL_IP_RANGES"]}],
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
            opts=self._opts,
        )

    # --- identity and encryption ------------------------------------------------------

    def _node_identity(self) -> None:
        name = self.cluster_name
        self.node_account = gcp.serviceaccount.Account(
            f"{name}-nodes",
            account_id=node_service_account_id(name),
            display_name=f"GKE nodes of {name}",
            description=f"Node identity of GKE cluster {name}: logs, metrics and image pulls only",
            project=self.project,
            opts=self._opts,
        )
        self.node_roles = [
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.split('/')[-1]}",
                project=self.project,
                role=role,
                member=self.node_account.member,
                opts=self._opts,
            )
            for role in NODE_ROLES
        ]
        self.workload_pool = f"{self.project}.svc.id.goog"

    def _encryption(self) -> tuple[gcp.kms.CryptoKey, gcp.kms.CryptoKey]:
        """prod: customer-managed keys for Kubernetes secrets (application-layer encryption)
        and for node and volume disks, each usable by the Google service agent that needs it."""
        name = self.cluster_name
        protected = pulumi.ResourceOptions.merge(self._opts, self._prod_protect)
        ring = gcp.kms.KeyRing(
            f"{name}-gke", name=f"{name}-gke", project=self.project, location=self.region, opts=protected
        )
        project_number = gcp.organizations.get_project_output(
            project_id=self.project, opts=pulumi.InvokeOutputOptions(parent=self, provider=self.provider)
        ).number
        agents = {
            "secrets": ("container-engine-robot", "Kubernetes secrets"),
            "disks": ("compute-system", "node and persistent disks"),
        }
        keys = {}
        self.key_grants = {}
        for key_name, (agent, what) in agents.items():
            key = gcp.kms.CryptoKey(
                f"{name}-{key_name}",
                name=key_name,
                key_ring=ring.id,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=KEY_ROTATION,
                labels={**self.labels, "purpose": gcp_label_value(what)},
                opts=protected,
            )
            self.key_grants[key_name] = gcp.kms.CryptoKeyIAMMember(
                f"{name}-{key_name}-{agent}",
                crypto_key_id=key.id,
                role=KMS_ENCRYPTER,
                member=pulumi.Output.concat("serviceAccount:service-", project_number, f"@{agent}.iam.gserviceaccount.com"),
                opts=self._opts,
            )
            keys[key_name] = key
        self.key_ring = ring
        return keys["secrets"], keys["disks"]

    # --- cluster ----------------------------------------------------------------------

    def _node_basics(self, machine_type: str, disk_gb: int) -> dict:
        """What every node of the cluster gets: our service account, shielded COS, metadata server."""
        basics = {
            "machine_type": machine_type,
            "disk_size_gb": disk_gb,
            "disk_type": gcp_catalog.BOOT_DISK_TYPES.get(machine_type, gcp_catalog.DEFAULT_BOOT_DISK_TYPE),
            "image_type": "COS_CONTAINERD",
            "service_account": self.node_account.email,
            "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
            "workload_metadata_config": {"mode": "GKE_METADATA"},
            "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
            "metadata": {"disable-legacy-endpoints": "true"},
            "resource_labels": self.labels,
        }
        if self.disks_key is not None:
            basics["boot_disk_kms_key"] = self.disks_key.id
        return basics

    def _cluster(self) -> None:
        name, cfg, gke = self.cluster_name, self.config, self.settings
        cidrs = list(cfg.network.api_allowed_cidrs)
        depends: list[pulumi.Resource] = [self.nat, *self.node_roles]
        if self.secrets_key is not None:
            depends += list(self.key_grants.values())
        self.cluster = gcp.container.Cluster(
            f"{name}-gke",
            name=name,
            project=self.project,
            location=self.location,
            description=f"ml-clusters GKE cluster {name} ({cfg.environment})",
            min_master_version=cfg.kubernetes_version,
            release_channel={"channel": gke.release_channel},
            network=self.network.self_link,
            subnetwork=self.subnet.self_link,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={
                "cluster_secondary_range_name": POD_RANGE,
                "services_secondary_range_name": SERVICE_RANGE,
            },
            # GKE always creates a default pool; ours replace it. Until it is removed it runs
            # as our node service account, never the default compute one.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=self._node_basics(cfg.system_instance_type(), 50),
            private_cluster_config={
                "enable_private_nodes": True,
                # network.privateApi (required when no CIDRs are listed): inside the VPC only.
                "enable_private_endpoint": cfg.network.private_api,
            },
            master_authorized_networks_config={
                "cidr_blocks": [{"cidr_block": c, "display_name": f"allowed-{i}"} for i, c in enumerate(cidrs)],
                "gcp_public_cidrs_access_enabled": False,
            },
            workload_identity_config={"workload_pool": self.workload_pool},
            enable_shielded_nodes=True,
            # Dataplane V2 (eBPF) enforces NetworkPolicy itself; no Calico add-on.
            datapath_provider="ADVANCED_DATAPATH",
            # Pod-to-pod traffic on one node goes through the VPC too, so flow logs and
            # firewall rules see it. GKE documents it with Dataplane V2 (eBPF-native from
            # 1.36.0-gke.3302000, through netd before) and turns both on in Autopilot.
            enable_intranode_visibility=True,
            logging_config={"enable_components": LOGGING_COMPONENTS},
            monitoring_config={
                "enable_components": MONITORING_COMPONENTS,
                "managed_prometheus": {"enabled": True},
            },
            addons_config={
                "gce_persistent_disk_csi_driver_config": {"enabled": True},
                "gcp_filestore_csi_driver_config": {"enabled": True},
                "gcs_fuse_csi_driver_config": {"enabled": True},
                "http_load_balancing": {"disabled": False},
                "horizontal_pod_autoscaling": {"disabled": False},
            },
            database_encryption=(
                {"state": "ENCRYPTED", "key_name": self.secrets_key.id}
                if self.secrets_key is not None
                else {"state": "DECRYPTED"}
            ),
            maintenance_policy={
                "daily_maintenance_window": {"start_time": gke.maintenance_start},
            },
            # prod: pods start only from the registries the project's Binary Authorization
            # policy admits (admission.py); elsewhere the field stays unset.
            binary_authorization={"evaluation_mode": CLUSTER_EVALUATION_MODE} if cfg.is_prod else None,
            resource_labels=self.labels,
            # Fabric pools' extra NICs: multi-networking (on the Dataplane V2 set above).
            **self.fabric.cluster_args(),
            # The provider defaults to True; dev and staging must stay disposable.
            deletion_protection=cfg.is_prod,
            opts=pulumi.ResourceOptions.merge(
                self._opts,
                pulumi.ResourceOptions(
                    protect=cfg.is_prod,
                    depends_on=depends,
                    # The default pool's node_config reads back differently once the pool is
                    # gone; without this every update would replace the cluster.
                    ignore_changes=["nodeConfig", "initialNodeCount"],
                ),
            ),
        )

    def _webhook_firewall(self) -> None:
        """Let the control plane reach admission webhooks on the nodes: the catalog's
        ADMISSION_WEBHOOK_PORTS plus every port the enabled workload controllers serve the
        API server on (Kueue's visibility API listens on 8082)."""
        from ...platform.workloads import control_plane_ports  # the stack config alone decides them

        name = self.cluster_name
        ports = set(versions.ADMISSION_WEBHOOK_PORTS) | {p.port for p in control_plane_ports(self.config.platform.workloads)}
        self.webhook_firewall = gcp.compute.Firewall(
            f"{name}-webhooks",
            name=f"{name}-control-plane-webhooks",
            project=self.project,
            network=self.network.self_link,
            direction="INGRESS",
            description=f"GKE control plane of {name} to admission webhooks on its nodes",
            source_ranges=self.cluster.private_cluster_config.apply(control_plane_ranges),
            target_service_accounts=[self.node_account.email],
            allows=[{"protocol": "tcp", "ports": [str(p) for p in sorted(ports)]}],
            opts=self._opts,
        )

    # --- node pools ---------------------------------------------------------------------

    def _node_pool(self, pool: str, *, machine_type: str, min_nodes: int, max_nodes: int, disk_gb: int, spot: bool,
                   labels: Mapping[str, str], zones: list[str], taints: tuple[conventions.Taint, ...] = (),
                   accelerator: Optional[dict] = None, resource_labels: Optional[Mapping[str, str]] = None,
                   obtain: Optional[capacity.NodePoolCapacity] = None, **fabric: Any) -> gcp.container.NodePool:
        # How a GPU pool's nodes are obtained (capacity.py); CPU and system pools: as set.
        obtain = obtain or capacity.NodePoolCapacity(spot=spot, location_policy="ANY" if spot else "BALANCED")
        node_config = {
            **self._node_basics(machine_type, disk_gb),
            "spot": obtain.spot,
            "labels": {**labels, **obtain.labels},
            "taints": [{"key": t.key, "value": t.value, "effect": t.api_effect()} for t in (*taints, *obtain.taints)],
        }
        if resource_labels:  # the stack's fabric reasons, for the policy pack
            node_config["resource_labels"] = {**node_config.get("resource_labels", {}), **resource_labels}
        if accelerator is not None:
            node_config["guest_accelerators"] = [accelerator]
            node_config["gvnic"] = {"enabled": True}
            # Image streaming from the stack's Artifact Registry (coldstart.py).
            node_config["gcfs_config"] = coldstart.IMAGE_STREAMING
        if obtain.reservation_affinity is not None:
            node_config["reservation_affinity"] = obtain.reservation_affinity
        if obtain.flex_start:
            node_config["flex_start"] = True
        extra: dict = {"queued_provisioning": {"enabled": True}} if obtain.queued_provisioning else {}
        depends: list[pulumi.Resource] = [*self.node_roles, self.nat, *fabric.pop("depends_on", [])]
        if self.disks_key is not None:
            depends.append(self.key_grants["disks"])
        return gcp.container.NodePool(
            f"{self.cluster_name}-{pool}",
            # A prefix lets a replacement pool come up before the old one goes.
            name_prefix=f"{pool}-",
            project=self.project,
            cluster=self.cluster.name,
            location=self.location,
            node_locations=zones,
            initial_node_count=initial_nodes_per_zone(min_nodes, max_nodes, len(zones)),
            autoscaling={
                "total_min_node_count": min_nodes,
                "total_max_node_count": max_nodes,
                # ANY takes capacity wherever it is free: what spot needs to get nodes at all.
                "location_policy": obtain.location_policy,
            },
            management={"auto_repair": obtain.auto_repair, "auto_upgrade": obtain.auto_upgrade},
            # GPU capacity is scarce: upgrade GPU pools in place rather than asking for a surge node.
            upgrade_settings=(
                {"strategy": "SURGE", "max_surge": 0, "max_unavailable": 1}
                if accelerator is not None
                else {"strategy": "SURGE", "max_surge": 1, "max_unavailable": 0}
            ),
            node_config=node_config,
            # Fabric pools: the additional node networks and compact placement (fabric.py).
            **fabric,
            **extra,
            opts=pulumi.ResourceOptions.merge(
                self._opts,
                pulumi.ResourceOptions(
                    depends_on=depends,
                    # The autoscaler owns the size; a new minimum must not replace the pool.
                    ignore_changes=["initialNodeCount"],
                ),
            ),
        )

    def _cpu_pool(self, pool: CpuPool) -> gcp.container.NodePool:
        """A CPU worker pool: untainted, portable labels, autoscaled from minNodes (0 allowed),
        over the same zones as the system pool."""
        return self._node_pool(
            pool.name,
            machine_type=pool.instance_type,
            min_nodes=pool.min_nodes,
            max_nodes=pool.max_nodes,
            disk_gb=pool.disk_gb,
            spot=pool.spot,
            labels=conventions.cpu_pool_labels(pool),
            zones=[self.location] if not self.settings.regional else list(self.zones[: min(3, max(pool.max_nodes, 1))]),
        )

    def _gpu_pool(self, pool: GpuPool) -> gcp.container.NodePool:
        cat = catalog.cloud("gcp")
        itype = cat.instance_types[pool.instance_type]
        assert itype.accelerator is not None
        accelerator: dict = {
            "type": itype.accelerator,
            "count": itype.gpus,
            # GKE installs the driver, and with it runs its own device plugin on the node.
            "gpu_driver_installation_config": {"gpu_driver_version": self.settings.gpu_driver_version},
        }
        sharing = pool.sharing
        if sharing is not None and sharing.time_slicing is not None:
            accelerator["gpu_sharing_config"] = {
                "gpu_sharing_strategy": "TIME_SHARING",
                "max_shared_clients_per_gpu": sharing.time_slicing.replicas,
            }
        if sharing is not None and sharing.mig is not None:
            accelerator["gpu_partition_size"] = sharing.mig.profile
        # A fabric pool sits in one zone with its extra NICs (fabric.py); others span the zones.
        fabric = self.fabric.node_pool_args(pool)
        zones = fabric.pop("zones", None) or list(cat.zones_offering(pool.instance_type, self.region))
        return self._node_pool(
            pool.name,
            machine_type=pool.instance_type,
            min_nodes=pool.min_nodes,
            max_nodes=pool.max_nodes,
            disk_gb=pool.disk_gb,
            spot=pool.spot,
            labels={**conventions.gpu_pool_labels(pool, "gcp", cloud_manages_device_plugin=True),
                    **self.fabric.node_labels(pool)},
            zones=zones,
            taints=(conventions.GPU_TAINT,),
            accelerator=accelerator,
            resource_labels=conventions.fabric_reason_tags(pool, "gcp"),
            **fabric,
            obtain=capacity.node_pool_capacity(self.config, pool, self.project),
        )

    def _compute_classes(self) -> dict[str, pulumi.Resource]:
        """A ComputeClass per GPU pool on `compute-classes` whose priorities follow its chain
        (capacity.py); each waits for its node pool, whose name its first priority holds."""
        cat = catalog.cloud("gcp")
        out: dict[str, pulumi.Resource] = {}
        for pool in self.config.gpu_pools:
            if not capacity.uses_compute_class(self.config, pool):
                continue
            itype = cat.instance_types[pool.instance_type]
            assert itype.accelerator is not None
            labels = conventions.gpu_pool_labels(pool, "gcp", cloud_manages_device_plugin=True)
            nodes = capacity.ClassNodes(
                itype=itype, accelerator=itype.accelerator,
                driver_version=capacity.DRIVER_VERSIONS[self.settings.gpu_driver_version],
                disk_gb=pool.disk_gb,
                disk_type=gcp_catalog.BOOT_DISK_TYPES.get(pool.instance_type, gcp_catalog.DEFAULT_BOOT_DISK_TYPE),
                zones=list(cat.zones_offering(pool.instance_type, self.region)),
                # The spot label is per node pool; GKE labels its own spot nodes.
                node_labels={k: v for k, v in labels.items() if k != conventions.SPOT_LABEL},
                service_account=self.node_account.email,
                boot_disk_kms_key=self.disks_key.id if self.disks_key is not None else None,
            )
            node_pool = self.gpu_pools[pool.name]
            out[pool.name] = k8s.apiextensions.CustomResource(
                f"{self.cluster_name}-{capacity.compute_class_name(pool.name)}",
                **capacity.compute_class(pool, node_pool.name, nodes, self.project),
                opts=pulumi.ResourceOptions(parent=self, provider=self.k8s_provider, depends_on=[node_pool]),
            )
        return out

    # --- handle ----------------------------------------------------------------------------

    def _system_tolerations(self) -> list[dict]:
        # GKE taints Arm nodes kubernetes.io/arch=arm64:NoSchedule itself; the platform's
        # own (multi-arch) workloads must tolerate it when the system pool runs on Arm.
        itype = catalog.cloud("gcp").instance_types[self.config.system_instance_type()]
        if itype.arch == "arm64":
            return [ARM_TAINT.toleration()]
        return []

    def _handle(self) -> ClusterHandle:
        cat = catalog.cloud("gcp")
        pools = []
        for pool in self.config.gpu_pools:
            itype = cat.instance_types[pool.instance_type]
            pools.append(GpuPoolFacts(
                pool=pool, gpu_model=itype.gpu or "", gpus_per_node=itype.gpus,
                node_labels=conventions.gpu_pool_labels(pool, "gcp", cloud_manages_device_plugin=True),
                fabric=self.fabric.pool_fabric(pool),
                placement_labels=(
                    {capacity.COMPUTE_CLASS_LABEL: capacity.compute_class_name(pool.name)}
                    if capacity.uses_compute_class(self.config, pool) else {}
                ),
                provisioning_class=capacity.QUEUED_PROVISIONING_CLASS if capacity.is_flex_start(self.config, pool) else None,
            ))
        # Taints GKE or a ComputeClass put on GPU nodes, which GPU workloads and node agents
        # tolerate beside the GPU taint (capacity.py).
        gpu_node_tolerations = []
        if self.compute_classes:
            gpu_node_tolerations.append(capacity.compute_class_toleration())
        if any(capacity.is_flex_start(self.config, p) for p in self.config.gpu_pools):
            gpu_node_tolerations.append(capacity.queued_toleration())
        # Persistent disks are encrypted at rest by Google; prod uses our own key on top.
        block_params: dict[str, pulumi.Input[str]] = {"type": "pd-balanced", "csi.storage.k8s.io/fstype": "ext4"}
        if self.disks_key is not None:
            block_params["disk-encryption-kms-key"] = self.disks_key.id
        file_storage = None
        if self.config.platform.shared_file_system:
            file_storage = StorageClassSpec(
                provisioner="filestore.csi.storage.gke.io",
                # Enterprise is regional (survives a zone); standard (Basic HDD) is the cheap tier.
                parameters={"tier": "enterprise" if self.config.is_prod else "standard", "network": self.network.name},
                access_mode="ReadWriteMany",
            )
        extra_block: dict[str, StorageClassSpec] = {}
        machine_types = {p.instance_type for p in [*self.config.gpu_pools, *self.config.cpu_pools]}
        if any(gcp_catalog.BOOT_DISK_TYPES.get(t, "").startswith("hyperdisk") for t in machine_types):
            hyper_params: dict[str, pulumi.Input[str]] = {"type": "hyperdisk-balanced", "csi.storage.k8s.io/fstype": "ext4"}
            if self.disks_key is not None:
                hyper_params["disk-encryption-kms-key"] = self.disks_key.id
            extra_block[HYPERDISK_CLASS] = StorageClassSpec(provisioner="pd.csi.storage.gke.io", parameters=hyper_params)
        return ClusterHandle(
            name=self.cluster_name,
            cloud="gcp",
            kubernetes_version=self.config.kubernetes_version,
            kubeconfig=self.kubeconfig,
            provider=self.k8s_provider,
            block_storage=StorageClassSpec(provisioner="pd.csi.storage.gke.io", parameters=block_params),
            file_storage=file_storage,
            # GKE installs the NVIDIA driver and its own device plugin: the platform must not.
            cloud_manages_device_plugin=True,
            gpu_metrics=GKE_DCGM,
            gpu_pools=pools,
            tpu_pools=tpu.tpu_pool_facts(self.config),
            gpu_node_selector={conventions.GPU_NODE_LABEL: "true"},
            system_tolerations=self._system_tolerations(),
            internal_lb_annotations=dict(load_balancer.INTERNAL),
            public_lb_annotations=dict(load_balancer.PUBLIC),
            cluster_dns="kube-dns", identity_endpoint="169.254.169.254:80", cloud_partitions_mig=True,  # GKE Standard: kube-dns; metadata server; gpu_partition_size
            workload_identity_annotation="iam.gke.io/gcp-service-account",
            ready=list(self.platform_ready),
            extra_block_storage=extra_block,
            gpu_node_tolerations=gpu_node_tolerations,
        )

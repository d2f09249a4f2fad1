"""AKS backend: resource group, VNet and node subnet (Azure CNI overlay), a control-plane
identity, Log Analytics for Container insights, the ManagedCluster with its bootstrap pool,
the system pool, CPU and GPU pools as AgentPools created one after another, and the
deployer's Azure RBAC grant with its propagation wait. Returns a ClusterHandle."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from typing import Any, Optional

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s
import pulumiverse_time as time
import yaml
from pulumi_azure_native import (
    authorization,
    containerservice,
    managedidentity,
    monitor,
    network,
    operationalinsights,
    resources,
)

from . import load_balancer
from ... import catalog, conventions
from ...conventions import gpu_resources
from ...config import CpuPool, GpuPool, StackConfig
from ...handle import ClusterHandle, GpuMetricsSource, GpuPoolFacts, StorageClassSpec
from ..kubeconfig import exec_kubeconfig
from . import capacity
from .fabric import AksFabric, fabric_autoscaler_tags, fabric_node_labels

# The Entra ID application AKS clusters accept tokens for (the same in every tenant).
AKS_ENTRA_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
KUBELOGIN_HINT = "kubelogin turns your Azure login into a token for AKS: `az aks install-cli` or https://azure.github.io/kubelogin/"
# kubelogin's login mode when azure.kubeloginMode is unset: a person's `az login` session,
# or a service principal whose id and secret CI passes in AZURE_CLIENT_ID,
# AZURE_CLIENT_SECRET and AZURE_TENANT_ID (kubelogin's own environment variables).
DEFAULT_KUBELOGIN_MODE = {"User": "azurecli", "ServicePrincipal": "spn"}
# "New role assignments can take up to five minutes to propagate and be updated by the
# authorization server" (AKS docs, "Use Azure RBAC for Kubernetes Authorization",
# learn.microsoft.com/azure/aks/manage-azure-rbac); Kubernetes calls before that get 403.
RBAC_PROPAGATION_WAIT = "5m"
# The one inline pool AKS needs to create a cluster. azure-native refuses to create an
# AgentPool that already exists, so the pool the platform runs on is a separate AgentPool
# and this one stays a one-node bootstrap pool, ignored after creation.
BOOTSTRAP_POOL = "system"

# Built-in role definitions (ids are the same in every subscription).
NETWORK_CONTRIBUTOR_ROLE = "4d97b98b-1d4f-4787-a291-c67834d212e7"
AKS_RBAC_CLUSTER_ADMIN_ROLE = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"

SYSTEM_POOL_TAINT = conventions.Taint("CriticalAddonsOnly", "true", "NoSchedule")
INTERNAL_LB_ANNOTATION = load_balancer.INTERNAL_LB_ANNOTATION
WORKLOAD_IDENTITY_ANNOTATION = "azure.workload.identity/client-id"

# AKS's planned-maintenance configurations read by its two auto-upgraders (the names are
# fixed by AKS): Kubernetes version upgrades and node OS image upgrades.
MAINTENANCE_CONFIGS = ("aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule")
IMAGE_CLEANER_INTERVAL_HOURS = 168  # weekly

# Container insights with managed-identity auth: the monitoring add-on sends through a
# data collection rule associated with the cluster.
CONTAINER_INSIGHTS_STREAMS = [
    "Microsoft-ContainerLogV2",
    "Microsoft-KubeEvents",
    "Microsoft-KubePodInventory",
    "Microsoft-KubeNodeInventory",
    "Microsoft-KubePVInventory",
    "Microsoft-KubeServices",
    "Microsoft-KubeMonAgentEvents",
    "Microsoft-InsightsMetrics",
    "Microsoft-ContainerInventory",
    "Microsoft-ContainerNodeInventory",
    "Microsoft-Perf",
]
# NFS mount options Azure recommends for NFS Azure file shares on AKS.
NFS_MOUNT_OPTIONS = ("nconnect=4", "noresvport", "actimeo=30")


def node_subnet_cidr(vnet_cidr: str) -> str:
    """The node subnet: the first half of the VNet. With CNI overlay pods take addresses from
    the overlay range, so nodes and internal load balancers are all the subnet holds; the
    other half stays free for private endpoints or a bastion."""
    return str(next(ipaddress.ip_network(vnet_cidr).subnets(prefixlen_diff=1)))


def dns_service_ip(service_cidr: str) -> str:
    """CoreDNS's service address: the tenth address of the service range, as AKS suggests."""
    return str(ipaddress.ip_network(service_cidr).network_address + 10)


# AgentPool fields AKS cannot change on an existing pool though azure-native would send them
# in place: hashicorp/terraform-provider-azurerm kubernetes_cluster_node_pool_resource.go marks
# priority, eviction_policy, spot_max_price, gpu_instance and gpu_driver ForceNew, and cycles
# the pool (recreates it) for os_disk_size_gb, os_disk_type, zones and host_encryption_enabled.
# AKS auto-upgrade channels that change the Kubernetes minor on their own.
MINOR_UPGRADE_CHANNELS = ("stable", "rapid")
USER_POOL_REPLACE_ON_CHANGES = (
    "scaleSetPriority", "scaleSetEvictionPolicy", "spotMaxPrice", "osDiskSizeGB", "osDiskType",
    "availabilityZones", "enableEncryptionAtHost", "gpuProfile", "gpuInstanceProfile", "vmSize",
    capacity.RESERVATION_PROPERTY,
)


# Cluster Autoscaler's Azure provider reads a scale set's tags with this prefix as the node
# template's resources, "_" standing for "/" (kubernetes/autoscaler cluster-autoscaler-1.35.2
# cloudprovider/azure azure_util.go nodeResourcesTagName, azure_template.go
# extractAllocatableResourcesFromScaleSet); AKS copies an agent pool's tags to its scale set.
CA_RESOURCES_TAG = "k8s.io_cluster-autoscaler_node-template_resources_"


def autoscaler_resource_tags(pool: GpuPool, itype: Any) -> dict[str, str]:
    """Scale-from-zero capacity of a GPU pool: what its nodes advertise once the device plugin
    runs (time-slicing replicas, MIG slices), which the VM SKU alone does not say."""
    return {CA_RESOURCES_TAG + name.replace("/", "_"): count for name, count in sorted(gpu_resources(pool, itype).items())}


def mig_instance_profile(pool: GpuPool) -> Optional[str]:
    """AKS's GPU instance profile for a MIG pool: `1g.10gb` -> `MIG1g`."""
    if pool.sharing is None or pool.sharing.mig is None:
        return None
    slices = pool.sharing.mig.profile.split(".")[0]  # "1g"
    return f"MIG{slices}"


def kubelogin_args(mode: str) -> list[str]:
    return ["get-token", "--login", mode, "--server-id", AKS_ENTRA_SERVER_ID]


def system_pool_name(vm_size: str, disk_gb: int, os_disk_type: str, zones: list[str]) -> str:
    """The system AgentPool's name: `sys` and a hash of what AKS cannot change in place.

    azure-native replaces an AgentPool when `vmSize` changes (provider/pkg/gen/replacement.go,
    forceNewMap ContainerService.AgentPool) and AKS cannot resize an OS disk or move a pool
    between zones. A changed value gives a new name, so Pulumi creates the new system pool
    first and deletes the old one after: the cluster keeps a System pool throughout and the
    two names never clash. Linux pool names are at most 12 lowercase letters and digits."""
    key = "|".join([vm_size, str(disk_gb), os_disk_type, ",".join(zones)])
    return "sys" + hashlib.sha256(key.encode()).hexdigest()[:8]


def role_definition_id(subscription_id: str, role: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"


def cluster_ca_from_kubeconfigs(kubeconfigs: Any) -> str:
    """The cluster CA (base64 PEM) from the first kubeconfig AKS hands out."""
    first = kubeconfigs[0]
    value = first["value"] if isinstance(first, dict) else first.value
    doc = yaml.safe_load(base64.b64decode(value))
    return doc["clusters"][0]["cluster"]["certificate-authority-data"]


# AKS adds this taint to every node of a spot pool, whatever the pool's own taints say.
SPOT_TOLERATION = {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"}
# AKS adds this taint to every spot pool's nodeTaints itself; a later PUT without it is refused
# ("Changing property 'properties.nodeTaints' is not allowed", pulumi-azure-native#959), so
# spot pools list it explicitly, as azurerm's node-pool docs tell users to (review Q5).
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"

class AksCluster(pulumi.ComponentResource):
    def __init__(self, name: str, config: StackConfig, stack: str, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:clouds:AksCluster", name, None, opts)
        self.config = config
        self.cluster_name = name
        region = config.region
        assert region is not None
        self.region = region
        self.settings = config.settings("azure")
        self.cat = catalog.cloud("azure")
        # Azure tag names may not contain '/', so the program's own tags use '-'.
        self.tags = dict(
            sorted(
                {
                    **config.tags,
                    "ml-clusters-cluster": name,
                    "ml-clusters-environment": config.environment,
                    "ml-clusters-stack": stack,
                }.items()
            )
        )
        # An explicit provider does not read the `azure-native:` stack config by itself; pass
        # the subscription on when the stack sets it (else: ARM_SUBSCRIPTION_ID or `az login`'s).
        self.azure_provider = azure_native.Provider(
            f"{name}-azure",
            location=region,
            subscription_id=pulumi.Config("azure-native").get("subscriptionId"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._child_opts = pulumi.ResourceOptions(parent=self, provider=self.azure_provider)
        self._prod_protect = pulumi.ResourceOptions(protect=config.is_prod)
        # The stack chose a private API explicitly (config requires network.privateApi when
        # apiAllowedCidrs is empty); azure.privateCluster was folded into it.
        self.private = config.network.private_api
        self.kubelogin_mode = self.settings.kubelogin_mode or DEFAULT_KUBELOGIN_MODE[self.settings.deployer_principal_type]
        # Node auto-provisioning (capacity.py): Karpenter NodePools instead of CPU/GPU agent
        # pools, and a system pool without the autoscaler.
        self.nap = config.provisioner == capacity.NAP
        self.client = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=self.azure_provider)
        )

        self._resource_group()
        self._network()
        self._identity()
        self._monitoring()
        self._cluster()
        self._deployer_access()
        # AKS refuses a second agent-pool operation on a cluster while one runs (409
        # OperationNotAllowed), so every pool waits for the one before it.
        self.system_pool = self._system_pool()
        previous: containerservice.AgentPool = self.system_pool
        self.cpu_agent_pools: dict[str, containerservice.AgentPool] = {}
        for cpu in config.cpu_pools if not self.nap else []:
            previous = self.cpu_agent_pools[cpu.name] = self._cpu_pool(cpu, after=previous)
        # Capacity reservation groups GPU pools consume: the cluster identity's grant first.
        self.reservation_access = capacity.reservation_access(
            name, list(config.gpu_pools), self.control_plane_identity.principal_id, RBAC_PROPAGATION_WAIT,
            self._opts(), self,
        )
        self.gpu_agent_pools: dict[str, containerservice.AgentPool] = {}
        for gpu in config.gpu_pools if not self.nap else []:
            previous = self.gpu_agent_pools[gpu.name] = self._gpu_pool(gpu, after=previous)
        # Other operations on the cluster resource (the insights association, maintenance
        # configurations, the audit diagnostic setting) wait for the last pool: AKS answers a
        # concurrent operation with 409 OperationNotAllowed (review Q4).
        self._container_insights(after=previous)
        if config.is_prod:
            self._prod_operations(after=previous)

        self.kubeconfig = pulumi.Output.secret(self._kubeconfig())
        # The provider (and so every Kubernetes object) waits for the system pool and for the
        # deployer's grant to take effect; never for CPU or GPU pools.
        self.platform_ready: list[pulumi.Resource] = [self.system_pool, self.deployer_admin, self.rbac_wait]
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.platform_ready),
        )
        self.kubelet_object_id = self.cluster.identity_profile.apply(
            lambda p: p["kubeletidentity"].object_id if p and "kubeletidentity" in p else None
        )
        self.oidc_issuer = self.cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url if p else None)
        self.node_provisioning = capacity.NodeAutoProvisioning(self) if self.nap else None
        # InfiniBand pools: the Network Operator, its NicClusterPolicy and the peermem loader.
        self.fabric = AksFabric(self)
        self.fabric.kubernetes(self.k8s_provider)
        self.handle = self._handle()
        self.register_outputs(
            {
                "clusterName": self.cluster.name,
                "resourceGroup": self.resource_group.name,
                "fqdn": self.cluster.private_fqdn if self.private else self.cluster.fqdn,
                "oidcIssuer": self.oidc_issuer,
                "kubeletObjectId": self.kubelet_object_id,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(self._child_opts, pulumi.ResourceOptions(**kwargs))

    # --- foundation -----------------------------------------------------------------------

    def _resource_group(self) -> None:
        name = self.cluster_name
        self.resource_group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=f"{name}-rg",
            location=self.region,
            tags=self.tags,
            opts=pulumi.ResourceOptions.merge(self._child_opts, self._prod_protect),
        )

    def _network(self) -> None:
        name, net = self.cluster_name, self.config.network
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=f"{name}-vnet",
            resource_group_name=self.resource_group.name,
            location=self.region,
            address_space={"address_prefixes": [net.vpc_cidr]},
            tags=self.tags,
            opts=self._opts(),
        )
        self.node_subnet = network.Subnet(
            f"{name}-nodes",
            subnet_name="nodes",
            resource_group_name=self.resource_group.name,
            virtual_network_name=self.vnet.name,
            address_prefix=node_subnet_cidr(net.vpc_cidr),
            # NFS shares admit the node subnet through this endpoint; declaring it here means
            # the file CSI driver never has to modify our subnet.
            service_endpoints=[{"service": "Microsoft.Storage"}],
            # No implicit internet egress: nodes leave through the cluster's load balancer.
            default_outbound_access=False,
            opts=self._opts(),
        )

    def _identity(self) -> None:
        name = self.cluster_name
        self.control_plane_identity = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane",
            resource_name_=f"{name}-control-plane",
            resource_group_name=self.resource_group.name,
            location=self.region,
            tags=self.tags,
            opts=self._opts(),
        )
        # With a subnet of our own, the control plane needs rights on the VNet to join nodes,
        # place internal load balancers and let the CSI drivers read the network.
        self.network_role = authorization.RoleAssignment(
            f"{name}-control-plane-network",
            principal_id=self.control_plane_identity.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=self.client.subscription_id.apply(lambda s: role_definition_id(s, NETWORK_CONTRIBUTOR_ROLE)),
            scope=self.vnet.id,
            opts=self._opts(),
        )

    def _monitoring(self) -> None:
        name = self.cluster_name
        self.workspace = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=f"{name}-logs",
            resource_group_name=self.resource_group.name,
            location=self.region,
            sku={"name": "PerGB2018"},
            retention_in_days=90 if self.config.is_prod else 30,
            tags=self.tags,
            opts=self._opts(),
        )

    # --- cluster ------------------------------------------------------------------------------

    def _network_profile(self) -> dict[str, Any]:
        net, policy = self.config.network, self.settings.network_policy
        profile: dict[str, Any] = {
            "network_plugin": "azure",
            "network_plugin_mode": "overlay",
            "network_policy": policy,
            "pod_cidr": net.pod_cidr,
            "service_cidr": net.service_cidr,
            "dns_service_ip": dns_service_ip(net.service_cidr),
            "load_balancer_sku": "standard",
            "outbound_type": "loadBalancer",
        }
        if policy == "cilium":
            # Cilium network policy needs the Cilium dataplane (Azure CNI powered by Cilium).
            profile["network_dataplane"] = "cilium"
        return profile

    def _api_server_access(self) -> dict[str, Any]:
        if self.private:
            return {
                "enable_private_cluster": True,
                # No public DNS record pointing at the private address.
                "enable_private_cluster_public_fqdn": False,
                "private_dns_zone": "system",
            }
        return {"authorized_ip_ranges": list(self.config.network.api_allowed_cidrs)}

    def _zones(self) -> list[str]:
        return list(self.cat.regions[self.region].zones)

    def _bootstrap_pool_profile(self) -> dict[str, Any]:
        """The inline pool AKS requires at creation: one System node, tainted like the system
        pool. It is never changed afterwards (see BOOTSTRAP_POOL)."""
        vm_size = self.config.system_instance_type()
        itype = self.cat.instance_types[vm_size]
        profile: dict[str, Any] = {
            "name": BOOTSTRAP_POOL,
            "mode": "System",
            "type": "VirtualMachineScaleSets",
            "vm_size": vm_size,
            "os_type": "Linux",
            "os_sku": "AzureLinux",
            "count": 1,
            "enable_auto_scaling": False,
            "os_disk_type": "Ephemeral" if itype.ephemeral_os_disk_gb else "Managed",
            "os_disk_size_gb": self.config.system_pool.disk_gb,
            "enable_node_public_ip": False,
            "enable_encryption_at_host": itype.encryption_at_host,
            "vnet_subnet_id": self.node_subnet.id,
            "node_taints": [SYSTEM_POOL_TAINT.as_string()],
            "node_labels": conventions.system_pool_labels(),
            "tags": self.tags,
        }
        if self._zones():
            profile["availability_zones"] = self._zones()
        return profile

    def _cluster(self) -> None:
        name, cfg, settings = self.cluster_name, self.config, self.settings
        aad: dict[str, Any] = {
            "managed": True,
            "enable_azure_rbac": True,
            "admin_group_object_ids": list(settings.admin_group_object_ids),
        }
        if settings.tenant_id:
            aad["tenant_id"] = settings.tenant_id
        self.cluster = containerservice.ManagedCluster(
            f"{name}-aks",
            resource_name_=name,
            resource_group_name=self.resource_group.name,
            location=self.region,
            dns_prefix=name,
            kubernetes_version=cfg.kubernetes_version,
            node_resource_group=f"{name}-nodes-rg",
            sku={"name": "Base", "tier": "Standard" if cfg.is_prod else "Free"},
            identity={"type": "UserAssigned", "user_assigned_identities": [self.control_plane_identity.id]},
            aad_profile=aad,
            enable_rbac=True,
            disable_local_accounts=True,
            oidc_issuer_profile={"enabled": True},
            security_profile=self._security_profile(),
            api_server_access_profile=self._api_server_access(),
            network_profile=self._network_profile(),
            auto_upgrade_profile={
                "upgrade_channel": settings.upgrade_channel,
                "node_os_upgrade_channel": settings.node_os_upgrade_channel,
            },
            addon_profiles={
                "azurepolicy": {"enabled": True},
                "omsagent": {
                    "enabled": True,
                    "config": {"logAnalyticsWorkspaceResourceID": self.workspace.id, "useAADAuth": "true"},
                },
            },
            storage_profile={
                "disk_csi_driver": {"enabled": True},
                "file_csi_driver": {"enabled": True},
                "snapshot_controller": {"enabled": True},
            },
            agent_pool_profiles=[self._bootstrap_pool_profile()],
            **({"node_provisioning_profile": capacity.NODE_PROVISIONING_PROFILE} if self.nap else {}),
            tags=self.tags,
            opts=self._opts(
                protect=cfg.is_prod,
                depends_on=[self.network_role],
                # Pools live in their own AgentPools; a managed-cluster PUT that lists a pool
                # differently fails ("A new agent pool was introduced"), so the inline
                # bootstrap pool is only read at creation.
                ignore_changes=["agentPoolProfiles", *self._version_ignores("kubernetesVersion")],
            ),
        )

    def _version_ignores(self, field: str) -> list[str]:
        """The version fields Pulumi leaves to AKS. The `stable` and `rapid` auto-upgrade
        channels move the cluster to a newer minor by themselves (AKS docs, "Automatically
        upgrade an AKS cluster"), and AKS never downgrades: a later PUT carrying the pinned
        minor would fail. With those channels the pinned version is the creation version only."""
        return [field] if self.settings.upgrade_channel in MINOR_UPGRADE_CHANNELS else []

    def _security_profile(self) -> dict[str, Any]:
        profile: dict[str, Any] = {"workload_identity": {"enabled": True}}
        if self.config.is_prod:
            # Defender for Containers' sensor reports to our workspace; Image Cleaner removes
            # unused (possibly vulnerable) images from nodes weekly.
            profile["defender"] = {
                "log_analytics_workspace_resource_id": self.workspace.id,
                "security_monitoring": {"enabled": True},
            }
            profile["image_cleaner"] = {"enabled": True, "interval_hours": IMAGE_CLEANER_INTERVAL_HOURS}
        return profile

    def _container_insights(self, after: pulumi.Resource) -> None:
        name = self.cluster_name
        self.insights_rule = monitor.DataCollectionRule(
            f"{name}-container-insights",
            data_collection_rule_name=f"{name}-container-insights",
            resource_group_name=self.resource_group.name,
            location=self.region,
            kind="Linux",
            description=f"Container insights for AKS cluster {name}",
            data_sources={
                "extensions": [
                    {
                        "name": "ContainerInsightsExtension",
                        "extension_name": "ContainerInsights",
                        "streams": CONTAINER_INSIGHTS_STREAMS,
                        "extension_settings": {
                            "dataCollectionSettings": {
                                "interval": "1m",
                                "namespaceFilteringMode": "Off",
                                "enableContainerLogV2": True,
                            }
                        },
                    }
                ]
            },
            destinations={"log_analytics": [{"name": "workspace", "workspace_resource_id": self.workspace.id}]},
            data_flows=[{"streams": CONTAINER_INSIGHTS_STREAMS, "destinations": ["workspace"]}],
            tags=self.tags,
            opts=self._opts(),
        )
        self.insights_association = monitor.DataCollectionRuleAssociation(
            f"{name}-container-insights",
            association_name="ContainerInsightsExtension",
            resource_uri=self.cluster.id,
            data_collection_rule_id=self.insights_rule.id,
            opts=self._opts(depends_on=[after]),
        )

    def _deployer_access(self) -> None:
        """Local accounts are off, so whoever runs `pulumi up` gets Kubernetes admin through
        Azure RBAC on this cluster only; the platform layer installs with that identity."""
        self.deployer_admin = authorization.RoleAssignment(
            f"{self.cluster_name}-deployer-admin",
            principal_id=self.client.object_id,
            # ARM rejects an assignment whose principal type does not match the principal.
            principal_type=self.settings.deployer_principal_type,
            role_definition_id=self.client.subscription_id.apply(lambda s: role_definition_id(s, AKS_RBAC_CLUSTER_ADMIN_ROLE)),
            scope=self.cluster.id,
            opts=self._opts(),
        )
        # The grant exists at once but is enforced only after Azure RBAC propagates it.
        self.rbac_wait = time.Sleep(
            f"{self.cluster_name}-deployer-admin-propagation",
            create_duration=RBAC_PROPAGATION_WAIT,
            # A re-created grant (new principal or cluster) waits again.
            triggers={"roleAssignment": self.deployer_admin.id},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deployer_admin]),
        )

    def _prod_operations(self, after: pulumi.Resource) -> None:
        """prod: planned maintenance windows for both AKS auto-upgraders, and the API server
        audit log in the workspace."""
        settings, name = self.settings, self.cluster_name
        window = {
            "schedule": {"weekly": {"interval_weeks": 1, "day_of_week": settings.maintenance_day}},
            "duration_hours": 4,
            "start_time": settings.maintenance_start,
            "utc_offset": "+00:00",
        }
        self.maintenance = {
            config_name: containerservice.MaintenanceConfiguration(
                f"{name}-{config_name}",
                config_name=config_name,
                resource_name_=self.cluster.name,
                resource_group_name=self.resource_group.name,
                maintenance_window=window,
                opts=self._opts(depends_on=[after]),
            )
            for config_name in MAINTENANCE_CONFIGS
        }
        self.audit_logs = monitor.DiagnosticSetting(
            f"{name}-audit",
            name=f"{name}-audit",
            resource_uri=self.cluster.id,
            workspace_id=self.workspace.id,
            # Resource-specific tables (AKSAudit) rather than the shared AzureDiagnostics.
            log_analytics_destination_type="Dedicated",
            logs=[{"category": "kube-audit", "enabled": True}],
            opts=self._opts(depends_on=[after]),
        )

    # --- pools ------------------------------------------------------------------------------

    def _agent_pool(self, resource: str, pool_name: str, *, vm_size: str, mode: str, os_sku: str,
                    min_nodes: int, max_nodes: int, disk_gb: int, labels: dict[str, str],
                    taints: list[str], after: pulumi.Resource, zones: Optional[list[str]] = None,
                    opts: Optional[pulumi.ResourceOptions] = None, autoscale: bool = True,
                    **extra: Any) -> containerservice.AgentPool:
        itype = self.cat.instance_types[vm_size]
        tags = extra.pop("tags", self.tags)
        if zones:
            extra["availability_zones"] = zones
        # Under NAP AKS refuses an autoscaling pool: a fixed pool of min_nodes, whose count
        # Pulumi then owns.
        scaling = {"min_count": min_nodes, "max_count": max_nodes} if autoscale else {}
        ignored = ["count"] if autoscale else []
        return containerservice.AgentPool(
            resource,
            agent_pool_name=pool_name,
            resource_name_=self.cluster.name,
            resource_group_name=self.resource_group.name,
            mode=mode,
            type="VirtualMachineScaleSets",
            vm_size=vm_size,
            os_type="Linux",
            os_sku=os_sku,
            orchestrator_version=self.config.kubernetes_version,
            count=min_nodes,
            enable_auto_scaling=autoscale,
            **scaling,
            os_disk_type="Ephemeral" if itype.ephemeral_os_disk_gb else "Managed",
            os_disk_size_gb=disk_gb,
            enable_node_public_ip=False,
            enable_encryption_at_host=itype.encryption_at_host,
            vnet_subnet_id=self.node_subnet.id,
            node_taints=taints,
            node_labels=labels,
            tags=tags,
            opts=pulumi.ResourceOptions.merge(
                # The cluster autoscaler owns the node count once the pool exists.
                self._opts(depends_on=[after], ignore_changes=[*ignored, *self._version_ignores("orchestratorVersion")]), opts
            ),
            **extra,
        )

    def _system_pool(self) -> containerservice.AgentPool:
        """The pool the platform and AKS's add-ons run on: System mode, tainted
        CriticalAddonsOnly (AKS's add-ons tolerate it), autoscaled between minNodes and
        maxNodes (under NAP a fixed minNodes: AKS refuses autoscaling pools in that mode). Its name changes with what AKS cannot change in place (system_pool_name)."""
        sp = self.config.system_pool
        vm_size = self.config.system_instance_type()
        itype = self.cat.instance_types[vm_size]
        zones = self._zones()
        os_disk_type = "Ephemeral" if itype.ephemeral_os_disk_gb else "Managed"
        return self._agent_pool(
            f"{self.cluster_name}-system",
            system_pool_name(vm_size, sp.disk_gb, os_disk_type, zones),
            vm_size=vm_size, mode="System", os_sku="AzureLinux",
            min_nodes=sp.min_nodes, max_nodes=sp.max_nodes, disk_gb=sp.disk_gb,
            labels=conventions.system_pool_labels(), taints=[SYSTEM_POOL_TAINT.as_string()],
            after=self.cluster, zones=zones, autoscale=not self.nap,
            upgrade_settings={"max_surge": "33%"},
        )

    def _user_pool_opts(self) -> pulumi.ResourceOptions:
        # azure-native replaces an AgentPool whose vmSize or gpuInstanceProfile changes
        # (provider/pkg/gen/replacement.go); AKS refuses more in place than that, so those
        # fields are replaced too (USER_POOL_REPLACE_ON_CHANGES). The pool keeps its name (it
        # is the pool label), so the old pool must go before the new one is created.
        return pulumi.ResourceOptions(delete_before_replace=True, replace_on_changes=list(USER_POOL_REPLACE_ON_CHANGES))

    def _cpu_pool(self, pool: CpuPool, after: pulumi.Resource) -> containerservice.AgentPool:
        extra: dict[str, Any] = {}
        if pool.spot:
            extra.update(scale_set_priority="Spot", scale_set_eviction_policy="Delete", spot_max_price=-1)
        else:
            extra.update(scale_set_priority="Regular", upgrade_settings={"max_surge": "1"})
        return self._agent_pool(
            f"{self.cluster_name}-{pool.name}", pool.name,
            vm_size=pool.instance_type, mode="User", os_sku="AzureLinux",
            min_nodes=pool.min_nodes, max_nodes=pool.max_nodes, disk_gb=pool.disk_gb,
            labels=conventions.cpu_pool_labels(pool), taints=[SPOT_TAINT] if pool.spot else [], after=after,
            opts=self._user_pool_opts(), **extra,
        )

    def _gpu_pool(self, pool: GpuPool, after: pulumi.Resource) -> containerservice.AgentPool:
        extra: dict[str, Any] = {}
        if pool.spot:
            # Evicted nodes are deleted (no deallocated VMs holding quota); -1 pays up to the
            # on-demand price, so eviction happens for capacity only, never for price.
            extra.update(scale_set_priority="Spot", scale_set_eviction_policy="Delete", spot_max_price=-1)
        else:
            # Surge one node at a time: GPU quota rarely has room for a percentage more.
            extra.update(scale_set_priority="Regular", upgrade_settings={"max_surge": "1"})
        instance_profile = mig_instance_profile(pool)
        if instance_profile:
            extra["gpu_instance_profile"] = instance_profile
        opts = self._user_pool_opts()
        group = capacity.reservation_group(pool)
        if group is not None:
            # The pool's nodes take the group's reserved capacity first (capacity.py); AKS
            # needs the identity's grant on the group's resource group to have propagated.
            extra["capacity_reservation_group_id"] = group
            access = self.reservation_access[capacity.resource_group_scope(group)]
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[access.ready]))
        return self._agent_pool(
            f"{self.cluster_name}-{pool.name}", pool.name,
            vm_size=pool.instance_type, mode="User",
            # Ubuntu: the OS NVIDIA and Azure document for ND/NC GPU nodes (drivers, InfiniBand).
            os_sku="Ubuntu",
            min_nodes=pool.min_nodes, max_nodes=pool.max_nodes, disk_gb=pool.disk_gb,
            labels={**conventions.gpu_pool_labels(pool, "azure", cloud_manages_device_plugin=False, cloud_partitions_mig=True),
                    **fabric_node_labels(pool)},
            taints=[conventions.GPU_TAINT.as_string(), *([SPOT_TAINT] if pool.spot else [])], after=after,
            opts=opts,
            tags={**self.tags, **autoscaler_resource_tags(pool, self.cat.instance_types[pool.instance_type]),
                  **conventions.fabric_reason_tags(pool, "azure"), **fabric_autoscaler_tags(pool, CA_RESOURCES_TAG)},
            # AKS installs the NVIDIA driver; the platform layer installs the device plugin.
            gpu_profile={"driver": "Install"},
            **extra,
        )

    # --- access -----------------------------------------------------------------------------------

    def _kubeconfig(self) -> pulumi.Output[str]:
        """An exec kubeconfig for Entra ID: kubelogin turns the caller's `az login` into a
        token, so the file holds no credential. The CA comes from AKS's user credentials."""
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=self.resource_group.name,
            resource_name=self.cluster.name,
            format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self, provider=self.azure_provider),
        )
        ca = credentials.kubeconfigs.apply(cluster_ca_from_kubeconfigs)
        host = self.cluster.private_fqdn if self.private else self.cluster.fqdn
        return exec_kubeconfig(
            cluster_name=self.cluster.name,
            endpoint=host.apply(lambda h: f"https://{h}:443"),
            ca_data=ca,
            command="kubelogin",
            args=kubelogin_args(self.kubelogin_mode),
            install_hint=KUBELOGIN_HINT,
        )

    # --- handle -------------------------------------------------------------------------------------

    def _handle(self) -> ClusterHandle:
        pools = []
        for pool in self.config.gpu_pools:
            itype = self.cat.instance_types[pool.instance_type]
            pools.append(GpuPoolFacts(
                pool=pool, gpu_model=itype.gpu or "", gpus_per_node=itype.gpus,
                node_labels=capacity.nap_gpu_labels(pool) if self.nap
                else conventions.gpu_pool_labels(pool, "azure", cloud_manages_device_plugin=False, cloud_partitions_mig=True),
                fabric=self.fabric.pool_fabric(pool),
            ))
        file_storage = None
        if self.config.platform.shared_file_system:
            # NFS rather than SMB: POSIX permissions and semantics that training code and
            # dataset loaders expect, no storage-key secret to mount, and better small-file
            # throughput. Traffic stays on the VNet (service endpoint); shares are encrypted at rest.
            file_storage = StorageClassSpec(
                provisioner="file.csi.azure.com",
                parameters={"skuName": "Premium_LRS", "protocol": "nfs"},
                access_mode="ReadWriteMany",
                mount_options=NFS_MOUNT_OPTIONS,
            )
        return ClusterHandle(
            name=self.cluster_name,
            cloud="azure",
            kubernetes_version=self.config.kubernetes_version,
            kubeconfig=self.kubeconfig,
            provider=self.k8s_provider,
            # Managed disks are encrypted at rest by default (platform-managed keys).
            block_storage=StorageClassSpec(provisioner="disk.csi.azure.com", parameters={"skuName": "Premium_LRS"}),
            file_storage=file_storage,
            cloud_manages_device_plugin=False,
            gpu_metrics=GpuMetricsSource(managed_by_cloud=False),
            gpu_pools=pools,
            gpu_node_selector={conventions.GPU_NODE_LABEL: "true"},
            # The system pool carries CriticalAddonsOnly; the platform's own pods must tolerate it.
            system_tolerations=[{"key": SYSTEM_POOL_TAINT.key, "operator": "Exists", "effect": SYSTEM_POOL_TAINT.effect}],
            internal_lb_annotations=dict(load_balancer.INTERNAL),
            public_lb_annotations=dict(load_balancer.PUBLIC),
            # No identity endpoint for team pods: AKS workload identity trades the pod's projected
            # token with Microsoft Entra ID over HTTPS (azure-identity WorkloadIdentityCredential,
            # POST {authority}/{tenant}/oauth2/v2.0/token), which the public-HTTPS rule allows.
            # IMDS (169.254.169.254) would hand any team pod the node's kubelet identity.
            identity_endpoint=None,
            cloud_partitions_mig=True,  # gpuInstanceProfile
            workload_identity_annotation=WORKLOAD_IDENTITY_ANNOTATION,
            # AKS taints every spot node; the device plugin and DCGM exporter must still run there.
            gpu_node_tolerations=[SPOT_TOLERATION] if any(p.spot for p in self.config.gpu_pools) else [],
            ready=list(self.platform_ready),
        )

"""AKS managed clusters and agent pools."""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from .base import Context, Finding, Resource, flag, get, items, resource_rule, show, stack_rule
from .types import AKS_AGENT_POOL, AKS_CLUSTER, AZ_DIAGNOSTIC_SETTING, STORAGE_ACCOUNT, is_world_cidr

DOMAIN = "aks"
SYSTEM_POOL_TAINT = "CriticalAddonsOnly=true:NoSchedule"


def agent_pools(r: Resource) -> Iterator[tuple[str, Any]]:
    """(where, pool inputs) for each pool a resource defines: the inline agentPoolProfiles
    of a ManagedCluster, or the AgentPool itself."""
    if r.type == AKS_CLUSTER:
        for i, pool in enumerate(items(r.props, "agentPoolProfiles")):
            yield f"agentPoolProfiles[{i}] ({get(pool, 'name', '?')})", pool
    else:
        yield f"agent pool {get(r.props, 'agentPoolName', r.name)}", r.props


@resource_rule(
    id="aks-api-access-restricted",
    title="AKS API server access restricted",
    domain=DOMAIN,
    types=[AKS_CLUSTER],
    description="The AKS API server is private or reachable only from authorized IP ranges, never 0.0.0.0/0.",
    severity="high",
    level="mandatory",
    fix="Set apiServerAccessProfile.authorizedIPRanges to your office/VPN ranges (stack key network.apiAllowedCidrs) or enablePrivateCluster true.",
)
def aks_api_access_restricted(r: Resource, ctx: Context):
    if flag(get(r.props, "apiServerAccessProfile.enablePrivateCluster")) is True:
        return
    ranges = items(r.props, "apiServerAccessProfile.authorizedIPRanges")
    if not ranges:
        yield "the API server is public and apiServerAccessProfile.authorizedIPRanges is empty: any address can reach it."
        return
    world = [c for c in ranges if isinstance(c, str) and is_world_cidr(c)]
    if world:
        yield f"apiServerAccessProfile.authorizedIPRanges includes {', '.join(world)}, which authorizes the whole internet."


@resource_rule(
    id="aks-entra-id-rbac",
    title="AKS Entra ID with Azure RBAC",
    domain=DOMAIN,
    types=[AKS_CLUSTER],
    description="AKS clusters authenticate users with Microsoft Entra ID and authorize them with Azure RBAC.",
    severity="high",
    level="mandatory",
    fix="Set aadProfile {managed: true, enableAzureRBAC: true, tenantID: <tenant>} on the managed cluster.",
)
def aks_entra_id_rbac(r: Resource, ctx: Context):
    profile = get(r.props, "aadProfile")
    if profile is None:
        yield "aadProfile is unset: cluster users are not Entra ID identities and access cannot be reviewed centrally."
        return
    if flag(get(profile, "managed")) is False:
        yield "aadProfile.managed is false: the legacy, unmanaged Entra ID integration is deprecated."
    if flag(get(profile, "enableAzureRBAC")) is not True:
        yield f"aadProfile.enableAzureRBAC is {show(get(profile, 'enableAzureRBAC'))}: Kubernetes permissions are not granted through Azure role assignments."


@resource_rule(
    id="aks-local-accounts-disabled",
    title="AKS local accounts disabled",
    domain=DOMAIN,
    types=[AKS_CLUSTER],
    description="AKS clusters disable local accounts, so no static cluster-admin credential can be downloaded.",
    severity="high",
    level="mandatory",
    fix="Set disableLocalAccounts true on the managed cluster (requires aadProfile with Entra ID).",
)
def aks_local_accounts_disabled(r: Resource, ctx: Context):
    if flag(get(r.props, "disableLocalAccounts")) is not True:
        yield f"disableLocalAccounts is {show(get(r.props, 'disableLocalAccounts'))}: 'az aks get-credentials --admin' hands out a cluster-admin certificate."


@resource_rule(
    id="aks-network-policy",
    title="AKS network policy engine",
    domain=DOMAIN,
    types=[AKS_CLUSTER],
    description="AKS clusters run a network policy engine (Cilium, Azure or Calico), so NetworkPolicies are enforced.",
    severity="medium",
    level="mandatory",
    fix='Set networkProfile.networkPolicy "cilium" (with networkDataplane "cilium") or "azure" (stack key azure.networkPolicy).',
)
def aks_network_policy(r: Resource, ctx: Context):
    engine = get(r.props, "networkProfile.networkPolicy")
    if engine not in ("cilium", "azure", "calico"):
        yield f"networkProfile.networkPolicy is {show(engine)}: NetworkPolicies would be accepted and silently not enforced."


@resource_rule(
    id="aks-workload-identity",
    title="AKS workload identity",
    domain=DOMAIN,
    types=[AKS_CLUSTER],
    description="AKS clusters enable the OIDC issuer and workload identity, so pods use federated identities instead of secrets.",
    severity="high",
    level="mandatory",
    fix="Set oidcIssuerProfile.enabled true and securityProfile.workloadIdentity.enabled true on the managed cluster.",
)
def aks_workload_identity(r: Resource, ctx: Context):
    if flag(get(r.props, "oidcIssuerProfile.enabled")) is not True:
        yield "oidcIssuerProfile.enabled is not true: service account tokens cannot be federated with Entra ID."
    if flag(get(r.props, "securityProfile.workloadIdentity.enabled")) is not True:
        yield "securityProfile.workloadIdentity.enabled is not true: pods would need client secrets to reach Azure."


@resource_rule(
    id="aks-no-node-public-ip",
    title="AKS nodes without public IPs",
    domain=DOMAIN,
    types=[AKS_CLUSTER, AKS_AGENT_POOL],
    description="AKS node pools do not give nodes public IP addresses.",
    severity="high",
    level="mandatory",
    fix="Set enableNodePublicIP false (or leave it unset) on the pool; reach nodes through the VNet.",
)
def aks_no_node_public_ip(r: Resource, ctx: Context):
    for where, pool in agent_pools(r):
        if flag(get(pool, "enableNodePublicIP")) is True:
            yield f"{where}: enableNodePublicIP is true, so every node is directly reachable from the internet."


@resource_rule(
    id="aks-ephemeral-os-disk",
    title="AKS ephemeral OS disks",
    domain=DOMAIN,
    types=[AKS_CLUSTER, AKS_AGENT_POOL],
    description="AKS node pools use ephemeral OS disks: faster node start and reimage, and no OS disk left behind to leak.",
    severity="low",
    level="advisory",
    fix='Set osDiskType "Ephemeral" with osDiskSizeGB within the VM size\'s cache/temp disk (see the catalog\'s ephemeral_os_disk_gb).',
)
def aks_ephemeral_os_disk(r: Resource, ctx: Context):
    for where, pool in agent_pools(r):
        disk = get(pool, "osDiskType")
        if disk != "Ephemeral":
            yield f"{where}: osDiskType is {show(disk)}; AKS falls back to a managed OS disk when unset and the VM's cache is too small."


@resource_rule(
    id="aks-system-pool-taint",
    title="AKS system pool reserved for critical add-ons",
    domain=DOMAIN,
    types=[AKS_CLUSTER, AKS_AGENT_POOL],
    description=f"AKS system-mode pools carry the taint {SYSTEM_POOL_TAINT}, keeping application pods off the nodes that run CoreDNS and konnectivity.",
    severity="medium",
    level="mandatory",
    fix=f'Add "{SYSTEM_POOL_TAINT}" to nodeTaints of every pool with mode "System".',
)
def aks_system_pool_taint(r: Resource, ctx: Context):
    for where, pool in agent_pools(r):
        if get(pool, "mode") != "System":
            continue
        if SYSTEM_POOL_TAINT not in items(pool, "nodeTaints"):
            yield f"{where}: the System pool lacks the taint {SYSTEM_POOL_TAINT}."


@resource_rule(
    id="aks-upgrade-channels",
    title="AKS automatic upgrade channels",
    domain=DOMAIN,
    types=[AKS_CLUSTER],
    description="AKS clusters use an automatic upgrade channel for Kubernetes patches and a managed channel for node OS updates.",
    severity="medium",
    level="mandatory",
    fix='Set autoUpgradeProfile {upgradeChannel: "patch", nodeOSUpgradeChannel: "NodeImage"} (stack keys azure.upgradeChannel, azure.nodeOsUpgradeChannel).',
)
def aks_upgrade_channels(r: Resource, ctx: Context):
    channel = get(r.props, "autoUpgradeProfile.upgradeChannel")
    if channel not in ("patch", "stable", "rapid", "node-image"):
        yield f"autoUpgradeProfile.upgradeChannel is {show(channel)}: the cluster receives no Kubernetes patch releases."
    node_os = get(r.props, "autoUpgradeProfile.nodeOSUpgradeChannel")
    if node_os is not None and node_os not in ("NodeImage", "SecurityPatch"):
        yield f"autoUpgradeProfile.nodeOSUpgradeChannel is {show(node_os)}: node OS security fixes are not applied."


@resource_rule(
    id="aks-defender-and-image-cleaner",
    title="AKS Defender and Image Cleaner (prod)",
    domain=DOMAIN,
    types=[AKS_CLUSTER],
    description="Production AKS clusters run Microsoft Defender for Containers' sensor and Image Cleaner, which removes unused images from nodes.",
    severity="medium",
    level="mandatory",
    environments=["prod"],
    fix="Set securityProfile.defender {logAnalyticsWorkspaceResourceId, securityMonitoring: {enabled: true}} and securityProfile.imageCleaner {enabled: true, intervalHours: 168}.",
)
def aks_defender_and_image_cleaner(r: Resource, ctx: Context):
    if flag(get(r.props, "securityProfile.defender.securityMonitoring.enabled")) is not True:
        yield "securityProfile.defender.securityMonitoring is not enabled: no runtime threat detection on the nodes."
    if flag(get(r.props, "securityProfile.imageCleaner.enabled")) is not True:
        yield "securityProfile.imageCleaner is not enabled: unused, possibly vulnerable images stay on the nodes."


@resource_rule(
    id="aks-azure-policy",
    title="AKS Azure Policy add-on",
    domain=DOMAIN,
    types=[AKS_CLUSTER],
    description="AKS clusters run the Azure Policy add-on, so admission policies also guard what is applied outside Pulumi.",
    severity="low",
    level="advisory",
    fix="Set addonProfiles.azurepolicy {enabled: true} on the managed cluster.",
)
def aks_azure_policy(r: Resource, ctx: Context):
    addons = get(r.props, "addonProfiles") or {}
    enabled = any(key.lower() == "azurepolicy" and flag(get(value, "enabled")) is True for key, value in addons.items())
    if not enabled:
        yield "addonProfiles.azurepolicy is not enabled: objects created with kubectl bypass every policy in this pack."



BLOB_ACCESS_CATEGORIES = ("StorageRead", "StorageWrite", "StorageDelete")


@stack_rule(
    id="azure-store-access-logs",
    title="Blob storage data-access audit trail (prod)",
    domain=DOMAIN,
    types=[STORAGE_ACCOUNT, AZ_DIAGNOSTIC_SETTING],
    description="Every storage account of a prod stack (the model store and its replica) has a diagnostic setting on its blob service that sends StorageRead, StorageWrite and StorageDelete to a destination.",
    severity="medium",
    level="mandatory",
    environments=["prod"],
    fix="Add a monitor.DiagnosticSetting with resourceUri <account id>/blobServices/default, a workspaceId, and the log categories StorageRead, StorageWrite and StorageDelete enabled.",
)
def azure_store_access_logs(resources: Sequence[Resource], ctx: Context):
    # Azure Blob Storage monitoring data reference: resource logs are per service
    # (blobServices/default), by category; none are collected without a diagnostic setting.
    covered: dict[str, set[str]] = {}
    for setting in (r for r in resources if r.type == AZ_DIAGNOSTIC_SETTING):
        uri = str(get(setting.props, "resourceUri", "")).lower()
        if not uri.endswith("/blobservices/default"):
            continue
        if not any(get(setting.props, k) for k in ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId")):
            continue
        account = uri.split("/storageaccounts/")[-1].split("/")[0]
        enabled = {get(c, "category") for c in items(setting.props, "logs") if flag(get(c, "enabled")) is True}
        covered.setdefault(account, set()).update(enabled)
    for account in (r for r in resources if r.type == STORAGE_ACCOUNT):
        name = str(get(account.props, "accountName", account.name))
        missing = [c for c in BLOB_ACCESS_CATEGORIES if c not in covered.get(name.lower(), set())]
        if missing:
            yield Finding(
                f"storage account {name}: no diagnostic setting on its blob service collects {', '.join(missing)}, so reads, writes and deletes of blobs leave no audit trail.",
                resource=account,
            )

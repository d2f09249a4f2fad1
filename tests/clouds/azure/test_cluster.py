"""AKS backend under mocks: every input a user depends on, the bad Azure configs, and the
prod-azure stack end to end."""

from __future__ import annotations

import base64
import dataclasses
from types import SimpleNamespace

import pytest
import yaml

from components import catalog, conventions
from components.clouds.azure import cluster as aks
from components import config as config_module
from components.config import GpuPool, load, raw_from_pulumi
from preview import engine, mocks
from preview.engine import is_secret, redact
from tests.conftest import config_errors, flat_config, fresh_plans, inputs, plan_for, plan_for_stack

CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
ROLE = "azure-native:authorization:RoleAssignment"
GPU_TYPES = ", ".join(sorted(n for n, t in catalog.cloud("azure").instance_types.items() if t.gpu))
ADMINS = "3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b"

BASE = {"cloud": "azure", "region": "eastus", "network": {"apiAllowedCidrs": ["203.0.113.0/24"]}}
POOLS = [
    {"name": "a100", "instanceType": "Standard_NC24ads_A100_v4", "maxNodes": 3, "diskGb": 64,
     "sharing": {"mig": {"profile": "3g.40gb"}}},
    {"name": "t4spot", "instanceType": "Standard_NC4as_T4_v3", "spot": True, "maxNodes": 4, "diskGb": 100},
]


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-azure")


@pytest.fixture(scope="module")
def dev():
    return plan_for({**BASE, "gpuPools": POOLS, "tags": {"team": "research"}})


def cluster(plan):
    return inputs(plan.one(CLUSTER))


def system_pool(plan):
    (profile,) = cluster(plan)["agentPoolProfiles"]
    return profile


def agent_pool(plan, pool):
    return inputs(plan.one(AGENT_POOL, f"{plan.outputs['clusterName']}-{pool}"))


def kubeconfig_doc(plan):
    raw = plan.outputs["kubeconfig"]
    assert is_secret(raw)
    return yaml.safe_load(raw["value"])


# --- foundation ----------------------------------------------------------------------------


def test_resource_group_network_and_identity(dev):
    rg = inputs(dev.one("azure-native:resources:ResourceGroup", "ml-test-rg"))
    assert (rg["resourceGroupName"], rg["location"]) == ("ml-test-rg", "eastus")
    vnet = inputs(dev.one("azure-native:network:VirtualNetwork"))
    assert vnet["addressSpace"] == {"addressPrefixes": ["10.0.0.0/16"]} and vnet["resourceGroupName"] == "ml-test-rg"
    subnet = inputs(dev.one("azure-native:network:Subnet"))
    assert subnet["addressPrefix"] == "10.0.0.0/17" and subnet["virtualNetworkName"] == "ml-test-vnet"
    assert subnet["serviceEndpoints"] == [{"service": "Microsoft.Storage"}]
    identity = inputs(dev.one("azure-native:managedidentity:UserAssignedIdentity", "ml-test-control-plane"))
    assert identity["resourceName"] == "ml-test-control-plane"
    assert cluster(dev)["identity"] == {"type": "UserAssigned", "userAssignedIdentities": ["ml-test-control-plane-id"]}


def test_node_subnet_and_dns_ip_are_derived_from_the_ranges():
    assert aks.node_subnet_cidr("10.50.0.0/16") == "10.50.0.0/17"
    assert aks.node_subnet_cidr("10.8.16.0/20") == "10.8.16.0/21"
    assert aks.dns_service_ip("172.20.0.0/16") == "172.20.0.10"


def test_control_plane_may_manage_the_vnet(dev):
    network_role = inputs(dev.one(ROLE, "ml-test-control-plane-network"))
    assert network_role["scope"] == "ml-test-vnet-id"
    assert network_role["principalType"] == "ServicePrincipal"
    identity_outputs = mocks._azure_identity(SimpleNamespace(name="ml-test-control-plane", inputs={}))
    assert network_role["principalId"] == identity_outputs["principalId"]
    assert network_role["roleDefinitionId"] == (
        f"/subscriptions/{mocks.AZURE_SUBSCRIPTION_ID}/providers/Microsoft.Authorization"
        "/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7"
    )


def test_deployer_is_kubernetes_admin_through_azure_rbac(dev):
    admin = inputs(dev.one(ROLE, "ml-test-deployer-admin"))
    assert admin["scope"] == "ml-test-aks-id"
    assert admin["principalId"] == mocks.AZURE_DEPLOYER_OBJECT_ID and admin["principalType"] == "User"
    assert admin["roleDefinitionId"].endswith("/roleDefinitions/b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b")
    ci = plan_for({**BASE, "azure": {"deployerPrincipalType": "ServicePrincipal"}})
    assert inputs(ci.one(ROLE, "ml-test-deployer-admin"))["principalType"] == "ServicePrincipal"


def test_every_azure_resource_uses_the_explicit_provider_and_tags(dev):
    provider = dev.one("pulumi:providers:azure-native")
    assert inputs(provider)["location"] == "eastus"
    azure_resources = [r for r in dev.resources if r.type.startswith("azure-native:")]
    assert len(azure_resources) >= 12
    assert all(r.provider.startswith(provider.urn + "::") for r in azure_resources)
    expected_tags = {"team": "research", "ml-clusters-cluster": "ml-test", "ml-clusters-environment": "dev", "ml-clusters-stack": "test"}
    tagged = [inputs(r) for r in azure_resources if "tags" in inputs(r)]
    # GPU pools add the autoscaler's capacity tags (D6) to the stack's own.
    own = [{k: v for k, v in t["tags"].items() if not k.startswith("k8s.io_cluster-autoscaler_")} for t in tagged]
    assert len(tagged) >= 8 and all(t == expected_tags for t in own)
    assert system_pool(dev)["tags"] == expected_tags


def test_provider_takes_the_subscription_from_stack_config(dev):
    assert "subscriptionId" not in inputs(dev.one("pulumi:providers:azure-native"))  # az login's / ARM_SUBSCRIPTION_ID
    subscription = "11111111-2222-4333-8444-555555555555"
    plan = engine.run_program("test", {**flat_config(BASE), "azure-native:subscriptionId": subscription})
    assert inputs(plan.one("pulumi:providers:azure-native"))["subscriptionId"] == subscription


def test_log_analytics_and_container_insights(dev, prod):
    workspace = inputs(dev.one("azure-native:operationalinsights:Workspace"))
    assert workspace["sku"] == {"name": "PerGB2018"} and workspace["retentionInDays"] == 30
    assert inputs(prod.one("azure-native:operationalinsights:Workspace"))["retentionInDays"] == 90
    rule = inputs(dev.one("azure-native:monitor:DataCollectionRule"))
    assert rule["destinations"] == {"logAnalytics": [{"name": "workspace", "workspaceResourceId": "ml-test-logs-id"}]}
    (extension,) = rule["dataSources"]["extensions"]
    assert extension["extensionName"] == "ContainerInsights" and "Microsoft-ContainerLogV2" in extension["streams"]
    assert rule["dataFlows"] == [{"streams": aks.CONTAINER_INSIGHTS_STREAMS, "destinations": ["workspace"]}]
    association = inputs(dev.one("azure-native:monitor:DataCollectionRuleAssociation"))
    assert association == {"associationName": "ContainerInsightsExtension", "resourceUri": "ml-test-aks-id",
                           "dataCollectionRuleId": "ml-test-container-insights-id"}


# --- the managed cluster ------------------------------------------------------------------------


def test_entra_id_with_azure_rbac_and_no_local_accounts(prod):
    mc = cluster(prod)
    assert mc["aadProfile"] == {"managed": True, "enableAzureRBAC": True, "adminGroupObjectIDs": [ADMINS]}
    assert mc["disableLocalAccounts"] is True and mc["enableRBAC"] is True


def test_tenant_id_is_passed_when_set():
    tenant = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    plan = plan_for({**BASE, "azure": {"tenantId": tenant, "adminGroupObjectIds": [ADMINS]}})
    assert cluster(plan)["aadProfile"]["tenantID"] == tenant


def test_oidc_issuer_and_workload_identity(dev):
    mc = cluster(dev)
    assert mc["oidcIssuerProfile"] == {"enabled": True}
    assert mc["securityProfile"] == {"workloadIdentity": {"enabled": True}}


def test_authorized_ip_ranges_from_api_cidrs(prod):
    assert cluster(prod)["apiServerAccessProfile"] == {"authorizedIPRanges": ["203.0.113.0/24", "198.51.100.0/24"]}


def test_private_cluster():
    # network.privateApi replaced azure.privateCluster (one choice on every cloud).
    plan = plan_for({"cloud": "azure", "region": "eastus", "network": {"privateApi": True}})
    access = cluster(plan)["apiServerAccessProfile"]
    assert access == {"enablePrivateCluster": True, "enablePrivateClusterPublicFQDN": False, "privateDNSZone": "system"}
    server = kubeconfig_doc(plan)["clusters"][0]["cluster"]["server"]
    assert server.startswith("https://ml-test-") and server.endswith(".privatelink.eastus.azmk8s.io:443")


def test_cilium_network_profile(prod):
    assert cluster(prod)["networkProfile"] == {
        "networkPlugin": "azure",
        "networkPluginMode": "overlay",
        "networkDataplane": "cilium",
        "networkPolicy": "cilium",
        "podCidr": "10.244.0.0/16",
        "serviceCidr": "10.96.0.0/16",
        "dnsServiceIP": "10.96.0.10",
        "loadBalancerSku": "standard",
        "outboundType": "loadBalancer",
    }


def test_azure_network_policy_keeps_the_azure_dataplane():
    plan = plan_for({**BASE, "azure": {"networkPolicy": "azure"}})
    profile = cluster(plan)["networkProfile"]
    assert profile["networkPolicy"] == "azure" and profile["networkPluginMode"] == "overlay"
    assert "networkDataplane" not in profile


def test_upgrade_channels_from_config(prod):
    assert cluster(prod)["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    plan = plan_for({**BASE, "azure": {"upgradeChannel": "stable", "nodeOsUpgradeChannel": "SecurityPatch"}})
    assert cluster(plan)["autoUpgradeProfile"] == {"upgradeChannel": "stable", "nodeOSUpgradeChannel": "SecurityPatch"}


def test_policy_and_monitoring_addons(dev):
    assert cluster(dev)["addonProfiles"] == {
        "azurepolicy": {"enabled": True},
        "omsagent": {"enabled": True, "config": {"logAnalyticsWorkspaceResourceID": "ml-test-logs-id", "useAADAuth": "true"}},
    }


def test_sku_tier_and_protection_by_environment(dev, prod):
    assert cluster(prod)["sku"] == {"name": "Base", "tier": "Standard"}
    assert cluster(dev)["sku"] == {"name": "Base", "tier": "Free"}
    for type_ in (CLUSTER, "azure-native:resources:ResourceGroup"):
        # The stores' resource group (stores.py) is tested in test_stores.py.
        assert prod.one(type_, None if type_ != "azure-native:resources:ResourceGroup" else "ml-prod-azure-rg").protect is True, type_
        assert dev.one(type_).protect is False, type_


def test_cluster_basics(prod):
    mc = cluster(prod)
    assert (mc["resourceName"], mc["dnsPrefix"], mc["kubernetesVersion"]) == ("ml-prod-azure", "ml-prod-azure", "1.35")
    assert (mc["location"], mc["resourceGroupName"], mc["nodeResourceGroup"]) == ("eastus", "ml-prod-azure-rg", "ml-prod-azure-nodes-rg")
    assert mc["storageProfile"] == {"diskCSIDriver": {"enabled": True}, "fileCSIDriver": {"enabled": True},
                                    "snapshotController": {"enabled": True}}


def test_inline_pool_is_a_one_node_bootstrap_pool_ignored_after_creation(prod):
    # AKS refuses to create a cluster without a System pool in agentPoolProfiles, and a
    # later managed-cluster PUT that lists pools differently fails with "A new agent pool was
    # introduced" (pulumi/pulumi-azure-native#2719); azure-native's create refuses an
    # AgentPool that already exists ("cannot create already existing resource", provider
    # crud CanCreate). So the inline pool is a bootstrap pool, read only at creation.
    bp = system_pool(prod)
    assert (bp["name"], bp["mode"], bp["vmSize"], bp["count"]) == ("system", "System", "Standard_D4ds_v5", 1)
    assert bp["enableAutoScaling"] is False and "minCount" not in bp
    assert bp["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    assert bp["osDiskType"] == "Ephemeral" and bp["enableNodePublicIP"] is False
    assert prod.one(CLUSTER).ignore_changes == ("agentPoolProfiles",)


def system_agent_pool(plan):
    return inputs(plan.one(AGENT_POOL, f"{plan.outputs['clusterName']}-system"))


def test_system_pool_is_its_own_tainted_system_mode_agent_pool(prod):
    sp = system_agent_pool(prod)
    assert sp["mode"] == "System" and sp["vmSize"] == "Standard_D4ds_v5" and sp["osSKU"] == "AzureLinux"
    # AKS documents CriticalAddonsOnly=true:NoSchedule for system pools: its add-ons
    # (CoreDNS, metrics-server, konnectivity, CSI controllers) tolerate it (AKS "Manage system
    # node pools"); the platform's pods carry the toleration from handle.system_tolerations.
    assert sp["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    assert sp["osDiskType"] == "Ephemeral" and sp["osDiskSizeGB"] == 128
    assert sp["enableNodePublicIP"] is False and sp["enableEncryptionAtHost"] is True
    assert (sp["enableAutoScaling"], sp["minCount"], sp["maxCount"], sp["count"]) == (True, 3, 6, 3)
    assert sp["vnetSubnetID"] == "ml-prod-azure-nodes-id" and sp["orchestratorVersion"] == "1.35"
    assert sp["availabilityZones"] == ["1", "2", "3"]
    assert sp["nodeLabels"] == conventions.system_pool_labels()
    assert "scaleSetPriority" not in sp
    assert sp["agentPoolName"] == aks.system_pool_name("Standard_D4ds_v5", 128, "Ephemeral", ["1", "2", "3"])


def test_system_pool_name_changes_with_what_aks_cannot_change_in_place():
    # azure-native replaces an AgentPool on a vmSize change (provider/pkg/gen/replacement.go
    # forceNewMap: AgentPool gpuInstanceProfile, vmSize); a new name lets the new System pool
    # come up before the old one is deleted, with no name clash. Pool names: <= 12 chars.
    base = aks.system_pool_name("Standard_D4ds_v5", 128, "Ephemeral", ["1", "2", "3"])
    assert len(base) == 11 and base.startswith("sys") and base.isalnum() and base.islower()
    assert aks.system_pool_name("Standard_D8ds_v5", 128, "Ephemeral", ["1", "2", "3"]) != base
    assert aks.system_pool_name("Standard_D4ds_v5", 100, "Ephemeral", ["1", "2", "3"]) != base
    assert aks.system_pool_name("Standard_D4ds_v5", 128, "Ephemeral", ["1", "2", "3"]) == base
    bigger = plan_for({**BASE, "systemPool": {"instanceType": "Standard_D8ds_v5"}})
    smaller = plan_for(BASE)
    assert system_agent_pool(bigger)["agentPoolName"] != system_agent_pool(smaller)["agentPoolName"]
    # Node counts are updated in place: same pool name, new autoscaler limits.
    resized = plan_for({**BASE, "systemPool": {"minNodes": 3, "maxNodes": 8}})
    assert system_agent_pool(resized)["agentPoolName"] == system_agent_pool(smaller)["agentPoolName"]
    assert (system_agent_pool(resized)["minCount"], system_agent_pool(resized)["maxCount"]) == (3, 8)
    # The pool's Pulumi name stays, so the change is a replacement of one resource.
    assert bigger.one(AGENT_POOL, "ml-test-system").urn == smaller.one(AGENT_POOL, "ml-test-system").urn


def test_system_pool_without_zones_in_a_zoneless_region():
    plan = plan_for({**BASE, "region": "westus"})
    assert "availabilityZones" not in system_pool(plan)
    assert "availabilityZones" not in system_agent_pool(plan)


# --- GPU agent pools -------------------------------------------------------------------------


def test_one_user_agent_pool_per_gpu_pool(prod):
    pools = {inputs(p)["agentPoolName"]: inputs(p) for p in prod.by_type(AGENT_POOL) if inputs(p)["mode"] == "User" and "gpuProfile" in inputs(p)}
    assert set(pools) == {"h100", "t4infer"}
    for pool in pools.values():
        assert pool["mode"] == "User" and pool["resourceName"] == "ml-prod-azure" and pool["resourceGroupName"] == "ml-prod-azure-rg"
        assert pool["gpuProfile"] == {"driver": "Install"}
        assert pool["nodeTaints"] == ["nvidia.com/gpu=present:NoSchedule"]
        assert pool["enableNodePublicIP"] is False and pool["osDiskType"] == "Ephemeral"
        assert pool["vnetSubnetID"] == "ml-prod-azure-nodes-id" and pool["orchestratorVersion"] == "1.35"
        assert pool["enableAutoScaling"] is True and pool["minCount"] == 0 and pool["count"] == 0


def test_h100_pool_from_the_stack(prod):
    h100 = agent_pool(prod, "h100")
    assert h100["vmSize"] == "Standard_ND96isr_H100_v5" and h100["maxCount"] == 2
    assert h100["osDiskSizeGB"] == 512 and h100["enableEncryptionAtHost"] is True
    assert h100["scaleSetPriority"] == "Regular" and h100["upgradeSettings"] == {"maxSurge": "1"}
    assert "spotMaxPrice" not in h100 and "gpuInstanceProfile" not in h100
    assert h100["nodeLabels"] == {
        conventions.GPU_NODE_LABEL: "true",
        conventions.GPU_COUNT_LABEL: "8",
        conventions.GPU_MODEL_LABEL: "h100",
        conventions.POOL_LABEL: "h100",
        conventions.SPOT_LABEL: "false",
        # ND H100 v5's InfiniBand (tests/clouds/azure/test_fabric.py).
        conventions.FABRIC_LABEL: "infiniband",
    }


def test_time_slicing_pool_carries_the_device_plugin_config_label(prod):
    t4 = agent_pool(prod, "t4infer")
    assert t4["vmSize"] == "Standard_NC4as_T4_v3" and t4["maxCount"] == 4 and t4["osDiskSizeGB"] == 128
    assert t4["nodeLabels"][conventions.DEVICE_PLUGIN_CONFIG_LABEL] == "pool-t4infer"
    assert t4["nodeLabels"] == conventions.gpu_pool_labels(
        next(p for p in stack_config("prod-azure").gpu_pools if p.name == "t4infer"), "azure", cloud_manages_device_plugin=False
    )


def stack_config(stack: str):
    raw, _ = raw_from_pulumi(engine.read_stack_config(stack)[0])
    return load(raw)


def test_spot_pool_is_deleted_on_eviction_at_any_price(dev):
    spot = agent_pool(dev, "t4spot")
    assert (spot["scaleSetPriority"], spot["scaleSetEvictionPolicy"], spot["spotMaxPrice"]) == ("Spot", "Delete", -1)
    assert spot["nodeLabels"][conventions.SPOT_LABEL] == "true"
    assert "upgradeSettings" not in spot


def test_mig_pool_gets_the_aks_instance_profile(dev):
    a100 = agent_pool(dev, "a100")
    assert a100["gpuInstanceProfile"] == "MIG3g"
    assert a100["osDiskSizeGB"] == 64 and a100["maxCount"] == 3
    assert "scaleSetEvictionPolicy" not in a100
    # AKS cuts the GPUs at node creation and runs no mig-manager: none of its labels.
    assert conventions.MIG_CONFIG_LABEL not in a100["nodeLabels"]
    assert not set(conventions.MIG_DEPLOY_LABELS) & set(a100["nodeLabels"])


@pytest.mark.parametrize("profile,expected", [("1g.10gb", "MIG1g"), ("2g.20gb", "MIG2g"), ("4g.40gb", "MIG4g"), ("7g.80gb", "MIG7g")])
def test_mig_instance_profile_names(profile, expected):
    pool = GpuPool.model_validate({"name": "a", "instanceType": "Standard_NC24ads_A100_v4", "sharing": {"mig": {"profile": profile}}})
    assert aks.mig_instance_profile(pool) == expected
    assert aks.mig_instance_profile(GpuPool.model_validate({"name": "b", "instanceType": "Standard_NC4as_T4_v3"})) is None


def test_host_encryption_and_ephemeral_disk_follow_the_catalog(monkeypatch):
    types = catalog.cloud("azure").instance_types
    name = "Standard_NC8as_T4_v3"
    monkeypatch.setitem(types, name, dataclasses.replace(types[name], encryption_at_host=False, ephemeral_os_disk_gb=None))
    plan = plan_for({**BASE, "gpuPools": [{"name": "t4", "instanceType": name, "diskGb": 400}]})
    pool = agent_pool(plan, "t4")
    assert pool["enableEncryptionAtHost"] is False and pool["osDiskType"] == "Managed" and pool["osDiskSizeGB"] == 400


# --- access and the handle --------------------------------------------------------------------


def test_kubeconfig_is_a_secret_using_kubelogin_with_the_azure_cli(prod):
    doc = kubeconfig_doc(prod)
    exec_ = doc["users"][0]["user"]["exec"]
    assert exec_["command"] == "kubelogin"
    assert exec_["args"] == ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    cluster_entry = doc["clusters"][0]
    assert cluster_entry["name"] == "ml-prod-azure"
    assert cluster_entry["cluster"]["server"].startswith("https://ml-prod-azure-")
    assert cluster_entry["cluster"]["server"].endswith(".hcp.eastus.azmk8s.io:443")
    assert cluster_entry["cluster"]["certificate-authority-data"] == mocks.FAKE_CA
    assert is_secret(prod.one("pulumi:providers:kubernetes").inputs["kubeconfig"])


def test_cluster_ca_is_read_from_the_aks_credentials():
    kubeconfig = yaml.safe_dump({"clusters": [{"name": "c", "cluster": {"server": "https://x", "certificate-authority-data": "Q0E="}}]})
    encoded = base64.b64encode(kubeconfig.encode()).decode()
    assert aks.cluster_ca_from_kubeconfigs([{"name": "clusterUser", "value": encoded}]) == "Q0E="


@pytest.fixture(scope="module")
def handles():
    captured = []
    original = aks.AksCluster._handle

    def capture(self):
        handle = original(self)
        captured.append(handle)
        return handle

    aks.AksCluster._handle = capture
    try:
        plan_for({**BASE, "gpuPools": POOLS})
        plan_for({**BASE, "platform": {"sharedFileSystem": False}})
    finally:
        aks.AksCluster._handle = original
    return captured


def test_handle_describes_what_the_platform_must_install(handles):
    handle = handles[0]
    assert (handle.cloud, handle.name, handle.kubernetes_version) == ("azure", "ml-test", "1.35")
    assert handle.cloud_manages_device_plugin is False
    assert handle.gpu_metrics.managed_by_cloud is False
    assert handle.gpu_node_selector == {conventions.GPU_NODE_LABEL: "true"}
    assert handle.system_tolerations == [{"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}]
    assert handle.internal_lb_annotations == {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}
    assert handle.public_lb_annotations == {}  # a public IP on the cluster's load balancer by default
    assert handle.workload_identity_annotation == "azure.workload.identity/client-id"
    # Team pods get no IMDS rule: workload identity needs only HTTPS to Entra ID.
    assert handle.identity_endpoint is None
    facts = {f.pool.name: f for f in handle.gpu_pools}
    assert (facts["a100"].gpu_model, facts["a100"].gpus_per_node) == ("a100-80gb", 1)
    assert facts["t4spot"].node_labels[conventions.SPOT_LABEL] == "true"


def test_handle_storage_classes(handles):
    block, files = handles[0].block_storage, handles[0].file_storage
    assert (block.provisioner, dict(block.parameters), block.access_mode) == (
        "disk.csi.azure.com", {"skuName": "Premium_LRS"}, "ReadWriteOnce")
    assert block.encrypted is True
    assert (files.provisioner, dict(files.parameters), files.access_mode) == (
        "file.csi.azure.com", {"skuName": "Premium_LRS", "protocol": "nfs"}, "ReadWriteMany")
    assert "nconnect=4" in files.mount_options
    assert handles[1].file_storage is None


def test_handle_waits_for_the_system_pool_and_the_deployer_grant_not_gpu_pools(handles):
    ready = handles[0].ready
    assert [r.__class__.__name__ for r in ready] == ["AgentPool", "RoleAssignment", "Sleep"]
    assert [r.__class__.__name__ for r in handles[1].ready] == ["AgentPool", "RoleAssignment", "Sleep"]


# --- bad Azure configs ------------------------------------------------------------------------


BAD_AZURE = [
    ("vm-without-gpu", {**BASE, "gpuPools": [{"name": "cpu", "instanceType": "Standard_D4ds_v5"}]},
     f"gpuPools[0].instanceType: 'Standard_D4ds_v5' has no GPU; allowed: {GPU_TYPES}"),
    ("spot-system-pool", {**BASE, "systemPool": {"spot": True}},
     "systemPool.spot: true is not allowed on azure: system pools cannot run on spot capacity there; allowed: false"),
    ("gpu-not-in-region", {**BASE, "region": "westeurope",
                           "gpuPools": [{"name": "h100", "instanceType": "Standard_ND96isr_H100_v5", "diskGb": 500}]},
     "gpuPools[0].instanceType: 'Standard_ND96isr_H100_v5' (NVIDIA H100 80GB) is not offered in westeurope; "
     "regions with it: eastus, eastus2, southcentralus, westus3, swedencentral, uksouth"),
    ("disk-over-ephemeral", {**BASE, "gpuPools": [{"name": "t4", "instanceType": "Standard_NC4as_T4_v3"}]},
     "gpuPools[0].diskGb: 200 is larger than the 176 GB ephemeral OS disk Standard_NC4as_T4_v3 can hold; allowed: 50 to 176"),
    ("system-disk-over-ephemeral", {**BASE, "systemPool": {"diskGb": 200}},
     "systemPool.diskGb: 200 is larger than the 150 GB ephemeral OS disk Standard_D4ds_v5 can hold; allowed: 30 to 150"),
    ("unknown-vm-size", {**BASE, "gpuPools": [{"name": "t4", "instanceType": "Standard_NC4as_T4_v2", "diskGb": 100}]},
     "gpuPools[0].instanceType: 'Standard_NC4as_T4_v2' is not a known azure GPU type (did you mean Standard_NC4as_T4_v3?); "
     f"allowed: {GPU_TYPES}"),
    ("mig-partition-aks-cannot-make", {**BASE, "gpuPools": [{"name": "h100", "instanceType": "Standard_ND96isr_H100_v5", "diskGb": 500,
                                                           "sharing": {"mig": {"profile": "1g.20gb"}}}]},
     "gpuPools[0].sharing.mig.profile: '1g.20gb' is not a partition AKS can create on Standard_ND96isr_H100_v5; "
     "allowed: 1g.10gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb"),
    ("private-cluster-replaced", {**BASE, "azure": {"privateCluster": True}},
     "azure.privateCluster: true is replaced by network.privateApi, the same choice on every cloud; "
     "allowed: remove azure.privateCluster and set network.privateApi: true"),
    ("slash-in-tag", {**BASE, "tags": {"team/owner": "ml"}},
     "tags.team/owner: Azure tag names cannot contain '/'; use '-' or '.' instead"),
    ("bad-admin-group", {**BASE, "azure": {"adminGroupObjectIds": ["ml-admins"]}},
     "azure.adminGroupObjectIds[0]: 'ml-admins' is not an Entra ID object id (a UUID)"),
    ("bad-tenant", {**BASE, "azure": {"tenantId": "contoso.onmicrosoft.com"}},
     "azure.tenantId: 'contoso.onmicrosoft.com' is not an Entra ID tenant id (a UUID)"),
    ("calico", {**BASE, "azure": {"networkPolicy": "calico"}}, "azure.networkPolicy: 'calico' is not allowed; allowed: cilium, azure"),
    ("bad-deployer-type", {**BASE, "azure": {"deployerPrincipalType": "Group"}},
     "azure.deployerPrincipalType: 'Group' is not allowed; allowed: User, ServicePrincipal"),
    ("unknown-azure-key", {**BASE, "azure": {"privateClusters": True}},
     "azure.privateClusters: unknown key (did you mean privateCluster?); allowed keys: adminGroupObjectIds, deployerPrincipalType, "
     "kubeloginMode, maintenanceDay, maintenanceStart, networkPolicy, nodeOsUpgradeChannel, privateCluster, tenantId, upgradeChannel"),
]


@pytest.mark.parametrize("raw,expected", [(raw, expected) for _, raw, expected in BAD_AZURE], ids=[c[0] for c in BAD_AZURE])
def test_bad_azure_config_is_reported_in_one_line(raw, expected):
    assert expected in config_errors(raw)


def test_mig_profile_aks_can_make_is_accepted():
    plan = plan_for({**BASE, "gpuPools": [{"name": "h100", "instanceType": "Standard_ND96isr_H100_v5", "diskGb": 500,
                                           "sharing": {"mig": {"profile": "2g.20gb"}}}]})
    assert agent_pool(plan, "h100")["gpuInstanceProfile"] == "MIG2g"


# --- the stack end to end --------------------------------------------------------------------


def test_prod_azure_stack_previews_end_to_end(prod):
    # The example stack's API ranges are RFC 5737 placeholders and its capacity reservation
    # group sits under the all-zero subscription; nothing else is warned about.
    assert prod.warnings and all("documentation range (RFC 5737)" in w or w.startswith("gpuPools[0].capacity[0].reserved.id: ")
                                 for w in prod.warnings)
    assert sum("all-zero subscription" in w for w in prod.warnings) == 1
    assert prod.outputs["cloud"] == "azure" and prod.outputs["region"] == "eastus"
    assert prod.outputs["clusterName"] == "ml-prod-azure" and prod.outputs["gpuPools"] == ["h100", "t4infer"]
    types = {r.type for r in prod.resources}
    for type_ in (CLUSTER, AGENT_POOL, "azure-native:resources:ResourceGroup", "azure-native:network:VirtualNetwork",
                  "azure-native:network:Subnet", "azure-native:managedidentity:UserAssignedIdentity",
                  "azure-native:operationalinsights:Workspace", "pulumi:providers:kubernetes"):
        assert type_ in types, type_
    backend = prod.one("mlclusters:clouds:AksCluster")
    assert all(r.parent for r in prod.resources if r.type.startswith("azure-native:"))
    assert backend.parent and backend.parent.endswith("::ml-prod-azure")


def test_same_stack_gives_the_same_plan(prod):
    with fresh_plans():
        again = plan_for_stack("prod-azure")
    assert [(r.urn, redact(r.inputs)) for r in again.resources] == [(r.urn, redact(r.inputs)) for r in prod.resources]


def _gpu_daemonset_tolerations(plan):
    return {
        r.name: inputs(r)["spec"]["template"]["spec"]["tolerations"]
        for r in plan.by_type("kubernetes:apps/v1:DaemonSet")
    }


def test_gpu_node_agents_tolerate_the_aks_spot_taint_only_when_a_pool_is_spot():
    # With a warm node too: its placeholder (components/platform/warm.py) must land on the spot
    # node as the GPU agents do.
    spot = plan_for({**BASE, "gpuPools": [{"name": "t4", "instanceType": "Standard_NC4as_T4_v3", "spot": True, "diskGb": 128,
                                           "warmNodes": 1}]})
    for name, tolerations in _gpu_daemonset_tolerations(spot).items():
        assert aks.SPOT_TOLERATION in tolerations, name
        assert {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"} in tolerations, name
    (placeholder,) = [r for r in spot.by_type("kubernetes:apps/v1:Deployment") if r.name == "ml-test-warm-t4"]
    warm_tolerations = inputs(placeholder)["spec"]["template"]["spec"]["tolerations"]
    assert aks.SPOT_TOLERATION in warm_tolerations
    assert {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"} in warm_tolerations
    on_demand = plan_for({**BASE, "gpuPools": [{"name": "t4", "instanceType": "Standard_NC4as_T4_v3", "diskGb": 128}]})
    tolerations = _gpu_daemonset_tolerations(on_demand)
    assert tolerations and all(aks.SPOT_TOLERATION not in t for t in tolerations.values())


# --- deploy order, from the plan's dependencies (the JSON plan's dependsOn) -------------------

ORDERED = {**BASE, "gpuPools": POOLS, "cpuPools": [{"name": "web", "instanceType": "Standard_D8ds_v5", "maxNodes": 5, "diskGb": 128}]}


@pytest.fixture(scope="module")
def ordered():
    return plan_for(ORDERED)


def test_platform_waits_for_the_system_pool_and_the_deployer_grant_only(ordered):
    system = ordered.one(AGENT_POOL, "ml-test-system")
    grant = ordered.one(ROLE, "ml-test-deployer-admin")
    wait = ordered.one("time:index/sleep:Sleep")
    worker_pools = {ordered.one(AGENT_POOL, f"ml-test-{p}").urn for p in ("a100", "t4spot", "web")}
    k8s = [r for r in ordered.resources if r.type.startswith("kubernetes:") or r.type == "pulumi:providers:kubernetes"]
    assert len(k8s) > 20
    for r in k8s:
        deps = set(r.dependencies)
        assert {system.urn, grant.urn, wait.urn} <= deps, r.name
        assert not deps & worker_pools, r.name


def test_rbac_grant_is_followed_by_the_documented_propagation_wait(ordered):
    # AKS docs, "Use Azure RBAC for Kubernetes Authorization" (manage-azure-rbac): new role
    # assignments can take up to five minutes to propagate to the authorization server.
    wait = ordered.one("time:index/sleep:Sleep")
    grant = ordered.one(ROLE, "ml-test-deployer-admin")
    assert inputs(wait)["createDuration"] == "5m"
    assert set(inputs(wait)["triggers"]) == {"roleAssignment"}  # a re-created grant waits again
    assert grant.urn in wait.dependencies


def test_agent_pools_are_created_one_after_another(ordered):
    # AKS rejects a second agent-pool operation while one runs (409 OperationNotAllowed).
    chain = [ordered.one(CLUSTER)] + [ordered.one(AGENT_POOL, f"ml-test-{p}") for p in ("system", "web", "a100", "t4spot")]
    for before, after in zip(chain, chain[1:], strict=False):
        assert before.urn in after.dependencies, (before.name, after.name)
    # ...and no pool waits for a later one.
    for i, pool in enumerate(chain[1:], start=1):
        assert not {c.urn for c in chain[i + 1:]} & set(pool.dependencies), pool.name


def test_worker_pools_are_deleted_before_they_are_replaced(ordered):
    # azure-native replaces an AgentPool whose vmSize or gpuInstanceProfile changes
    # (provider/pkg/gen/replacement.go, forceNewMap ContainerService.AgentPool). The user's
    # pools keep their name (it is their node label), so the old pool must go first; the
    # system pool instead changes its name and is created before the old one is deleted.
    for pool in ("web", "a100", "t4spot"):
        assert ordered.one(AGENT_POOL, f"ml-test-{pool}").delete_before_replace is True, pool
    assert ordered.one(AGENT_POOL, "ml-test-system").delete_before_replace is False
    assert all(p.ignore_changes == ("count",) for p in ordered.by_type(AGENT_POOL))


def test_cpu_pool_is_a_user_pool_scaling_from_zero_with_portable_labels(ordered):
    web = agent_pool(ordered, "web")
    assert (web["mode"], web["vmSize"], web["osSKU"]) == ("User", "Standard_D8ds_v5", "AzureLinux")
    assert (web["enableAutoScaling"], web["minCount"], web["maxCount"], web["count"]) == (True, 0, 5, 0)
    assert web["nodeTaints"] == [] and "gpuProfile" not in web
    assert web["nodeLabels"] == {conventions.GPU_NODE_LABEL: "false", conventions.POOL_LABEL: "web", conventions.SPOT_LABEL: "false"}
    assert web["osDiskType"] == "Ephemeral" and web["osDiskSizeGB"] == 128


# --- kubelogin follows who deploys -------------------------------------------------------------


@pytest.mark.parametrize("azure,mode", [
    ({}, "azurecli"),
    ({"deployerPrincipalType": "ServicePrincipal"}, "spn"),
    ({"deployerPrincipalType": "ServicePrincipal", "kubeloginMode": "workloadidentity"}, "workloadidentity"),
    ({"deployerPrincipalType": "ServicePrincipal", "kubeloginMode": "msi"}, "msi"),
])
def test_kubelogin_mode_follows_the_deployer(azure, mode):
    # kubelogin get-token --login {azurecli,spn,workloadidentity,msi} (Azure/kubelogin
    # docs/book/src/cli/get-token.md): spn reads AZURE_CLIENT_ID/AZURE_CLIENT_SECRET (or the
    # AAD_SERVICE_PRINCIPAL_* pair), workloadidentity AZURE_CLIENT_ID, AZURE_TENANT_ID and
    # AZURE_FEDERATED_TOKEN_FILE; azurecli needs an `az login` session, which CI lacks.
    plan = plan_for({**BASE, "azure": azure})
    exec_ = kubeconfig_doc(plan)["users"][0]["user"]["exec"]
    assert exec_["args"] == ["get-token", "--login", mode, "--server-id", aks.AKS_ENTRA_SERVER_ID]


# --- prod operations -------------------------------------------------------------------------


def test_prod_has_maintenance_windows_for_both_auto_upgraders(prod, dev):
    configs = {inputs(m)["configName"]: inputs(m) for m in prod.by_type("azure-native:containerservice:MaintenanceConfiguration")}
    # AKS docs "Auto-upgrade node OS images": the cluster channel uses the maintenance window
    # aksManagedAutoUpgradeSchedule, the node OS channel aksManagedNodeOSUpgradeSchedule.
    assert set(configs) == {"aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"}
    for config in configs.values():
        assert config["resourceName"] == "ml-prod-azure" and config["resourceGroupName"] == "ml-prod-azure-rg"
        assert config["maintenanceWindow"] == {
            "schedule": {"weekly": {"intervalWeeks": 1, "dayOfWeek": "Sunday"}},
            "durationHours": 4, "startTime": "03:00", "utcOffset": "+00:00",
        }
    assert dev.by_type("azure-native:containerservice:MaintenanceConfiguration") == []


def test_prod_turns_on_defender_image_cleaner_and_the_audit_log(prod, dev):
    security = cluster(prod)["securityProfile"]
    assert security["defender"] == {"logAnalyticsWorkspaceResourceId": "ml-prod-azure-logs-id", "securityMonitoring": {"enabled": True}}
    assert security["imageCleaner"] == {"enabled": True, "intervalHours": 168}
    audit = inputs(prod.one("azure-native:monitor:DiagnosticSetting", "ml-prod-azure-audit"))
    assert audit["resourceUri"] == "ml-prod-azure-aks-id" and audit["workspaceId"] == "ml-prod-azure-logs-id"
    assert audit["logs"] == [{"category": "kube-audit", "enabled": True}]
    assert cluster(dev)["securityProfile"] == {"workloadIdentity": {"enabled": True}}
    assert dev.by_type("azure-native:monitor:DiagnosticSetting") == []


# --- what AKS would refuse, refused first ---------------------------------------------------------

MORE_BAD_AZURE = [
    # AKS docs "Auto-upgrade node OS images" (auto-upgrade-node-image): the cluster channel
    # node-image sets the node OS channel to NodeImage; another node OS channel is refused.
    ("node-image-with-security-patch", {**BASE, "azure": {"upgradeChannel": "node-image", "nodeOsUpgradeChannel": "SecurityPatch"}},
     "azure.nodeOsUpgradeChannel: 'SecurityPatch' cannot be combined with upgradeChannel 'node-image', which upgrades node images itself; allowed: NodeImage"),
    ("user-with-spn", {**BASE, "azure": {"kubeloginMode": "spn"}},
     "azure.kubeloginMode: 'spn' signs in as an application, but deployerPrincipalType is 'User'; allowed: azurecli, or set deployerPrincipalType ServicePrincipal"),
    ("bad-kubelogin-mode", {**BASE, "azure": {"kubeloginMode": "devicecode"}},
     "azure.kubeloginMode: 'devicecode' is not allowed; allowed: azurecli, spn, workloadidentity, msi"),
]


@pytest.mark.parametrize("raw,expected", [(raw, expected) for _, raw, expected in MORE_BAD_AZURE], ids=[c[0] for c in MORE_BAD_AZURE])
def test_configs_aks_would_refuse_are_reported_first(raw, expected):
    assert expected in config_errors(raw)


def test_azure_rbac_with_a_foreign_tenant_is_refused():
    # AKS docs, "Use Azure RBAC for Kubernetes Authorization": the Entra tenant configured for
    # authentication must be the tenant of the subscription that holds the cluster.
    own, foreign = "11111111-2222-4333-8444-555555555555", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    values = {**flat_config({**BASE, "azure": {"tenantId": foreign}}), "azure-native:tenantId": own}
    with pytest.raises(config_module.ConfigError) as err:
        engine.run_program("test", values)
    assert err.value.problems == [
        f"azure.tenantId: '{foreign}' is not the subscription's tenant (azure-native:tenantId '{own}'); "
        f"Azure RBAC for Kubernetes needs the subscription's own tenant; allowed: {own} or leave tenantId unset"
    ]
    same = {**flat_config({**BASE, "azure": {"tenantId": own}}), "azure-native:tenantId": own}
    assert cluster(engine.run_program("test", same))["aadProfile"]["tenantID"] == own


def test_catalog_temp_disks_match_microsofts_size_pages():
    # MicrosoftDocs/azure-compute-docs articles/virtual-machines/sizes/gpu-accelerated/
    # {ncast4v3,nca100v4,ndma100v4,ncadsh100v5,ndh100v5}-series.md, "Temp Disk Size (GiB)".
    published = {
        "Standard_NC4as_T4_v3": 176, "Standard_NC8as_T4_v3": 352, "Standard_NC16as_T4_v3": 352, "Standard_NC64as_T4_v3": 2816,
        "Standard_NC24ads_A100_v4": 64, "Standard_NC48ads_A100_v4": 128, "Standard_NC96ads_A100_v4": 256,
        "Standard_ND96amsr_A100_v4": 6400, "Standard_NC40ads_H100_v5": 3576, "Standard_ND96isr_H100_v5": 1024,
    }
    types = catalog.cloud("azure").instance_types
    assert {n: types[n].ephemeral_os_disk_gb for n in published} == published
    assert config_errors({**BASE, "gpuPools": [{"name": "t4", "instanceType": "Standard_NC64as_T4_v3", "diskGb": 2880}]}) == [
        "gpuPools[0].diskGb: 2880 is larger than the 2816 GB ephemeral OS disk Standard_NC64as_T4_v3 can hold; allowed: 50 to 2816"]


def test_platform_pods_tolerate_the_system_pool_taint(prod):
    # The system pool carries CriticalAddonsOnly=true:NoSchedule; every pod the platform puts
    # there (kube-prometheus-stack's components) must tolerate it or stay Pending.
    values = inputs(prod.one("kubernetes:helm.sh/v3:Release", "ml-prod-azure-monitoring-kube-prometheus-stack"))["values"]
    found = []

    def walk(value, path):
        if isinstance(value, dict):
            for key, child in value.items():
                if key == "tolerations":
                    found.append((path, child))
                else:
                    walk(child, f"{path}.{key}")

    walk(values, "")
    assert {p for p, _ in found} >= {".prometheus.prometheusSpec", ".alertmanager.alertmanagerSpec", ".grafana",
                                     ".kube-state-metrics", ".prometheusOperator"}
    for path, tolerations in found:
        assert {"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"} in tolerations, path


def test_json_plan_records_the_aks_order(tmp_path, capsys):
    # What a reviewer reads: `python -m preview prod-azure --json plan.json`, field dependsOn.
    import json

    from preview.__main__ import main

    out = tmp_path / "plan.json"
    assert main(["prod-azure", "--quiet", "--json", str(out)]) == 0, capsys.readouterr().out
    doc = json.loads(out.read_text())
    by_name = {(r["type"], r["name"]): r for r in doc["resources"]}
    provider = by_name[("pulumi:providers:kubernetes", "ml-prod-azure-k8s")]
    system = by_name[(AGENT_POOL, "ml-prod-azure-system")]
    wait = by_name[("time:index/sleep:Sleep", "ml-prod-azure-deployer-admin-propagation")]
    h100 = by_name[(AGENT_POOL, "ml-prod-azure-h100")]
    assert {system["urn"], wait["urn"]} <= set(provider["dependsOn"]) and h100["urn"] not in provider["dependsOn"]
    # One pool after another, in the stack's order: system, the CPU pool, h100, t4infer.
    cpu = by_name[(AGENT_POOL, "ml-prod-azure-cpu")]
    assert system["urn"] in cpu["dependsOn"] and cpu["urn"] in h100["dependsOn"]
    assert h100["urn"] in by_name[(AGENT_POOL, "ml-prod-azure-t4infer")]["dependsOn"]


def autoscaler_tags(plan, pool):
    return {k: v for k, v in agent_pool(plan, pool)["tags"].items() if k.startswith("k8s.io_cluster-autoscaler_")}


def test_gpu_pools_tell_the_autoscaler_their_shared_capacity_for_scale_from_zero(dev, prod):
    """D6: from zero nodes, Cluster Autoscaler's Azure provider takes nvidia.com/gpu from the VM
    SKU (1 on Standard_NC4as_T4_v3) unless the scale set carries
    `k8s.io_cluster-autoscaler_node-template_resources_<name with _ for />` tags
    (kubernetes/autoscaler cluster-autoscaler-1.35.2 cloudprovider/azure azure_util.go,
    azure_template.go). A T4 time-sliced x4 advertises 4; one A100 cut into 3g.40gb, 2 slices."""
    prefix = "k8s.io_cluster-autoscaler_node-template_resources_"
    assert autoscaler_tags(prod, "t4infer") == {prefix + "nvidia.com_gpu": "4"}
    # The InfiniBand pool also offers the RDMA shared device plugin's rdma/shared_ib (fabric.py).
    assert autoscaler_tags(prod, "h100") == {prefix + "nvidia.com_gpu": "8", prefix + "rdma_shared_ib": "63"}
    assert autoscaler_tags(dev, "a100") == {prefix + "nvidia.com_gpu": "2"}
    assert autoscaler_tags(dev, "t4spot") == {prefix + "nvidia.com_gpu": "1"}
    assert autoscaler_tags(prod, "cpu") == {}
    # The stack's own tags stay on every pool.
    assert agent_pool(prod, "t4infer")["tags"]["team"] == "ml-platform"


def test_cluster_side_operations_wait_for_the_last_agent_pool(prod):
    """Q4: AKS refuses a second operation on a cluster while one runs (409
    OperationNotAllowed); the maintenance configurations, the audit diagnostic setting and the
    Container Insights association are created after the last pool of the chain."""
    last = next(p for p in prod.by_type(AGENT_POOL) if p.name == "ml-prod-azure-t4infer")
    waiting = [*prod.by_type("azure-native:containerservice:MaintenanceConfiguration"),
               # The settings on the cluster (the stores' settings act on storage accounts).
               *[d for d in prod.by_type("azure-native:monitor:DiagnosticSetting") if inputs(d)["resourceUri"] == "ml-prod-azure-aks-id"],
               *prod.by_type("azure-native:monitor:DataCollectionRuleAssociation")]
    assert len(waiting) >= 4
    for resource in waiting:
        assert last.urn in resource.dependencies, resource.name


def test_spot_pools_list_the_taint_aks_adds_so_later_updates_keep_it(dev):
    """Q5: AKS appends kubernetes.azure.com/scalesetpriority=spot:NoSchedule to a spot pool's
    nodeTaints; a later PUT without it fails (pulumi-azure-native#959). Spot pools send it
    themselves; on-demand pools do not."""
    spot_taint = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
    assert agent_pool(dev, "t4spot")["nodeTaints"] == ["nvidia.com/gpu=present:NoSchedule", spot_taint]
    assert spot_taint not in agent_pool(dev, "a100")["nodeTaints"]

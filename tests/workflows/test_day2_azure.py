"""The AKS day-2 change matrix on the plan (tests/workflows/day2.py classifies).

Facts, each with its source (read at the versions the installed SDK bridges: pulumi-azure-native
3.29.0, containerservice API 2025-09-01):
- pulumi/pulumi-azure-native provider/pkg/gen/replacement.go (forceNewMap, ContainerService
  AgentPool): vmSize, gpuInstanceProfile, nodePublicIPTags force a replacement.
- hashicorp/terraform-provider-azurerm internal/services/containers/
  kubernetes_cluster_node_pool_resource.go: priority, eviction_policy, spot_max_price,
  gpu_instance, gpu_driver ForceNew; os_disk_size_gb, os_disk_type, zones,
  host_encryption_enabled are in the pool-cycling list (AKS refuses them in place). The program
  names these in USER_POOL_REPLACE_ON_CHANGES; the engine then replaces on them.
- AKS updates min/max count, labels, taints, tags, orchestratorVersion and the cluster's
  authorized IP ranges, admin groups and upgrade channels in place (AKS REST API
  Agent Pools / Managed Clusters - Create Or Update, 2025-09-01).
"""

from __future__ import annotations


import pytest

from components.clouds.azure.cluster import USER_POOL_REPLACE_ON_CHANGES
from tests.conftest import config_errors, plan_for
from tests.workflows.day2 import (
    Fact,
    assert_no_stateful_replaced,
    assert_replace_is_clash_free,
    assert_warm_nodes_toggle_only_their_objects,
    by_name,
    classify,
    plan_stack_changed,
    preview_change,
)

AZN = "pulumi/pulumi-azure-native provider/pkg/gen/replacement.go"
AZURERM = "terraform-provider-azurerm kubernetes_cluster_node_pool_resource.go"
AKS_API = "AKS REST API 2025-09-01 Agent Pools/Managed Clusters Create Or Update"
POOL = "azure-native:containerservice:AgentPool"
CLUSTER = "azure-native:containerservice:ManagedCluster"

FACTS = [
    Fact(POOL, "vmSize", "replace", AZN),
    Fact(POOL, "gpuInstanceProfile", "replace", AZN),
    Fact(POOL, "scaleSetPriority", "replace", AZURERM + " priority ForceNew"),
    Fact(POOL, "scaleSetEvictionPolicy", "replace", AZURERM + " eviction_policy ForceNew"),
    Fact(POOL, "spotMaxPrice", "replace", AZURERM + " spot_max_price ForceNew"),
    Fact(POOL, "gpuProfile", "replace", AZURERM + " gpu_driver ForceNew"),
    Fact(POOL, "osDiskSizeGB", "replace", AZURERM + " cycleNodePoolProperties"),
    Fact(POOL, "osDiskType", "replace", AZURERM + " cycleNodePoolProperties"),
    Fact(POOL, "availabilityZones", "replace", AZURERM + " cycleNodePoolProperties"),
    Fact(POOL, "enableEncryptionAtHost", "replace", AZURERM + " cycleNodePoolProperties"),
    Fact(POOL, "agentPoolName", "replace", "ARM: the name is part of the resource id"),
    Fact(POOL, "capacityReservationGroupID", "replace",
         "learn.microsoft.com azure/virtual-machines/capacity-reservation-remove-virtual-machine-scale-set: "
         "a regional scale set changes its capacity reservation group only while deallocated"),
    Fact(POOL, "minCount", "update", AKS_API),
    Fact(POOL, "maxCount", "update", AKS_API),
    Fact(POOL, "nodeLabels", "update", AKS_API),
    Fact(POOL, "orchestratorVersion", "update", AKS_API),
    Fact(CLUSTER, "kubernetesVersion", "update", AKS_API),
    Fact(CLUSTER, "apiServerAccessProfile.authorizedIPRanges", "update", AKS_API),
    Fact(CLUSTER, "aadProfile.adminGroupObjectIDs", "update", AKS_API),
    Fact(CLUSTER, "autoUpgradeProfile", "update", AKS_API),
    Fact(CLUSTER, "networkProfile", "replace", "AKS: network plugin and ranges cannot change on a cluster (azurerm network_profile ForceNew)"),
]
DEPLOYER_FACTS = [*FACTS, Fact("azure-native:authorization:RoleAssignment", "principalId", "replace",
                                "Azure RBAC docs: a role assignment's principal, role and scope cannot be updated")]
STATEFUL = {
    "azure-native:storage:StorageAccount", "azure-native:storage:BlobContainer",
    "azure-native:containerregistry:Registry", "azure-native:keyvault:Vault",
    "azure-native:resources:ResourceGroup", "azure-native:network:VirtualNetwork", CLUSTER,
}

BASE = {"cloud": "azure", "region": "eastus", "network": {"apiAllowedCidrs": ["203.0.113.0/24"]}}
T4 = {"name": "t4", "instanceType": "Standard_NC4as_T4_v3", "minNodes": 0, "maxNodes": 4, "diskGb": 128}


def stack(**overrides):
    raw = {**BASE, "gpuPools": [T4]}
    raw.update(overrides)
    return raw


@pytest.fixture(scope="module")
def before():
    return plan_for(stack())


def change(before, after_raw):
    return preview_change(before, after_raw, FACTS, STATEFUL)


def test_every_replace_on_changes_field_is_backed_by_a_fact():
    replace_paths = {f.path for f in FACTS if f.type == POOL and f.effect == "replace"}
    assert set(USER_POOL_REPLACE_ON_CHANGES) <= replace_paths


@pytest.mark.parametrize("pool_change, fields", [
    ({"spot": True}, {"scaleSetPriority"}),          # D1
    ({"diskGb": 150}, {"osDiskSizeGB"}),             # D1
    ({"instanceType": "Standard_NC8as_T4_v3"}, {"vmSize"}),
])
def test_pool_changes_aks_refuses_in_place_replace_the_pool_delete_first(before, pool_change, fields):
    pool = change(before, stack(gpuPools=[{**T4, **pool_change}]))["ml-test-t4"]
    assert pool.action == "replace", pool
    assert fields <= set(pool.paths)
    # The new pool keeps the name (it is the pool label): the old one goes first.
    assert pool.delete_before_replace and "agentPoolName" not in pool.paths
    # The engine itself replaces: the field is in the pool's replaceOnChanges, not just a table row.
    assert any(r.startswith("replaceOnChanges") for r in pool.replaced_by)


def test_a_pool_given_a_capacity_reservation_group_is_replaced_after_the_grant(before):
    """A GPU pool moves onto a capacity reservation group: AKS takes the group at pool creation
    (components/clouds/azure/capacity.py), so the pool is replaced, the old one first, and the
    new one waits for the cluster identity's grant on the group's resource group."""
    group = ("/subscriptions/5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f/resourceGroups/gpu-capacity"
             "/providers/Microsoft.Compute/capacityReservationGroups/nc-t4")
    outcomes = change(before, stack(gpuPools=[{**T4, "capacity": [{"reserved": {"id": group}}]}]))
    pool = outcomes["ml-test-t4"]
    assert pool.action == "replace" and "capacityReservationGroupID" in pool.paths and pool.delete_before_replace
    assert any(r.startswith("replaceOnChanges") for r in pool.replaced_by)
    assert outcomes["ml-test-capacity-reservations-0"].action == "create"
    assert outcomes["ml-test-capacity-reservations-0-propagation"].action == "create"
    # Nothing else about the cluster changes.
    assert set(outcomes) == {"ml-test-t4", "ml-test-capacity-reservations-0", "ml-test-capacity-reservations-0-propagation"}


@pytest.mark.parametrize("channel", ["stable", "rapid"])
def test_minor_upgrade_channels_leave_the_version_to_aks(before, channel):
    """D2: AKS moved the cluster from 1.34 to 1.35 on its own; the next `pulumi up` (any
    change, here maxNodes) must not send 1.34 back: AKS refuses a downgrade."""
    created = plan_for(stack(kubernetesVersion="1.34", azure={"upgradeChannel": channel}))
    after = plan_for(stack(kubernetesVersion="1.34", azure={"upgradeChannel": channel}, gpuPools=[{**T4, "maxNodes": 6}]))
    assert "kubernetesVersion" in after.one(CLUSTER).ignore_changes
    for pool in after.by_type(POOL):
        assert "orchestratorVersion" in pool.ignore_changes, pool.name
    assert by_name(classify(created, after, FACTS))["ml-test-t4"].paths == ("maxCount",)


def test_patch_channel_keeps_pulumi_in_charge_of_the_minor(before):
    """The other side of D2: on `patch` (the default) a kubernetesVersion bump is Pulumi's,
    and it upgrades the control plane and every pool in place."""
    assert "kubernetesVersion" not in before.one(CLUSTER).ignore_changes
    outcomes = change(before, stack(kubernetesVersion="1.34"))
    assert outcomes["ml-test-aks"].action == "update" and "kubernetesVersion" in outcomes["ml-test-aks"].paths
    pools = [o for o in outcomes.values() if o.type == POOL]
    assert pools and all(o.action == "update" and "orchestratorVersion" in o.paths for o in pools)


A100 = {"name": "a100", "instanceType": "Standard_NC24ads_A100_v4", "maxNodes": 2, "diskGb": 64,
        "sharing": {"mig": {"profile": "1g.10gb"}}}
# The system AgentPool's name hashes what AKS cannot change in place (system_pool_name), so a
# new system pool is created next to the old one and the old one is deleted after.
NAME_PATHS = {POOL: "agentPoolName"}


def test_min_max_change_is_an_in_place_update(before):
    pool = change(before, stack(gpuPools=[{**T4, "minNodes": 1, "maxNodes": 8}]))["ml-test-t4"]
    assert pool.action == "update" and set(pool.paths) == {"minCount", "maxCount", "count"}
    # count differs only in the program: it is in ignoreChanges (tests/workflows/test_day2_sizes.py).


def test_time_slicing_updates_labels_and_autoscaler_tags_in_place(before):
    pool = change(before, stack(gpuPools=[{**T4, "sharing": {"timeSlicing": {"replicas": 4}}}]))["ml-test-t4"]
    assert pool.action == "update"
    assert {p.split(".")[0] for p in pool.paths} == {"nodeLabels", "tags"}


def test_mig_profile_change_replaces_the_pool_delete_first():
    before = plan_for(stack(gpuPools=[A100]))
    pool = change(before, stack(gpuPools=[{**A100, "sharing": {"mig": {"profile": "3g.40gb"}}}]))["ml-test-a100"]
    assert "gpuInstanceProfile" in pool.paths and pool.action == "replace" and pool.delete_before_replace


def test_system_pool_size_change_creates_a_new_system_pool_first(before):
    outcomes = classify(before, plan_for(stack(systemPool={"instanceType": "Standard_D8ds_v5"})), FACTS)
    (system,) = [o for o in outcomes.values() if o.type == POOL]
    # Replaced under a new agentPoolName, created before the old one is deleted: no clash, and
    # the cluster keeps a System pool throughout.
    assert system.action == "replace" and "agentPoolName" in system.paths and not system.delete_before_replace
    assert_replace_is_clash_free(system, {}, NAME_PATHS)


@pytest.mark.parametrize("changed, path", [
    ({"network": {"apiAllowedCidrs": ["198.51.100.0/24"]}}, "apiServerAccessProfile.authorizedIPRanges"),
    ({"azure": {"adminGroupObjectIds": ["3f2b8c1e-5a4d-4e6f-9b7a-1c2d3e4f5a6b"]}}, "aadProfile.adminGroupObjectIDs"),
    ({"azure": {"upgradeChannel": "node-image"}}, "autoUpgradeProfile.upgradeChannel"),
])
def test_cluster_settings_update_the_cluster_in_place(before, changed, path):
    cluster = change(before, stack(**changed))["ml-test-aks"]
    assert cluster.action == "update" and path in cluster.paths


def test_dr_off_on_prod_deletes_only_protected_replicas_which_the_engine_refuses():
    """Turning DR off on prod-azure would delete the replica account and its containers; all
    are protected in prod (pulumi refuses to delete a protected resource)."""
    before = plan_stack_changed("prod-azure")
    outcomes = classify(before, plan_stack_changed("prod-azure", drop=["dr"]), FACTS)
    gone = [urn for urn, o in outcomes.items() if o.action in ("delete", "replace") and o.type in STATEFUL]
    protected = {r.urn for r in before.resources if r.protect}
    assert set(gone) <= protected


def test_minor_channel_with_a_node_os_channel_it_overrides_is_refused_at_config_time():
    problems = config_errors(stack(azure={"upgradeChannel": "node-image", "nodeOsUpgradeChannel": "SecurityPatch"}))
    assert len(problems) == 1 and problems[0].startswith("azure.nodeOsUpgradeChannel")


def test_a_new_deployer_gets_a_new_grant_and_the_same_cluster(before, monkeypatch):
    """Q10: a CI service principal takes over from a user. ARM cannot change a role
    assignment's principal (Azure RBAC docs: RoleAssignmentUpdateNotPermitted), so the grant
    is replaced; azure-native names each assignment with a new GUID, so the new one is created
    before the old one goes, and the RBAC propagation wait runs again (its trigger is the
    assignment id). The Kubernetes provider gets the service principal's kubelogin mode for
    the same cluster, so no Kubernetes object is replaced."""
    from preview import mocks

    client = mocks.CALLS["azure-native:authorization:getClientConfig"]
    monkeypatch.setitem(mocks.CALLS, "azure-native:authorization:getClientConfig",
                        lambda a: {**client(a), "objectId": "00000000-0000-4000-8000-0000000000c1"})
    outcomes = classify(before, plan_for(stack(azure={"deployerPrincipalType": "ServicePrincipal"})), DEPLOYER_FACTS)
    actions = {(o.type, o.action) for o in outcomes.values()}
    assert actions == {("azure-native:authorization:RoleAssignment", "replace"), ("pulumi:providers:kubernetes", "update")}
    grant = next(o for o in outcomes.values() if o.type == "azure-native:authorization:RoleAssignment")
    assert {"principalId", "principalType"} <= set(grant.paths) and not grant.delete_before_replace
    provider = next(o for o in outcomes.values() if o.type == "pulumi:providers:kubernetes")
    assert provider.paths == ("kubeconfig",)


def test_turning_pipelines_and_tuning_on_only_adds_resources():
    """prod-azure turns on pipelines and tuning; from the same stack without them, turning
    them on creates Argo Workflows, Katib and their databases, the pipeline namespace's
    runner Role, artifact repository and policies, and changes nothing that exists."""
    import copy

    from components import config as config_module
    from preview import engine
    from tests.conftest import plan_for_stack

    values, _ = engine.read_stack_config("prod-azure")
    raw, problems = config_module.raw_from_pulumi(values)
    assert not problems
    platform = copy.deepcopy(raw["platform"])
    for part in ("pipelines", "tuning"):
        platform["workloads"].pop(part)
    outcomes = classify(plan_stack_changed("prod-azure", set_keys={"platform": platform}), plan_for_stack("prod-azure"), FACTS)
    changed = sorted((o.name, o.action, o.paths) for o in outcomes.values() if o.action != "create")
    # Only the DR parity record (components/platform/backup.py) updates: it fingerprints the
    # primary's platform layers, which the standby must match (dr-standby-matches-primary).
    assert changed == [("ml-prod-azure-backup-parity", "update", ("data.parity",))], changed
    created = {o.type.rsplit(":", 1)[-1] for o in outcomes.values()}
    assert {"Release", "StatefulSet", "CustomResourceDefinition", "MutatingWebhookConfiguration", "Role", "ConfigMap"} <= created


def test_switching_a_live_stack_to_nap_replaces_its_pools_with_nodepools(before):
    """An agent-pool stack turns on node auto-provisioning (docs/day2.md): the cluster and the
    system pool are updated in place (AKS: `az aks update --node-provisioning-mode Auto` and
    `az aks nodepool update --disable-cluster-autoscaler`, learn.microsoft.com/azure/aks/
    use-node-auto-provisioning and cluster-autoscaler), the GPU agent pool is deleted (AKS
    drains its nodes) and the pool comes back as an AKSNodeClass and a NodePool; nothing is
    replaced. AKS refuses NAP while any pool autoscales, and Pulumi updates the cluster before
    the system pool and deletes the old pool last: hence the docs' step before `pulumi up`."""
    after = plan_for(stack(provisioner="node-auto-provisioning", systemPool={"minNodes": 2, "maxNodes": 2}))
    outcomes = classify(before, after, [*FACTS, Fact(CLUSTER, "nodeProvisioningProfile", "update", AKS_API)])
    assert_no_stateful_replaced(outcomes, STATEFUL)
    got = {o.name: (o.action, set(o.paths)) for o in by_name(outcomes).values()}
    assert got == {
        "ml-test-aks": ("update", {"nodeProvisioningProfile.mode", "nodeProvisioningProfile.defaultNodePools"}),
        "ml-test-system": ("update", {"enableAutoScaling", "minCount", "maxCount"}),
        "ml-test-t4": ("delete", set()),
        "ml-test-t4-nodeclass": ("create", set()),
        "ml-test-t4-nodepool": ("create", set()),
    }
    # The NodePool keeps the pool's name and portable labels: workloads and Kueue flavors that
    # select the pool find its new nodes.
    nodepool = next(r for r in after.resources if r.name == "ml-test-t4-nodepool")
    labels = nodepool.inputs["spec"]["template"]["metadata"]["labels"]
    old = next(r for r in before.resources if r.name == "ml-test-t4").inputs["nodeLabels"]
    assert labels == old



def test_warm_nodes_off_deletes_only_their_kubernetes_objects():
    """gpuPools[].warmNodes off and on again on prod-azure (h100 on a capacity reservation group, t4infer serving): no agent pool, reservation group or anything else changes: the warm nodes
    are placeholder pods (components/platform/warm.py)."""
    assert_warm_nodes_toggle_only_their_objects("prod-azure", FACTS, {"h100": 1, "t4infer": 1})

"""AKS node auto-provisioning on the plan (components/clouds/azure/capacity.py
NodeAutoProvisioning, cluster.py): the portable stack previewed on azure with
`provisioner: node-auto-provisioning` (one changed config, one plan for the module).

Upstream facts, each where a test relies on it:
- N1 pulumi-azure-native 3.29.0 containerservice ManagedClusterNodeProvisioningProfileArgs:
  `mode` Auto turns NAP on; `default_node_pools` None leaves out AKS's default NodePools
  ("Automatic scaling will not happen unless the user creates one or more NodePool CRD
  instances"), and defaults to Auto when unset.
- N2 the same SDK's NodeProvisioningMode.AUTO: "Fixed size Node Pools can still be created, but
  autoscaling Node Pools cannot be"; learn.microsoft.com/azure/aks/node-auto-provisioning:
  NAP cannot be enabled on a cluster with the cluster autoscaler.
- N3 Azure/karpenter-provider-azure v1.14.2: AKSNodeClass karpenter.azure.com/v1beta1 (served,
  storage) with imageFamily, osDiskSizeGB (30-2048), vnetSubnetID, security.encryptionAtHost,
  tags; gpu.mode defaults to Driver (AKS installs the NVIDIA driver); the device plugin is the
  customer's (designs/0002-gpu-selection-and-bootstrap.md); no spot or GPU taint is added by
  the provider (pkg/); node.kubernetes.io/instance-type is the VM size
  (pkg/providers/instancetype/instancetype.go).
- N4 Karpenter core v1.14 (that release's go.mod): karpenter.sh/capacity-type spot and
  on-demand; WhenEmpty consolidation, expireAfter Never and a budget keep running jobs
  (concepts/disruption.md); limits.nodes caps the node count.
- N5 learn.microsoft.com/azure/aks/node-auto-provisioning-networking: Azure CNI overlay with
  the Cilium dataplane is the recommended (and supported) network for NAP.
"""

from __future__ import annotations

import copy

import pytest

from components import catalog, conventions
from components.clouds.azure import capacity
from components.clouds.azure import cluster as cluster_module
from components.config import load, raw_from_pulumi
from policies import offline
from policies.rules import gpu as gpu_rules
from preview import engine, ready
from tests.clouds.aws import karpenter_crds
from tests.conftest import inputs, plan_for

CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
NODECLASS = "kubernetes:karpenter.azure.com/v1beta1:AKSNodeClass"
DAEMONSET = "kubernetes:apps/v1:DaemonSet"


def nap_raw() -> dict:
    """The portable stack on azure with NAP: a fixed system pool, a spot-only inference pool, a
    training pool that falls back spot -> on-demand (without InfiniBand, which NAP cannot
    give), and a spot CPU pool."""
    values, _ = engine.read_stack_config("portable")
    raw = copy.deepcopy(raw_from_pulumi(values)[0])
    raw.update(cloud="azure", provisioner="node-auto-provisioning")
    raw["systemPool"]["maxNodes"] = raw["systemPool"]["minNodes"]
    pools = {p["name"]: p for p in raw["gpuPools"]}
    pools["infer"]["capacity"] = ["spot"]
    pools["train"].update(capacity=["spot", "onDemand"], interconnect="none")
    raw["cpuPools"][0]["spot"] = True
    return raw


RAW = nap_raw()
CFG = load(RAW)
CAT = catalog.cloud("azure")


@pytest.fixture(scope="module")
def plan():
    return plan_for(RAW)


def by_pool(plan, kind):
    return {inputs(r)["metadata"]["name"]: r for r in plan.by_type(kind)}


def test_the_cluster_runs_nap_without_aks_default_nodepools_on_the_network_nap_recommends(plan):
    cluster = inputs(plan.one(CLUSTER))
    # N1: mode Auto, and None (not the SDK's default Auto) so only our NodePools start nodes.
    assert cluster["nodeProvisioningProfile"] == {"mode": "Auto", "defaultNodePools": "None"}
    # N5: overlay with the Cilium dataplane.
    net = cluster["networkProfile"]
    assert (net["networkPlugin"], net["networkPluginMode"], net["networkDataplane"]) == ("azure", "overlay", "cilium")


def test_the_only_agent_pool_is_the_fixed_size_system_pool(plan):
    # N2: no autoscaling agent pool anywhere; CPU and GPU pools are NodePools instead.
    (system,) = plan.by_type(AGENT_POOL)
    pool = inputs(system)
    assert pool["mode"] == "System" and pool["enableAutoScaling"] is False
    assert pool["count"] == CFG.system_pool.min_nodes and "minCount" not in pool and "maxCount" not in pool
    # Pulumi owns the count of a fixed pool (an autoscaled pool leaves it to the autoscaler).
    assert "count" not in system.ignore_changes
    assert set(by_pool(plan, NODEPOOL)) == set(by_pool(plan, NODECLASS)) == {"infer", "train", "web"}


def test_gpu_nodepools_take_the_size_the_chain_our_taint_and_portable_labels(plan):
    pools = by_pool(plan, NODEPOOL)
    for gpu in CFG.gpu_pools:
        spec = inputs(pools[gpu.name])["spec"]
        template = spec["template"]["spec"]
        reqs = {r["key"]: r["values"] for r in template["requirements"] if r["operator"] == "In"}
        assert reqs["node.kubernetes.io/instance-type"] == [gpu.instance_type]  # N3
        assert template["nodeClassRef"] == {"group": "karpenter.azure.com", "kind": "AKSNodeClass", "name": gpu.name}
        labels = spec["template"]["metadata"]["labels"]
        portable = conventions.gpu_pool_labels(gpu, "azure", cloud_manages_device_plugin=False, cloud_partitions_mig=True)
        assert labels[conventions.GPU_NODE_LABEL] == "true" and labels[conventions.POOL_LABEL] == gpu.name
        assert {k: v for k, v in portable.items() if k != conventions.SPOT_LABEL}.items() <= labels.items()
        itype = CAT.instance_types[gpu.instance_type]
        assert spec["limits"] == {"nodes": str(gpu.max_nodes), "nvidia.com/gpu": str(gpu.max_nodes * itype.gpus)}
    infer, train = (inputs(pools[n])["spec"] for n in ("infer", "train"))
    # N4: the chain's order; a spot-only pool keeps the spot label and AKS's spot taint (N3: the
    # provider adds none), a mixed pool decides per node and carries neither.
    assert [r["values"] for r in infer["template"]["spec"]["requirements"] if r["key"] == "karpenter.sh/capacity-type"] == [["spot"]]
    assert [r["values"] for r in train["template"]["spec"]["requirements"] if r["key"] == "karpenter.sh/capacity-type"] == [["spot", "on-demand"]]
    gpu_taint = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    spot_taint = {"key": "kubernetes.azure.com/scalesetpriority", "value": "spot", "effect": "NoSchedule"}
    # The same taint the spot agent pools list (cluster.py), so the same pods land on both.
    assert capacity.SPOT_TAINT.as_string() == cluster_module.SPOT_TAINT
    assert infer["template"]["spec"]["taints"] == [gpu_taint, spot_taint]
    assert train["template"]["spec"]["taints"] == [gpu_taint]
    assert infer["template"]["metadata"]["labels"][conventions.SPOT_LABEL] == "true"
    assert conventions.SPOT_LABEL not in train["template"]["metadata"]["labels"]
    # The time-sliced pool's device plugin config is picked by label.
    assert infer["template"]["metadata"]["labels"][conventions.DEVICE_PLUGIN_CONFIG_LABEL] == "pool-infer"


def test_gpu_nodepools_never_disrupt_running_jobs_and_cpu_pools_pack_like_the_autoscaler(plan):
    pools = by_pool(plan, NODEPOOL)
    for name in ("infer", "train"):
        spec = inputs(pools[name])["spec"]
        # N4: only empty nodes, one at a time, never expired.
        assert spec["disruption"] == {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m", "budgets": [{"nodes": "1"}]}
        assert spec["template"]["spec"]["expireAfter"] == "Never"
    web = inputs(pools["web"])["spec"]
    cpu = CFG.cpu_pools[0]
    assert web["disruption"] == {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "10m"}
    assert web["limits"] == {"nodes": str(cpu.max_nodes), "cpu": str(cpu.max_nodes * CAT.instance_types[cpu.instance_type].vcpus)}
    assert web["template"]["metadata"]["labels"] == conventions.cpu_pool_labels(cpu)
    assert [r["values"] for r in web["template"]["spec"]["requirements"] if r["key"] == "karpenter.sh/capacity-type"] == [["spot"]]


def test_node_classes_boot_the_agent_pools_image_in_our_subnet(plan):
    classes = by_pool(plan, NODECLASS)
    subnet = plan.one("azure-native:network:Subnet", "ml-test-nodes")
    for pool, family in [*((g, "Ubuntu") for g in CFG.gpu_pools), *((c, "AzureLinux") for c in CFG.cpu_pools)]:
        spec = inputs(classes[pool.name])["spec"]
        assert spec["imageFamily"] == family  # as the pool's agent pool (os_sku) would run
        assert spec["osDiskSizeGB"] == pool.disk_gb
        assert spec["vnetSubnetID"] == f"{subnet.name}-id"  # the node subnet's id (the mocks' id form)
        assert spec.get("security") == ({"encryptionAtHost": True} if CAT.instance_types[pool.instance_type].encryption_at_host else None)
        assert spec["tags"]["ml-clusters-pool"] == pool.name and spec["tags"]["ml-clusters-cluster"] == "ml-test"
        # N3: no gpu.mode, so AKS installs the NVIDIA driver (the default, Driver).
        assert "gpu" not in spec


def test_objects_come_after_the_cluster_through_the_clusters_kubernetes_provider(plan):
    cluster, system = plan.one(CLUSTER), plan.one(AGENT_POOL)
    classes, pools = by_pool(plan, NODECLASS), by_pool(plan, NODEPOOL)
    provider = plan.one("pulumi:providers:kubernetes", "ml-test-k8s")
    for name in classes:
        node_class, node_pool = classes[name], pools[name]
        for obj in (node_class, node_pool):
            assert obj.provider.startswith(provider.urn), obj.name
            assert cluster.urn in obj.dependencies and system.urn in obj.dependencies, obj.name
        assert node_class.urn in node_pool.dependencies
    # The provider itself waits for the system pool (AKS has the Karpenter CRDs by then).
    assert system.urn in provider.dependencies


# NodePool template labels the v1.14.2 CRD refuses (its x-kubernetes-validations on
# spec.template.metadata.labels): these domains, and these single labels.
RESTRICTED_DOMAINS = ("karpenter.sh", "karpenter.azure.com", "kubernetes.azure.com")
RESTRICTED_LABELS = {"kubernetes.io/hostname", "agentpool", "storageprofile", "storagetier", "accelerator"}


def test_the_crd_objects_fit_the_pinned_schemas(plan):
    for r in [*plan.by_type(NODEPOOL), *plan.by_type(NODECLASS)]:
        assert karpenter_crds.errors(inputs(r)) == [], r.name
    for r in plan.by_type(NODEPOOL):
        for label in inputs(r)["spec"]["template"]["metadata"]["labels"]:
            domain = label.split("/", 1)[0] if "/" in label else ""
            assert label not in RESTRICTED_LABELS and not domain.endswith(RESTRICTED_DOMAINS), (r.name, label)
    # The table can fail: a field AKSNodeClass lacks, a size out of range, an unknown family.
    bad = inputs(plan.by_type(NODECLASS)[0])
    bad["spec"] = {**bad["spec"], "capacityReservationGroupID": "x", "osDiskSizeGB": 4096, "imageFamily": "Windows"}
    assert karpenter_crds.errors(bad) == sorted([
        "spec: unknown field 'capacityReservationGroupID'",
        "spec.imageFamily: 'Windows' is not one of ['AzureLinux', 'Ubuntu', 'Ubuntu2204', 'Ubuntu2404']",
        "spec.osDiskSizeGB: 4096 is outside 30-2048",
    ])


def test_the_platforms_gpu_agents_select_and_tolerate_the_nap_gpu_nodes(plan):
    pools = by_pool(plan, NODEPOOL)
    for agent in ("ml-test-gpu-device-plugin", "ml-test-gpu-dcgm-exporter"):
        pod = inputs(plan.one(DAEMONSET, agent))["spec"]["template"]["spec"]
        tolerations = pod.get("tolerations") or []
        for gpu in CFG.gpu_pools:
            template = inputs(pools[gpu.name])["spec"]["template"]
            assert pod["nodeSelector"].items() <= template["metadata"]["labels"].items(), (agent, gpu.name)
            for taint in template["spec"]["taints"]:
                assert any(t["key"] == taint["key"] and t["effect"] == taint["effect"]
                           and (t["operator"] == "Exists" or t.get("value") == taint["value"]) for t in tolerations), (agent, taint)


def test_the_policy_pack_passes_and_counts_the_nap_gpu_pools(plan):
    violations = offline.evaluate(plan.resources, CFG.environment)
    assert [v for v in violations if v.level == "mandatory"] == [], offline.format_text(violations)
    # The pack reads an AKSNodeClass-backed NodePool's size from the azure catalog.
    pools = by_pool(plan, NODEPOOL)
    for gpu in CFG.gpu_pools:
        (pool,) = gpu_rules.gpu_pools(offline._view(pools[gpu.name]))
        assert pool.catalog_cloud() == "azure"
        assert pool.gpus_per_node({}) == CAT.instance_types[gpu.instance_type].gpus
        assert pool.max_nodes() == gpu.max_nodes
    # A CPU NodePool is not a GPU pool to the pack.
    assert gpu_rules.gpu_pools(offline._view(pools["web"])) == []


def test_the_preview_takes_azure_boot_figures_the_nap_chain_and_prices_every_pool(plan):
    from preview import capacity as preview_capacity
    from preview import cost
    starts = {c.pool: c for c in ready.cold_starts(plan.resources, [p.name for p in CFG.gpu_pools])}
    assert set(starts) == {"infer", "train"} and {c.cloud for c in starts.values()} == {"azure"}
    rows = [(r.pool, r.provisioner, r.order, r.tier) for r in preview_capacity.capacity_rows(CFG)]
    assert rows == [("infer", capacity.NAP, 1, "spot"), ("train", capacity.NAP, 1, "spot"), ("train", capacity.NAP, 2, "on-demand")]
    # Cost: the fixed system pool at its one size, and the CPU pool priced from its NodePool
    # (Karpenter chooses an ephemeral OS disk where the size holds it, as the agent pools do:
    # v1.14.2 pkg/providers/instance/aksmachineinstancehelpers.go, so no disk lines).
    lines = {line.item: line for line in cost.stack_cost(CFG, plan).lines}
    system_type = CFG.system_pool.instance_type or CAT.default_system_instance_type
    n = CFG.system_pool.min_nodes
    system = lines[f"system pool: {n}-{n} x {system_type}"]
    assert system.usd_per_hour_min == system.usd_per_hour_max == round(CAT.instance_types[system_type].usd_per_hour * n, 4)
    web = CFG.cpu_pools[0]
    assert f"CPU pool web: 0-{web.max_nodes} x {web.instance_type}" in lines
    assert not [x for x in cost.stack_cost(CFG, plan).not_priced if x.startswith("CPU pool")]

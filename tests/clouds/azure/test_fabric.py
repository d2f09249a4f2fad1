"""AKS InfiniBand (components/clouds/azure/fabric.py) on the plan: the Network Operator, its
node rule, the NicClusterPolicy, the peermem loader, what a rank's pod gets, their order, and
the subscription feature the preview lists as a prerequisite. prod-azure carries an ND H100 v5
pool (h100).

Upstream facts relied on, each named where it is used:
- Azure/aks-rdma-infiniband @ 700dabb (2026-07-16): website/docs/getting-started/
  02-prerequisites.md (AKSInfinibandSupport, Ubuntu, >= 2 nodes), tests/setup-infra/
  deploy-aks.sh (network-operator v26.4.0 from helm.ngc.nvidia.com/nvidia, namespace labelled
  pod-security privileged), configs/values/network-operator/values.yaml
  (nfd.deployNodeFeatureRules false), tests/setup-infra/network-operator-nfd.yaml (pci device
  101c/101e -> feature.node.kubernetes.io/pci-15b3.present), configs/nicclusterpolicy/base/
  nic.yaml and rdma-shared-device-plugin/rdma.yaml (DOCA driver, shared_ib, vendor 15b3, link
  type infiniband), configs/nvidia-peermem-reloader/ds.yaml and website/docs/configurations/
  02-gpu-drivers.md (AKS-managed driver: load nvidia-peermem), tests/scenarios/k8s/values.yaml
  (NCCL_IB_DISABLE 0, NCCL_NET_GDR_LEVEL SYS).
- Mellanox/network-operator v26.4.0: deployment/network-operator/Chart.yaml (26.4.0),
  values.yaml (operator, nfd, node-feature-discovery sub-chart keys), charts/
  node-feature-discovery/values.yaml (master.instance for parallel deployments), crds/
  mellanox.com_nicclusterpolicies.yaml (cluster-scoped; nodeAffinity, tolerations, ofedDriver,
  rdmaSharedDevicePlugin), example/crs/mellanox.com_v1alpha1_nicclusterpolicy_cr.yaml (DOCA
  driver doca3.4.0-26.04-0.8.6.0-0, device plugin network-operator-v26.4.0),
  pkg/nodeinfo/attributes.go (the pci-15b3 label it places by).
- pulumi-azure-native 3.29.0 containerservice AgentPool: no InfiniBand / DRANET field
  (gpu_profile has `driver` only), so the operator path.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import kubernetes_validate
import pytest
from rich.console import Console

from components import catalog, conventions
from components.catalog import versions
from components.catalog.prerequisites import PREREQUISITES
from components.clouds.azure import fabric
from components.clouds.azure.cluster import SPOT_TOLERATION
from components.config import load, raw_from_pulumi
from preview import engine
from preview.prerequisites import print_prerequisites, stack_prerequisites
from tests.conftest import inputs, plan_for_stack

CLUSTER = "ml-prod-azure"
RELEASE = "kubernetes:helm.sh/v3:Release"
NICCP = "kubernetes:mellanox.com/v1alpha1:NicClusterPolicy"
NFR = "kubernetes:nfd.k8s-sigs.io/v1alpha1:NodeFeatureRule"
DAEMONSET = "kubernetes:apps/v1:DaemonSet"


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-azure")


def stack_config(stack: str):
    values, _ = engine.read_stack_config(stack)
    return load(raw_from_pulumi(values)[0])


def test_the_nd_pool_is_an_infiniband_pool_on_ubuntu(prod):
    fab = catalog.cloud("azure").fabric("Standard_ND96isr_H100_v5")
    assert fab.kind == "infiniband" and fab.nics == 8
    cfg = stack_config("prod-azure")
    assert fabric.infiniband_pools(cfg.gpu_pools) == ["h100"]
    pool = inputs(prod.one("azure-native:containerservice:AgentPool", f"{CLUSTER}-h100"))
    # Ubuntu nodes (prerequisites page) with the AKS-managed driver (02-gpu-drivers.md option 1).
    assert pool["osSKU"] == "Ubuntu" and pool["gpuProfile"] == {"driver": "Install"}


def test_operator_namespace_lets_its_agents_run_privileged(prod):
    ns = inputs(prod.one("kubernetes:core/v1:Namespace", f"{CLUSTER}-network-operator-ns"))
    assert ns["metadata"]["name"] == fabric.NAMESPACE
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_network_operator_release_pinned_with_its_own_nfd_instance(prod):
    release = inputs(prod.one(RELEASE, f"{CLUSTER}-network-operator"))
    chart = catalog.CHARTS["network-operator"]
    assert (release["chart"], release["version"], release["repositoryOpts"]["repo"]) == (
        "network-operator", chart.version, "https://helm.ngc.nvidia.com/nvidia") and chart.version == "26.4.0"
    assert release["namespace"] == fabric.NAMESPACE and release["createNamespace"] is False
    values = release["values"]
    # The chart's blanket 15b3 rule would match accelerated networking's Ethernet VF on every node.
    assert values["nfd"] == {"enabled": True, "deployNodeFeatureRules": False}
    nfd = values["node-feature-discovery"]
    assert nfd["master"]["instance"] == fabric.NAMESPACE
    system = conventions.system_pool_labels()
    for part in (values["operator"], nfd["master"], nfd["gc"]):
        assert part["nodeSelector"] == system
        assert part["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in nfd["worker"]["tolerations"]


def test_node_rule_labels_the_infiniband_vfs_only(prod):
    rule = inputs(prod.one(NFR, f"{CLUSTER}-infiniband-nodes"))
    (r,) = rule["spec"]["rules"]
    assert r["labels"] == {fabric.MLNX_NIC_LABEL: "true"}
    (match,) = r["matchFeatures"]
    assert match["feature"] == "pci.device"
    assert match["matchExpressions"] == {"vendor": {"op": "In", "value": ["15b3"]}, "device": {"op": "In", "value": ["101c", "101e"]}}
    assert "namespace" not in rule["metadata"]  # NodeFeatureRule is cluster-scoped


def test_nic_cluster_policy_drives_the_hcas_of_the_infiniband_pools(prod):
    policy = inputs(prod.one(NICCP, f"{CLUSTER}-nic-cluster-policy"))
    assert policy["metadata"]["name"] == "nic-cluster-policy" and "namespace" not in policy["metadata"]
    spec = policy["spec"]
    terms = spec["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": conventions.POOL_LABEL, "operator": "In", "values": ["h100"]}]}]
    assert spec["tolerations"] == [conventions.GPU_TAINT.toleration()]
    driver = spec["ofedDriver"]
    assert (driver["repository"], driver["image"], driver["version"]) == (
        "nvcr.io/nvidia/mellanox", "doca-driver", "doca3.4.0-26.04-0.8.6.0-0")
    plugin = spec["rdmaSharedDevicePlugin"]
    assert (plugin["image"], plugin["version"]) == ("k8s-rdma-shared-dev-plugin", "network-operator-v26.4.0")
    (config,) = json.loads(plugin["config"])["configList"]
    assert config["resourceName"] == "shared_ib"
    assert config["selectors"] == {"vendors": ["15b3"], "linkTypes": ["infiniband"]}


def test_peermem_loader_on_the_infiniband_pools(prod):
    ds = inputs(prod.one(DAEMONSET, f"{CLUSTER}-{fabric.PEERMEM_LOADER}"))
    spec = ds["spec"]["template"]["spec"]
    assert ds["metadata"]["namespace"] == fabric.NAMESPACE
    assert spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
        "matchExpressions"][0]["values"] == ["h100"]
    assert spec["tolerations"] == [conventions.GPU_TAINT.toleration()]
    (container,) = spec["containers"]
    assert "modprobe nvidia-peermem" in container["command"][-1] and container["securityContext"] == {"privileged": True}
    assert container["image"] == versions.IMAGES["aks-peermem-loader"]
    kubernetes_validate.validate(ds, "1.35", strict=True)


def test_order_namespace_release_then_crs_all_after_the_platform_is_reachable(prod):
    ns = prod.one("kubernetes:core/v1:Namespace", f"{CLUSTER}-network-operator-ns").urn
    release = prod.one(RELEASE, f"{CLUSTER}-network-operator")
    system = prod.one("azure-native:containerservice:AgentPool", f"{CLUSTER}-system").urn
    wait = prod.one("time:index/sleep:Sleep", f"{CLUSTER}-deployer-admin-propagation").urn
    assert {ns, system, wait} <= set(release.dependencies)
    # The CRDs come with the chart: the custom resources after the release.
    for r in (prod.one(NICCP, f"{CLUSTER}-nic-cluster-policy"), prod.one(NFR, f"{CLUSTER}-infiniband-nodes")):
        assert release.urn in r.dependencies and system in r.dependencies
    assert ns in prod.one(DAEMONSET, f"{CLUSTER}-{fabric.PEERMEM_LOADER}").dependencies
    # The GPU pool itself does not wait for any of it (it comes up in parallel).
    h100 = prod.one("azure-native:containerservice:AgentPool", f"{CLUSTER}-h100")
    assert release.urn not in h100.dependencies


def test_a_rank_requests_the_shared_rdma_resource_with_nccl_on_infiniband():
    cfg = stack_config("prod-azure")
    aks = fabric.AksFabric(SimpleNamespace(config=cfg))
    aks.objects = ["ns", "release", "rule", "policy", "peermem"]  # stand-ins for the resources
    h100 = next(p for p in cfg.gpu_pools if p.name == "h100")
    pf = aks.pool_fabric(h100)
    fab = catalog.cloud("azure").fabric("Standard_ND96isr_H100_v5")
    assert (pf.kind, pf.nics, pf.line_rate_gbps, pf.expected_busbw_gbs) == (fab.kind, fab.nics, fab.line_rate_gbps, fab.expected_busbw_gbs)
    assert pf.resources == {"rdma/shared_ib": 1} and pf.ipc_lock
    assert pf.env == {"NCCL_NET": "IB", "NCCL_IB_DISABLE": "0", "NCCL_NET_GDR_LEVEL": "SYS", "NCCL_SOCKET_IFNAME": "eth0"}
    assert pf.nccl_tests_image == versions.NCCL_TESTS_IMAGES["infiniband"]
    # Workloads on the pool wait for the operator and its policy.
    assert pf.ready == tuple(aks.objects)
    assert aks.pool_fabric(next(p for p in cfg.gpu_pools if p.name == "t4infer")) is None


def test_a_spot_infiniband_pool_is_tolerated_by_the_agents():
    cfg = stack_config("prod-azure")
    spot = cfg.model_copy(update={"gpu_pools": [p.model_copy(update={"spot": True}) if p.name == "h100" else p for p in cfg.gpu_pools]})
    tolerations = fabric.AksFabric(SimpleNamespace(config=spot)).tolerations()
    assert tolerations == [conventions.GPU_TAINT.toleration(), SPOT_TOLERATION]


def test_the_preview_lists_the_infiniband_feature_as_a_prerequisite():
    (item,) = [p for p in PREREQUISITES if p.fabric_kind == "infiniband"]
    assert "AKSInfinibandSupport" in item.what and item.cloud == "azure"
    assert stack_prerequisites(stack_config("prod-azure")) == [(item, ["h100"])]
    assert stack_prerequisites(stack_config("prod-gcp")) == []
    console = Console(width=500, record=True)
    print_prerequisites(console, stack_config("prod-azure"))
    text = console.export_text()
    assert "prerequisites" in text and "az feature register --namespace Microsoft.ContainerService --name AKSInfinibandSupport" in text
    # docs/azure.md says the same.
    docs = (engine.ROOT_DIR / "docs" / "azure.md").read_text()
    assert "az feature register --namespace Microsoft.ContainerService --name AKSInfinibandSupport" in docs
    assert "az feature show --namespace Microsoft.ContainerService --name AKSInfinibandSupport" in docs


def test_every_object_of_the_infiniband_stack_validates(prod):
    from tests.platform.test_schema import check_plan

    assert check_plan(prod, "1.35") > 20


def test_the_nccl_acceptance_test_renders_for_the_infiniband_pool(prod):
    # The core's on-demand test (components/platform/workloads/nccl.py) over InfiniBand.
    resource = next(r for r in prod.by_type("kubernetes:batch/v1:CronJob") if inputs(r)["metadata"]["name"] == "nccl-h100")
    cron = inputs(resource)
    spec = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (nccl,) = spec["containers"]
    assert nccl["resources"]["limits"]["rdma/shared_ib"] == "1" and nccl["resources"]["limits"]["nvidia.com/gpu"] == "8"
    assert nccl["image"] == versions.NCCL_TESTS_IMAGES["infiniband"]
    env = {e["name"]: e.get("value") for e in nccl["env"]}
    assert env["NCCL_NET"] == "IB" and env["NCCL_IB_DISABLE"] == "0"
    assert "IPC_LOCK" in nccl["securityContext"]["capabilities"]["add"]
    kubernetes_validate.validate({"apiVersion": "batch/v1", "kind": "CronJob", **cron}, "1.35", strict=True)
    # It waits for the operator and its policy (PoolFabric.ready).
    assert {prod.one(NICCP, f"{CLUSTER}-nic-cluster-policy").urn, prod.one(RELEASE, f"{CLUSTER}-network-operator").urn} <= set(resource.dependencies)
    assert not [r for r in prod.by_type("kubernetes:batch/v1:CronJob") if inputs(r)["metadata"]["name"] == "nccl-t4infer"]


def test_the_infiniband_pool_is_labelled_and_scales_from_zero_for_rdma(prod):
    # The fabric label the policy pack reads (conventions.FABRIC_LABEL), and Cluster Autoscaler's
    # node-template resource tag (kubernetes/autoscaler cluster-autoscaler-1.35.2 cloudprovider/
    # azure azure_template.go: `_` for `/`) so an empty pool scales up for rdma/shared_ib.
    pool = inputs(prod.one("azure-native:containerservice:AgentPool", f"{CLUSTER}-h100"))
    assert pool["nodeLabels"][conventions.FABRIC_LABEL] == "infiniband"
    assert pool["tags"]["k8s.io_cluster-autoscaler_node-template_resources_rdma_shared_ib"] == str(fabric.RDMA_HCA_MAX)
    t4 = inputs(prod.one("azure-native:containerservice:AgentPool", f"{CLUSTER}-t4infer"))
    assert conventions.FABRIC_LABEL not in t4["nodeLabels"]
    assert not [k for k in t4["tags"] if k.endswith("rdma_shared_ib")]

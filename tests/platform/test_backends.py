"""The platform on each real backend, through the stacks users start from: the same
cloud-agnostic layer, driven only by what each backend's ClusterHandle says."""

from __future__ import annotations

import json

import pytest
import yaml

from components import conventions
from preview import engine
from tests.conftest import inputs, plan_for_stack
from tests.platform.test_schema import check_plan

CLOUD_STACKS = {"aws": "prod-aws", "gcp": "staging-gcp", "azure": "prod-azure", "existing": "local"}
BLOCK = {"aws": "ebs.csi.aws.com", "gcp": "pd.csi.storage.gke.io", "azure": "disk.csi.azure.com", "existing": "rancher.io/local-path"}
SHARED = {"aws": "efs.csi.aws.com", "gcp": "filestore.csi.storage.gke.io", "azure": "file.csi.azure.com"}


@pytest.fixture(scope="module", params=sorted(CLOUD_STACKS))
def stack(request):
    cloud = request.param
    return cloud, plan_for_stack(CLOUD_STACKS[cloud])


def stack_config_pools(stack: str) -> list:
    values, _ = engine.read_stack_config(stack)
    return json.loads(values.get("ml-clusters:gpuPools") or "[]")


def objects(plan: engine.Plan, kind: str) -> list[dict]:
    return [inputs(r) for r in plan.resources if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")]


def by_name(plan: engine.Plan, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects(plan, kind)}


def test_every_object_is_valid_for_the_stacks_kubernetes_version(stack):
    cloud, plan = stack
    values, _ = engine.read_stack_config(CLOUD_STACKS[cloud])
    assert check_plan(plan, values["ml-clusters:kubernetesVersion"]) > 10


def test_device_plugin_only_where_the_cloud_does_not_run_one(stack):
    cloud, plan = stack
    daemonsets = by_name(plan, "DaemonSet")
    if cloud == "gcp":
        assert "nvidia-device-plugin" not in daemonsets
        assert "dcgm-exporter" not in daemonsets
        monitors = by_name(plan, "PodMonitor")
        assert any(m["metadata"]["namespace"] == "monitoring" and m["spec"]["namespaceSelector"] == {"matchNames": ["gke-managed-system"]}
                   for m in monitors.values())
    else:
        plugin = daemonsets["nvidia-device-plugin"]["spec"]["template"]["spec"]
        assert {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"} in plugin["tolerations"]
        assert "dcgm-exporter" in daemonsets


NODE_POOL_LABELS = {  # where each backend's node pool carries its Kubernetes node labels
    "aws": ("aws:eks/nodeGroup:NodeGroup", "labels"),
    "azure": ("azure-native:containerservice:AgentPool", "nodeLabels"),
}


def test_sharing_config_matches_the_pools_node_labels(stack):
    # NVIDIA device plugin v0.20 config-manager: a node's `nvidia.com/device-plugin.config`
    # label names the entry of the plugin's config map it runs with (upstream
    # deployments/static/..., README "Multiple config files"). So every shared pool in the
    # stack file must label its nodes with an entry that holds exactly its sharing.
    cloud, plan = stack
    values, _ = engine.read_stack_config(CLOUD_STACKS[cloud])
    shared = {p["name"]: p["sharing"] for p in json.loads(values["ml-clusters:gpuPools"]) if p.get("sharing")}
    assert shared, "every cloud's stack exercises GPU sharing"
    if cloud == "gcp":  # GKE shares GPUs itself: the node pool's gpu_sharing_config, no plugin config
        pools = {p.name: inputs(p) for p in plan.by_type("gcp:container/nodePool:NodePool")}
        for name, sharing in shared.items():
            (pool,) = [p for n, p in pools.items() if n.endswith(f"-{name}")]
            assert pool["nodeConfig"]["guestAccelerators"][0]["gpuSharingConfig"] == {
                "gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": sharing["timeSlicing"]["replicas"]}
        assert "nvidia-device-plugin-config" not in by_name(plan, "ConfigMap")
        return
    config = by_name(plan, "ConfigMap")["nvidia-device-plugin-config"]["data"]
    for name, sharing in shared.items():
        if cloud in NODE_POOL_LABELS:
            type_, field = NODE_POOL_LABELS[cloud]
            (pool,) = [inputs(p) for p in plan.by_type(type_) if p.name.endswith(f"-{name}")]
            entry = pool[field][conventions.DEVICE_PLUGIN_CONFIG_LABEL]
        else:  # an existing cluster: the user labels the nodes; the entry is named by the pool
            entry = f"pool-{name}"
        plugin_config = yaml.safe_load(config[entry])
        assert plugin_config["sharing"]["timeSlicing"]["resources"] == [
            {"name": "nvidia.com/gpu", "replicas": sharing["timeSlicing"]["replicas"]}]
    # Unshared pools get no label, so they run with `default`, which shares nothing.
    assert "sharing" not in yaml.safe_load(config["default"])


def test_storage_classes_use_the_backends_provisioners(stack):
    cloud, plan = stack
    classes = by_name(plan, "StorageClass")
    assert classes["ml-block"]["provisioner"] == BLOCK[cloud]
    assert classes["ml-block"]["volumeBindingMode"] == "WaitForFirstConsumer"
    assert classes["ml-block"]["allowVolumeExpansion"] is True
    assert classes["ml-block-retain"]["reclaimPolicy"] == "Retain"
    if cloud in SHARED:
        assert classes["ml-shared"]["provisioner"] == SHARED[cloud]
    else:
        assert "ml-shared" not in classes


def test_serving_namespaces_from_the_stack(stack):
    cloud, plan = stack
    namespaces = {n["metadata"]["name"]: n for n in objects(plan, "Namespace")
                  if n["metadata"].get("labels", {}).get("ml-clusters.io/serving") == "true"}
    assert namespaces, f"{CLOUD_STACKS[cloud]} configures no serving namespace"
    quotas = {q["metadata"]["namespace"]: q for q in objects(plan, "ResourceQuota")}
    policies = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in objects(plan, "NetworkPolicy")}
    for name in namespaces:
        assert "requests.nvidia.com/gpu" in quotas[name]["spec"]["hard"]
        assert (name, "default-deny") in policies


def test_platform_workloads_tolerate_the_system_taints(stack):
    cloud, plan = stack
    release = inputs(plan.one("kubernetes:helm.sh/v3:Release", next(
        r.name for r in plan.by_type("kubernetes:helm.sh/v3:Release") if r.name.endswith("kube-prometheus-stack"))))
    tolerations = release["values"]["prometheus"]["prometheusSpec"].get("tolerations", [])
    # AKS and EKS taint their system pools CriticalAddonsOnly=true:NoSchedule.
    if cloud in ("azure", "aws"):
        assert {"effect": "NoSchedule", "key": "CriticalAddonsOnly", "operator": "Exists"} in tolerations
    else:
        assert {"effect": "NoSchedule", "key": "CriticalAddonsOnly", "operator": "Exists"} not in tolerations


def test_gpu_pools_carry_the_portable_labels(stack):
    cloud, plan = stack
    if cloud == "existing":
        return  # the user labels an existing cluster's nodes (docs/existing.md)
    pool_types = {"aws": "aws:eks/nodeGroup:NodeGroup", "gcp": "gcp:container/nodePool:NodePool",
                  "azure": "azure-native:containerservice:AgentPool"}
    labelled = []
    for r in plan.by_type(pool_types[cloud]):
        i = inputs(r)
        labels = i.get("labels") or i.get("nodeLabels") or i.get("nodeConfig", {}).get("labels") or {}
        if labels.get(conventions.GPU_NODE_LABEL) == "true":
            labelled.append(labels)
    # A pool Karpenter provisions (EKS) carries them in its NodePool's node template.
    for r in plan.by_type("kubernetes:karpenter.sh/v1:NodePool"):
        labelled.append(inputs(r)["spec"]["template"]["metadata"]["labels"])
    # Every GPU pool of the stack file (staging-gcp has three, the others two).
    assert len(labelled) == len(stack_config_pools(CLOUD_STACKS[cloud]))
    for labels in labelled:
        assert labels[conventions.POOL_LABEL] and labels[conventions.GPU_MODEL_LABEL]


def test_platform_reads_the_backends_cloud_facts(stack):
    # Each backend states, in its handle, the DNS add-on it runs and where pods get cloud
    # credentials; the platform reads them without a cloud branch (REFERENCE: GKE Standard
    # runs kube-dns; EKS Pod Identity 169.254.170.23:80; GKE metadata 169.254.169.254:80).
    # AKS: none; workload identity is HTTPS to Entra ID (azure-identity
    # WorkloadIdentityCredential), and IMDS would give team pods the kubelet identity.
    cloud, plan = stack
    (release,) = [inputs(r) for r in plan.by_type("kubernetes:helm.sh/v3:Release") if inputs(r)["chart"] == "kube-prometheus-stack"]
    dns = "kube-dns" if cloud == "gcp" else "coredns"
    assert release["values"]["kubeDns"] == {"enabled": dns == "kube-dns"}
    assert release["values"]["coreDns"] == {"enabled": dns == "coredns"}
    endpoint = {"aws": "169.254.170.23/32", "gcp": "169.254.169.254/32", "azure": None, "existing": None}[cloud]
    egress = [o for o in objects(plan, "NetworkPolicy") if o["metadata"]["name"] == "allow-egress-cloud-apis"]
    assert egress, cloud
    for policy in egress:
        cidrs = [peer["ipBlock"]["cidr"] for rule in policy["spec"]["egress"] for peer in rule["to"]]
        assert cidrs == ([endpoint] if endpoint else []) + ["0.0.0.0/0"], (cloud, cidrs)


def test_prod_stacks_route_alerts_to_people():
    for name in ("prod-aws", "prod-azure"):
        values, secret_keys = engine.read_stack_config(name)
        assert "ml-clusters:alertPagerdutyRoutingKey" in secret_keys, name  # `secure:` in the stack file
        plan = plan_for_stack(name)
        (release,) = [inputs(r) for r in plan.by_type("kubernetes:helm.sh/v3:Release") if inputs(r)["chart"] == "kube-prometheus-stack"]
        routes = {r["receiver"] for r in release["values"]["alertmanager"]["config"]["route"]["routes"]}
        assert "ml-critical" in routes, name

"""Every Kubernetes object the program renders, validated against the Kubernetes OpenAPI
schema of the stack's version with kubernetes-validate (offline, strict: unknown fields
fail). CustomResources (ServiceMonitor, PodMonitor, PrometheusRule) are not in the core
schema: they are checked here structurally, and their contents by test_monitoring."""

from __future__ import annotations


import kubernetes_validate
import pytest

from components import catalog
from preview import engine
from preview.report import kubernetes_objects
from tests.conftest import inputs, plan_for, plan_for_stack
from tests.platform import harness
from tests.platform.harness import KUBECONFIG, existing_config
from tests.clouds.aws import karpenter_crds
from tests.platform.workloads import crds

# Kinds of CustomResourceDefinitions the platform uses, with the fields their spec must have.
CUSTOM_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): {"selector", "endpoints", "namespaceSelector"},
    ("monitoring.coreos.com/v1", "PodMonitor"): {"selector", "podMetricsEndpoints", "namespaceSelector"},
    ("monitoring.coreos.com/v1", "PrometheusRule"): {"groups"},
    # Velero's Restore (velero.io/v1, spec.scheduleName or spec.backupName).
    ("velero.io/v1", "Restore"): {"scheduleName"},
}
# Cluster-scoped CRD kinds whose fields sit beside metadata (external-snapshotter's
# VolumeSnapshotClass: driver and deletionPolicy are required, no spec).
TOP_LEVEL_CUSTOM_KINDS = {
    ("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass"): {"driver", "deletionPolicy"},
}


# Cluster-scoped CRD kinds of the GPU fabrics (components/clouds/{gcp,azure}/fabric.py): the
# spec fields their CRD declares at the pin, and the ones the object must set.
# GoogleCloudPlatform/gke-networking-api config/crds/networking.gke.io_{gkenetworkparamsets,networks}.yaml
# (v1); Mellanox/network-operator v26.4.0 deployment/network-operator/crds/
# mellanox.com_nicclusterpolicies.yaml; its node-feature-discovery sub-chart's CRDs (NodeFeatureRule).
CLUSTER_CUSTOM_KINDS = {
    ("networking.gke.io/v1", "GKENetworkParamSet"): (
        {"deviceMode", "networkAttachment", "podIPv4Ranges", "vpc", "vpcSubnet"}, {"vpc", "vpcSubnet", "deviceMode"}),
    ("networking.gke.io/v1", "Network"): (
        {"type", "parametersRef", "provider", "routes", "l2NetworkConfig", "dnsConfig", "gateway4", "externalDHCP4"},
        {"type", "parametersRef"}),
    ("mellanox.com/v1alpha1", "NicClusterPolicy"): (
        {"deploymentNodeAffinity", "deploymentTolerations", "docaTelemetryService", "global", "ibKubernetes",
         "nicConfigurationOperator", "nicFeatureDiscovery", "nodeAffinity", "nvIpam", "ofedDriver",
         "rdmaSharedDevicePlugin", "secondaryNetwork", "spectrumXOperator", "sriovDevicePlugin", "tolerations"},
        set()),
    ("nfd.k8s-sigs.io/v1alpha1", "NodeFeatureRule"): ({"rules"}, {"rules"}),
}


def check(resource: engine.PlannedResource, version: str) -> None:
    obj = inputs(resource)
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key in CLUSTER_CUSTOM_KINDS:
        declared, required = CLUSTER_CUSTOM_KINDS[key]
        assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}, resource.name
        assert obj["metadata"]["name"] and "namespace" not in obj["metadata"], resource.name
        assert required <= set(obj["spec"]) <= declared, (resource.name, set(obj["spec"]) - declared)
        return
    if key in TOP_LEVEL_CUSTOM_KINDS:
        assert set(obj) == {"apiVersion", "kind", "metadata"} | TOP_LEVEL_CUSTOM_KINDS[key], resource.name
        assert obj["deletionPolicy"] in ("Delete", "Retain") and "namespace" not in obj["metadata"], resource.name
        return
    if key in CUSTOM_KINDS:
        assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}, resource.name
        assert obj["metadata"]["name"] and obj["metadata"]["namespace"], resource.name
        assert CUSTOM_KINDS[key] <= set(obj["spec"]), resource.name
        return
    if karpenter_crds.known(*key):
        # Karpenter's NodePool and EC2NodeClass (EKS): against the pinned CRDs' fields.
        problems = karpenter_crds.errors(obj)
        assert not problems, f"{obj['kind']} {obj['metadata'].get('name')}: {problems}"
        return
    if crds.known(*key):
        # The workload layer's kinds: strict against their CRD's schema at the pinned version.
        problems = crds.errors(obj)
        assert not problems, f"{obj['kind']} {obj['metadata'].get('name')}: {problems}"
        return
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        where = "/".join(str(p) for p in err.path)
        pytest.fail(f"{obj['kind']} {obj['metadata'].get('name')}: {err.message} at {where} (Kubernetes {version})")
    except kubernetes_validate.SchemaNotFoundError:
        pytest.fail(f"{key} has no schema in Kubernetes {version}; a CRD kind must be listed in CUSTOM_KINDS")


def check_plan(plan: engine.Plan, version: str) -> int:
    objs = kubernetes_objects(plan)
    assert objs
    for r in objs:
        check(r, version)
    return len(objs)


@pytest.mark.parametrize("version", catalog.KUBERNETES_VERSIONS)
def test_existing_cluster_plan_is_valid(tmp_path, version):
    path = tmp_path / "config.yaml"
    path.write_text(KUBECONFIG)
    assert check_plan(plan_for(existing_config(path, version)), version) > 20


def test_local_stack_is_valid():
    plan = plan_for_stack("local")
    check_plan(plan, "1.35")


@pytest.mark.parametrize("version", catalog.KUBERNETES_VERSIONS)
@pytest.mark.parametrize("shape", ["eks", "gke", "aks"])
def test_cloud_flavours_are_valid(shape, version):
    pools = {
        "eks": [harness.pool("l4", "g6.xlarge", sharing={"timeSlicing": {"replicas": 4}}), harness.pool("h100", "p5.48xlarge", sharing={"mig": {"profile": "1g.10gb"}})],
        "gke": [harness.pool("l4", "g2-standard-8")],
        "aks": [harness.pool("t4", "Standard_NC4as_T4_v3")],
    }[shape]
    built = getattr(harness, f"{shape}_shape")(pools, kubernetes_version=version)
    serving = harness.namespaces({"name": "team-a", "team": "a", "group": "team-a", "gpus": 2})
    result = harness.run_platform(built, {"gpuFeatureDiscovery": True}, serving)
    check_plan(result.plan, version)


def test_the_validator_rejects_what_the_api_server_would():
    # Guards the check itself: a misspelt field must fail, not pass silently.
    bad = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "lables": {}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.35", strict=True)

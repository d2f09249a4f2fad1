"""GKE backend under mocks: every input a user depends on, the handle, and bad GCP configs."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_gcp as gcp
import pytest
import yaml

from components import catalog, conventions
from components.clouds.gcp import cluster as gke
from components.config import StackConfig, load, semantic_problems
from preview.engine import is_secret, redact
from preview.mocks import _gcp_project_number
from tests.conftest import config_errors, fresh_plans, inputs, plan_for, plan_for_stack

ROOT = Path(__file__).resolve().parents[3]
CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_GRANT = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"

PROD = {
    "cloud": "gcp",
    "region": "us-central1",
    "environment": "prod",
    "gcp": {"project": "ml-platform-prod"},
    "systemPool": {"minNodes": 3, "maxNodes": 6},
    "gpuPools": [
        {"name": "h100", "instanceType": "a3-highgpu-8g", "minNodes": 1, "maxNodes": 4,
         "sharing": {"mig": {"profile": "1g.10gb"}}},
        {"name": "h200", "instanceType": "a3-ultragpu-8g", "maxNodes": 2, "spot": True},
        {"name": "a100", "instanceType": "a2-ultragpu-1g", "maxNodes": 3},
    ],
    "network": {"privateApi": True},
}

ZONAL_DEV = {
    "cloud": "gcp",
    "region": "us-east4",
    "gcp": {
        "project": "ml-platform-dev",
        "regional": False,
        "releaseChannel": "RAPID",
        "gpuDriverVersion": "DEFAULT",
        "maintenanceStart": "22:30",
    },
    "systemPool": {"instanceType": "t2a-standard-4", "minNodes": 1, "maxNodes": 2},
    "gpuPools": [
        {"name": "h100", "instanceType": "a3-highgpu-8g", "maxNodes": 1},
        {"name": "a100", "instanceType": "a2-ultragpu-1g", "maxNodes": 1},
    ],
    "platform": {"sharedFileSystem": False},
    "tags": {"Team": "ML Platform", "cost.center": "R&D/42", "9lives": "x"},
    "network": {"privateApi": True},
}


@pytest.fixture(scope="module")
def staging():
    return plan_for_stack("staging-gcp")


@pytest.fixture(scope="module")
def prod():
    return plan_for(PROD, stack="prod-gcp")


@pytest.fixture(scope="module")
def zonal():
    return plan_for(ZONAL_DEV, stack="dev-gcp")


def cluster(plan):
    return inputs(plan.one(CLUSTER))


def pool(plan, name):
    return inputs(plan.one(NODE_POOL, f"{plan.outputs['clusterName']}-{name}"))


def accelerator(plan, name):
    (acc,) = pool(plan, name)["nodeConfig"]["guestAccelerators"]
    return acc


# --- network ------------------------------------------------------------------------------


def test_vpc_is_custom_mode_with_one_node_subnet_and_pod_and_service_ranges(staging):
    network = inputs(staging.one("gcp:compute/network:Network"))
    assert network["autoCreateSubnetworks"] is False and network["name"] == "ml-staging-gcp-vpc"
    subnet = inputs(staging.one("gcp:compute/subnetwork:Subnetwork"))
    assert subnet["ipCidrRange"] == "10.30.0.0/16" and subnet["region"] == "us-central1"
    assert subnet["network"].endswith("/global/networks/ml-staging-gcp-vpc")
    assert subnet["secondaryIpRanges"] == [
        {"rangeName": "pods", "ipCidrRange": "10.64.0.0/14"},
        {"rangeName": "services", "ipCidrRange": "10.96.0.0/16"},
    ]
    assert subnet["privateIpGoogleAccess"] is True
    c = cluster(staging)
    assert c["network"].endswith("/global/networks/ml-staging-gcp-vpc")
    assert c["subnetwork"].endswith("/regions/us-central1/subnetworks/ml-staging-gcp-nodes")
    assert c["networkingMode"] == "VPC_NATIVE"
    assert c["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "pods", "servicesSecondaryRangeName": "services"}


def test_cloud_nat_on_a_router_gives_private_nodes_egress(staging):
    router = inputs(staging.one("gcp:compute/router:Router"))
    assert router["network"].endswith("/networks/ml-staging-gcp-vpc") and router["region"] == "us-central1"
    nat = inputs(staging.one("gcp:compute/routerNat:RouterNat"))
    assert nat["router"] == router["name"] and nat["region"] == "us-central1"
    assert nat["natIpAllocateOption"] == "AUTO_ONLY"
    assert nat["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    (subnet,) = nat["subnetworks"]
    assert subnet["name"].endswith("/subnetworks/ml-staging-gcp-nodes")
    assert subnet["sourceIpRangesToNats"] == ["ALL_IP_RANGES"]


# --- identity -------------------------------------------------------------------------------


def test_nodes_run_as_a_dedicated_account_with_exactly_two_roles(staging):
    account = staging.one("gcp:serviceaccount/account:Account", "ml-staging-gcp-nodes")
    acc = inputs(account)
    assert acc["accountId"] == "ml-staging-gcp-nodes" and acc["project"] == "ml-platform-staging"
    email = "ml-staging-gcp-nodes@ml-platform-staging.iam.gserviceaccount.com"
    bindings = [inputs(b) for b in staging.by_type("gcp:projects/iAMMember:IAMMember")]
    # GKE's documented minimum for a custom node service account is
    # roles/container.defaultNodeServiceAccount (logging, monitoring, resource metadata and
    # autoscaling metrics writers; GKE docs "Use least privilege IAM service accounts");
    # Artifact Registry reader lets nodes pull the project's images.
    assert sorted(b["role"] for b in bindings) == [
        "roles/artifactregistry.reader",
        "roles/container.defaultNodeServiceAccount",
    ]
    assert {b["member"] for b in bindings} == {f"serviceAccount:{email}"}
    assert {b["project"] for b in bindings} == {"ml-platform-staging"}
    # Every node, including GKE's short-lived default pool, runs as that account.
    configs = [cluster(staging)["nodeConfig"]] + [inputs(p)["nodeConfig"] for p in staging.by_type(NODE_POOL)]
    # The default pool, system, l4, a100, batch and the v5e TPU slice pool.
    assert len(configs) == 6
    for config in configs:
        assert config["serviceAccount"] == email
        assert config["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]


def test_service_account_id_fits_gcp_limits():
    assert gke.node_service_account_id("ml-a-very-long-cluster-name-of-32c") == "ml-a-very-long-cluster-n-nodes"
    assert len(gke.node_service_account_id("x" * 32)) <= 30
    assert gke.node_service_account_id("ml-abcdefghijklmnopqrstu-xyz") == "ml-abcdefghijklmnopqrstu-nodes"


# --- cluster ----------------------------------------------------------------------------------


def test_cluster_is_regional_private_and_hardened(staging):
    c = cluster(staging)
    assert c["name"] == "ml-staging-gcp" and c["location"] == "us-central1" and c["project"] == "ml-platform-staging"
    assert c["removeDefaultNodePool"] is True and c["initialNodeCount"] == 1
    assert c["releaseChannel"] == {"channel": "REGULAR"}
    assert c["minMasterVersion"] == "1.35"
    assert c["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": False}
    assert c["masterAuthorizedNetworksConfig"] == {
        "cidrBlocks": [{"cidrBlock": "198.51.100.0/24", "displayName": "allowed-0"}],
        "gcpPublicCidrsAccessEnabled": False,
    }
    assert c["workloadIdentityConfig"] == {"workloadPool": "ml-platform-staging.svc.id.goog"}
    assert c["enableShieldedNodes"] is True
    assert c["datapathProvider"] == "ADVANCED_DATAPATH"
    assert "networkPolicy" not in c  # Dataplane V2 enforces policy itself
    assert c["maintenancePolicy"] == {"dailyMaintenanceWindow": {"startTime": "03:00"}}


def test_logs_metrics_and_gke_managed_dcgm_are_on(staging):
    c = cluster(staging)
    assert {"SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"} <= set(c["loggingConfig"]["enableComponents"])
    monitoring = c["monitoringConfig"]
    assert {"SYSTEM_COMPONENTS", "APISERVER", "DCGM"} <= set(monitoring["enableComponents"])
    assert monitoring["managedPrometheus"] == {"enabled": True}


def test_csi_addons_for_disks_filestore_and_gcs_fuse(staging):
    addons = cluster(staging)["addonsConfig"]
    assert addons["gcePersistentDiskCsiDriverConfig"] == {"enabled": True}
    assert addons["gcpFilestoreCsiDriverConfig"] == {"enabled": True}
    assert addons["gcsFuseCsiDriverConfig"] == {"enabled": True}


def test_non_prod_is_disposable_and_has_no_kms(staging):
    c = staging.one(CLUSTER)
    assert inputs(c)["deletionProtection"] is False  # explicit: the provider defaults to True
    assert c.protect is False
    assert inputs(c)["databaseEncryption"] == {"state": "DECRYPTED"}
    assert staging.by_type(CRYPTO_KEY) == [] and staging.by_type("gcp:kms/keyRing:KeyRing") == []
    assert not any(r.protect for r in staging.resources)


def test_prod_encrypts_secrets_and_disks_with_its_own_keys_and_protects_them(prod):
    ring = prod.one("gcp:kms/keyRing:KeyRing", "ml-prod-gcp-gke")
    assert inputs(ring) == {"name": "ml-prod-gcp-gke", "location": "us-central1", "project": "ml-platform-prod"}
    keys = {inputs(k)["name"]: k for k in prod.by_type(CRYPTO_KEY) if "GcsStores" not in k.urn}  # stores: test_stores.py
    assert set(keys) == {"secrets", "disks"}
    for key in keys.values():
        k = inputs(key)
        assert k["keyRing"] == "ml-prod-gcp-gke-id" and k["rotationPeriod"] == "7776000s"
        assert k["purpose"] == "ENCRYPT_DECRYPT"
    assert ring.protect and all(k.protect for k in keys.values())
    c = prod.one(CLUSTER)
    assert c.protect is True and inputs(c)["deletionProtection"] is True
    assert inputs(c)["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": "ml-prod-gcp-secrets-id"}
    number = _gcp_project_number("ml-platform-prod")
    grants = {inputs(g)["cryptoKeyId"]: inputs(g) for g in prod.by_type(KEY_GRANT)}
    assert grants["ml-prod-gcp-secrets-id"]["member"] == f"serviceAccount:service-{number}@container-engine-robot.iam.gserviceaccount.com"
    assert grants["ml-prod-gcp-disks-id"]["member"] == f"serviceAccount:service-{number}@compute-system.iam.gserviceaccount.com"
    assert {g["role"] for g in grants.values()} == {"roles/cloudkms.cryptoKeyEncrypterDecrypter"}
    for p in prod.by_type(NODE_POOL):
        assert inputs(p)["nodeConfig"]["bootDiskKmsKey"] == "ml-prod-gcp-disks-id"


def test_prod_without_api_cidrs_keeps_the_endpoint_private(prod):
    c = cluster(prod)
    assert c["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": True}
    assert c["masterAuthorizedNetworksConfig"]["cidrBlocks"] == []


def test_zonal_dev_cluster_uses_the_zone_that_offers_most_gpu_pools(zonal):
    c = cluster(zonal)
    # us-east4-c is the one zone with both H100 and A100 80GB in the catalog.
    assert c["location"] == "us-east4-c"
    assert c["releaseChannel"] == {"channel": "RAPID"}
    assert c["maintenancePolicy"]["dailyMaintenanceWindow"]["startTime"] == "22:30"
    provider = inputs(zonal.one("pulumi:providers:gcp"))
    assert provider["zone"] == "us-east4-c" and provider["region"] == "us-east4"
    system = pool(zonal, "system")
    assert system["location"] == "us-east4-c" and system["nodeLocations"] == ["us-east4-c"]


def test_zonal_location_prefers_earliest_zone_on_a_tie():
    cfg = load({"cloud": "gcp", "region": "us-central1", "gcp": {"project": "ml-platform-dev", "regional": False}, "network": {"privateApi": True}})
    assert gke.zonal_location(cfg) == "us-central1-a"


# --- node pools --------------------------------------------------------------------------------


def test_every_pool_is_cos_shielded_on_the_metadata_server_and_auto_managed(staging, prod):
    pools = staging.by_type(NODE_POOL) + prod.by_type(NODE_POOL)
    assert len(pools) == 9  # staging: system, l4, a100, batch and the v5e TPU pool; prod: four
    for r, p in ((r, inputs(r)) for r in pools):
        node = p["nodeConfig"]
        assert node["imageType"] == "COS_CONTAINERD"
        assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
        assert node["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
        assert node["metadata"] == {"disable-legacy-endpoints": "true"}
        # Except staging's DWS flex-start pool, which GKE requires without both (test_capacity.py).
        flex = r.name == "ml-staging-gcp-batch"
        assert p["management"] == {"autoRepair": not flex, "autoUpgrade": not flex}, r.name
        assert p["location"] == "us-central1"


def test_system_pool_spreads_over_three_zones_without_gpus_or_taints(staging):
    system = pool(staging, "system")
    assert system["namePrefix"] == "system-"
    assert system["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert system["autoscaling"] == {"totalMinNodeCount": 2, "totalMaxNodeCount": 4, "locationPolicy": "BALANCED"}
    assert system["initialNodeCount"] == 1
    node = system["nodeConfig"]
    assert node["machineType"] == "e2-standard-4" and node["diskSizeGb"] == 100 and node["spot"] is False
    assert "guestAccelerators" not in node and node["taints"] == []
    assert node["labels"] == conventions.system_pool_labels()


def test_l4_pool_time_shares_each_gpu_between_two_pods(staging):
    l4 = pool(staging, "l4")
    node = l4["nodeConfig"]
    assert node["machineType"] == "g2-standard-8" and node["diskSizeGb"] == 200 and node["diskType"] == "pd-balanced"
    assert accelerator(staging, "l4") == {
        "type": "nvidia-l4",
        "count": 1,
        "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"},
        "gpuSharingConfig": {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": 2},
    }
    assert l4["autoscaling"] == {"totalMinNodeCount": 0, "totalMaxNodeCount": 4, "locationPolicy": "BALANCED"}
    assert node["spot"] is False


def test_a100_spot_pool_scales_from_zero_with_location_policy_any(staging):
    a100 = pool(staging, "a100")
    assert a100["autoscaling"] == {"totalMinNodeCount": 0, "totalMaxNodeCount": 2, "locationPolicy": "ANY"}
    assert a100["initialNodeCount"] == 0
    node = a100["nodeConfig"]
    assert node["spot"] is True and node["machineType"] == "a2-highgpu-1g" and node["diskSizeGb"] == 300
    acc = accelerator(staging, "a100")
    assert acc["type"] == "nvidia-tesla-a100" and acc["count"] == 1
    assert "gpuSharingConfig" not in acc and "gpuPartitionSize" not in acc


def test_gpu_pools_carry_the_gpu_taint_and_the_portable_labels(staging):
    stack_file = yaml.safe_load((ROOT / "stacks" / "Pulumi.staging-gcp.yaml").read_text())["config"]
    cfg = load({key.split(":", 1)[1]: value for key, value in stack_file.items()})
    assert [p.name for p in cfg.gpu_pools] == ["l4", "a100", "batch"]
    gpu_taint = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
    # a100's chain [spot, onDemand] puts it in a ComputeClass, whose label and taint its node
    # pool also carries (test_capacity.py).
    class_label = {"a100": {"cloud.google.com/compute-class": "ml-gpu-a100"}}
    class_taint = {"a100": [{"key": "cloud.google.com/compute-class", "value": "ml-gpu-a100", "effect": "NO_SCHEDULE"}]}
    for gpu_pool in cfg.gpu_pools:
        node = pool(staging, gpu_pool.name)["nodeConfig"]
        assert node["taints"] == [gpu_taint, *class_taint.get(gpu_pool.name, [])]
        assert node["labels"] == {**conventions.gpu_pool_labels(gpu_pool, "gcp", cloud_manages_device_plugin=True),
                                  **class_label.get(gpu_pool.name, {})}
        assert node["labels"][conventions.GPU_NODE_LABEL] == "true"
        # GKE runs the device plugin: no NVIDIA plugin config label on GKE nodes.
        assert conventions.DEVICE_PLUGIN_CONFIG_LABEL not in node["labels"]
        assert node["gvnic"] == {"enabled": True}
    assert pool(staging, "a100")["nodeConfig"]["labels"][conventions.SPOT_LABEL] == "true"


def test_gpu_pools_upgrade_without_a_surge_node(staging):
    assert pool(staging, "l4")["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 0, "maxUnavailable": 1}
    assert pool(staging, "system")["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 1, "maxUnavailable": 0}


@pytest.mark.parametrize(
    "fixture, name, expected",
    [
        ("staging", "l4", ["us-central1-a", "us-central1-b", "us-central1-c"]),
        ("staging", "a100", ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]),
        # Fabric pools (GPUDirect-TCPX on a3-highgpu-8g, RDMA on a3-ultragpu-8g) sit in one
        # zone: the first the catalog lists (tests/clouds/gcp/test_fabric.py).
        ("prod", "h100", ["us-central1-a"]),
        ("prod", "h200", ["us-central1-b"]),
        ("prod", "a100", ["us-central1-a", "us-central1-c"]),
        # ... and a zonal cluster's fabric pool in the cluster's own zone.
        ("zonal", "h100", ["us-east4-c"]),
        ("zonal", "a100", ["us-east4-c"]),
    ],
)
def test_gpu_pool_node_locations_are_the_catalog_zones_of_its_accelerator(request, fixture, name, expected):
    plan = request.getfixturevalue(fixture)
    p = pool(plan, name)
    assert p["nodeLocations"] == expected
    itype = catalog.cloud("gcp").instance_types[p["nodeConfig"]["machineType"]]
    region = plan.outputs["region"]
    offered = list(catalog.cloud("gcp").accelerator_zones[itype.accelerator][region])
    if catalog.cloud("gcp").fabric(itype.name) is not None:
        assert set(expected) <= set(offered) and len(expected) == 1
    else:
        assert offered == expected


def test_mig_pool_is_partitioned_by_gke(prod):
    acc = accelerator(prod, "h100")
    assert acc == {
        "type": "nvidia-h100-80gb",
        "count": 8,
        "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"},
        "gpuPartitionSize": "1g.10gb",
    }


def test_initial_size_stays_within_the_pool_limits(prod):
    h100 = pool(prod, "h100")  # 1..4 nodes over 3 zones: one per zone would be 3, within 4
    assert h100["initialNodeCount"] == 1 and h100["autoscaling"]["totalMinNodeCount"] == 1
    assert pool(prod, "system")["initialNodeCount"] == 1  # 3..6 over 3 zones
    assert gke.initial_nodes_per_zone(min_nodes=1, max_nodes=2, zones=4) == 0
    assert gke.initial_nodes_per_zone(min_nodes=6, max_nodes=10, zones=3) == 2
    assert gke.initial_nodes_per_zone(min_nodes=4, max_nodes=4, zones=3) == 1


def test_a3_ultra_boots_from_hyperdisk(prod):
    assert pool(prod, "h200")["nodeConfig"]["diskType"] == "hyperdisk-balanced"
    assert pool(prod, "h100")["nodeConfig"]["diskType"] == "pd-balanced"


def test_driver_version_default_is_selectable(zonal):
    for name in ("h100", "a100"):
        assert accelerator(zonal, name)["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "DEFAULT"}


def test_autoscaler_owned_sizes_and_the_default_pool_config_never_cause_a_replacement(monkeypatch):
    # Resource options are not inputs: record what the program passes to the SDK.
    seen: dict[str, pulumi.ResourceOptions] = {}

    def recording(cls):
        class Recording(cls):
            def __init__(self, resource_name, *args, **kwargs):
                seen[resource_name] = kwargs.get("opts")
                super().__init__(resource_name, *args, **kwargs)

        return Recording

    monkeypatch.setattr(gcp.container, "Cluster", recording(gcp.container.Cluster))
    monkeypatch.setattr(gcp.container, "NodePool", recording(gcp.container.NodePool))
    plan_for_stack("staging-gcp")
    assert seen["ml-staging-gcp-gke"].ignore_changes == ["nodeConfig", "initialNodeCount"]
    for name in ("system", "l4", "a100"):
        assert seen[f"ml-staging-gcp-{name}"].ignore_changes == ["initialNodeCount"]


# --- labels -------------------------------------------------------------------------------------


def test_tags_become_gcp_safe_labels(zonal):
    expected = {
        "team": "ml_platform",
        "cost_center": "r_d_42",
        "tag-9lives": "x",
        "ml-clusters-cluster": "ml-dev-gcp",
        "ml-clusters-environment": "dev",
        "ml-clusters-stack": "dev-gcp",
    }
    assert cluster(zonal)["resourceLabels"] == dict(sorted(expected.items()))
    assert pool(zonal, "h100")["nodeConfig"]["resourceLabels"] == dict(sorted(expected.items()))
    import json

    assert json.loads(inputs(zonal.one("pulumi:providers:gcp"))["defaultLabels"]) == dict(sorted(expected.items()))


def test_label_helpers_enforce_gcp_rules():
    assert gke.gcp_label_key("A" * 80) == "a" * 63
    assert gke.gcp_label_key("_x") == "tag-_x"
    assert gke.gcp_label_value("Hello World!") == "hello_world_"
    assert gke.gcp_labels({"b": "1", "a": "2"}) == {"a": "2", "b": "1"}


# --- kubeconfig and provider ------------------------------------------------------------------


def test_kubeconfig_is_a_secret_that_calls_the_gke_auth_plugin(staging):
    assert is_secret(staging.outputs["kubeconfig"])
    provider = staging.one("pulumi:providers:kubernetes")
    assert is_secret(provider.inputs["kubeconfig"])
    doc = yaml.safe_load(inputs(provider)["kubeconfig"])
    (user,) = doc["users"]
    assert user["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert user["user"]["exec"]["args"] == ["--use_application_default_credentials"]
    assert "token" not in user["user"] and "password" not in user["user"]
    (entry,) = doc["clusters"]
    assert entry["cluster"]["server"].startswith("https://34.")
    assert entry["cluster"]["certificate-authority-data"]


def test_gcp_resources_use_the_explicit_provider_with_project_and_region(staging):
    provider = staging.one("pulumi:providers:gcp")
    p = inputs(provider)
    assert p["project"] == "ml-platform-staging" and p["region"] == "us-central1" and "zone" not in p
    for r in staging.resources:
        if r.type.startswith("gcp:"):
            assert r.provider.startswith(provider.urn), r.name


# --- the handle ------------------------------------------------------------------------------------


def _capture_handles(monkeypatch, raw=None, stack="staging-gcp"):
    captured: dict = {}
    original = gke.GkeCluster._handle

    def spy(self):
        handle = original(self)
        captured["handle"] = handle
        params = handle.file_storage.parameters if handle.file_storage else {}
        pulumi.Output.all(network=params.get("network", ""), block=handle.block_storage.parameters).apply(
            lambda values: captured.__setitem__("values", values)
        )
        return handle

    monkeypatch.setattr(gke.GkeCluster, "_handle", spy)
    plan_for_stack(stack) if raw is None else plan_for(raw, stack=stack)
    return captured["handle"], captured["values"]


def test_handle_tells_the_platform_what_gke_provides(monkeypatch):
    handle, values = _capture_handles(monkeypatch)
    assert handle.cloud == "gcp" and handle.name == "ml-staging-gcp" and handle.kubernetes_version == "1.35"
    assert handle.cloud_manages_device_plugin is True
    # GKE workload identity: the GKE metadata server every node serves on 169.254.169.254:80.
    assert handle.identity_endpoint == "169.254.169.254:80"
    assert handle.block_storage.provisioner == "pd.csi.storage.gke.io"
    assert values["block"] == {"type": "pd-balanced", "csi.storage.k8s.io/fstype": "ext4"}
    assert handle.block_storage.access_mode == "ReadWriteOnce" and handle.block_storage.encrypted
    assert handle.file_storage is not None
    assert handle.file_storage.provisioner == "filestore.csi.storage.gke.io"
    assert handle.file_storage.access_mode == "ReadWriteMany"
    assert handle.file_storage.parameters["tier"] == "standard"
    assert values["network"] == "ml-staging-gcp-vpc"
    assert handle.gpu_metrics == gke.GpuMetricsSource(
        managed_by_cloud=True,
        namespace="gke-managed-system",
        pod_selector={"app.kubernetes.io/name": "gke-managed-dcgm-exporter"},
        port="metrics",
    )
    assert handle.internal_lb_annotations == {"networking.gke.io/load-balancer-type": "Internal"}
    # A LoadBalancer Service is an external passthrough NLB by default: nothing to add.
    assert handle.public_lb_annotations == {}
    assert handle.workload_identity_annotation == "iam.gke.io/gcp-service-account"
    assert handle.system_tolerations == []
    assert handle.gpu_node_selector == {conventions.GPU_NODE_LABEL: "true"}
    assert [(p.pool.name, p.gpu_model, p.gpus_per_node) for p in handle.gpu_pools] == [("l4", "l4", 1), ("a100", "a100", 1), ("batch", "a100", 1)]
    assert all(conventions.DEVICE_PLUGIN_CONFIG_LABEL not in p.node_labels for p in handle.gpu_pools)
    # The platform waits for the system pool and the webhook firewall rule, not the GPU pools.
    assert [r._name for r in handle.ready] == ["ml-staging-gcp-system", "ml-staging-gcp-webhooks"]
    assert handle.extra_block_storage == {}


def test_handle_in_prod_uses_the_disk_key_and_enterprise_filestore(monkeypatch):
    handle, values = _capture_handles(monkeypatch, PROD, "prod-gcp")
    assert values["block"]["disk-encryption-kms-key"] == "ml-prod-gcp-disks-id"
    assert handle.file_storage.parameters["tier"] == "enterprise"


def test_handle_without_shared_files_and_with_an_arm_system_pool(monkeypatch):
    handle, _ = _capture_handles(monkeypatch, ZONAL_DEV, "dev-gcp")
    assert handle.file_storage is None
    # GKE taints Arm nodes; the platform's own pods must tolerate it on an Arm system pool.
    assert handle.system_tolerations == [
        {"key": "kubernetes.io/arch", "operator": "Equal", "value": "arm64", "effect": "NoSchedule"}
    ]


# --- bad GCP configs ---------------------------------------------------------------------------------


def _gcp(pools, **extra):
    return {"cloud": "gcp", "region": "us-east1", "gcp": {"project": "ml-platform-dev"}, "gpuPools": pools, **extra}


@pytest.mark.parametrize(
    "raw, message",
    [
        (
            _gcp([{"name": "h200", "instanceType": "a3-ultragpu-8g"}]),
            "gpuPools[0].instanceType: 'a3-ultragpu-8g' (NVIDIA H200 141GB) is not offered in us-east1; "
            "regions with it: europe-west1, europe-west4, us-central1, us-east4, us-west1",
        ),
        (
            _gcp([{"name": "a100", "instanceType": "a2-ultragpu-1g"}]),
            "gpuPools[0].instanceType: 'a2-ultragpu-1g' (NVIDIA A100 80GB) is not offered in us-east1; "
            "regions with it: asia-southeast1, europe-west4, us-central1, us-east4",
        ),
        (
            _gcp([{"name": "l4", "instanceType": "g2-standard-8", "sharing": {"mig": {"profile": "1g.5gb"}}}]),
            "gpuPools[0].sharing.mig: NVIDIA L4 (g2-standard-8) does not support MIG; "
            "MIG GPUs: a100, a100-80gb, b200, h100, h100-nvl, h200",
        ),
        (
            _gcp([{"name": "a100", "instanceType": "a2-highgpu-1g",
                   "sharing": {"mig": {"profile": "1g.5gb"}, "timeSlicing": {"replicas": 2}}}]),
            "gpuPools[0].sharing: sets both timeSlicing and mig; choose one",
        ),
        (
            _gcp([{"name": "a100", "instanceType": "a2-highgpu-1g", "sharing": {"mig": {"profile": "1g.10gb"}}}]),
            "gpuPools[0].sharing.mig.profile: '1g.10gb' is not a MIG profile of NVIDIA A100 40GB; "
            "allowed: 1g.5gb, 2g.10gb, 3g.20gb, 4g.20gb, 7g.40gb",
        ),
        (
            _gcp([{"name": "a100", "instanceType": "a2-highgpu-1g",
                   "sharing": {"mig": {"profile": "1g.5gb", "strategy": "mixed"}}}]),
            "gpuPools[0].sharing.mig.strategy: 'mixed' is not available on gcp: "
            "GKE cuts every GPU of a pool into the one profile; allowed: single",
        ),
        (
            _gcp([{"name": "cpu", "instanceType": "n2-standard-8"}]),
            "gpuPools[0].instanceType: 'n2-standard-8' has no GPU; allowed: a2-highgpu-1g, a2-highgpu-2g, "
            "a2-highgpu-4g, a2-highgpu-8g, a2-ultragpu-1g, a2-ultragpu-8g, a3-highgpu-8g, a3-ultragpu-8g, "
            "g2-standard-24, g2-standard-4, g2-standard-48, g2-standard-8, g2-standard-96",
        ),
        (
            _gcp([{"name": "l4", "instanceType": "g6.xlarge"}]),
            "gpuPools[0].instanceType: 'g6.xlarge' is not a known gcp GPU type; allowed: a2-highgpu-1g, "
            "a2-highgpu-2g, a2-highgpu-4g, a2-highgpu-8g, a2-ultragpu-1g, a2-ultragpu-8g, a3-highgpu-8g, "
            "a3-ultragpu-8g, g2-standard-24, g2-standard-4, g2-standard-48, g2-standard-8, g2-standard-96",
        ),
        (
            _gcp([], environment="prod", gcp={"project": "ml-platform-prod", "regional": False}),
            "gcp.regional: false is not allowed in prod: a zonal control plane has no zone redundancy; allowed: true",
        ),
        (
            _gcp([], gcp={"project": "ML_Platform"}),
            "gcp.project: 'ML_Platform' is not a GCP project id; allowed: 6-30 lowercase letters, digits and "
            "hyphens, starting with a letter",
        ),
        (
            _gcp([], gcp={"project": "ml-platform-dev", "gpuDriverVersion": "INSTALLATION_DISABLED"}),
            "gcp.gpuDriverVersion: 'INSTALLATION_DISABLED' is not allowed; allowed: LATEST, DEFAULT",
        ),
        (
            _gcp([], gcp={"project": "ml-platform-dev", "maintenanceStart": "25:00"}),
            "gcp.maintenanceStart: '25:00' is not valid; it must match ^([01][0-9]|2[0-3]):[0-5][0-9]$",
        ),
        (
            {"cloud": "gcp", "region": "us-central1"},
            "gcp: required for cloud gcp; it must set at least gcp.project (or set the provider's gcp:project)",
        ),
        (
            _gcp([], systemPool={"instanceType": "g2-standard-4"}),
            "systemPool.instanceType: 'g2-standard-4' has GPUs; allowed: e2-standard-4, n2-standard-4, "
            "n2-standard-8, t2a-standard-4",
        ),
    ],
)
def test_bad_gcp_config_is_reported_in_one_line(raw, message):
    assert message in config_errors(raw)


def test_mixed_mig_is_refused_on_gcp_only():
    mixed = {"name": "a100", "sharing": {"mig": {"profile": "1g.5gb", "strategy": "mixed"}}}
    aws = StackConfig.model_validate(
        {"cloud": "aws", "region": "us-east-1", "gpuPools": [{**mixed, "instanceType": "p4d.24xlarge"}]}
    )
    assert not any("mig.strategy" in p for p in semantic_problems(aws))
    gcp_cfg = StackConfig.model_validate({**_gcp([{**mixed, "instanceType": "a2-highgpu-1g"}]), "region": "us-central1"})
    assert [p for p in semantic_problems(gcp_cfg) if "mig.strategy" in p] != []


# --- the stack end to end ---------------------------------------------------------------------------


def test_staging_stack_previews_end_to_end(staging):
    # The stores (components/clouds/gcp/stores.py) are tested in test_stores.py.
    gcp_types = sorted({r.type for r in staging.resources if r.type.startswith("gcp:") and "GcsStores" not in r.urn})
    assert gcp_types == [
        "gcp:compute/firewall:Firewall",
        "gcp:compute/network:Network",
        "gcp:compute/router:Router",
        "gcp:compute/routerNat:RouterNat",
        "gcp:compute/subnetwork:Subnetwork",
        "gcp:container/cluster:Cluster",
        "gcp:container/nodePool:NodePool",
        "gcp:projects/iAMMember:IAMMember",
        "gcp:serviceaccount/account:Account",
    ]
    assert {"mlclusters:clouds:GkeCluster", "pulumi:providers:gcp", "pulumi:providers:kubernetes"} <= {
        r.type for r in staging.resources
    }
    assert sorted(r.name.rsplit("-", 1)[-1] for r in staging.by_type(NODE_POOL)) == ["a100", "batch", "l4", "system", "v5e"]
    assert staging.outputs["cloud"] == "gcp" and staging.outputs["region"] == "us-central1"
    assert staging.outputs["gpuPools"] == ["l4", "a100", "batch"]
    backend = staging.one("mlclusters:clouds:GkeCluster")
    for r in staging.resources:
        if r.type.startswith("gcp:") and "GcsStores" not in r.urn:
            assert r.parent == backend.urn, r.name


def test_the_same_stack_gives_the_same_plan(staging):
    with fresh_plans():
        again = plan_for_stack("staging-gcp")
    assert [(r.urn, redact(r.inputs)) for r in again.resources] == [(r.urn, redact(r.inputs)) for r in staging.resources]


# --- deploy order, webhooks, intranode visibility, Hyperdisk, CPU pools ------------------------

WITH_CPU = {**PROD, "cpuPools": [{"name": "web", "instanceType": "n2-standard-8", "maxNodes": 6},
                                 {"name": "batch", "instanceType": "e2-standard-4", "minNodes": 1, "spot": True}]}


@pytest.fixture(scope="module")
def with_cpu():
    return plan_for(WITH_CPU, stack="prod-gcp")


def test_platform_waits_for_the_system_pool_and_grants_not_worker_pools(with_cpu):
    system = with_cpu.one(NODE_POOL, "ml-prod-gcp-system")
    firewall = with_cpu.one("gcp:compute/firewall:Firewall", "ml-prod-gcp-webhooks")
    workers = {with_cpu.one(NODE_POOL, f"ml-prod-gcp-{p}").urn for p in ("h100", "h200", "a100", "web", "batch")}
    k8s = [r for r in with_cpu.resources if r.type.startswith("kubernetes:") or r.type == "pulumi:providers:kubernetes"]
    assert {"pulumi:providers:kubernetes", "kubernetes:storage.k8s.io/v1:StorageClass", "kubernetes:helm.sh/v3:Release"} <= {r.type for r in k8s}
    for r in k8s:
        deps = set(r.dependencies)
        assert {system.urn, firewall.urn} <= deps, r.name
        assert not deps & workers, r.name
    # The system pool itself waits for its node account's role grants.
    roles = {b.urn for b in with_cpu.by_type("gcp:projects/iAMMember:IAMMember")}
    assert roles <= set(system.dependencies)


def test_control_plane_reaches_admission_webhooks_on_8443_and_9443(with_cpu):
    # GKE private clusters: the generated firewall admits control-plane-to-node traffic on
    # 443 and 10250 only; webhooks on other ports need a rule (GKE docs, "Add firewall rules
    # for specific use cases"). The workload layer serves webhooks on 8443 and 9443.
    rule = inputs(with_cpu.one("gcp:compute/firewall:Firewall", "ml-prod-gcp-webhooks"))
    assert rule["direction"] == "INGRESS" and rule["network"].endswith("/global/networks/ml-prod-gcp-vpc")
    assert rule["allows"] == [{"protocol": "tcp", "ports": ["8443", "9443"]}]
    assert rule["targetServiceAccounts"] == ["ml-prod-gcp-nodes@ml-platform-prod.iam.gserviceaccount.com"]
    cluster_outputs = mocks_gke_cluster_outputs(with_cpu)
    assert rule["sourceRanges"] == [cluster_outputs["privateClusterConfig"]["privateEndpoint"] + "/32"]


def test_webhook_rule_follows_the_ports_the_catalog_lists(monkeypatch):
    from components.catalog import versions

    monkeypatch.setattr(versions, "ADMISSION_WEBHOOK_PORTS", (9443, 8443, 15017))
    plan = plan_for(PROD, stack="prod-gcp")
    assert inputs(plan.one("gcp:compute/firewall:Firewall", "ml-prod-gcp-webhooks"))["allows"] == [{"protocol": "tcp", "ports": ["8443", "9443", "15017"]}]


def test_webhook_rule_opens_what_the_workload_controllers_serve_the_api_server_on():
    # staging-gcp enables queueing, training and serving. Kueue v0.19.2 serves its visibility
    # API (an aggregated APIService the API server calls) on 8082 besides webhooks on 9443
    # (kubernetes-sigs/kueue charts/kueue/values.yaml); cert-manager's webhook is on 10250,
    # which GKE already allows. Without 8082 the API server cannot reach the visibility API.
    from components.config import raw_from_pulumi
    from components.platform.workloads import control_plane_ports
    from preview import engine

    values, _ = engine.read_stack_config("staging-gcp")
    cfg = load(raw_from_pulumi(values)[0])
    wanted = {p.port for p in control_plane_ports(cfg.platform.workloads)}
    assert 8082 in wanted
    plan = plan_for_stack("staging-gcp")
    rule = next(r for r in plan.by_type("gcp:compute/firewall:Firewall") if r.name.endswith("-webhooks"))
    ports = inputs(rule)["allows"][0]["ports"]
    assert ports == sorted(ports, key=int) and {"8082", "8443", "9443"} <= set(ports)
    assert {int(p) for p in ports} == wanted | {8443, 9443}


def mocks_gke_cluster_outputs(plan):
    from types import SimpleNamespace

    from preview import mocks

    c = plan.one(CLUSTER)
    return mocks._gke_cluster(SimpleNamespace(name=c.name, inputs=inputs(c)))


def test_control_plane_ranges_prefer_the_reserved_range_then_the_private_endpoint():
    assert gke.control_plane_ranges({"master_ipv4_cidr_block": "172.16.0.32/28", "private_endpoint": "172.16.0.34"}) == ["172.16.0.32/28"]
    assert gke.control_plane_ranges({"private_endpoint": "10.0.0.2"}) == ["10.0.0.2/32"]
    assert gke.control_plane_ranges(None) == []


def test_intranode_visibility_with_dataplane_v2(staging):
    # GKE docs "Set up intranode visibility": with Dataplane V2 it is eBPF-native from
    # 1.36.0-gke.3302000 (netd before); Autopilot runs both by default.
    c = cluster(staging)
    assert c["enableIntranodeVisibility"] is True and c["datapathProvider"] == "ADVANCED_DATAPATH"


def test_a3_ultra_gets_a_hyperdisk_block_class(with_cpu, staging):
    # A3 Ultra (a3-ultragpu-8g) attaches Hyperdisk only: pd-balanced volumes cannot attach there.
    (hyper,) = [inputs(r) for r in with_cpu.by_type("kubernetes:storage.k8s.io/v1:StorageClass")
                if inputs(r)["metadata"]["name"] == gke.HYPERDISK_CLASS]
    assert hyper["provisioner"] == "pd.csi.storage.gke.io"
    assert hyper["parameters"] == {"csi.storage.k8s.io/fstype": "ext4", "disk-encryption-kms-key": "ml-prod-gcp-disks-id",
                                   "type": "hyperdisk-balanced"}
    assert hyper["volumeBindingMode"] == "WaitForFirstConsumer" and hyper["reclaimPolicy"] == "Delete"
    assert hyper["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "false"
    names = [inputs(r)["metadata"]["name"] for r in staging.by_type("kubernetes:storage.k8s.io/v1:StorageClass")]
    assert gke.HYPERDISK_CLASS not in names  # no A3 Ultra pool: no Hyperdisk class


def test_cpu_pools_scale_from_their_minimum_untainted_with_portable_labels(with_cpu):
    web, batch = pool(with_cpu, "web"), pool(with_cpu, "batch")
    assert web["autoscaling"] == {"totalMinNodeCount": 0, "totalMaxNodeCount": 6, "locationPolicy": "BALANCED"}
    assert batch["autoscaling"] == {"totalMinNodeCount": 1, "totalMaxNodeCount": 3, "locationPolicy": "ANY"}
    assert web["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]
    for p, name, spot in ((web, "web", "false"), (batch, "batch", "true")):
        node = p["nodeConfig"]
        assert node["taints"] == [] and "guestAccelerators" not in node
        assert node["labels"] == {conventions.GPU_NODE_LABEL: "false", conventions.POOL_LABEL: name, conventions.SPOT_LABEL: spot}
        assert node["serviceAccount"] == "ml-prod-gcp-nodes@ml-platform-prod.iam.gserviceaccount.com"
    assert web["nodeConfig"]["machineType"] == "n2-standard-8" and batch["nodeConfig"]["spot"] is True


def test_gke_system_pool_is_not_tainted_critical_addons_only(with_cpu, monkeypatch):
    # GKE's own add-ons do not all tolerate CriticalAddonsOnly: event-exporter-gke tolerates
    # only components.gke.io/gke-managed-components (seen in a GKE cluster's kube-system
    # Deployment), while konnectivity-agent and kube-dns tolerate both. A CriticalAddonsOnly
    # taint would strand such add-ons when no other untainted node exists (GPU pools are
    # tainted, CPU pools may be at 0), so on GKE the system pool stays untainted and the
    # platform's pods need no toleration there.
    assert pool(with_cpu, "system")["nodeConfig"]["taints"] == []
    handle, _ = _capture_handles(monkeypatch, WITH_CPU, "prod-gcp")
    assert handle.system_tolerations == []

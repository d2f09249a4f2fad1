"""GKE GPU fabric (components/clouds/gcp/fabric.py) on the plan: the GPU NIC VPCs (TCPX on A3
High), the RoCE and gVNIC VPCs (RDMA on A3 Ultra), multi-networking, the fabric node pools,
the in-cluster networks, device injector and NCCL plugin installers, what a rank's pod gets,
and their order. prod-gcp carries an A3 High pool (h100) and an A3 Ultra pool (h200).

Upstream facts relied on, each named where it is used:
- GoogleCloudPlatform/cluster-toolkit v1.95.0: examples/gke-a3-highgpu/gke-a3-highgpu.yaml and
  examples/gke-a3-megagpu/gke-a3-megagpu.yaml (multivpc `network_count` 4 / 8, `mtu: 8244`,
  `k8s_network_names` gvnic_prefix `vpc` from 1); examples/gke-a4/gke-a4.yaml and
  examples/gke-a3-ultragpu/gke-a3-ultragpu.yaml (a gVNIC VPC with internal firewall rules;
  the RDMA VPC with `network_profile .../networkProfiles/<zone>-vpc-roce` and 8 subnets);
  modules/network/gpu-rdma-vpc/variables.tf (mtu 8896) and modules/network/vpc/variables.tf
  (`network_profile`: a RoCE profile refuses firewall rules); modules/network/multivpc
  (`enable_internal_traffic`); modules/scheduler/gke-cluster/main.tf (additional networks turn
  multi-networking on, which needs ADVANCED_DATAPATH) and templates/gke-network-paramset.yaml.tftpl,
  network-object.yaml.tftpl (deviceMode NetDevice or RDMA; Network type Device; names
  rdma-0..7 by default).
- GoogleCloudPlatform/gke-networking-api config/crds/networking.gke.io_gkenetworkparamsets.yaml
  and networking.gke.io_networks.yaml (v1, cluster-scoped; spec fields below).
- GoogleCloudPlatform/container-engine-accelerators @ 992db812 (2026-06-11):
  nri_device_injector/nri-device-injector.yaml, gpudirect-tcpx/nccl-tcpx-installer.yaml,
  gpudirect-tcpxo/nccl-tcpxo-installer.yaml, gpudirect-rdma/nccl-rdma-installer.yaml (what each
  runs, where it writes), gpudirect-tcpx/nccl-test-latest.yaml and gpudirect-tcpxo/
  nccl-test-latest.yaml (RxDM sidecar, interface and device annotations), gpudirect-rdma/
  nccl-test.yaml (eth2..eth9 -> rdma-0..7, /home/kubernetes/bin/{nvidia,gib} mounts),
  gpudirect-tcpxo/README.md "Jan 9, 2026" (TCPXO v1.0.15 with RxDM v1.0.21, its NCCL settings).
- pulumi-gcp 10.2.0: container.Cluster `enable_multi_networking`, `datapath_provider`;
  container.NodePool `network_config.additional_node_network_configs`, `placement_policy.type`
  COMPACT; compute.Network `network_profile`, `mtu`.
- GKE docs "Define compact placement for GKE nodes": compact placement only with A100, L4 and
  H100 GPUs (so A3 High / Mega, not A3 Ultra's H200 or A4's B200).
"""

from __future__ import annotations

import ipaddress
import json
from types import SimpleNamespace

import kubernetes_validate
import pytest

from components import catalog, conventions
from components.catalog import versions
from components.clouds.gcp import fabric
from components.config import load, raw_from_pulumi
from preview import engine
from tests.conftest import inputs, plan_for_stack

CLUSTER = "ml-prod-gcp"
NETWORK = "gcp:compute/network:Network"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
FIREWALL = "gcp:compute/firewall:Firewall"
NODE_POOL = "gcp:container/nodePool:NodePool"
DAEMONSET = "kubernetes:apps/v1:DaemonSet"
PARAMSET = "kubernetes:networking.gke.io/v1:GKENetworkParamSet"
K8S_NETWORK = "kubernetes:networking.gke.io/v1:Network"
# gke-networking-api CRDs (v1): the spec fields each kind declares.
PARAMSET_FIELDS = {"deviceMode", "networkAttachment", "podIPv4Ranges", "vpc", "vpcSubnet"}
DEVICE_MODES = {"DPDK-VFIO", "NetDevice", "RDMA"}
NETWORK_FIELDS = {"type", "parametersRef", "provider", "routes", "l2NetworkConfig", "dnsConfig", "gateway4",
                  "externalDHCP4"}


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-gcp")


@pytest.fixture(scope="module")
def prod_config():
    values, _ = engine.read_stack_config("prod-gcp")
    return load(raw_from_pulumi(values)[0])


def test_prod_gcp_pools_carry_the_catalog_fabric(prod_config):
    kinds = {p.name: (p.fabric("gcp").kind if p.fabric("gcp") else None) for p in prod_config.gpu_pools}
    assert kinds == {"h100": catalog.cloud("gcp").fabric("a3-highgpu-8g").kind,
                     "h200": catalog.cloud("gcp").fabric("a3-ultragpu-8g").kind, "l4infer": None}
    assert kinds["h100"] == "tcpx" and kinds["h200"] == "rdma"


def test_one_gpu_nic_vpc_per_tcpx_nic_with_jumbo_mtu_and_internal_firewall(prod):
    # cluster-toolkit v1.95.0 gke-a3-highgpu.yaml: multivpc network_count 4, mtu 8244.
    nics = catalog.cloud("gcp").fabric("a3-highgpu-8g").nics
    nets = sorted(r.name for r in prod.by_type(NETWORK) if "-gpunet-" in r.name)
    assert nets == [f"{CLUSTER}-gpunet-{i}" for i in range(nics)] and nics == 4
    ranges = []
    for i in range(nics):
        net = inputs(prod.one(NETWORK, f"{CLUSTER}-gpunet-{i}"))
        assert net["mtu"] == fabric.TCP_MTU == 8244 and net["autoCreateSubnetworks"] is False
        subnet = inputs(prod.one(SUBNET, f"{CLUSTER}-gpunet-{i}"))
        assert subnet["network"].endswith(f"/global/networks/{CLUSTER}-gpunet-{i}") and subnet["region"] == "us-central1"
        ranges.append(ipaddress.ip_network(subnet["ipCidrRange"]))
        # multivpc enable_internal_traffic: TCP, UDP and ICMP inside the VPC, from its own subnet only.
        rule = inputs(prod.one(FIREWALL, f"{CLUSTER}-gpunet-{i}-internal"))
        assert rule["direction"] == "INGRESS" and rule["network"].endswith(f"/global/networks/{CLUSTER}-gpunet-{i}")
        assert rule["sourceRanges"] == [subnet["ipCidrRange"]]
        assert rule["allows"] == [{"protocol": "tcp"}, {"protocol": "udp"}, {"protocol": "icmp"}]
    # Disjoint /20s inside the fabric block, apart from the stack's own ranges.
    assert all(r.prefixlen == 20 and r.subnet_of(ipaddress.ip_network(fabric.FABRIC_RANGE)) for r in ranges)
    assert len({r.network_address for r in ranges}) == nics
    vpc = ipaddress.ip_network(inputs(prod.one(SUBNET, f"{CLUSTER}-nodes"))["ipCidrRange"])
    assert not any(r.overlaps(vpc) for r in ranges)


def test_rdma_pool_gets_a_roce_vpc_with_eight_subnets_and_a_gvnic_vpc(prod):
    # cluster-toolkit v1.95.0 gke-a3-ultragpu.yaml / gke-a4.yaml and modules/network/gpu-rdma-vpc.
    zone = catalog.cloud("gcp").zones_offering("a3-ultragpu-8g", "us-central1")[0]
    roce = inputs(prod.one(NETWORK, f"{CLUSTER}-rdma"))
    assert roce["networkProfile"] == f"projects/ml-platform-prod/global/networkProfiles/{zone}-vpc-roce"
    assert roce["mtu"] == fabric.RDMA_MTU == 8896 and roce["autoCreateSubnetworks"] is False
    nics = catalog.cloud("gcp").fabric("a3-ultragpu-8g").nics
    subnets = [inputs(prod.one(SUBNET, f"{CLUSTER}-rdma-sub-{i}")) for i in range(nics)]
    assert nics == 8 and all(s["network"].endswith(f"/global/networks/{CLUSTER}-rdma") for s in subnets)
    assert len({s["ipCidrRange"] for s in subnets}) == 8
    # A RoCE profile refuses firewall rules (cluster-toolkit modules/network/vpc variables.tf).
    assert not [r for r in prod.by_type(FIREWALL) if inputs(r)["network"].endswith(f"/networks/{CLUSTER}-rdma")]
    gvnic = inputs(prod.one(NETWORK, f"{CLUSTER}-rdma-gvnic"))
    assert gvnic["mtu"] == 8896 and "networkProfile" not in gvnic
    assert inputs(prod.one(FIREWALL, f"{CLUSTER}-rdma-gvnic-internal"))["allows"][0] == {"protocol": "tcp"}


def test_cluster_runs_multi_networking_on_dataplane_v2(prod):
    cluster = inputs(prod.one("gcp:container/cluster:Cluster"))
    assert cluster["enableMultiNetworking"] is True and cluster["datapathProvider"] == "ADVANCED_DATAPATH"


def test_a_stack_without_fabric_pools_gets_none_of_it():
    staging = plan_for_stack("staging-gcp")
    assert "enableMultiNetworking" not in inputs(staging.one("gcp:container/cluster:Cluster"))
    assert not staging.by_type(PARAMSET) and not [r for r in staging.by_type(NETWORK) if "gpunet" in r.name or "rdma" in r.name]
    assert not [r for r in staging.by_type(DAEMONSET) if r.name.endswith(("installer", "injector"))]


def test_tcpx_node_pool_one_zone_four_nics_in_order_compact(prod):
    pool = inputs(prod.one(NODE_POOL, f"{CLUSTER}-h100"))
    assert pool["nodeLocations"] == [catalog.cloud("gcp").zones_offering("a3-highgpu-8g", "us-central1")[0]]
    assert pool["networkConfig"]["additionalNodeNetworkConfigs"] == [
        {"network": f"{CLUSTER}-gpunet-{i}", "subnetwork": f"{CLUSTER}-gpunet-{i}"} for i in range(4)
    ]
    # Compact placement: H100 is among the GPUs GKE allows it for.
    assert pool["placementPolicy"] == {"type": "COMPACT"}
    assert pool["nodeConfig"]["gvnic"] == {"enabled": True}
    # The fabric label the policy pack reads (conventions.FABRIC_LABEL).
    assert pool["nodeConfig"]["labels"][conventions.FABRIC_LABEL] == "tcpx"
    assert inputs(prod.one(NODE_POOL, f"{CLUSTER}-h200"))["nodeConfig"]["labels"][conventions.FABRIC_LABEL] == "rdma"


def test_rdma_node_pool_gvnic_then_eight_rdma_nics_not_compact(prod):
    pool = inputs(prod.one(NODE_POOL, f"{CLUSTER}-h200"))
    assert pool["nodeLocations"] == ["us-central1-b"]
    assert pool["networkConfig"]["additionalNodeNetworkConfigs"] == [
        {"network": f"{CLUSTER}-rdma-gvnic", "subnetwork": f"{CLUSTER}-rdma-gvnic"},
        *({"network": f"{CLUSTER}-rdma", "subnetwork": f"{CLUSTER}-rdma-sub-{i}"} for i in range(8)),
    ]
    # H200 is not among the GPUs GKE's compact placement supports.
    assert "placementPolicy" not in pool
    # A pool without a fabric keeps its zones and plain networking.
    l4 = inputs(prod.one(NODE_POOL, f"{CLUSTER}-l4infer"))
    assert "networkConfig" not in l4 and "placementPolicy" not in l4
    assert l4["nodeLocations"] == list(catalog.cloud("gcp").zones_offering("g2-standard-8", "us-central1"))


def test_networks_and_firewall_rules_come_before_the_node_pools_that_use_them(prod):
    def urns(*names):
        return {prod.one(t, n).urn for t, n in names}

    h100 = set(prod.one(NODE_POOL, f"{CLUSTER}-h100").dependencies)
    assert urns(*((SUBNET, f"{CLUSTER}-gpunet-{i}") for i in range(4)),
                *((FIREWALL, f"{CLUSTER}-gpunet-{i}-internal") for i in range(4))) <= h100
    h200 = set(prod.one(NODE_POOL, f"{CLUSTER}-h200").dependencies)
    assert urns(*((SUBNET, f"{CLUSTER}-rdma-sub-{i}") for i in range(8)), (SUBNET, f"{CLUSTER}-rdma-gvnic"),
                (FIREWALL, f"{CLUSTER}-rdma-gvnic-internal")) <= h200


def test_a_paramset_and_a_network_per_additional_network(prod):
    expected = {f"vpc{i + 1}": (f"{CLUSTER}-gpunet-{i}", f"{CLUSTER}-gpunet-{i}", "NetDevice") for i in range(4)}
    expected["gvnic-1"] = (f"{CLUSTER}-rdma-gvnic", f"{CLUSTER}-rdma-gvnic", "NetDevice")
    expected |= {f"rdma-{i}": (f"{CLUSTER}-rdma", f"{CLUSTER}-rdma-sub-{i}", "RDMA") for i in range(8)}
    paramsets = {inputs(r)["metadata"]["name"]: r for r in prod.by_type(PARAMSET)}
    assert set(paramsets) == set(expected)
    for name, (vpc, subnet, mode) in expected.items():
        obj = inputs(paramsets[name])
        assert obj["spec"] == {"vpc": vpc, "vpcSubnet": subnet, "deviceMode": mode}
        assert set(obj["spec"]) <= PARAMSET_FIELDS and mode in DEVICE_MODES
        assert "namespace" not in obj["metadata"]  # cluster-scoped
        net = prod.one(K8S_NETWORK, f"{CLUSTER}-network-{name}")
        spec = inputs(net)["spec"]
        assert set(spec) <= NETWORK_FIELDS
        assert spec == {"type": "Device", "parametersRef": {"group": "networking.gke.io", "kind": "GKENetworkParamSet", "name": name}}
        # The Network refers to its paramset: the paramset first.
        assert paramsets[name].urn in net.dependencies


def test_installers_and_injector_run_on_the_fabric_pools_only(prod):
    injector = inputs(prod.one(DAEMONSET, f"{CLUSTER}-nri-device-injector"))
    tcpx = inputs(prod.one(DAEMONSET, f"{CLUSTER}-nccl-tcpx-installer"))
    rdma = inputs(prod.one(DAEMONSET, f"{CLUSTER}-nccl-rdma-installer"))
    assert not [r for r in prod.by_type(DAEMONSET) if r.name.endswith("nccl-tcpxo-installer")]

    def pools(ds):
        terms = ds["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms[0]["matchExpressions"][0]["key"] == conventions.POOL_LABEL
        return terms[0]["matchExpressions"][0]["values"]

    # The RxDM sidecar needs the injector: TCPX/TCPXO pools only (nri-device-injector.yaml
    # selects nvidia-h100-80gb and nvidia-h100-mega-80gb).
    assert pools(injector) == ["h100"] and pools(tcpx) == ["h100"] and pools(rdma) == ["h200"]
    for ds in (injector, tcpx, rdma):
        spec = ds["spec"]["template"]["spec"]
        assert ds["metadata"]["namespace"] == "kube-system"
        # Fabric nodes carry the GPU taint; upstream tolerates everything.
        assert spec["tolerations"] == [{"operator": "Exists"}] and spec["priorityClassName"] == "system-node-critical"
        kubernetes_validate.validate(ds, "1.35", strict=True)
    # What each installer runs and where it writes (the upstream manifests).
    tcpx_init = tcpx["spec"]["template"]["spec"]["initContainers"][0]
    assert tcpx_init["image"] == versions.IMAGES["gke-nccl-tcpx-installer"]
    assert "/scripts/container_entry.sh install --install-nccl" in tcpx_init["args"][0]
    assert {"name": "library-dir-host", "hostPath": {"path": "/home/kubernetes/bin"}} in tcpx["spec"]["template"]["spec"]["volumes"]
    rdma_init = rdma["spec"]["template"]["spec"]["initContainers"][0]
    assert rdma_init["image"] == versions.IMAGES["gke-nccl-gib-installer"].rsplit(":", 1)[0] + ":v1.1.1"
    assert "cp -r /var/lib/gib/. /usr/local/home/kubernetes/bin/gib" in rdma_init["args"][0]
    assert {"name": "gib", "hostPath": {"path": fabric.NODE_GIB}} in rdma["spec"]["template"]["spec"]["volumes"]
    assert injector["spec"]["template"]["spec"]["containers"][0]["image"] == versions.IMAGES["gke-nri-device-injector"]
    assert "@sha256:" in versions.IMAGES["gke-nri-device-injector"]


def test_fabric_objects_wait_for_the_system_pool_and_the_pools_workloads_wait_for_them(prod):
    system = prod.one(NODE_POOL, f"{CLUSTER}-system").urn
    agents = [r for r in prod.by_type(DAEMONSET) if r.name.endswith(("installer", "injector"))]
    objects = [*prod.by_type(PARAMSET), *prod.by_type(K8S_NETWORK), *agents]
    assert len(agents) == 3
    for r in objects:
        assert system in r.dependencies, r.name


def _fabric_of(pool_name: str, stack_config) -> fabric.GkeFabric:
    """A GkeFabric over prod-gcp's config whose networks are stand-ins named as the plan names them."""
    owner = SimpleNamespace(config=stack_config, region="us-central1", location="us-central1",
                            settings=SimpleNamespace(regional=True), cluster_name=CLUSTER)
    f = fabric.GkeFabric(owner)
    f.gpunets = [SimpleNamespace(name=f"vpc{i + 1}") for i in range(4)]
    f.rdma_networks = {"us-central1-b": [SimpleNamespace(name="gvnic-1"), *(SimpleNamespace(name=f"rdma-{i}") for i in range(8))]}
    return f


def test_a_tcpx_rank_gets_the_rxdm_sidecar_annotations_and_nccl_settings(prod_config):
    pool = next(p for p in prod_config.gpu_pools if p.name == "h100")
    pf = _fabric_of("h100", prod_config).pool_fabric(pool)
    cat = catalog.cloud("gcp").fabric("a3-highgpu-8g")
    assert (pf.kind, pf.nics, pf.line_rate_gbps, pf.expected_busbw_gbs) == (cat.kind, cat.nics, cat.line_rate_gbps, cat.expected_busbw_gbs)
    # nccl-test-latest.yaml (TCPX): eth0 default, eth1..eth4 -> vpc1..vpc4; the device list for tcpx-daemon.
    assert json.loads(pf.pod_annotations["networking.gke.io/interfaces"]) == [
        {"interfaceName": "eth0", "network": "default"}, *({"interfaceName": f"eth{i}", "network": f"vpc{i}"} for i in range(1, 5))]
    assert pf.pod_annotations["networking.gke.io/default-interface"] == "eth0"
    devices = pf.pod_annotations["devices.gke.io/container.tcpx-daemon"]
    assert "- path: /dev/nvidia7\n" in devices and "- path: /dev/nvidia-uvm\n" in devices
    (sidecar,) = pf.sidecars
    assert sidecar["name"] == "tcpx-daemon" and sidecar["image"] == versions.IMAGES["gke-tcpx-rxdm"]
    assert sidecar["image"].endswith(":v2.0.12") and sidecar["restartPolicy"] == "Always"
    assert sidecar["securityContext"]["capabilities"]["add"] == ["NET_ADMIN"]
    assert sidecar["command"][:3] == ["/tcpgpudmarxd/build/app/tcpgpudmarxd", "--gpu_nic_preset", "a3vm"]
    # Every volume the sidecar mounts is one the pod gets.
    assert {m["name"] for m in sidecar["volumeMounts"]} <= {v["name"] for v in pf.volumes}
    # nccl-config.yaml run-nccl.sh (TCPX v3.1.9).
    assert pf.env["NCCL_GPUDIRECTTCPX_SOCKET_IFNAME"] == "eth1,eth2,eth3,eth4" and pf.env["NCCL_GPUDIRECTTCPX_CTRL_DEV"] == "eth0"
    assert pf.host_paths == {"/usr/local/nvidia/lib64": "/home/kubernetes/bin/nvidia/lib64", "/run/tcpx": "/run/tcpx"}
    assert pf.resources == {} and pf.nccl_tests_image == versions.NCCL_TESTS_IMAGES["tcpx"]


def test_an_rdma_rank_maps_eth2_to_eth9_on_the_rdma_networks_with_gib(prod_config):
    pool = next(p for p in prod_config.gpu_pools if p.name == "h200")
    pf = _fabric_of("h200", prod_config).pool_fabric(pool)
    # gpudirect-rdma/nccl-test.yaml: eth0 default, eth2..eth9 -> rdma-0..rdma-7 (eth1 is the node's gVNIC).
    assert json.loads(pf.pod_annotations["networking.gke.io/interfaces"]) == [
        {"interfaceName": "eth0", "network": "default"}, *({"interfaceName": f"eth{i + 2}", "network": f"rdma-{i}"} for i in range(8))]
    assert pf.env["NCCL_NET"] == "gIB" and not pf.sidecars
    assert pf.host_paths == {"/usr/local/nvidia": "/home/kubernetes/bin/nvidia", "/usr/local/gib": "/home/kubernetes/bin/gib"}
    assert pf.nccl_tests_image == versions.NCCL_TESTS_IMAGES["rdma"]


def test_tcpxo_installer_sidecar_and_settings_follow_the_a3_mega_release():
    # nccl-tcpxo-installer.yaml: the host step (aperture devices, import-helper) before the plugin v1.0.15.
    spec = fabric.installer_spec("tcpxo", ["mega"])["template"]["spec"]
    host, installer = spec["initContainers"]
    assert host["command"][:4] == ["nsenter", "-at", "1", "--"] and "modprobe import-helper" in host["command"][-1]
    assert "1ae0:0084" in host["command"][-1] and host["securityContext"] == {"privileged": True}
    assert installer["image"] == versions.IMAGES["gke-nccl-tcpxo-installer"] and installer["image"].endswith(":v1.0.15")
    assert "cp -r /var/lib/tcpxo/lib64/. /usr/local/nvidia/lib64" in installer["args"][0]
    # README "Jan 9, 2026": RxDM v1.0.21 with plugin v1.0.15, NET_ADMIN + NET_BIND_SERVICE, num_hops=2.
    rxdm = fabric.rxdm_container("tcpxo")
    assert rxdm["image"].endswith("tcpgpudmarxd-dev:v1.0.21") and "--num_hops=2" in rxdm["command"][-1]
    assert rxdm["securityContext"]["capabilities"]["add"] == ["NET_ADMIN", "NET_BIND_SERVICE"]
    env = fabric.TCPXO_ENV
    assert env["NCCL_FASTRAK_IFNAME"] == ",".join(f"eth{i}" for i in range(1, 9))
    assert env["NCCL_FASTRAK_LLCM_DEVICE_DIRECTORY"] == "/dev/aperture_devices"
    assert env["NCCL_TUNER_CONFIG_PATH"].startswith(fabric.POD_NVIDIA_LIB)
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "x", "namespace": "kube-system"},
          "spec": fabric.installer_spec("tcpxo", ["mega"])}
    kubernetes_validate.validate(ds, "1.35", strict=True)


def test_fabric_address_plan_stays_inside_its_block_and_apart():
    blocks = {k: ipaddress.ip_network(v) for k, v in fabric.fabric_blocks().items()}
    whole = ipaddress.ip_network(fabric.FABRIC_RANGE)
    assert all(b.subnet_of(whole) for b in blocks.values())
    assert not any(a.overlaps(b) for a in blocks.values() for b in blocks.values() if a is not b)
    gpunets = [ipaddress.ip_network(fabric.subnet_range(i, 20, str(blocks["gpunets"]))) for i in range(8)]
    assert len(set(gpunets)) == 8  # room for A3 Mega's eight


def test_every_object_of_the_fabric_stack_validates(prod):
    # Strict Kubernetes schema for built-in kinds; the fabric CRDs' declared fields (test_schema).
    from tests.platform.test_schema import check_plan

    assert check_plan(prod, "1.35") > 20


def _cron(plan, pool: str):
    return next(r for r in plan.by_type("kubernetes:batch/v1:CronJob") if inputs(r)["metadata"]["name"] == f"nccl-{pool}")


@pytest.mark.parametrize("pool, kind", [("h100", "tcpx"), ("h200", "rdma")])
def test_the_nccl_acceptance_test_renders_for_each_gke_fabric_pool(prod, pool, kind):
    # The core's on-demand test (components/platform/workloads/nccl.py) over this pool's fabric.
    resource = _cron(prod, pool)
    cron = inputs(resource)
    template = cron["spec"]["jobTemplate"]["spec"]["template"]
    spec = template["spec"]
    (nccl,) = spec["containers"]
    assert nccl["image"] == versions.NCCL_TESTS_IMAGES[kind]
    assert fabric.KINDS[kind].all_reduce_perf in nccl["command"][-1]
    env = {e["name"]: e.get("value") for e in nccl["env"]}
    assert {k: env[k] for k in fabric.KINDS[kind].env} == dict(fabric.KINDS[kind].env)
    annotations = template["metadata"]["annotations"]
    assert json.loads(annotations["networking.gke.io/interfaces"])[0] == {"interfaceName": "eth0", "network": "default"}
    # Every volume a container mounts is in the pod (the RxDM sidecar's included).
    volumes = {v["name"] for v in spec["volumes"]}
    for c in [*spec.get("initContainers", []), *spec["containers"]]:
        assert {m["name"] for m in c.get("volumeMounts", [])} <= volumes, c["name"]
    if kind == "tcpx":
        assert [c["name"] for c in spec["initContainers"]] == ["tcpx-daemon"]
        assert "devices.gke.io/container.tcpx-daemon" in annotations
    kubernetes_validate.validate({"apiVersion": "batch/v1", "kind": "CronJob", **cron}, "1.35", strict=True)
    # The test waits for the kind's installer and the networks (PoolFabric.ready).
    installer = prod.one(DAEMONSET, f"{CLUSTER}-{fabric.KINDS[kind].installer}").urn
    network = prod.one(K8S_NETWORK, f"{CLUSTER}-network-{'vpc1' if kind == 'tcpx' else 'rdma-0'}").urn
    assert {installer, network} <= set(resource.dependencies)


def test_a_stack_range_inside_the_fabric_block_is_one_config_line():
    from tests.conftest import config_errors

    raw = {"cloud": "gcp", "region": "us-central1", "gcp": {"project": "ml-platform-test"}, "network": {"privateApi": True, "vpcCidr": "192.168.0.0/20"},
           "gpuPools": [{"name": "h100", "instanceType": "a3-highgpu-8g"}]}
    assert config_errors(raw) == [
        f"network.vpcCidr: '192.168.0.0/20' overlaps {fabric.FABRIC_RANGE}, which the GKE GPU fabric's VPCs use; "
        f"allowed: a range outside {fabric.FABRIC_RANGE}, or interconnect: none on the fabric pools"]
    # Both sides: without a fabric pool the range is the stack's to use.
    raw["gpuPools"][0]["interconnect"] = "none"
    assert load(raw).network.vpc_cidr == "192.168.0.0/20"  # loads: no problem

"""GKE GPU fabric: GPUDirect-TCPX (A3 High), GPUDirect-TCPXO (A3 Mega) and GPUDirect-RDMA
(A3 Ultra, A4) for the pools whose type has it (`gpuPools[].interconnect`).

What each kind needs, from the upstream sources this module was written against:

- TCPX / TCPXO: one extra VPC per GPU NIC, each with one subnet, MTU 8244, and a firewall
  rule admitting traffic inside it (cluster-toolkit v1.95.0 examples/gke-a3-highgpu and
  examples/gke-a3-megagpu: `modules/network/multivpc` with `network_count` 4 / 8, `mtu: 8244`;
  modules/network/multivpc/variables.tf `enable_internal_traffic` true). The cluster runs
  multi-networking on Dataplane V2 (modules/scheduler/gke-cluster/main.tf: additional
  networks turn `enable_multi_networking` on, and that needs `ADVANCED_DATAPATH`). Per VPC a
  `GKENetworkParamSet` (deviceMode NetDevice) and a `Network` (type Device) named vpc1..vpcN
  (the examples' `k8s_network_names` gvnic_prefix `vpc`, start 1; templates
  gke-network-paramset.yaml.tftpl, network-object.yaml.tftpl). The node pool lists the VPCs
  as `additional_node_network_configs` (pulumi-gcp 10.2.0 NodePoolNetworkConfig). The NRI
  device injector and the NCCL plugin installer run as DaemonSets, and every rank's pod runs
  the RxDM sidecar with the device and interface annotations
  (GoogleCloudPlatform/container-engine-accelerators @ 992db812, 2026-06-11:
  nri_device_injector/nri-device-injector.yaml, gpudirect-tcpx/nccl-tcpx-installer.yaml,
  gpudirect-tcpxo/nccl-tcpxo-installer.yaml, gpudirect-tcpx/nccl-test-latest.yaml,
  gpudirect-tcpxo/nccl-test-latest.yaml, gpudirect-tcpx/nccl-config.yaml,
  gpudirect-tcpxo/README.md "Jan 9, 2026").
- RDMA: a gVNIC VPC with one subnet, and a VPC with the zone's RoCE network profile
  (`projects/<project>/global/networkProfiles/<zone>-vpc-roce`, pulumi-gcp 10.2.0
  compute.Network `network_profile`) holding 8 subnets, no firewall rules (the profile
  refuses them: cluster-toolkit v1.95.0 modules/network/vpc/variables.tf `network_profile`),
  MTU 8896 (modules/network/gpu-rdma-vpc/variables.tf default). Kubernetes networks gvnic-1
  (NetDevice) and rdma-0..7 (deviceMode RDMA; gke-cluster variables.tf k8s_network_names
  defaults). The gIB NCCL plugin installer DaemonSet (container-engine-accelerators @ 992db812
  gpudirect-rdma/nccl-rdma-installer.yaml), and pods annotated eth0 + eth2..eth9 -> rdma-0..7
  with /home/kubernetes/bin/gib and /home/kubernetes/bin/nvidia mounted and NCCL_NET=gIB
  (gpudirect-rdma/nccl-test.yaml; cluster-toolkit examples/gke-a4/nccl-jobset-example.yaml).
- Compact placement (node pool `placement_policy.type` COMPACT) for the H100 types only:
  GKE "Define compact placement for GKE nodes" limits it to A100, L4 and H100 GPUs.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Optional

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from ... import catalog, conventions
from ...catalog import gcp as gcp_catalog
from ...catalog import versions
from ...config import GpuPool
from ...handle import PoolFabric

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import GkeCluster

# The address block the fabric's VPCs take their subnets from: apart from the stack's own
# VPC, pod and service ranges (config checks keep them out of it). GPU NIC VPC i gets the
# i-th /20 of the first half; the RDMA types' gVNIC VPC the third quarter; the RoCE VPC's
# eight subnets the last quarter, a /21 each.
FABRIC_RANGE = gcp_catalog.FABRIC_ADDRESS_RANGE
TCP_MTU = 8244
RDMA_MTU = 8896
GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
NETWORK_GROUP = "networking.gke.io"
PARAMSET_API = "networking.gke.io/v1"
# Where GKE's driver installer and the NCCL plugin installers put libraries on the node, and
# where pods mount them (container-engine-accelerators @ 992db812 installer manifests).
NODE_NVIDIA_LIB = "/home/kubernetes/bin/nvidia/lib64"
NODE_NVIDIA = "/home/kubernetes/bin/nvidia"
NODE_GIB = "/home/kubernetes/bin/gib"
POD_NVIDIA_LIB = "/usr/local/nvidia/lib64"
TCPX_SOCKET_DIR = "/run/tcpx"
APERTURE_DEVICES = "/dev/aperture_devices"
GPU_DEVICES = tuple(f"/dev/nvidia{i}" for i in range(8)) + ("/dev/nvidiactl", "/dev/nvidia-uvm")


@dataclass(frozen=True)
class GkeFabricKind:
    """How GKE wires one fabric kind: its NICs' VPCs, its installer, what every rank's pod carries."""

    kind: str  # catalog FABRIC_KINDS: tcpx, tcpxo, rdma
    installer: str  # DaemonSet name (kube-system), as upstream names it
    installer_image: str  # versions.IMAGES key
    compact_placement: bool
    # The RxDM sidecar's container name and image key (TCPX / TCPXO); None for RDMA.
    rxdm: Optional[str] = None
    rxdm_image: Optional[str] = None
    needs_nri_injector: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    # nccl-tests' all_reduce_perf in the kind's nccl-tests image.
    all_reduce_perf: str = "all_reduce_perf"


# NCCL settings of the TCPX plugin v3.1.9 (container-engine-accelerators @ 992db812
# gpudirect-tcpx/nccl-config.yaml run-nccl.sh, "Finalize NCCL config for GKE 1.34+").
TCPX_ENV = {
    "LD_LIBRARY_PATH": POD_NVIDIA_LIB,
    "NCCL_SOCKET_IFNAME": "eth0",
    "NCCL_ALGO": "Ring,Tree",
    "NCCL_PROTO": "Simple",
    "NCCL_CROSS_NIC": "0",
    "NCCL_NET_GDR_LEVEL": "PIX",
    "NCCL_P2P_PXN_LEVEL": "0",
    "NCCL_GPUDIRECTTCPX_SOCKET_IFNAME": "eth1,eth2,eth3,eth4",
    "NCCL_GPUDIRECTTCPX_CTRL_DEV": "eth0",
    "NCCL_GPUDIRECTTCPX_UNIX_CLIENT_PREFIX": TCPX_SOCKET_DIR,
    "NCCL_DYNAMIC_CHUNK_SIZE": "524288",
    "NCCL_P2P_NET_CHUNKSIZE": "524288",
    "NCCL_P2P_PCI_CHUNKSIZE": "524288",
    "NCCL_P2P_NVL_CHUNKSIZE": "1048576",
    "NCCL_BUFFSIZE": "4194304",
    "NCCL_NSOCKS_PERTHREAD": "4",
    "NCCL_SOCKET_NTHREADS": "1",
    "NCCL_GPUDIRECTTCPX_TX_BINDINGS": "eth1:8-21,112-125;eth2:8-21,112-125;eth3:60-73,164-177;eth4:60-73,164-177",
    "NCCL_GPUDIRECTTCPX_RX_BINDINGS": "eth1:22-35,126-139;eth2:22-35,126-139;eth3:74-87,178-191;eth4:74-87,178-191",
    "NCCL_GPUDIRECTTCPX_PROGRAM_FLOW_STEERING_WAIT_MICROS": "500000",
}
# NCCL settings of the TCPXO plugin v1.0.15 with RxDM v1.0.21 (container-engine-accelerators
# @ 992db812 gpudirect-tcpxo/README.md, release "Jan 9, 2026"), the plugin's files read from
# where the installer puts them and pods mount them (/usr/local/nvidia/lib64).
TCPXO_ENV = {
    "LD_LIBRARY_PATH": POD_NVIDIA_LIB,
    "NCCL_LIB_DIR": POD_NVIDIA_LIB,
    "NCCL_FASTRAK_CTRL_DEV": "eth0",
    "NCCL_FASTRAK_IFNAME": "eth1,eth2,eth3,eth4,eth5,eth6,eth7,eth8",
    "NCCL_SOCKET_IFNAME": "eth0",
    "NCCL_CROSS_NIC": "0",
    "NCCL_PROTO": "Simple,LL128",
    "NCCL_MIN_NCHANNELS": "4",
    "NCCL_TUNER_PLUGIN": "libnccl-tuner.so",
    "NCCL_TUNER_CONFIG_PATH": f"{POD_NVIDIA_LIB}/a3plus_tuner_config.textproto",
    "NCCL_SHIMNET_GUEST_CONFIG_CHECKER_CONFIG_FILE": f"{POD_NVIDIA_LIB}/a3plus_guest_config.textproto",
    "NCCL_NVLSTREE_MAX_CHUNKSIZE": "131072",
    "NCCL_P2P_NET_CHUNKSIZE": "524288",
    "NCCL_P2P_PCI_CHUNKSIZE": "524288",
    "NCCL_P2P_NVL_CHUNKSIZE": "1048576",
    "NCCL_FASTRAK_NUM_FLOWS": "2",
    "NCCL_FASTRAK_USE_SNAP": "1",
    "NCCL_FASTRAK_PLUGIN_ACCEPT_TIMEOUT_MS": "600000",
    "NCCL_FASTRAK_ENABLE_CONTROL_CHANNEL": "0",
    "NCCL_BUFFSIZE": "8388608",
    "NCCL_NET_GDR_LEVEL": "PIX",
    "NCCL_FASTRAK_ENABLE_HOTPATH_LOGGING": "0",
    "NCCL_FASTRAK_USE_LLCM": "1",
    "NCCL_FASTRAK_LLCM_DEVICE_DIRECTORY": APERTURE_DEVICES,
    "NCCL_NVLS_ENABLE": "1",
}
# gIB: NCCL must pick the gIB net plugin; the plugin's own tuning comes with it
# (/usr/local/gib/scripts/set_nccl_env.sh, which the acceptance job sources).
RDMA_ENV = {
    "LD_LIBRARY_PATH": POD_NVIDIA_LIB,
    "NCCL_NET": "gIB",
}

KINDS: dict[str, GkeFabricKind] = {
    "tcpx": GkeFabricKind(
        "tcpx", installer="nccl-tcpx-installer", installer_image="gke-nccl-tcpx-installer", compact_placement=True,
        rxdm="tcpx-daemon", rxdm_image="gke-tcpx-rxdm", needs_nri_injector=True, env=TCPX_ENV,
        # gpudirect-tcpx/nccl-config.yaml run-nccl.sh.
        all_reduce_perf="/third_party/nccl-tests-mpi/build/all_reduce_perf",
    ),
    "tcpxo": GkeFabricKind(
        "tcpxo", installer="nccl-tcpxo-installer", installer_image="gke-nccl-tcpxo-installer", compact_placement=True,
        rxdm="tcpxo-daemon", rxdm_image="gke-tcpxo-rxdm", needs_nri_injector=True, env=TCPXO_ENV,
        # The same plugin image family as TCPX's; upstream runs it through its demo script,
        # which does not name the path.
        all_reduce_perf="/third_party/nccl-tests-mpi/build/all_reduce_perf",
    ),
    "rdma": GkeFabricKind(
        "rdma", installer="nccl-rdma-installer", installer_image="gke-nccl-gib-installer", compact_placement=False,
        env=RDMA_ENV,
        # The gIB diagnostic image (cluster-toolkit examples/gke-a4/nccl-jobset-example.yaml,
        # container-engine-accelerators gpudirect-rdma/nccl-test-a4x-max-jobset.yaml).
        all_reduce_perf="/third_party/nccl-tests/build/all_reduce_perf",
    ),
}
NRI_INJECTOR = "device-injector"


@dataclass(frozen=True)
class K8sNetwork:
    """One additional network as GKE's multi-networking names it in the cluster."""

    name: str  # Network / GKENetworkParamSet name, e.g. vpc1, rdma-0
    device_mode: str  # NetDevice or RDMA
    network: gcp.compute.Network
    subnet: gcp.compute.Subnetwork


def fabric_pools(pools: list[GpuPool]) -> dict[str, str]:
    """pool name -> fabric kind, for the GKE pools that get a fabric."""
    out = {}
    for pool in pools:
        fabric = pool.fabric("gcp")
        if fabric is not None:
            out[pool.name] = fabric.kind
    return out


def subnet_range(index: int, prefix: int, within: str) -> str:
    return str(list(ipaddress.ip_network(within).subnets(new_prefix=prefix))[index])


def fabric_blocks() -> dict[str, str]:
    """The fabric's address plan inside FABRIC_RANGE: GPU NIC VPCs, the RDMA gVNIC VPC, the RoCE VPC."""
    whole = ipaddress.ip_network(FABRIC_RANGE)
    quarters = list(whole.subnets(prefixlen_diff=2))
    return {"gpunets": str(next(whole.subnets(prefixlen_diff=1))), "rdma-gvnic": str(quarters[2]), "roce": str(quarters[3])}


def interfaces_annotation(networks: list[str], first_interface: int) -> str:
    """`networking.gke.io/interfaces`: eth0 on the pod network, then one interface per network."""
    entries = [{"interfaceName": "eth0", "network": "default"}]
    entries += [{"interfaceName": f"eth{first_interface + i}", "network": n} for i, n in enumerate(networks)]
    return json.dumps(entries)


def devices_annotation() -> str:
    """The device list the NRI injector hands the RxDM container (the GPUs and their control nodes)."""
    return "".join(f"- path: {d}\n" for d in GPU_DEVICES)


class GkeFabric:
    """The fabric of one GKE cluster: the VPCs and firewall rules (before the cluster and node
    pools), what the cluster and each fabric pool set, and the Kubernetes objects (networks,
    device injector, installers) workloads wait for."""

    def __init__(self, owner: "GkeCluster") -> None:
        self.owner = owner
        self.pools = fabric_pools(owner.config.gpu_pools)
        self.kinds = sorted(set(self.pools.values()))
        self.gpunets: list[K8sNetwork] = []
        self.rdma_networks: dict[str, list[K8sNetwork]] = {}  # zone -> gvnic-1, rdma-0..7
        self.firewalls: list[gcp.compute.Firewall] = []
        self.objects: list[pulumi.Resource] = []
        self.installers: dict[str, k8s.apps.v1.DaemonSet] = {}
        self.injector: Optional[k8s.apps.v1.DaemonSet] = None

    @property
    def enabled(self) -> bool:
        return bool(self.pools)

    # --- placement ------------------------------------------------------------------------

    def zone(self, pool: GpuPool) -> str:
        """The one zone a fabric pool's nodes run in: the zonal cluster's own zone when the type
        is offered there, else the first zone of the region that offers it."""
        owner = self.owner
        zones = catalog.cloud("gcp").zones_offering(pool.instance_type, owner.region)
        if not owner.settings.regional and owner.location in zones:
            return owner.location
        return zones[0]

    def rdma_zones(self) -> list[str]:
        pools = {p.name: p for p in self.owner.config.gpu_pools}
        return sorted({self.zone(pools[n]) for n, kind in self.pools.items() if kind == "rdma"})

    def gpu_nic_count(self) -> int:
        fabrics = [p.fabric("gcp") for p in self.owner.config.gpu_pools if self.pools.get(p.name) in ("tcpx", "tcpxo")]
        return max((f.nics for f in fabrics if f is not None), default=0)

    # --- cloud resources --------------------------------------------------------------------

    def networks(self) -> None:
        """The VPCs, subnets and firewall rules; created before the cluster."""
        if not self.enabled:
            return
        blocks = fabric_blocks()
        for i in range(self.gpu_nic_count()):
            net, subnet = self._vpc(f"gpunet-{i}", subnet_range(i, 20, blocks["gpunets"]), TCP_MTU)
            self.gpunets.append(K8sNetwork(f"vpc{i + 1}", "NetDevice", net, subnet))
        zones = self.rdma_zones()
        for zone in zones:
            # Network names per zone only when RDMA pools sit in more than one zone.
            suffix = "" if len(zones) == 1 else f"-{zone.rsplit('-', 1)[-1]}"
            gvnic, gvnic_subnet = self._vpc(f"rdma-gvnic{suffix}", blocks["rdma-gvnic"], RDMA_MTU)
            nets = [K8sNetwork(f"gvnic-1{suffix}", "NetDevice", gvnic, gvnic_subnet)]
            roce = gcp.compute.Network(
                f"{self.owner.cluster_name}-rdma{suffix}",
                name=f"{self.owner.cluster_name}-rdma{suffix}",
                project=self.owner.project,
                auto_create_subnetworks=False,
                routing_mode="REGIONAL",
                mtu=RDMA_MTU,
                # The zone's RoCE profile: the VPC carries the GPUs' RDMA NICs (settable at creation only).
                network_profile=f"projects/{self.owner.project}/global/networkProfiles/{zone}-vpc-roce",
                opts=self.owner._opts,
            )
            for i in range(8):
                subnet = gcp.compute.Subnetwork(
                    f"{self.owner.cluster_name}-rdma{suffix}-sub-{i}",
                    name=f"{self.owner.cluster_name}-rdma{suffix}-sub-{i}",
                    project=self.owner.project,
                    region=self.owner.region,
                    network=roce.self_link,
                    ip_cidr_range=subnet_range(i, 21, blocks["roce"]),
                    opts=self.owner._opts,
                )
                nets.append(K8sNetwork(f"rdma-{i}{suffix}", "RDMA", roce, subnet))
            self.rdma_networks[zone] = nets

    def _vpc(self, suffix: str, cidr: str, mtu: int) -> tuple[gcp.compute.Network, gcp.compute.Subnetwork]:
        owner, name = self.owner, f"{self.owner.cluster_name}-{suffix}"
        network = gcp.compute.Network(
            name, name=name, project=owner.project, auto_create_subnetworks=False, routing_mode="REGIONAL",
            mtu=mtu, opts=owner._opts,
        )
        subnet = gcp.compute.Subnetwork(
            name, name=name, project=owner.project, region=owner.region, network=network.self_link,
            ip_cidr_range=cidr, opts=owner._opts,
        )
        # GPU traffic between nodes stays inside the VPC; nothing else reaches it.
        self.firewalls.append(gcp.compute.Firewall(
            f"{name}-internal",
            name=f"{name}-internal",
            project=owner.project,
            network=network.self_link,
            direction="INGRESS",
            description=f"GPU fabric of {owner.cluster_name}: node-to-node traffic inside {name}",
            source_ranges=[cidr],
            allows=[{"protocol": "tcp"}, {"protocol": "udp"}, {"protocol": "icmp"}],
            opts=owner._opts,
        ))
        return network, subnet

    def cluster_args(self) -> dict[str, Any]:
        """What the cluster sets: multi-networking (it already runs Dataplane V2)."""
        return {"enable_multi_networking": True} if self.enabled else {}

    def pool_networks(self, pool: GpuPool) -> list[K8sNetwork]:
        kind = self.pools.get(pool.name)
        if kind in ("tcpx", "tcpxo"):
            fabric = pool.fabric("gcp")
            assert fabric is not None
            return self.gpunets[: fabric.nics]
        if kind == "rdma":
            return self.rdma_networks[self.zone(pool)]
        return []

    def node_labels(self, pool: GpuPool) -> dict[str, str]:
        """The fabric label (conventions.FABRIC_LABEL: the kind) on a fabric pool's nodes."""
        kind = self.pools.get(pool.name)
        return {conventions.FABRIC_LABEL: kind} if kind else {}

    def node_pool_args(self, pool: GpuPool) -> dict[str, Any]:
        """A fabric pool's node pool: one zone, the additional node networks in NIC order,
        compact placement where the GPU supports it, and the VPCs' firewall rules first."""
        kind = self.pools.get(pool.name)
        if kind is None:
            return {}
        networks = self.pool_networks(pool)
        args: dict[str, Any] = {
            "zones": [self.zone(pool)],
            "network_config": {
                "additional_node_network_configs": [
                    {"network": n.network.name, "subnetwork": n.subnet.name} for n in networks
                ],
            },
            "depends_on": list(self.firewalls),
        }
        if KINDS[kind].compact_placement:
            args["placement_policy"] = {"type": "COMPACT"}
        return args

    # --- in the cluster -------------------------------------------------------------------------

    def kubernetes(self, provider: k8s.Provider) -> None:
        """GKENetworkParamSet + Network per additional network, the NRI device injector and
        one NCCL plugin installer per fabric kind; the platform's workloads wait for them."""
        if not self.enabled:
            return
        name = self.owner.cluster_name
        # Like the platform, they wait for the system pool and the webhook rule (platform_ready).
        opts = pulumi.ResourceOptions(parent=self.owner, provider=provider, depends_on=list(self.owner.platform_ready))
        networks = [*self.gpunets, *[n for nets in self.rdma_networks.values() for n in nets]]
        for net in networks:
            paramset = k8s.apiextensions.CustomResource(
                f"{name}-paramset-{net.name}",
                api_version=PARAMSET_API,
                kind="GKENetworkParamSet",
                metadata={"name": net.name, "labels": _labels(net.name)},
                spec={"vpc": net.network.name, "vpcSubnet": net.subnet.name, "deviceMode": net.device_mode},
                opts=opts,
            )
            network = k8s.apiextensions.CustomResource(
                f"{name}-network-{net.name}",
                api_version=PARAMSET_API,
                kind="Network",
                metadata={"name": net.name, "labels": _labels(net.name)},
                spec={
                    "type": "Device",
                    "parametersRef": {"group": NETWORK_GROUP, "kind": "GKENetworkParamSet", "name": net.name},
                },
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[*self.owner.platform_ready, paramset])),
            )
            self.objects += [paramset, network]
        pools_of = {kind: sorted(n for n, k in self.pools.items() if k == kind) for kind in self.kinds}
        injected = sorted(n for n, k in self.pools.items() if KINDS[k].needs_nri_injector)
        if injected:
            self.injector = k8s.apps.v1.DaemonSet(
                f"{name}-nri-device-injector",
                metadata={"name": NRI_INJECTOR, "namespace": "kube-system", "labels": _labels(NRI_INJECTOR),
                          "annotations": CHECKOV_SKIPS},
                spec=nri_injector_spec(injected),
                opts=opts,
            )
            self.objects.append(self.injector)
        for kind in self.kinds:
            spec = KINDS[kind]
            self.installers[kind] = k8s.apps.v1.DaemonSet(
                f"{name}-{spec.installer}",
                metadata={"name": spec.installer, "namespace": "kube-system", "labels": _labels(spec.installer),
                          "annotations": CHECKOV_SKIPS},
                spec=installer_spec(kind, pools_of[kind]),
                opts=opts,
            )
            self.objects.append(self.installers[kind])

    def pool_fabric(self, pool: GpuPool) -> Optional[PoolFabric]:
        """What a rank's pod on this pool carries to use the fabric (handle facts)."""
        kind = self.pools.get(pool.name)
        fabric = pool.fabric("gcp")
        if kind is None or fabric is None:
            return None
        spec = KINDS[kind]
        names = [n.name for n in self.pool_networks(pool)]
        annotations = {"networking.gke.io/default-interface": "eth0"}
        host_paths = {POD_NVIDIA_LIB: NODE_NVIDIA_LIB}
        sidecars: tuple[Mapping[str, Any], ...] = ()
        volumes: tuple[Mapping[str, Any], ...] = ()
        if kind == "rdma":
            # eth1 is the node's gVNIC NIC; the RDMA NICs are eth2..eth9 in the pod.
            rdma = [n for n in names if n.startswith("rdma-")]
            annotations["networking.gke.io/interfaces"] = interfaces_annotation(rdma, first_interface=2)
            host_paths = {"/usr/local/nvidia": NODE_NVIDIA, "/usr/local/gib": NODE_GIB}
        else:
            annotations["networking.gke.io/interfaces"] = interfaces_annotation(names, first_interface=1)
            devices = devices_annotation()
            if kind == "tcpxo":
                devices += "- path: /dev/dmabuf_import_helper\n"
                host_paths[APERTURE_DEVICES] = APERTURE_DEVICES
            else:
                host_paths[TCPX_SOCKET_DIR] = TCPX_SOCKET_DIR
            annotations[f"devices.gke.io/container.{spec.rxdm}"] = devices
            sidecars = (rxdm_container(kind),)
            volumes = rxdm_volumes(kind)
        ready: list[pulumi.Resource] = list(self.objects)
        return PoolFabric(
            kind=fabric.kind, name=fabric.name, nics=fabric.nics, line_rate_gbps=fabric.line_rate_gbps,
            expected_busbw_gbs=fabric.expected_busbw_gbs,
            env=dict(spec.env), pod_annotations=annotations, host_paths=host_paths, sidecars=sidecars, volumes=volumes,
            nccl_tests_image=versions.NCCL_TESTS_IMAGES[kind], all_reduce_perf=spec.all_reduce_perf,
            ready=tuple(ready),
        )


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "gpu-fabric",
            "app.kubernetes.io/managed-by": "ml-clusters"}


def pull_policy(image: str) -> str:
    """A digest never changes under a tag: IfNotPresent; a tag-only image is pulled Always."""
    return "IfNotPresent" if "@sha256:" in image else "Always"


def _pool_affinity(pools: list[str]) -> dict:
    """Only the fabric pools' nodes (our pool label), not every node with the accelerator."""
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": conventions.POOL_LABEL, "operator": "In", "values": pools}]}
    ]}}}


def _host_path(name: str, path: str, kind: Optional[str] = None) -> dict:
    volume: dict[str, Any] = {"name": name, "hostPath": {"path": path}}
    if kind:
        volume["hostPath"]["type"] = kind
    return volume


# Installers and the injector change the node itself (kernel modules, iptables, device
# nodes, libraries under /home/kubernetes/bin): root, privileged, host PID/network, as upstream.
_ROOT = "changes the node itself as GKE's upstream manifest does (container-engine-accelerators)"
CHECKOV_SKIPS = {
    f"checkov.io/skip{i}": f"{check}={reason}"
    for i, (check, reason) in enumerate([
        ("CKV_K8S_16", "privileged: " + _ROOT),
        ("CKV_K8S_17", "host PID: the installer enters the host's namespaces (nsenter)"),
        ("CKV_K8S_19", "host network: the node's GPU NICs and iptables, " + _ROOT),
        ("CKV_K8S_20", "privileged implies privilege escalation: " + _ROOT),
        ("CKV_K8S_23", "root: " + _ROOT),
        ("CKV_K8S_40", "root: " + _ROOT),
        ("CKV_K8S_22", "writes host directories through its mounts; the root filesystem is the image's own"),
        ("CKV_K8S_28", "privileged: NET_RAW cannot be dropped from a privileged container"),
        ("CKV_K8S_37", "privileged: capabilities do not apply to a privileged container"),
        ("CKV_K8S_39", "privileged: SYS_ADMIN comes with privileged"),
        ("CKV_K8S_8", "installs once and sleeps (pause); nothing to probe"),
        ("CKV_K8S_9", "installs once and sleeps (pause); nothing to probe"),
        ("CKV_K8S_43", "Google publishes the plugin images by tag only (versions.TAG_ONLY_IMAGES); pulled Always"),
        ("CKV_K8S_21", "kube-system, where GKE's own node agents run"),
    ], start=1)
}
_RESOURCES = {"requests": {"cpu": "150m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
_PAUSE_RESOURCES = {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "50m", "memory": "32Mi"}}


def _pod(pools: list[str], name: str, init: list[dict], main: list[dict], volumes: list[dict]) -> dict:
    return {
        "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        "updateStrategy": {"type": "RollingUpdate"},
        "template": {
            "metadata": {"labels": _labels(name)},
            "spec": {
                "priorityClassName": "system-node-critical",
                "affinity": _pool_affinity(pools),
                # Fabric pools carry the GPU taint (and GKE's own); the agent must run there.
                "tolerations": [{"operator": "Exists"}],
                "hostNetwork": True,
                "hostPID": True,
                "automountServiceAccountToken": False,
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                "initContainers": init,
                "containers": main,
                "volumes": volumes,
            },
        },
    }


def _pause() -> dict:
    return {"name": "pause", "image": versions.IMAGES["gke-pause"], "imagePullPolicy": "IfNotPresent",
            "resources": _PAUSE_RESOURCES,
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "runAsNonRoot": True, "runAsUser": 65535, "capabilities": {"drop": ["ALL"]}}}


def nri_injector_spec(pools: list[str]) -> dict:
    """GKE's NRI device injector: hands the devices a pod's `devices.gke.io/container.<name>`
    annotation lists to that container (the RxDM sidecar's GPUs)."""
    container = {
        "name": NRI_INJECTOR, "image": versions.IMAGES["gke-nri-device-injector"], "imagePullPolicy": "IfNotPresent",
        "resources": _RESOURCES, "securityContext": {"privileged": True},
        "volumeMounts": [{"name": "dev", "mountPath": "/dev"}, {"name": "nri", "mountPath": "/var/run/nri"}],
    }
    return _pod(pools, NRI_INJECTOR, [], [container], [_host_path("nri", "/var/run/nri"), _host_path("dev", "/dev")])


# A3 Mega: before the plugin, expose the NICs' aperture devices to pods and load the DMA-buf
# import helper, in the host's namespaces (nccl-tcpxo-installer.yaml's pre-installation step).
TCPXO_HOST_SETUP = """\
/sbin/iptables -I INPUT -p tcp -m tcp -j ACCEPT && modprobe import-helper
mkdir -p /dev/aperture_devices
for dev in $(lspci -nn -D | grep '1ae0:0084' | awk '{print $1}'); do
  target=/dev/aperture_devices/$dev
  mkdir -p $target
  umount -R $target 2>/dev/null || true
  mount --bind $(readlink -f /sys/bus/pci/devices/$dev) $target
done
chmod -R a+r /dev/aperture_devices/
chmod a+rw /dev/aperture_devices/*/resource* 2>/dev/null || true
"""


def installer_spec(kind: str, pools: list[str]) -> dict:
    """The NCCL plugin installer of one kind: an init container copies the plugin (and its
    NCCL) into the node's library directory, then the pod idles (pause), as upstream."""
    spec = KINDS[kind]
    image = versions.IMAGES[spec.installer_image]
    init: list[dict] = []
    if kind == "rdma":
        volumes = [_host_path("library-dir-host", NODE_NVIDIA_LIB, "DirectoryOrCreate"), _host_path("gib", NODE_GIB)]
        mounts = [{"name": "library-dir-host", "mountPath": "/usr/local/home/kubernetes/bin/nvidia/lib64"},
                  {"name": "gib", "mountPath": "/usr/local/home/kubernetes/bin/gib"}]
        script = ("set -ex\n/scripts/container_entry.sh install\n"
                  "cp -r /var/lib/gib/lib64/. /usr/local/home/kubernetes/bin/nvidia/lib64\n"
                  "cp -r /var/lib/gib/. /usr/local/home/kubernetes/bin/gib\n")
    else:
        plugin_dir = f"/var/lib/{kind}"
        volumes = [_host_path("var-lib", "/var/lib"), _host_path(kind, plugin_dir),
                   _host_path("library-dir-host", "/home/kubernetes/bin")]
        mounts = [{"name": "var-lib", "mountPath": "/var/lib"}, {"name": "library-dir-host", "mountPath": "/usr/local"}]
        script = ("set -ex\n/scripts/container_entry.sh install --install-nccl\n"
                  f"mkdir -p /usr/local/nvidia/lib64\ncp -r {plugin_dir}/lib64/. /usr/local/nvidia/lib64\n")
        if kind == "tcpxo":
            init.append({
                # Upstream runs this step from plain `ubuntu`; the installer image (Debian-family,
                # util-linux's nsenter) serves as well and admits no extra registry path.
                "name": "host-setup", "image": image, "imagePullPolicy": pull_policy(image),
                "resources": _RESOURCES, "securityContext": {"privileged": True},
                "command": ["nsenter", "-at", "1", "--", "bash", "-c", TCPXO_HOST_SETUP],
            })
    init.append({
        "name": spec.installer, "image": image, "imagePullPolicy": pull_policy(image), "resources": _RESOURCES,
        "securityContext": {"privileged": True}, "volumeMounts": mounts,
        "command": ["/bin/sh", "-c"], "args": [script + 'echo "installation finishes"\n'],
    })
    return _pod(pools, spec.installer, init, [_pause()], volumes)


def rxdm_container(kind: str) -> dict:
    """The RxDM sidecar every rank's pod runs on a TCPX/TCPXO node: it receives GPU data off
    the NICs (container-engine-accelerators @ 992db812 gpudirect-tcpx/nccl-test-latest.yaml,
    gpudirect-tcpxo/nccl-test-latest.yaml). Its host mounts are the handle's host_paths plus
    /sys and /proc/sys, which it reads as /hostsysfs and /hostprocsysfs."""
    spec = KINDS[kind]
    assert spec.rxdm is not None and spec.rxdm_image is not None
    mounts = [{"name": "fabric-nvidia-lib", "mountPath": POD_NVIDIA_LIB},
              {"name": "fabric-sys", "mountPath": "/hostsysfs"},
              {"name": "fabric-proc-sys", "mountPath": "/hostprocsysfs"}]
    if kind == "tcpx":
        command = ["/tcpgpudmarxd/build/app/tcpgpudmarxd", "--gpu_nic_preset", "a3vm", "--gpu_shmem_type", "fd",
                   "--uds_path", TCPX_SOCKET_DIR, "--setup_param", "--verbose 128 2 0"]
        mounts.append({"name": "fabric-tcpx-socket", "mountPath": TCPX_SOCKET_DIR})
        caps = ["NET_ADMIN"]
    else:
        command = ["/bin/sh", "-c", "set -ex\nchmod 755 /fts/entrypoint_rxdm_container.sh\n"
                   "/fts/entrypoint_rxdm_container.sh --num_hops=2\n"]
        caps = ["NET_ADMIN", "NET_BIND_SERVICE"]
    return {
        "name": spec.rxdm,
        "image": versions.IMAGES[spec.rxdm_image],
        "imagePullPolicy": pull_policy(versions.IMAGES[spec.rxdm_image]),
        "command": command,
        "env": [{"name": "LD_LIBRARY_PATH", "value": POD_NVIDIA_LIB}],
        # Upstream sets no resources; these are ours: room for the receive path, limits high
        # enough never to throttle it.
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "8", "memory": "8Gi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"add": caps, "drop": ["NET_RAW"]}},
        "volumeMounts": mounts,
        # A native sidecar: it starts before the rank and stops after it.
        "restartPolicy": "Always",
    }


def rxdm_volumes(kind: str) -> tuple[dict, ...]:
    """The volumes the RxDM sidecar mounts."""
    volumes = [_host_path("fabric-nvidia-lib", NODE_NVIDIA_LIB), _host_path("fabric-sys", "/sys"),
               _host_path("fabric-proc-sys", "/proc/sys")]
    if kind == "tcpx":
        volumes.append(_host_path("fabric-tcpx-socket", TCPX_SOCKET_DIR, "DirectoryOrCreate"))
    return tuple(volumes)

"""AKS InfiniBand for the ND pools whose size has it (`gpuPools[].interconnect`).

What it takes, from the upstream sources this module was written against:

- The subscription feature `Microsoft.ContainerService/AKSInfinibandSupport`, so a pool's
  VMs land on one InfiniBand network (Azure/aks-rdma-infiniband @ 700dabb
  website/docs/getting-started/02-prerequisites.md, tests/setup-infra/deploy-aks.sh). A
  subscription-wide registration, not this stack's: the catalog lists it as the fabric's
  prerequisite, the preview prints it, docs/azure.md says how to register and check it.
- Ubuntu nodes (the same prerequisites page); the GPU pools here already run Ubuntu with the
  AKS-managed NVIDIA driver. pulumi-azure-native 3.29.0's AgentPool (API 2025-09-01) has no
  InfiniBand or managed-DRANET field (containerservice/agent_pool.py: gpu_profile has only
  `driver`), so the NVIDIA Network Operator wires the HCAs.
- NVIDIA Network Operator, chart `network-operator` 26.4.0 from helm.ngc.nvidia.com/nvidia
  (the version deploy-aks.sh installs), in a namespace Pod Security lets run privileged. Its
  NFD (chart values nfd.enabled) labels the nodes; the chart's own NodeFeatureRule
  (templates/nodefeaturerules.yaml: vendor 15b3, classes 0200 and 0207) would also match the
  Mellanox Ethernet VF of accelerated networking on every AKS node, so it is off
  (`nfd.deployNodeFeatureRules: false`, as the AKS repo's configs/values/network-operator/
  values.yaml does) and a rule of ours matches the InfiniBand VFs only (device 101c, 101e;
  tests/setup-infra/network-operator-nfd.yaml).
- A NicClusterPolicy (CRD mellanox.com/v1alpha1 in the chart at v26.4.0): the DOCA-OFED driver
  container and the RDMA shared device plugin advertising `rdma/shared_ib` for the InfiniBand
  HCAs (vendor 15b3, link type infiniband; configs/nicclusterpolicy/base/nic.yaml,
  rdma-shared-device-plugin/rdma.yaml; image versions from Mellanox/network-operator v26.4.0
  example/crs/mellanox.com_v1alpha1_nicclusterpolicy_cr.yaml), on the InfiniBand pools'
  nodes, tolerating the GPU taint.
- With the AKS-managed driver, GPUDirect RDMA needs the nvidia-peermem module loaded
  (website/docs/configurations/02-gpu-drivers.md, configs/nvidia-peermem-reloader/ds.yaml).
- Pods request `rdma/shared_ib: 1` with the GPUs, add IPC_LOCK, and set NCCL to InfiniBand
  (tests/scenarios/k8s/values.yaml ncclEnvVars: NCCL_IB_DISABLE 0, NCCL_NET_GDR_LEVEL SYS).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional

import pulumi
import pulumi_kubernetes as k8s

from ... import catalog, conventions
from ...catalog import versions
from ...config import GpuPool
from ...handle import PoolFabric

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import AksCluster

NAMESPACE = "network-operator"
RELEASE = "network-operator"
RDMA_RESOURCE_PREFIX = "rdma"  # the shared device plugin's default resourcePrefix
RDMA_RESOURCE_NAME = "shared_ib"
RDMA_RESOURCE = f"{RDMA_RESOURCE_PREFIX}/{RDMA_RESOURCE_NAME}"
# NVIDIA's PCI vendor id and the ND VMs' InfiniBand VFs: ConnectX-6 VF (101c, ND A100 v4)
# and ConnectX-7 VF (101e, ND H100 v5) (Azure/aks-rdma-infiniband @ 700dabb
# tests/setup-infra/network-operator-nfd.yaml).
MELLANOX_VENDOR = "15b3"
IB_VF_DEVICES = ("101c", "101e")
# The label the operator places its driver and device plugin by (Mellanox/network-operator
# v26.4.0 pkg/nodeinfo/attributes.go NodeLabelMlnxNIC).
MLNX_NIC_LABEL = "feature.node.kubernetes.io/pci-15b3.present"
PEERMEM_LOADER = "nvidia-peermem-loader"
# Mellanox/network-operator v26.4.0 example/crs/mellanox.com_v1alpha1_nicclusterpolicy_cr.yaml.
DOCA_DRIVER_VERSION = "doca3.4.0-26.04-0.8.6.0-0"
RDMA_PLUGIN_VERSION = "network-operator-v26.4.0"
MELLANOX_REPOSITORY = "nvcr.io/nvidia/mellanox"

# Azure/aks-rdma-infiniband @ 700dabb tests/scenarios/k8s/values.yaml (ncclEnvVars) and
# templates/mpi-job.yaml: NCCL over the HCAs with GPUDirect RDMA at any PCI distance (the VM
# hides the real topology), and its bootstrap over the pod's eth0.
INFINIBAND_ENV = {
    # NCCL's own InfiniBand transport, whatever net plugin an image carries (the nccl-tests
    # image also holds aws-ofi-nccl).
    "NCCL_NET": "IB",
    "NCCL_IB_DISABLE": "0",
    "NCCL_NET_GDR_LEVEL": "SYS",
    "NCCL_SOCKET_IFNAME": "eth0",
}


def infiniband_pools(pools: list[GpuPool]) -> list[str]:
    return [p.name for p in pools if (f := p.fabric("azure")) is not None and f.kind == "infiniband"]


# Pods that share one node's HCAs through the shared device plugin (rdmaHcaMax): the node's
# capacity of rdma/shared_ib.
RDMA_HCA_MAX = 63


def fabric_node_labels(pool: GpuPool) -> dict[str, str]:
    """The fabric label (conventions.FABRIC_LABEL) on an InfiniBand pool's nodes."""
    return {conventions.FABRIC_LABEL: "infiniband"} if pool.name in infiniband_pools([pool]) else {}


def fabric_autoscaler_tags(pool: GpuPool, prefix: str) -> dict[str, str]:
    """Scale-from-zero: an empty InfiniBand pool's node template offers rdma/shared_ib, so the
    autoscaler starts a node for a pod that asks for it (the `_` for `/` rule of
    autoscaler_resource_tags in cluster.py)."""
    if pool.name not in infiniband_pools([pool]):
        return {}
    return {prefix + RDMA_RESOURCE.replace("/", "_"): str(RDMA_HCA_MAX)}


def rdma_plugin_config() -> str:
    """The RDMA shared device plugin's config: one shared resource for the InfiniBand HCAs."""
    return json.dumps({"configList": [{
        "resourceName": RDMA_RESOURCE_NAME,
        # Pods that share the node's HCAs (each rank requests one).
        "rdmaHcaMax": RDMA_HCA_MAX,
        "selectors": {"vendors": [MELLANOX_VENDOR], "linkTypes": ["infiniband"]},
    }]}, indent=2)


def _pool_affinity(pools: list[str]) -> dict:
    return {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": conventions.POOL_LABEL, "operator": "In", "values": pools}]}
    ]}}


def _labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "gpu-fabric",
            "app.kubernetes.io/managed-by": "ml-clusters"}


class AksFabric:
    """InfiniBand on one AKS cluster: the Network Operator, its node rule and NicClusterPolicy,
    and the peermem loader; workloads on the pools wait for them (PoolFabric.ready)."""

    def __init__(self, owner: "AksCluster") -> None:
        self.owner = owner
        self.pools = infiniband_pools(owner.config.gpu_pools)
        self.objects: list[pulumi.Resource] = []
        self.namespace: Optional[k8s.core.v1.Namespace] = None
        self.release: Optional[k8s.helm.v3.Release] = None
        self.node_rule: Optional[k8s.apiextensions.CustomResource] = None
        self.policy: Optional[k8s.apiextensions.CustomResource] = None
        self.peermem: Optional[k8s.apps.v1.DaemonSet] = None

    @property
    def enabled(self) -> bool:
        return bool(self.pools)

    def tolerations(self) -> list[dict]:
        """The GPU taint, and AKS's spot taint where a pool is on spot."""
        out = [conventions.GPU_TAINT.toleration()]
        if any(p.spot for p in self.owner.config.gpu_pools if p.name in self.pools):
            from .cluster import SPOT_TOLERATION

            out.append(SPOT_TOLERATION)
        return out

    def kubernetes(self, provider: k8s.Provider) -> None:
        if not self.enabled:
            return
        name, owner = self.owner.cluster_name, self.owner
        # Like the platform, they wait for the system pool and the deployer's grant.
        opts = pulumi.ResourceOptions(parent=owner, provider=provider, depends_on=list(owner.platform_ready))

        def after(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[*owner.platform_ready, *resources]))

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-network-operator-ns",
            metadata={"name": NAMESPACE, "labels": {
                **_labels(NAMESPACE),
                # The OFED driver, device plugin and peermem loader run privileged on the node.
                "pod-security.kubernetes.io/enforce": "privileged",
            }},
            opts=opts,
        )
        chart = catalog.CHARTS[RELEASE]
        from .cluster import SYSTEM_POOL_TAINT

        # The operator and NFD's master and gc run on the system pool, as the platform's controllers do.
        system = {"nodeSelector": conventions.system_pool_labels(),
                  "tolerations": [{"key": SYSTEM_POOL_TAINT.key, "operator": "Exists", "effect": SYSTEM_POOL_TAINT.effect}]}
        self.release = k8s.helm.v3.Release(
            f"{name}-network-operator",
            name=RELEASE,
            chart=chart.name,
            version=chart.version,
            repository_opts={"repo": chart.repo},
            namespace=NAMESPACE,
            create_namespace=False,
            atomic=True,
            cleanup_on_fail=True,
            values={
                # NFD labels the nodes (OS, kernel, PCI); its blanket NIC rule is replaced by ours.
                "nfd": {"enabled": True, "deployNodeFeatureRules": False},
                "operator": system,
                "node-feature-discovery": {
                    # The platform runs an NFD master of its own (gpu-system) for GPU Feature
                    # Discovery: a separate instance keeps the two from owning each other's
                    # labels (NFD chart values master.instance, "multiple parallel deployments").
                    "master": {**system, "instance": NAMESPACE},
                    "gc": dict(system),
                    # The chart's worker already tolerates nvidia.com/gpu; AKS spot nodes too.
                    "worker": {"tolerations": [
                        {"key": conventions.GPU_TAINT.key, "operator": "Exists", "effect": "NoSchedule"},
                        *self.tolerations()[1:],
                    ]},
                },
            },
            opts=after(self.namespace),
        )
        self.node_rule = k8s.apiextensions.CustomResource(
            f"{name}-infiniband-nodes",
            api_version="nfd.k8s-sigs.io/v1alpha1",
            kind="NodeFeatureRule",
            # Cluster-scoped (NFD's CRD, scope Cluster).
            metadata={"name": "ml-infiniband-nics", "labels": _labels("infiniband-nics")},
            spec={"rules": [{
                "name": "InfiniBand VFs",
                "labels": {MLNX_NIC_LABEL: "true"},
                "matchFeatures": [{"feature": "pci.device", "matchExpressions": {
                    "vendor": {"op": "In", "value": [MELLANOX_VENDOR]},
                    "device": {"op": "In", "value": list(IB_VF_DEVICES)},
                }}],
            }]},
            opts=after(self.release),
        )
        self.policy = k8s.apiextensions.CustomResource(
            f"{name}-nic-cluster-policy",
            api_version="mellanox.com/v1alpha1",
            kind="NicClusterPolicy",
            # The operator acts on the one policy named nic-cluster-policy.
            metadata={"name": "nic-cluster-policy", "labels": _labels("nic-cluster-policy")},
            spec=nic_cluster_policy_spec(self.pools, self.tolerations()),
            opts=after(self.release),
        )
        self.peermem = k8s.apps.v1.DaemonSet(
            f"{name}-{PEERMEM_LOADER}",
            metadata={"name": PEERMEM_LOADER, "namespace": NAMESPACE, "labels": _labels(PEERMEM_LOADER),
                      "annotations": PEERMEM_CHECKOV_SKIPS},
            spec=peermem_spec(self.pools, self.tolerations()),
            opts=after(self.namespace),
        )
        self.objects = [self.namespace, self.release, self.node_rule, self.policy, self.peermem]

    def pool_fabric(self, pool: GpuPool) -> Optional[PoolFabric]:
        fabric = pool.fabric("azure")
        if fabric is None or pool.name not in self.pools:
            return None
        return PoolFabric(
            kind=fabric.kind, name=fabric.name, nics=fabric.nics, line_rate_gbps=fabric.line_rate_gbps,
            expected_busbw_gbs=fabric.expected_busbw_gbs,
            # One shared resource stands for all the node's HCAs (the shared device plugin).
            resources={RDMA_RESOURCE: 1},
            env=dict(INFINIBAND_ENV),
            nccl_tests_image=versions.NCCL_TESTS_IMAGES["infiniband"],
            all_reduce_perf="/opt/nccl-tests/build/all_reduce_perf",
            ready=tuple(self.objects),
        )


def nic_cluster_policy_spec(pools: list[str], tolerations: list[dict]) -> dict:
    return {
        "nodeAffinity": _pool_affinity(pools),
        "tolerations": tolerations,
        "ofedDriver": {
            "repository": MELLANOX_REPOSITORY,
            "image": "doca-driver",
            "version": DOCA_DRIVER_VERSION,
            # Azure/aks-rdma-infiniband nic.yaml: keeps the inbox modules from racing the driver's.
            "env": [{"name": "OFED_BLACKLIST_MODULES_FILE", "value": "/host/etc/modprobe.d/blacklist-ofed-modules.conf"}],
            "upgradePolicy": {
                "autoUpgrade": True,
                "maxParallelUpgrades": 1,
                "drain": {"enable": True, "force": True, "deleteEmptyDir": True, "timeoutSeconds": 300},
            },
            "startupProbe": {"initialDelaySeconds": 10, "periodSeconds": 20},
            "livenessProbe": {"initialDelaySeconds": 30, "periodSeconds": 30},
            "readinessProbe": {"initialDelaySeconds": 10, "periodSeconds": 30},
        },
        "rdmaSharedDevicePlugin": {
            "repository": MELLANOX_REPOSITORY,
            "image": "k8s-rdma-shared-dev-plugin",
            "version": RDMA_PLUGIN_VERSION,
            "config": rdma_plugin_config(),
        },
    }


_PEERMEM_ROOT = "loads a kernel module into the node (nvidia-peermem), as Azure/aks-rdma-infiniband's reloader does"
PEERMEM_CHECKOV_SKIPS = {
    f"checkov.io/skip{i}": f"{check}={reason}"
    for i, (check, reason) in enumerate([
        ("CKV_K8S_16", "privileged: " + _PEERMEM_ROOT),
        ("CKV_K8S_20", "privileged implies privilege escalation: " + _PEERMEM_ROOT),
        ("CKV_K8S_23", "root: " + _PEERMEM_ROOT),
        ("CKV_K8S_40", "root: " + _PEERMEM_ROOT),
        ("CKV_K8S_22", "installs kmod into its own filesystem before modprobe"),
        ("CKV_K8S_28", "privileged: NET_RAW cannot be dropped from a privileged container"),
        ("CKV_K8S_37", "privileged: capabilities do not apply to a privileged container"),
        ("CKV_K8S_39", "privileged: SYS_ADMIN comes with privileged"),
        ("CKV_K8S_43", "Microsoft's Ubuntu mirror image by tag (versions.TAG_ONLY_IMAGES); pulled Always"),
    ], start=1)
}


def peermem_spec(pools: list[str], tolerations: list[dict]) -> dict:
    """Loads nvidia-peermem on the InfiniBand nodes and keeps checking it is loaded."""
    probe = {"exec": {"command": ["/bin/bash", "-c", "modprobe nvidia-peermem"]}, "timeoutSeconds": 10}
    return {
        "selector": {"matchLabels": {"app.kubernetes.io/name": PEERMEM_LOADER}},
        "updateStrategy": {"type": "RollingUpdate"},
        "template": {
            "metadata": {"labels": _labels(PEERMEM_LOADER)},
            "spec": {
                "priorityClassName": "system-node-critical",
                "affinity": {"nodeAffinity": _pool_affinity(pools)},
                "tolerations": tolerations,
                "automountServiceAccountToken": False,
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": PEERMEM_LOADER,
                    "image": versions.IMAGES["aks-peermem-loader"],
                    "imagePullPolicy": "Always",
                    "command": ["/bin/bash", "-xc",
                                "apt-get update && apt-get install -y kmod && modprobe nvidia-peermem && sleep infinity"],
                    "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
                    "securityContext": {"privileged": True},
                    # Waits up to 20 minutes for the driver to load the module's dependencies.
                    "startupProbe": {**probe, "initialDelaySeconds": 10, "periodSeconds": 10, "failureThreshold": 120},
                    "livenessProbe": {**probe, "initialDelaySeconds": 30, "periodSeconds": 30, "failureThreshold": 1},
                    "readinessProbe": {**probe, "periodSeconds": 30},
                    "volumeMounts": [{"name": "lib-modules", "mountPath": "/lib/modules", "readOnly": True}],
                }],
                "volumes": [{"name": "lib-modules", "hostPath": {"path": "/lib/modules", "type": "Directory"}}],
            },
        },
    }

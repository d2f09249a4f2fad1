"""The one GPU convention every backend applies and the platform layer relies on."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import catalog
from .config import CpuPool, GpuPool, TpuPool

LABEL_PREFIX = "ml-clusters.io"
POOL_LABEL = f"{LABEL_PREFIX}/pool"  # pool name, e.g. "h100"
GPU_MODEL_LABEL = f"{LABEL_PREFIX}/gpu-model"  # catalog GPU key, e.g. "h100", "l4"
GPU_COUNT_LABEL = f"{LABEL_PREFIX}/gpu-count"  # GPUs per node
GPU_NODE_LABEL = f"{LABEL_PREFIX}/gpu"  # "true" on every GPU node; the platform selects on it
SPOT_LABEL = f"{LABEL_PREFIX}/spot"  # "true" / "false"
TPU_NODE_LABEL = f"{LABEL_PREFIX}/tpu"  # "true" on every TPU node
TPU_GENERATION_LABEL = f"{LABEL_PREFIX}/tpu-generation"  # catalog TPU generation, e.g. "v5e"
TPU_TOPOLOGY_LABEL = f"{LABEL_PREFIX}/tpu-topology"  # the slice's topology, e.g. "4x4"
# On the nodes of a pool with a fabric: its kind (catalog.FABRIC_KINDS), e.g. "efa". Fabric
# node agents (the EFA device plugin, installers) select on it.
FABRIC_LABEL = f"{LABEL_PREFIX}/fabric"
SYSTEM_POOL = "system"

# Pods carrying this annotation ("true") keep their node out of a node-provisioning
# autoscaler's voluntary disruption: consolidation and drift (Karpenter, aws/karpenter-provider-aws
# v1.14.1 website/content/en/v1.14/concepts/disruption.md "Pod-Level Controls"; AKS node
# auto-provisioning runs Karpenter too). The training runtimes put it on every training pod, so
# an admitted job is never moved for cost or an AMI update. It is inert where nothing reads it.
DO_NOT_DISRUPT_ANNOTATION = "karpenter.sh/do-not-disrupt"

# Where NVIDIA's device plugin runs, a pool with sharing points its nodes at its own
# plugin config with this label (the plugin reads it per node).
DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
GPU_RESOURCE = "nvidia.com/gpu"

# NVIDIA mig-manager's hand-over with the GPU agents (NVIDIA/mig-parted v0.15.0
# pkg/mig/reconfigure/reconfigure.go): it writes the node's MIG state label (`pending` while
# it cuts, then `success` or `failed`) and, before it changes the layout, sets each agent's
# deploy label to `paused-for-mig-change` (a `false` stays `false`), and back to `true` once
# the GPUs are cut. A MIG pool's nodes start with the deploy labels `true`, as NVIDIA's GPU
# operator labels its GPU nodes; the platform's agents stay off a node while theirs is paused.
MIG_CONFIG_STATE_LABEL = "nvidia.com/mig.config.state"
MIG_PAUSED = "paused-for-mig-change"
DEPLOY_DEVICE_PLUGIN_LABEL = "nvidia.com/gpu.deploy.device-plugin"
DEPLOY_GFD_LABEL = "nvidia.com/gpu.deploy.gpu-feature-discovery"
DEPLOY_DCGM_EXPORTER_LABEL = "nvidia.com/gpu.deploy.dcgm-exporter"
MIG_DEPLOY_LABELS = (DEPLOY_DEVICE_PLUGIN_LABEL, DEPLOY_DCGM_EXPORTER_LABEL, DEPLOY_GFD_LABEL)


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str  # Kubernetes spelling: NoSchedule

    def api_effect(self) -> str:
        """The effect as the EKS and GKE APIs spell it (upper snake case)."""
        return {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}[self.effect]

    def as_string(self) -> str:
        return f"{self.key}={self.value}:{self.effect}"

    def toleration(self) -> dict:
        return {"key": self.key, "operator": "Equal", "value": self.value, "effect": self.effect}


GPU_TAINT = Taint("nvidia.com/gpu", "present", "NoSchedule")
# GKE taints TPU nodes google.com/tpu=present:NoSchedule itself; the pools declare the same
# taint so that the plan shows it (GoogleCloudPlatform/cluster-toolkit
# modules/internal/tpu-definition/main.tf adds it the same way).
TPU_TAINT = Taint("google.com/tpu", "present", "NoSchedule")
# The system pool runs the platform and the cloud's add-ons only. AKS's baseline taints its
# system pool this way; EKS uses the same key (its add-ons tolerate it). GKE's add-ons do not
# all tolerate it, so GKE leaves its system pool untainted.
SYSTEM_TAINT = Taint("CriticalAddonsOnly", "true", "NoSchedule")
# What the platform's own pods carry to land on the system pool (any value of the key).
SYSTEM_TOLERATION = {"key": SYSTEM_TAINT.key, "operator": "Exists", "effect": SYSTEM_TAINT.effect}


def gpu_pool_labels(pool: GpuPool, cloud: str, cloud_manages_device_plugin: bool,
                    cloud_partitions_mig: bool = False) -> dict[str, str]:
    """Node labels for a GPU pool's nodes (sorted, so plans are stable). The MIG layout and
    mig-manager's deploy labels only where mig-manager cuts the GPUs (not where the cloud
    does it at node creation, as AKS and GKE do)."""
    # An existing cluster names its GPU model by any cloud's instance type.
    itype = catalog.instance_type(cloud, pool.instance_type) or catalog.find_instance_type(pool.instance_type)
    assert itype is not None, pool.instance_type  # config validation checked it
    labels = {
        POOL_LABEL: pool.name,
        GPU_MODEL_LABEL: itype.gpu or "",
        GPU_COUNT_LABEL: str(itype.gpus),
        GPU_NODE_LABEL: "true",
        # The pool's own nodes take its chain's first tier (`spot: true` is `capacity: [spot]`).
        SPOT_LABEL: "true" if pool.capacity_chain()[0].spot else "false",
    }
    if pool.sharing is not None and not cloud_manages_device_plugin:
        labels[DEVICE_PLUGIN_CONFIG_LABEL] = device_plugin_config_name(pool)
        if pool.sharing.mig is not None and not cloud_partitions_mig:
            labels[MIG_CONFIG_LABEL] = f"all-{pool.sharing.mig.profile}"
            labels.update({label: "true" for label in MIG_DEPLOY_LABELS})
    return dict(sorted(labels.items()))


def device_plugin_config_name(pool: GpuPool) -> str:
    """Name of the pool's entry in the device plugin's config map."""
    return f"pool-{pool.name}"


def system_pool_labels() -> dict[str, str]:
    return {POOL_LABEL: SYSTEM_POOL, GPU_NODE_LABEL: "false"}


def cpu_pool_labels(pool: CpuPool) -> dict[str, str]:
    """Node labels for a CPU worker pool's nodes: the pool name, not a GPU node, spot or not."""
    return dict(sorted({POOL_LABEL: pool.name, GPU_NODE_LABEL: "false", SPOT_LABEL: "true" if pool.spot else "false"}.items()))


def tpu_pool_labels(pool: TpuPool) -> dict[str, str]:
    """Node labels for a TPU pool's nodes: the pool, a TPU (not a GPU) node, its generation
    and topology, spot or not. GKE adds its own cloud.google.com/gke-tpu-* labels."""
    return dict(sorted({
        POOL_LABEL: pool.name,
        GPU_NODE_LABEL: "false",
        TPU_NODE_LABEL: "true",
        TPU_GENERATION_LABEL: pool.generation,
        TPU_TOPOLOGY_LABEL: pool.topology,
        SPOT_LABEL: "true" if pool.spot else "false",
    }.items()))


def mig_devices_per_gpu(gpu_key: str, profile: str) -> int:
    """How many instances of `profile` one GPU holds when every GPU is cut into it (NVIDIA
    MIG user guide, "Supported MIG Profiles": 7 compute slices; the smallest 1g profile fits
    7 times, the 1g profile with twice its memory 4 times, 2g 3, 3g 2, 4g and 7g once)."""
    slices = int(profile.split("g.", 1)[0])
    if slices == 1:
        return 7 if profile == catalog.gpu_model(gpu_key).mig_profiles[0] else 4
    return {2: 3, 3: 2, 4: 1, 7: 1}[slices]


def gpu_resources(pool: GpuPool, itype: catalog.InstanceType) -> dict[str, str]:
    """The extended resources a node of `pool` advertises once its device plugin runs, which
    the scale-from-zero tags must repeat: the tags overwrite the template node's capacity.
    Time-slicing advertises each GPU `replicas` times under nvidia.com/gpu (renameByDefault
    false, components/platform/gpu.py); MIG `single` shows the slices as nvidia.com/gpu,
    `mixed` as nvidia.com/mig-<profile> (NVIDIA k8s-device-plugin README, MIG strategies)."""
    gpus = itype.gpus
    sharing = pool.sharing
    if sharing is not None and sharing.time_slicing is not None:
        return {GPU_RESOURCE: str(gpus * sharing.time_slicing.replicas)}
    if sharing is not None and sharing.mig is not None:
        count = str(gpus * mig_devices_per_gpu(itype.gpu or "", sharing.mig.profile))
        if sharing.mig.strategy == "mixed":
            return {f"nvidia.com/mig-{sharing.mig.profile}": count}
        return {GPU_RESOURCE: count}
    return {GPU_RESOURCE: str(gpus)}


# The stack's reasons for a pool's fabric choices, carried on the pool's cloud resource for the
# policy pack (policies/rules/fabric.py): EKS node group and AKS agent pool tags, GKE node pool
# resource labels (keys and values in GCP's label alphabet).
INTERCONNECT_WAIVER_TAG = "ml-clusters/interconnect-waiver"
INTERCONNECT_SPOT_REASON_TAG = "ml-clusters/interconnect-spot-reason"
_TAG_VALUE_BAD = re.compile(r"[^\w .:/=+\-@]")  # AWS tag values: letters, digits, spaces, _.:/=+-@
_GCP_LABEL_BAD = re.compile(r"[^a-z0-9_-]")


def fabric_reason_tags(pool: GpuPool, cloud: str) -> dict[str, str]:
    """The pool's interconnectWaiver / interconnectSpotReason as tags (resource labels on
    GCP), sanitized to the cloud's alphabet; {} when the stack states neither."""
    out = {}
    for key, text in ((INTERCONNECT_WAIVER_TAG, pool.interconnect_waiver), (INTERCONNECT_SPOT_REASON_TAG, pool.interconnect_spot_reason)):
        if not text:
            continue
        if cloud == "gcp":
            out[key.replace("/", "-")] = _GCP_LABEL_BAD.sub("_", text.lower())[:63] or "stated"
        else:
            out[key] = _TAG_VALUE_BAD.sub(" ", text)[:256].strip() or "stated"
    return out

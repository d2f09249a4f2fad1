"""Typical creation times per resource type, for the preview's time-to-ready estimate.

Each row: seconds from create request to the provider reporting the resource ready (what
`pulumi up` waits for), and where the figure comes from. "estimate" means no public source
gives a number: it is this project's rounded reading of typical runs, to be replaced when a
source does. Read 2026-11. A type not listed takes DEFAULT_SECONDS (a plain API object).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import model_streaming


@dataclass(frozen=True)
class Timing:
    seconds: int
    source: str


DEFAULT_SECONDS = 2
ESTIMATE = "estimate"

# Node pool types: the time-to-ready report looks for waits on GPU pools among these.
NODE_POOL_TYPES = (
    "aws:eks/nodeGroup:NodeGroup",
    "gcp:container/nodePool:NodePool",
    "azure-native:containerservice:AgentPool",
)

CREATION: dict[str, Timing] = {
    # --- AWS ---
    "aws:eks/cluster:Cluster": Timing(900, "aws/containers-roadmap#1227: EKS control plane provisioning averages 15 minutes"),
    "aws:eks/nodeGroup:NodeGroup": Timing(240, ESTIMATE),
    "aws:eks/addon:Addon": Timing(60, ESTIMATE),
    "aws:eks/accessEntry:AccessEntry": Timing(5, ESTIMATE),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": Timing(5, ESTIMATE),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": Timing(5, ESTIMATE),
    "aws:ec2/natGateway:NatGateway": Timing(120, ESTIMATE),
    "aws:ec2/vpc:Vpc": Timing(5, ESTIMATE),
    "aws:ec2/subnet:Subnet": Timing(5, ESTIMATE),
    "aws:ec2/internetGateway:InternetGateway": Timing(5, ESTIMATE),
    "aws:ec2/routeTable:RouteTable": Timing(3, ESTIMATE),
    "aws:ec2/securityGroup:SecurityGroup": Timing(5, ESTIMATE),
    "aws:efs/fileSystem:FileSystem": Timing(10, ESTIMATE),
    "aws:efs/mountTarget:MountTarget": Timing(90, ESTIMATE),
    "aws:kms/key:Key": Timing(5, ESTIMATE),
    "aws:iam/role:Role": Timing(3, ESTIMATE),
    # --- Google Cloud ---
    "gcp:container/cluster:Cluster": Timing(600, ESTIMATE),
    "gcp:container/nodePool:NodePool": Timing(240, ESTIMATE),
    "gcp:compute/network:Network": Timing(30, ESTIMATE),
    "gcp:compute/subnetwork:Subnetwork": Timing(20, ESTIMATE),
    "gcp:compute/router:Router": Timing(20, ESTIMATE),
    "gcp:compute/routerNat:RouterNat": Timing(30, ESTIMATE),
    "gcp:serviceaccount/account:Account": Timing(5, ESTIMATE),
    "gcp:projects/iAMMember:IAMMember": Timing(10, ESTIMATE),
    # --- Azure ---
    "azure-native:containerservice:ManagedCluster": Timing(600, ESTIMATE),
    "azure-native:containerservice:AgentPool": Timing(300, ESTIMATE),
    # The program waits for the deployer's grant; REFERENCE.md: Azure RBAC grants take up to 5 minutes to propagate.
    "azure-native:authorization:RoleAssignment": Timing(300, "Azure RBAC docs (role assignment propagation, up to 5 min as REFERENCE.md reads it)"),
    "azure-native:operationalinsights:Workspace": Timing(30, ESTIMATE),
    "azure-native:network:VirtualNetwork": Timing(10, ESTIMATE),
    "azure-native:network:Subnet": Timing(5, ESTIMATE),
    "azure-native:managedidentity:UserAssignedIdentity": Timing(5, ESTIMATE),
    # --- Kubernetes ---
    # A Helm release waits for its workloads to become ready (pulumi-kubernetes Release, skipAwait false).
    "kubernetes:helm.sh/v3:Release": Timing(120, ESTIMATE),
    # A DaemonSet waits for its rollout (pulumi-kubernetes await logic).
    "kubernetes:apps/v1:DaemonSet": Timing(30, ESTIMATE),
    "kubernetes:apps/v1:Deployment": Timing(30, ESTIMATE),
    # Nothing to create in the cloud.
    "random:index/randomPassword:RandomPassword": Timing(0, "computed locally by the provider"),
}


def creation_seconds(type_: str) -> tuple[int, bool]:
    """Typical seconds to create a resource of `type_`, and whether the catalog lists it."""
    if type_.startswith("pulumi:providers:"):
        return 0, True
    timing = CREATION.get(type_)
    return (timing.seconds, True) if timing else (DEFAULT_SECONDS, False)


# --- Cold start of a GPU pod (what a user waits for when a GPU notebook or job starts) ---
# A pool that scales from zero first boots a node, then the node's GPU driver and device
# plugin must report the GPUs, then the image is pulled. Existing clusters (`existing`)
# bring their own nodes: no boot, no driver install.
GPU_NODE_BOOT: dict[str, Timing] = {
    "aws": Timing(300, ESTIMATE),      # EC2 launch of a GPU instance + kubelet join (NVIDIA AMI: driver pre-installed)
    "gcp": Timing(300, ESTIMATE),
    "azure": Timing(360, ESTIMATE),
    "existing": Timing(0, "the cluster's nodes already exist"),
}
GPU_DRIVER_READY: dict[str, Timing] = {
    "aws": Timing(60, ESTIMATE),       # device plugin DaemonSet starts on the new node
    "gcp": Timing(180, ESTIMATE),      # GKE's driver installer DaemonSet runs before its device plugin
    "azure": Timing(60, ESTIMATE),
    "existing": Timing(0, "the cluster's nodes already run the driver"),
}
# Compressed image sizes (registry manifests' layer sums, rounded up) and the pull rate,
# extraction included, a node sustains from a public registry.
IMAGE_SIZE_GB: dict[str, Timing] = {
    "notebook-gpu": Timing(6, ESTIMATE),
    "notebook-cpu": Timing(2, ESTIMATE),
    # KServe's vLLM runtime (vllm-openai, CUDA build): the largest GPU image the platform runs.
    "kserve-vllm": Timing(10, ESTIMATE),
}
PULL_MB_PER_SECOND = Timing(40, ESTIMATE)
# A timeout is this many times the estimate, rounded up to whole minutes: the estimate is
# typical, not worst case.
TIMEOUT_MARGIN = 1.5


def cold_start_seconds(cloud: str, image: str) -> int:
    """Typical seconds from a GPU pod's creation on a pool at zero nodes to its container starting."""
    return GPU_NODE_BOOT[cloud].seconds + GPU_DRIVER_READY[cloud].seconds + pull_seconds(image)


def start_timeout_seconds(cloud: str, image: str) -> int:
    """The spawn timeout for a GPU pod: the cold start with a margin, in whole minutes."""
    seconds = int(cold_start_seconds(cloud, image) * TIMEOUT_MARGIN)
    return -(-seconds // 60) * 60


# --- Cold start of a GPU pool, per pool, in the preview (preview/ready.py cold_starts) ---
# What a user waits for when a pool at zero nodes gets a GPU pod: the node boots, its GPU driver
# and device plugin report the GPUs, the image is pulled, the model is loaded. The reference
# workload is a model served by KServe's vLLM runtime: COLD_START_IMAGE, and weights of
# REFERENCE_MODEL_GB read from the model store at MODEL_LOAD_MB_PER_SECOND.
COLD_START_IMAGE = "kserve-vllm"
REFERENCE_MODEL = "8B model in bf16"
REFERENCE_MODEL_GB = Timing(16, "8 billion parameters x 2 bytes (bf16)")
MODEL_LOAD_MB_PER_SECOND = Timing(250, ESTIMATE)  # object store -> storage initializer -> vLLM, one stream
# Weights streamed from the model store into the GPU by vLLM's Run:ai Model Streamer loader, 32
# readers (catalog/model_streaming.py), per cloud. AWS: run-ai/runai-model-streamer
# docs/src/benchmarks.md @ 0.15.7, Appendix C: Meta-Llama-3-8B (15 GB) from S3 in the instance's
# region to the GPU in 4.88 s at concurrency 32, i.e. 3.07 GB/s, rounded down. GCS and Azure Blob:
# no published figure for this streamer; the same rate is the estimate (the same loader and
# readers against the cloud's object store in the cluster's region).
_STREAMER_BENCHMARK = ("run-ai/runai-model-streamer docs/src/benchmarks.md @ 0.15.7: Meta-Llama-3-8B, 15 GB, "
                       "from S3 to the GPU in 4.88 s at concurrency 32")
STREAMED_MODEL_LOAD_MB_PER_SECOND: dict[str, Timing] = {
    "aws": Timing(3000, _STREAMER_BENCHMARK),
    "gcp": Timing(3000, f"{ESTIMATE}: no published GCS figure; the S3 rate ({_STREAMER_BENCHMARK})"),
    "azure": Timing(3000, f"{ESTIMATE}: no published Azure Blob figure; the S3 rate ({_STREAMER_BENCHMARK})"),
}
# The plan streams weights when it holds this object (components/platform/workloads/
# model_streaming.py): (resource type, metadata.name, an argument of its container).
MODEL_STREAMING_RUNTIME = ("kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime", model_streaming.RUNTIME,
                           model_streaming.LOAD_FORMAT_ARG)
# Lazy image pulls: a node pool input that turns one on (its value true), and the pull time it
# leaves. The container starts once the image is mounted; the files it reads stream as it runs.
STREAMED_PULL_SECONDS = Timing(
    5, "Google Cloud blog 2021-11-03, 'Introducing GKE image streaming': ImagePulling to Running in a "
       "couple of seconds regardless of image size (images in Artifact Registry)",
)
IMAGE_STREAMING_INPUTS: dict[str, str] = {
    # pulumi-gcp 10.2.0 container.NodePool node_config.gcfs_config (components/clouds/gcp/coldstart.py)
    "gcp:container/nodePool:NodePool": "nodeConfig.gcfsConfig.enabled",
}
# A Karpenter NodePool streams images when the node class its nodeClassRef names turns it on:
# node class type -> that input (AKS node auto-provisioning, components/clouds/azure/coldstart.py).
NODE_CLASS_STREAMING_INPUTS: dict[str, str] = {
    "kubernetes:karpenter.azure.com/v1beta1:AKSNodeClass": "spec.artifactStreaming.enabled",
}
# AKS artifact streaming: Microsoft gives a relative figure only, "can reduce time to pod
# readiness by over 15%" (learn.microsoft.com/azure/aks/artifact-streaming). Applied to the pull
# alone, which is part of that time, 15% is the least it saves of the pull.
ARTIFACT_STREAMING_CUT_PERCENT = 15
ARTIFACT_STREAMING_SOURCE = ("learn.microsoft.com/azure/aks/artifact-streaming: artifact streaming "
                             "'can reduce time to pod readiness by over 15%'")
# Parallel image pull (EKS: nodeadm's FastImagePull gate, the SOCI snapshotter pulling and
# unpacking layers in parallel; components/clouds/aws/coldstart.py): the whole image still
# arrives before the container starts, faster. Node pool type -> (the resource that holds its
# nodes' user data, which the pool depends on; that input's path). Measured speed-up, the same
# image on the same kind of node, default containerd against parallel pull:
# aws-samples/karpenter-blueprints blueprints/soci-snapshotter/README.md "Results" (commit
# 1e0c62be): the AWS Deep Learning Container for vLLM (vllm:0.9-gpu-py312-ec2, 10,778,400,361
# bytes) from ECR pulled in 1m52.33s with containerd's default and in 59.813s with FastImagePull
# on AL2023 (gp3 root volume at 1000 MiB/s and 16000 IOPS, instances above 8000 Mbps of EBS and
# network bandwidth). Our whole-pull estimate is scaled by that ratio.
PARALLEL_PULL_INPUTS: dict[str, tuple[str, str]] = {
    "aws:eks/nodeGroup:NodeGroup": ("aws:ec2/launchTemplate:LaunchTemplate", "userData"),
    "kubernetes:karpenter.sh/v1:NodePool": ("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "spec.userData"),
}
PARALLEL_PULL_MEASURED_MS: tuple[int, int] = (112_330, 59_813)  # (default containerd, parallel pull)
PARALLEL_PULL_SOURCE = (
    "aws-samples/karpenter-blueprints blueprints/soci-snapshotter/README.md: the 10.8 GB vLLM Deep Learning "
    "Container pulled from ECR in 1m52.33s by default containerd, 59.813s with AL2023's FastImagePull"
)
# Node pool resource type -> cloud. The pool is the one whose name ends the resource's name, or
# for a Karpenter NodePool (named `<cluster>-<pool>-nodepool`) its metadata.name.
NODE_POOL_CLOUDS: dict[str, str] = {
    "aws:eks/nodeGroup:NodeGroup": "aws",
    # A GPU pool on Karpenter (components/clouds/aws/capacity.py): the same EKS AMI boots.
    "kubernetes:karpenter.sh/v1:NodePool": "aws",
    "gcp:container/nodePool:NodePool": "gcp",
    "azure-native:containerservice:AgentPool": "azure",
}
# A Karpenter NodePool's cloud by its node class's group: EKS (EC2NodeClass), or AKS node
# auto-provisioning (AKSNodeClass, components/clouds/azure/capacity.py), whose nodes boot the
# AKS node image with the AKS-installed driver, as an agent pool's do.
KARPENTER_NODE_CLASS_CLOUDS: dict[str, str] = {"karpenter.k8s.aws": "aws", "karpenter.azure.com": "azure"}


def node_pool_cloud(resource_type: str, inputs: dict) -> str | None:
    """The cloud whose boot and driver figures a node pool resource takes (None: not a pool)."""
    cloud = NODE_POOL_CLOUDS.get(resource_type)
    if resource_type == "kubernetes:karpenter.sh/v1:NodePool":
        group = (((inputs.get("spec") or {}).get("template") or {}).get("spec") or {}).get("nodeClassRef", {}).get("group")
        cloud = KARPENTER_NODE_CLASS_CLOUDS.get(group, cloud)
    return cloud


def pull_seconds(image: str) -> int:
    """A whole pull of `image` at PULL_MB_PER_SECOND."""
    return IMAGE_SIZE_GB[image].seconds * 1000 // PULL_MB_PER_SECOND.seconds


def model_load_seconds(cloud: str = "", streamed: bool = False) -> int:
    """The reference model's load: through the storage initializer, or streamed on `cloud`."""
    rate = STREAMED_MODEL_LOAD_MB_PER_SECOND[cloud] if streamed else MODEL_LOAD_MB_PER_SECOND
    return REFERENCE_MODEL_GB.seconds * 1000 // rate.seconds


def streamed_pull(cloud: str) -> tuple[int, str]:
    """(seconds, source) of the reference image's pull on a pool that streams images: AKS's
    whole pull less ARTIFACT_STREAMING_CUT_PERCENT, GKE's STREAMED_PULL_SECONDS."""
    if cloud == "azure":
        cut = ARTIFACT_STREAMING_CUT_PERCENT
        return (pull_seconds(COLD_START_IMAGE) * (100 - cut) // 100,
                f"the whole pull ({IMAGE_SIZE_GB[COLD_START_IMAGE].seconds} GB at {PULL_MB_PER_SECOND.seconds} MB/s) less "
                f"{cut}% ({ARTIFACT_STREAMING_SOURCE}), for an image with a streaming artifact in a Premium ACR")
    return STREAMED_PULL_SECONDS.seconds, STREAMED_PULL_SECONDS.source


def parallel_pull_seconds(image: str) -> int:
    """A whole pull of `image` made parallel: scaled by the measured ratio (PARALLEL_PULL_MEASURED_MS)."""
    default_ms, parallel_ms = PARALLEL_PULL_MEASURED_MS
    return pull_seconds(image) * parallel_ms // default_ms


def model_load_part(cloud: str, streamed: bool) -> tuple[str, int, str]:
    """The cold start's model-load part, with its source (streamed where the stack builds it
    and the cloud has a figure; an existing cluster has no model store to stream from)."""
    streamed = streamed and cloud in STREAMED_MODEL_LOAD_MB_PER_SECOND
    rate = STREAMED_MODEL_LOAD_MB_PER_SECOND[cloud] if streamed else MODEL_LOAD_MB_PER_SECOND
    how = "streamed from the model store by vLLM's Run:ai Model Streamer" if streamed else "one stream"
    return ("model load", model_load_seconds(cloud, streamed),
            f"{REFERENCE_MODEL_GB.seconds} GB ({REFERENCE_MODEL_GB.source}) at {rate.seconds} MB/s, {how} ({rate.source})")


def pool_cold_start_parts(cloud: str, streaming: bool, weights_streamed: bool = False, *,
                          parallel_pull: bool = False) -> list[tuple[str, int, str]]:
    """(part, seconds, source) of a GPU pool's cold start: node boot, driver ready, image pull
    (whole, streamed, or whole in parallel: `parallel_pull`), model load (one stream, or
    streamed by vLLM: `weights_streamed`)."""
    whole = (f"{IMAGE_SIZE_GB[COLD_START_IMAGE].seconds} GB ({IMAGE_SIZE_GB[COLD_START_IMAGE].source}) "
             f"at {PULL_MB_PER_SECOND.seconds} MB/s ({PULL_MB_PER_SECOND.source})")
    if streaming:
        pull = streamed_pull(cloud)
    elif parallel_pull:
        pull = (parallel_pull_seconds(COLD_START_IMAGE),
                f"the whole pull ({whole}) x {PARALLEL_PULL_MEASURED_MS[1] / 1000:g} s / {PARALLEL_PULL_MEASURED_MS[0] / 1000:g} s, "
                f"pulled in parallel ({PARALLEL_PULL_SOURCE})")
    else:
        pull = (pull_seconds(COLD_START_IMAGE), whole)
    return [
        ("node boot", GPU_NODE_BOOT[cloud].seconds, GPU_NODE_BOOT[cloud].source),
        ("driver ready", GPU_DRIVER_READY[cloud].seconds, GPU_DRIVER_READY[cloud].source),
        ("image pull", *pull),
        model_load_part(cloud, weights_streamed),
    ]


# --- The first pod on a warm node (gpuPools[].warmNodes, components/platform/warm.py) ---
# A pool with warm nodes keeps them up with their GPUs reported and the serving image
# (COLD_START_IMAGE) pulled by the placeholder pod that holds each of them; the first pods that
# preempt a placeholder wait only for what is left. Part name -> (seconds, source); a part not
# listed (the model load) is what it is from zero nodes.
WARM_NODE_PARTS: dict[str, Timing] = {
    "node boot": Timing(0, "none: a warm node is up before the pod (gpuPools[].warmNodes keeps it)"),
    "driver ready": Timing(0, "none: the warm node's driver and device plugin already report its GPUs"),
    "image pull": Timing(0, f"none: the warm node's placeholder runs {COLD_START_IMAGE}, so the image is on the node"),
}


def warm_node_parts(parts: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    """The first pod's wait on a warm node, from the pool's cold start `parts`: node boot,
    driver ready and image pull 0, the rest (the model load) unchanged."""
    return [(name, WARM_NODE_PARTS[name].seconds, WARM_NODE_PARTS[name].source) if name in WARM_NODE_PARTS
            else (name, seconds, source) for name, seconds, source in parts]

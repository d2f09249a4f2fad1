"""Kubernetes objects the program renders: workloads, namespaces, services, storage classes."""

from __future__ import annotations

import posixpath
import re
from typing import Any, Iterator, Optional, Sequence

from .base import Context, Finding, Resource, UnknownValue, flag, get, items, resource_rule, show, stack_rule
from .types import (
    K8S_CLUSTER_ROLE,
    K8S_NAMESPACE,
    K8S_NETWORK_POLICY,
    K8S_RESOURCE_QUOTA,
    K8S_ROLE,
    K8S_ROLE_BINDING,
    K8S_SERVICE,
    K8S_STORAGE_CLASS,
    POD_SPEC_PATHS,
    ENCRYPTED_ANNOTATION,
    WORKLOAD_TYPES,
)

DOMAIN = "kubernetes"

# Namespaces of Kubernetes itself and of the platform, which hold no team workloads and are
# fenced by their owners; every other namespace gets the namespace rules below, whether or
# not it carries our label. Other platform pieces add theirs to a stack's policy config.
PLATFORM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease", "gpu-system", "monitoring", "velero",
                       # The workload layer's controllers (components/platform/workloads/); JupyterHub's
                       # chart renders the NetworkPolicies of its namespace itself. Argo Workflows
                       # and Katib keep only their controllers and metadata databases there.
                       "kueue-system", "kubeflow-system", "cert-manager", "kserve", "jupyterhub", "argo", "katib",
                       # The serving gateway: Envoy Gateway, its proxies and the Gateway (platform/gateway.py).
                       "envoy-gateway-system", "keda",
                       # GPU repair (components/platform/health.py): kured alone.
                       "gpu-health",
                       # Warm GPU nodes (components/platform/warm.py): placeholder pods that hold
                       # whole GPU nodes at a negative priority; no team quota may count them.
                       "gpu-warm",
                       # The NCCL acceptance test of the fabric pools (workloads/nccl.py): root,
                       # sshd and IPC_LOCK for mpirun; its own ClusterQueue holds its GPUs.
                       "fabric-acceptance"]
# AKS InfiniBand: NVIDIA's Network Operator and its node agents (components/clouds/azure/fabric.py).
PLATFORM_NAMESPACES += ["network-operator"]
PLATFORM_NAMESPACES_CONFIG = {
    "platformNamespaces": {
        "type": "array",
        "items": {"type": "string"},
        "default": PLATFORM_NAMESPACES,
        "description": "Namespaces of Kubernetes and the platform the namespace rules skip; every other namespace is a team's.",
    }
}

# Workloads allowed privileges the baseline Pod Security level forbids, each with the reason
# (namespace/name of the workload). NVIDIA's mig-manager must be privileged with the host's
# PID and IPC namespaces and its root and /sys to switch MIG mode and cut GPU instances
# (NVIDIA/mig-parted v0.15.0 deployments/container/nvidia-mig-manager-example.yaml); it runs
# only on MIG nodes that no cloud partitions.
PRIVILEGED_WORKLOADS = {
    "gpu-system/nvidia-mig-manager": "NVIDIA mig-manager partitions MIG GPUs through the driver: privileged, host PID/IPC, host / and /sys, on MIG nodes only",
    # kured 1.23.0 runs its sentinel command and the reboot in the host's mount namespace
    # through nsenter -m/proc/1/ns/mnt (pkg/checkers/checker.go, pkg/reboot/command.go), which
    # needs the host PID namespace and a privileged container (chart kured-6.1.0 values.yaml).
    "gpu-health/kured": "kured reads the node's kernel log for hardware XIDs and reboots the node through nsenter into the host: privileged, host PID, on GPU nodes only",
    # GKE GPU fabric agents (components/clouds/gcp/fabric.py), as Google's manifests run them
    # (GoogleCloudPlatform/container-engine-accelerators @ 992db812): privileged, host PID and
    # network, node directories; on the fabric pools' nodes only.
    "kube-system/device-injector": "GKE's NRI device injector hands GPU device nodes to the RxDM sidecar through the node's NRI socket and /dev, on GPUDirect-TCPX/TCPXO nodes only",
    "kube-system/nccl-tcpx-installer": "installs the GPUDirect-TCPX NCCL plugin into the node's /home/kubernetes/bin, on A3 High fabric nodes only",
    "kube-system/nccl-tcpxo-installer": "installs the GPUDirect-TCPXO NCCL plugin and exposes the NICs' aperture devices on the node, on A3 Mega fabric nodes only",
    "kube-system/nccl-rdma-installer": "installs the gIB NCCL plugin into the node's /home/kubernetes/bin, on A3 Ultra / A4 fabric nodes only",
    # AKS InfiniBand (components/clouds/azure/fabric.py; Azure/aks-rdma-infiniband @ 700dabb
    # configs/nvidia-peermem-reloader/ds.yaml).
    "network-operator/nvidia-peermem-loader": "loads the nvidia-peermem kernel module GPUDirect RDMA needs with the AKS-managed driver, on InfiniBand nodes only",
}
PRIVILEGED_CONFIG = {
    "allowedPrivilegedWorkloads": {
        "type": "object",
        "additionalProperties": {"type": "string", "minLength": 10},
        "default": PRIVILEGED_WORKLOADS,
        "description": "namespace/name of workloads allowed this privilege -> the reason.",
    }
}


# GKE GPU fabric nodes (components/clouds/gcp/fabric.py): where GKE's driver installer and the
# NCCL plugin installers put libraries, the TCPX RxDM socket directory and the TCPXO aperture
# devices, which every rank mounts (GoogleCloudPlatform/container-engine-accelerators @ 992db812
# gpudirect-tcpx/nccl-test-latest.yaml, gpudirect-tcpxo/nccl-test-latest.yaml,
# gpudirect-rdma/nccl-test.yaml). Only nodes of fabric pools hold them.
GKE_FABRIC_HOST_PATHS = ["/home/kubernetes/bin/nvidia", "/home/kubernetes/bin/gib", "/run/tcpx", "/dev/aperture_devices"]
# The RxDM sidecar reads the node's /sys and /proc/sys (the same manifests); allowed only under
# the volume names the GKE backend gives them, not as a general hostPath.
RXDM_VOLUMES = {"fabric-sys": "/sys", "fabric-proc-sys": "/proc/sys"}


def _allowed_privileged(r: Resource, ctx: Context) -> bool:
    try:
        key = f"{get(r.props, 'metadata.namespace', 'default')}/{get(r.props, 'metadata.name')}"
    except UnknownValue:
        return False
    return key in dict(ctx.config.get("allowedPrivilegedWorkloads") or {})
GPU_RESOURCE = re.compile(r"^nvidia\.com/(gpu|mig-.+)$")
_CONTAINER_KINDS = ("initContainers", "containers", "ephemeralContainers")


def pod_spec(r: Resource) -> tuple[str, Optional[Any]]:
    """(path, pod spec) of a workload; the spec is None when absent."""
    path = POD_SPEC_PATHS[r.type]
    return ".".join(path), get(r.props, list(path))


def containers(spec: Any) -> Iterator[tuple[str, Any]]:
    for kind in _CONTAINER_KINDS:
        for i, container in enumerate(items(spec, kind)):
            yield f"{kind}[{i}] ({get(container, 'name', '?')})", container


@resource_rule(
    id="k8s-no-privileged-containers",
    title="No privileged containers",
    domain=DOMAIN,
    types=WORKLOAD_TYPES,
    description="No container runs privileged; a privileged container is root on the node (Pod Security Standards, baseline).",
    severity="critical",
    level="mandatory",
    fix="Remove securityContext.privileged; grant the one capability the container needs under securityContext.capabilities.add instead.",
    config=PRIVILEGED_CONFIG,
)
def k8s_no_privileged_containers(r: Resource, ctx: Context):
    if _allowed_privileged(r, ctx):
        return
    path, spec = pod_spec(r)
    for where, container in containers(spec):
        if flag(get(container, "securityContext.privileged")) is True:
            yield f"{path}.{where} sets securityContext.privileged true."


@resource_rule(
    id="k8s-no-host-namespaces",
    title="No host namespaces",
    domain=DOMAIN,
    types=WORKLOAD_TYPES,
    description="Pods do not share the node's network, PID or IPC namespace (Pod Security Standards, baseline).",
    severity="high",
    level="mandatory",
    fix="Remove hostNetwork/hostPID/hostIPC from the pod spec; expose ports through a Service instead of the host network.",
    config=PRIVILEGED_CONFIG,
)
def k8s_no_host_namespaces(r: Resource, ctx: Context):
    if _allowed_privileged(r, ctx):
        return
    path, spec = pod_spec(r)
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if flag(get(spec, key)) is True:
            yield f"{path}.{key} is true: the pod sees the node's {key[4:].lower()} namespace."


def _under(path: str, allowed: str) -> bool:
    path, allowed = posixpath.normpath(path), posixpath.normpath(allowed)
    return path == allowed or path.startswith(allowed.rstrip("/") + "/")


@resource_rule(
    id="k8s-host-path-allowlist",
    title="hostPath volumes from the allow-list only",
    domain=DOMAIN,
    types=WORKLOAD_TYPES,
    description="hostPath volumes mount only allow-listed node directories: the kubelet's device-plugin socket directory, the pod-resources API DCGM uses, and on GKE fabric nodes the NCCL plugin libraries and sockets; the GPUDirect-TCPX/TCPXO RxDM sidecar's read of /sys and /proc/sys under its own volume names.",
    severity="high",
    level="mandatory",
    fix="Replace the hostPath volume with an emptyDir/PVC/ConfigMap, or add the directory to allowedHostPaths after a security review.",
    config={
        "allowedHostPaths": {
            "type": "array",
            "items": {"type": "string", "pattern": "^/"},
            "default": ["/var/lib/kubelet/device-plugins", "/var/lib/kubelet/pod-resources", *GKE_FABRIC_HOST_PATHS],
            "description": "Node directories (and their subdirectories) hostPath volumes may mount.",
        },
        "allowedFabricVolumes": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": "^/"},
            "default": RXDM_VOLUMES,
            "description": "Volume name -> the one node directory a volume of that name may mount (the RxDM sidecar's).",
        },
        **PRIVILEGED_CONFIG,
    },
)
def k8s_host_path_allowlist(r: Resource, ctx: Context):
    if _allowed_privileged(r, ctx):
        return
    path, spec = pod_spec(r)
    allowed = list(ctx.config["allowedHostPaths"])
    fabric_volumes = dict(ctx.config.get("allowedFabricVolumes") or {})
    for i, volume in enumerate(items(spec, "volumes")):
        host = get(volume, "hostPath.path")
        if host is None:
            continue
        if fabric_volumes.get(str(get(volume, "name", ""))) == str(host):
            continue
        if not any(_under(str(host), a) for a in allowed):
            yield f"{path}.volumes[{i}] ({get(volume, 'name', '?')}) mounts hostPath {host}, which is not on the allow-list ({', '.join(allowed)})."


@resource_rule(
    id="k8s-gpu-limits",
    title="GPU requests have equal limits",
    domain=DOMAIN,
    types=WORKLOAD_TYPES,
    description="A container that requests NVIDIA GPUs (nvidia.com/gpu or a MIG profile) sets the same quantity as its limit.",
    severity="high",
    level="mandatory",
    fix="Set resources.limits[<GPU resource>] to the requested quantity (extended resources cannot be overcommitted).",
)
def k8s_gpu_limits(r: Resource, ctx: Context):
    path, spec = pod_spec(r)
    for where, container in containers(spec):
        requests = get(container, "resources.requests") or {}
        limits = get(container, "resources.limits") or {}
        for key in requests:
            if not GPU_RESOURCE.match(key):
                continue
            quantity, limit = get(requests, [key]), get(limits, [key])
            if limit is None:
                yield f"{path}.{where} requests {quantity} {key} without a limit."
            elif str(limit) != str(quantity):
                yield f"{path}.{where} requests {quantity} {key} but limits it to {limit}."


@resource_rule(
    id="k8s-pod-security-labels",
    title="Pod Security labels on serving namespaces",
    domain=DOMAIN,
    types=[K8S_NAMESPACE],
    description="Every namespace outside platformNamespaces (a team's) enforces a Pod Security Standard level from allowedLevels.",
    severity="medium",
    level="mandatory",
    fix='Label the namespace pod-security.kubernetes.io/enforce: "restricted" (or "baseline"; stack key namespaces[].podSecurity).',
    config={
        "allowedLevels": {
            "type": "array",
            "items": {"type": "string", "enum": ["privileged", "baseline", "restricted"]},
            "default": ["baseline", "restricted"],
            "description": "Pod Security Standard levels a team namespace may enforce.",
        },
        **PLATFORM_NAMESPACES_CONFIG,
    },
)
def k8s_pod_security_labels(r: Resource, ctx: Context):
    if str(get(r.props, "metadata.name", "")) in ctx.config["platformNamespaces"]:
        return
    labels = get(r.props, "metadata.labels") or {}
    level = get(labels, ["pod-security.kubernetes.io/enforce"])
    allowed = list(ctx.config["allowedLevels"])
    if level not in allowed:
        shown = "unset" if level is None else f'"{level}"'
        yield f"the team namespace's pod-security.kubernetes.io/enforce label is {shown}; allowed: {', '.join(allowed)}."


# A team's fences in its namespace: what the platform sets and the team must not undo.
FENCES = (("", "resourcequotas"), ("", "limitranges"), ("networking.k8s.io", "networkpolicies"))
_FENCE_WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "*"}
# Every ClusterRole carrying this label is aggregated into `ml-team`, which every team
# namespace binds (components/platform/common.py TEAM_AGGREGATE_LABEL; a test keeps the two equal).
TEAM_AGGREGATE_LABEL = "ml-clusters.io/aggregate-to-team"
# Built-in roles that write NetworkPolicies (kubernetes plugin/pkg/auth/authorizer/rbac/
# bootstrappolicy: `edit` writes networking.k8s.io networkpolicies, `admin` aggregates `edit`,
# `cluster-admin` is `*`).
FENCE_WRITING_BUILTIN_ROLES = ("admin", "cluster-admin", "edit")


def fence_writes(rules: Any) -> list[str]:
    """`verb resource` for each write an RBAC rule list grants on a fence ('*' counts)."""
    found = []
    for rule in rules if isinstance(rules, list) else []:
        verbs = {str(v) for v in items(rule, "verbs")} & _FENCE_WRITE_VERBS
        groups = {str(g) for g in items(rule, "apiGroups")}
        resources = {str(x) for x in items(rule, "resources")}
        for group, resource in FENCES:
            if verbs and (group in groups or "*" in groups) and (resource in resources or "*" in resources):
                found.append(f"{'/'.join(sorted(verbs))} {resource}")
    return found


@resource_rule(
    id="k8s-team-roles-keep-fences",
    title="Teams cannot remove their namespace's fences",
    domain=DOMAIN,
    types=[K8S_CLUSTER_ROLE, K8S_ROLE, K8S_ROLE_BINDING],
    description="No role a team holds can write its namespace's ResourceQuotas, LimitRanges or NetworkPolicies: not a ClusterRole aggregated into the team role, not a Role in a team namespace, not a RoleBinding there to the built-in edit, admin or cluster-admin.",
    severity="high",
    level="mandatory",
    fix="Grant teams the ml-team role (read-only on the fences); give a workload part's API rules their own labelled ClusterRole without fence writes.",
    config=PLATFORM_NAMESPACES_CONFIG,
)
def k8s_team_roles_keep_fences(r: Resource, ctx: Context):
    namespace = str(get(r.props, "metadata.namespace", "") or "")
    in_team_namespace = bool(namespace) and namespace not in ctx.config["platformNamespaces"]
    if r.type == K8S_ROLE_BINDING:
        kind, name = get(r.props, "roleRef.kind"), get(r.props, "roleRef.name")
        if in_team_namespace and kind == "ClusterRole" and name in FENCE_WRITING_BUILTIN_ROLES:
            yield (f"binds the built-in ClusterRole {name} in team namespace {namespace}: it can delete the "
                   "namespace's NetworkPolicies; bind ml-team instead.")
        return
    labels = get(r.props, "metadata.labels") or {}
    aggregated = r.type == K8S_CLUSTER_ROLE and str(get(labels, [TEAM_AGGREGATE_LABEL], "")) == "true"
    if not (aggregated or (r.type == K8S_ROLE and in_team_namespace)):
        return
    writes = fence_writes(get(r.props, "rules"))
    if writes:
        where = f"aggregated into the team role ({TEAM_AGGREGATE_LABEL})" if aggregated else f"in team namespace {namespace}"
        yield f"grants {', '.join(writes)} {where}: a team could remove its own quota, limits or network policies."


def image_problem(image: str) -> Optional[str]:
    """Why `image` is not pinned, or None. A digest pins it; otherwise a tag other than latest."""
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag, so it resolves to :latest"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the :latest tag"
    return None


@resource_rule(
    id="k8s-pinned-images",
    title="Pinned container images",
    domain=DOMAIN,
    types=WORKLOAD_TYPES,
    description="Every container image names a fixed tag or digest, never :latest, so the same stack always runs the same code.",
    severity="medium",
    level="mandatory",
    fix="Pin the image to a version tag or @sha256 digest (chart and image versions live in components/catalog/versions.py).",
)
def k8s_pinned_images(r: Resource, ctx: Context):
    path, spec = pod_spec(r)
    for where, container in containers(spec):
        image = get(container, "image")
        if image is None:
            continue
        problem = image_problem(str(image))
        if problem:
            yield f"{path}.{where} image {image} {problem}."


INTERNAL_LB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "networking.gke.io/load-balancer-type": "Internal",
    "cloud.google.com/load-balancer-type": "Internal",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
}


@resource_rule(
    id="k8s-internal-load-balancers",
    title="Internal load balancers only",
    domain=DOMAIN,
    types=[K8S_SERVICE],
    description="Services of type LoadBalancer carry the cloud's internal-load-balancer annotation; model endpoints are not exposed to the internet.",
    severity="high",
    level="mandatory",
    fix="Add the cloud's internal annotation (the ClusterHandle's internal_lb_annotations), or expose the model through an authenticated ingress.",
    config={
        "internalAnnotations": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "default": INTERNAL_LB_ANNOTATIONS,
            "description": "Annotation -> value pairs, any one of which makes a LoadBalancer internal.",
        }
    },
)
def k8s_internal_load_balancers(r: Resource, ctx: Context):
    if get(r.props, "spec.type") != "LoadBalancer":
        return
    annotations = get(r.props, "metadata.annotations") or {}
    wanted = dict(ctx.config["internalAnnotations"])
    if not any(str(get(annotations, [k], "")).lower() == str(v).lower() for k, v in wanted.items()):
        yield "a LoadBalancer Service without an internal annotation gets a public IP address on every cloud."


def _team_namespaces(resources: Sequence[Resource], ctx: Context) -> Iterator[tuple[str, Resource]]:
    """(name, resource) of each namespace outside the platform allow-list, labelled as ours or
    not. A namespace whose name is not known yet is skipped; it is checked at the next preview."""
    platform = set(ctx.config["platformNamespaces"])
    for r in resources:
        if r.type != K8S_NAMESPACE:
            continue
        try:
            name = get(r.props, "metadata.name")
        except UnknownValue:
            continue
        if name is not None and str(name) not in platform:
            yield str(name), r


def _namespaces_having(resources: Sequence[Resource], type_: str) -> set[str]:
    """Namespaces holding at least one object of `type_`. Raises UnknownValue if one
    object's namespace is unknown: the answer would be a guess."""
    return {str(get(r.props, "metadata.namespace")) for r in resources if r.type == type_ and get(r.props, "metadata.namespace")}


@stack_rule(
    id="k8s-serving-namespace-network-policy",
    title="Serving namespaces have a NetworkPolicy",
    domain=DOMAIN,
    types=[K8S_NAMESPACE, K8S_NETWORK_POLICY],
    description="Every namespace outside platformNamespaces (a team's) contains at least one NetworkPolicy, so its pods are not open to the whole cluster.",
    severity="high",
    level="mandatory",
    fix="Create a NetworkPolicy in the namespace: default-deny ingress plus the ingress controller and monitoring as allowed sources.",
    config=PLATFORM_NAMESPACES_CONFIG,
)
def k8s_serving_namespace_network_policy(resources: Sequence[Resource], ctx: Context):
    covered = _namespaces_having(resources, K8S_NETWORK_POLICY)
    for name, ns in _team_namespaces(resources, ctx):
        if name not in covered:
            yield Finding(f"namespace {name} has no NetworkPolicy: every pod in the cluster can reach its pods.", resource=ns)


@stack_rule(
    id="k8s-serving-namespace-resource-quota",
    title="Serving namespaces have a ResourceQuota",
    domain=DOMAIN,
    types=[K8S_NAMESPACE, K8S_RESOURCE_QUOTA],
    description="Every namespace outside platformNamespaces (a team's) has a ResourceQuota, capping the GPUs, CPU and memory one team can claim.",
    severity="medium",
    level="mandatory",
    fix="Create a ResourceQuota in the namespace with requests.nvidia.com/gpu, requests.cpu and requests.memory (stack keys namespaces[].gpus/cpu/memory).",
    config=PLATFORM_NAMESPACES_CONFIG,
)
def k8s_serving_namespace_resource_quota(resources: Sequence[Resource], ctx: Context):
    covered = _namespaces_having(resources, K8S_RESOURCE_QUOTA)
    for name, ns in _team_namespaces(resources, ctx):
        if name not in covered:
            yield Finding(f"namespace {name} has no ResourceQuota: one team can take every GPU in the cluster.", resource=ns)


ENCRYPTED_BY_DEFAULT = [
    "efs.csi.aws.com",
    "pd.csi.storage.gke.io",
    "filestore.csi.storage.gke.io",
    "disk.csi.azure.com",
    "file.csi.azure.com",
]
# Provisioners that encrypt only when asked to, and the parameter that asks.
ENCRYPTION_PARAMETER = {"ebs.csi.aws.com": "encrypted", "kubernetes.io/aws-ebs": "encrypted"}
_ENCRYPTION_KEY = re.compile(r"encrypt|kms", re.IGNORECASE)


@resource_rule(
    id="k8s-encrypted-storage-classes",
    title="Encrypted storage classes",
    domain=DOMAIN,
    types=[K8S_STORAGE_CLASS],
    description="StorageClasses provision encrypted volumes: EBS asks for encrypted: \"true\", clouds that encrypt by default are not opted out, other provisioners name an encryption parameter or are declared encrypted by the stack (existing.storageEncrypted).",
    severity="high",
    level="mandatory",
    fix="On an existing cluster set existing.storageEncrypted: true where its volumes are encrypted at rest, or put the provisioner's encryption parameter in existing.blockStorageParameters / existing.fileStorageParameters; never set an encryption parameter to false.",
    config={
        "encryptedByDefaultProvisioners": {
            "type": "array",
            "items": {"type": "string"},
            "default": ENCRYPTED_BY_DEFAULT,
            "description": "Provisioners whose volumes are encrypted at rest unless a parameter opts out.",
        }
    },
)
def k8s_encrypted_storage_classes(r: Resource, ctx: Context):
    provisioner = str(get(r.props, "provisioner", ""))
    parameters = get(r.props, "parameters") or {}
    opted_out = [k for k, v in parameters.items() if _ENCRYPTION_KEY.search(k) and flag(v) is False]
    if opted_out:
        yield f"parameters.{opted_out[0]} is \"false\": volumes of this class are stored unencrypted."
        return
    if provisioner in ENCRYPTION_PARAMETER:
        key = ENCRYPTION_PARAMETER[provisioner]
        value = get(parameters, [key])
        if flag(value) is not True:
            yield f"{provisioner} encrypts only when asked: parameters.{key} is {show(value)}, not \"true\"."
        return
    if provisioner in ctx.config["encryptedByDefaultProvisioners"]:
        return
    declared = get(r.props, ["metadata", "annotations", ENCRYPTED_ANNOTATION])
    if flag(declared) is True:
        return
    if declared is not None:
        yield (f"provisioner {provisioner or '(unset)'}: the stack declares its volumes unencrypted "
               f"({ENCRYPTED_ANNOTATION} \"{declared}\", from existing.storageEncrypted) and sets no encryption parameter.")
        return
    if not any(_ENCRYPTION_KEY.search(k) and str(v) not in ("", "false", "False") for k, v in parameters.items()):
        yield f"provisioner {provisioner or '(unset)'} is not known to encrypt by default and no encryption parameter is set."


HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


# Labels of a critical GPU page as the platform's PrometheusRule raises it.
CRITICAL_ALERT = {"alertname": "GpuHardwareXid", "severity": "critical", "category": "gpu-health"}
# One Alertmanager matcher: `name op value`, op =, !=, =~ or !~, the value quoted or not.
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


def _route_matches(route: dict, labels: dict[str, str]) -> bool:
    """Whether an alert with `labels` matches a route's `matchers` (and the older `match` /
    `match_re` maps). Regular expressions are anchored, as Alertmanager anchors them."""
    conditions = []
    for text in items(route, "matchers"):
        found = _MATCHER.match(str(text).strip().strip("{}"))
        if not found:
            return False
        conditions.append(found.groups())
    conditions += [(k, "=", str(v)) for k, v in (route.get("match") or {}).items()]
    conditions += [(k, "=~", str(v)) for k, v in (route.get("match_re") or {}).items()]
    for name, op, value in conditions:
        have = labels.get(name, "")
        if op in ("=", "!="):
            hit = have == value
        else:
            try:
                hit = re.fullmatch(value, have) is not None
            except re.error:
                return False
        if hit != (op in ("=", "=~")):
            return False
    return True


def _receivers_for(route: Any, labels: dict[str, str], inherited: Any = None) -> list[str]:
    """The receivers Alertmanager sends an alert with `labels` to: depth first through the
    child routes in order, stopping after the first match unless it says `continue`; a route
    with no matching child delivers to its own receiver (or its parent's)."""
    if not isinstance(route, dict):
        return []
    receiver = route.get("receiver") or inherited
    reached: list[str] = []
    for child in items(route, "routes"):
        if isinstance(child, dict) and _route_matches(child, labels):
            reached += _receivers_for(child, labels, receiver)
            if not flag(child.get("continue")):
                break
    return reached or ([str(receiver)] if receiver else [])


def _notifying(config: dict, names: list[str]) -> list[str]:
    """Those of the receivers `names` that have at least one notifier configured."""
    receivers = {str(get(r, "name")): r for r in items(config, "receivers") if isinstance(r, dict)}
    return [n for n in names if any(k.endswith("_configs") and v for k, v in (receivers.get(n) or {}).items())]


@resource_rule(
    id="k8s-alerts-reach-people",
    title="Alerts reach a receiver in prod",
    domain=DOMAIN,
    types=[HELM_RELEASE],
    description="In prod, the kube-prometheus-stack release's Alertmanager routes a critical alert to a receiver that notifies someone, not only to the chart's default null receiver (warnings reaching someone is not enough).",
    severity="high",
    level="mandatory",
    fix="Set a secret receiver (alertSlackWebhookUrl, alertPagerdutyRoutingKey or alertWebhookUrl) and route critical alerts to it (platform.monitoring.alerts).",
    environments=["prod"],
)
def k8s_alerts_reach_people(r: Resource, ctx: Context):
    if get(r.props, "chart") != "kube-prometheus-stack":
        return
    values = get(r.props, "values") or {}
    if flag(get(values, "alertmanager.enabled")) is False:
        yield "Alertmanager is disabled: alerts fire in Prometheus and nobody hears them."
        return
    # kube-prometheus-stack 88.5.3 values.yaml: the default config routes everything to `null`.
    config = get(values, "alertmanager.config")
    config = config if isinstance(config, dict) else {}
    reached = _receivers_for(config.get("route"), CRITICAL_ALERT)
    if not _notifying(config, reached):
        yield (f"Alertmanager sends a critical alert ({CRITICAL_ALERT['alertname']}) only to "
               f"{', '.join(reached) or 'no receiver'}, which notifies nobody (the chart's default is the null receiver): "
               "a failing GPU pages nobody.")

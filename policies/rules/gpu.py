"""GPU node pools on any cloud: taint, scale to zero, spot, allowed types, GPU budget.

A GPU pool is recognised per cloud: an EKS node group with an NVIDIA/GPU AMI type, a GPU
instance type or the project's `ml-clusters.io/gpu: "true"` label; a Karpenter NodePool with
that label, the GPU taint or GPU instance types in its requirements; a GKE node pool with
guest accelerators or a GPU machine type; an AKS pool (standalone or inline) with a GPU
VM size. Which types carry how many GPUs comes from `catalog_data`, the generated snapshot
of components/catalog (the pack cannot import the catalog under the Pulumi CLI).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from .base import Context, Finding, Resource, flag, get, items, number, resource_rule, stack_rule
from .catalog_data import GPU_INSTANCE_TYPES
from .types import (
    AKS_AGENT_POOL,
    AKS_CLUSTER,
    EKS_NODE_GROUP,
    GKE_NODE_POOL,
    GPU_NODE_LABEL,
    GPU_TAINT,
    GPU_TAINT_EFFECT,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    KARPENTER_NODE_POOL,
)

DOMAIN = "gpu"
POOL_TYPES = (EKS_NODE_GROUP, KARPENTER_NODE_POOL, GKE_NODE_POOL, AKS_AGENT_POOL, AKS_CLUSTER)
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
# The node class group of Karpenter on Azure (AKS node auto-provisioning): its NodePools run Azure sizes.
KARPENTER_AZURE_GROUP = "karpenter.azure.com"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
AZURE_GPU_SIZE = re.compile(r"^Standard_N[CDGV]", re.IGNORECASE)
_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
ALL_GPU_TYPES = sorted({name for types in GPU_INSTANCE_TYPES.values() for name in types})

_TAINT_FIX = {
    "aws": f'Add taints [{{key: "{GPU_TAINT_KEY}", value: "{GPU_TAINT_VALUE}", effect: "NO_SCHEDULE"}}] to the node group.',
    "gcp": f'Remove the conflicting {GPU_TAINT_KEY} taint from nodeConfig.taints (GKE adds {GPU_TAINT} to GPU pools itself).',
    "azure": f'Add "{GPU_TAINT}" to the pool\'s nodeTaints.',
    "karpenter": f'Add {{key: "{GPU_TAINT_KEY}", value: "{GPU_TAINT_VALUE}", effect: "NoSchedule"}} to spec.template.spec.taints.',
}
_SCALE_FIX = {
    "aws": "Set scalingConfig.minSize 0 (stack key gpuPools[].minNodes); Cluster Autoscaler scales the group up on demand.",
    "gcp": "Set autoscaling.minNodeCount (or totalMinNodeCount) 0 (stack key gpuPools[].minNodes).",
    "azure": "Set enableAutoScaling true and minCount 0 on the user pool (stack key gpuPools[].minNodes).",
    "karpenter": "Leave spec.replicas unset: Karpenter then starts nodes only for pending pods.",
}
_SPOT_FIX = {
    "aws": 'Set capacityType "ON_DEMAND" (stack key gpuPools[].spot: false).',
    "gcp": "Set nodeConfig.spot and nodeConfig.preemptible false (stack key gpuPools[].spot: false).",
    "azure": 'Set scaleSetPriority "Regular" (stack key gpuPools[].spot: false).',
    "karpenter": "Drop spot from karpenter.sh/capacity-type (stack key gpuPools[].capacity: no spot tier).",
}


def _count(value: Any) -> Optional[int]:
    n = number(value)
    return None if n is None else int(n)


@dataclass(frozen=True)
class GpuPool:
    """One GPU pool. Fields are read on demand, so a rule that needs only the taint is not
    made inapplicable by an unknown node count."""

    resource: Resource
    cloud: str  # aws | gcp | azure
    props: Mapping[str, Any]  # the pool's own inputs (an inline AKS profile or the resource's)
    where: str  # how messages name the pool

    def _requirement(self, key: str) -> Optional[list[str]]:
        """Karpenter: the values an `In` requirement on `key` allows (None: no such requirement)."""
        for req in items(self.props, "spec.template.spec.requirements"):
            if get(req, "key") == key and get(req, "operator") == "In":
                return [str(v) for v in items(req, "values")]
        return None

    def catalog_cloud(self) -> str:
        """The cloud whose catalog names the pool's types: a Karpenter NodePool's is its node
        class's (EC2NodeClass on EKS, AKSNodeClass under AKS node auto-provisioning)."""
        if self.cloud == "karpenter":
            group = get(self.props, "spec.template.spec.nodeClassRef.group")
            return "azure" if group == KARPENTER_AZURE_GROUP else "aws"
        return self.cloud

    def instance_types(self) -> list[str]:
        if self.cloud == "karpenter":
            return self._requirement(INSTANCE_TYPE_LABEL) or []
        if self.cloud == "aws":
            return [str(t) for t in items(self.props, "instanceTypes")]
        key = "nodeConfig.machineType" if self.cloud == "gcp" else "vmSize"
        value = get(self.props, key)
        return [str(value)] if value is not None else []

    def gpus_per_node(self, extra: Mapping[str, int]) -> Optional[int]:
        if self.cloud == "gcp":
            accelerators = items(self.props, "nodeConfig.guestAccelerators")
            if accelerators:
                return sum(_count(get(a, "count", 1)) or 0 for a in accelerators)
        known = [extra.get(t) or GPU_INSTANCE_TYPES.get(self.catalog_cloud(), {}).get(t, (None,))[0] for t in self.instance_types()]
        counts = [k for k in known if k]
        # A node group listing several types can land on the largest one.
        return max(counts) if counts and len(counts) == len(known) else None

    def taints(self) -> list[tuple[str, Optional[str], str]]:
        """(key, value, effect) in Kubernetes spelling."""
        if self.cloud == "azure":
            out = []
            for text in items(self.props, "nodeTaints"):
                match = re.match(r"^([^=:]+)(?:=([^:]*))?:(\w+)$", str(text))
                if match:
                    out.append((match.group(1), match.group(2), match.group(3)))
            return out
        path = {"aws": "taints", "karpenter": "spec.template.spec.taints"}.get(self.cloud, "nodeConfig.taints")
        return [
            (str(get(t, "key")), get(t, "value"), _EFFECTS.get(str(get(t, "effect")), str(get(t, "effect"))))
            for t in items(self.props, path)
        ]

    def _zones(self) -> int:
        return max(1, len(items(self.props, "nodeLocations")))

    def min_nodes(self) -> Optional[int]:
        if self.cloud == "karpenter":
            # Karpenter keeps no minimum; a static pool (spec.replicas) keeps that many.
            return _count(get(self.props, "spec.replicas", 0))
        if self.cloud == "aws":
            return _count(get(self.props, "scalingConfig.minSize"))
        if self.cloud == "gcp":
            if get(self.props, "autoscaling") is not None:
                total = get(self.props, "autoscaling.totalMinNodeCount")
                if total is not None:
                    return _count(total)
                per_zone = _count(get(self.props, "autoscaling.minNodeCount", 0))
                return None if per_zone is None else per_zone * self._zones()
            return self._fixed_gke()
        if flag(get(self.props, "enableAutoScaling")) is True:
            return _count(get(self.props, "minCount"))
        return _count(get(self.props, "count", 1))

    def max_nodes(self) -> Optional[int]:
        if self.cloud == "karpenter":
            return _count(get(self.props, "spec.limits.nodes"))
        if self.cloud == "aws":
            return _count(get(self.props, "scalingConfig.maxSize"))
        if self.cloud == "gcp":
            if get(self.props, "autoscaling") is not None:
                total = get(self.props, "autoscaling.totalMaxNodeCount")
                if total is not None:
                    return _count(total)
                per_zone = _count(get(self.props, "autoscaling.maxNodeCount"))
                return None if per_zone is None else per_zone * self._zones()
            return self._fixed_gke()
        if flag(get(self.props, "enableAutoScaling")) is True:
            return _count(get(self.props, "maxCount"))
        return _count(get(self.props, "count", 1))

    def _fixed_gke(self) -> Optional[int]:
        per_zone = _count(get(self.props, "nodeCount", get(self.props, "initialNodeCount", 1)))
        return None if per_zone is None else per_zone * self._zones()

    def autoscaled(self) -> bool:
        if self.cloud == "karpenter":
            return get(self.props, "spec.replicas") is None
        if self.cloud == "aws":
            return True  # the node group's min/max bound the Cluster Autoscaler
        if self.cloud == "gcp":
            return get(self.props, "autoscaling") is not None
        return flag(get(self.props, "enableAutoScaling")) is True

    def spot(self) -> bool:
        if self.cloud == "karpenter":
            return "spot" in (self._requirement(CAPACITY_TYPE_LABEL) or [])
        if self.cloud == "aws":
            return get(self.props, "capacityType") == "SPOT"
        if self.cloud == "gcp":
            return flag(get(self.props, "nodeConfig.spot")) is True or flag(get(self.props, "nodeConfig.preemptible")) is True
        return get(self.props, "scaleSetPriority") == "Spot"


def _is_gpu_eks(props: Mapping[str, Any], extra: Mapping[str, int]) -> bool:
    ami = str(get(props, "amiType", ""))
    if "NVIDIA" in ami.upper() or "GPU" in ami.upper():
        return True
    if get(props, ["labels", GPU_NODE_LABEL]) == "true":
        return True
    return any(str(t) in GPU_INSTANCE_TYPES["aws"] or str(t) in extra for t in items(props, "instanceTypes"))


def _is_gpu_aks(props: Mapping[str, Any], extra: Mapping[str, int]) -> bool:
    size = str(get(props, "vmSize", ""))
    return size in GPU_INSTANCE_TYPES["azure"] or size in extra or bool(AZURE_GPU_SIZE.match(size))


def gpu_pools(r: Resource, extra: Optional[Mapping[str, int]] = None) -> list[GpuPool]:
    """The GPU pools `r` defines (none for a resource that is not a pool)."""
    extra = extra or {}
    if r.type == EKS_NODE_GROUP:
        return [GpuPool(r, "aws", r.props, f"node group {r.name}")] if _is_gpu_eks(r.props, extra) else []
    if r.type == KARPENTER_NODE_POOL:
        template = get(r.props, "spec.template") or {}
        pool = GpuPool(r, "karpenter", r.props, f"NodePool {get(r.props, 'metadata.name', r.name)}")
        gpu_types = GPU_INSTANCE_TYPES[pool.catalog_cloud()]
        if (get(template, ["metadata", "labels", GPU_NODE_LABEL]) == "true"
                or any(key == GPU_TAINT_KEY for key, _, _ in pool.taints())
                or any(t in gpu_types or t in extra for t in pool.instance_types())):
            return [pool]
        return []
    if r.type == GKE_NODE_POOL:
        accelerators = [a for a in items(r.props, "nodeConfig.guestAccelerators") if (_count(get(a, "count", 1)) or 0) > 0]
        machine = str(get(r.props, "nodeConfig.machineType", ""))
        if accelerators or machine in GPU_INSTANCE_TYPES["gcp"] or machine in extra:
            return [GpuPool(r, "gcp", r.props, f"node pool {r.name}")]
        return []
    if r.type == AKS_AGENT_POOL:
        name = get(r.props, "agentPoolName", r.name)
        return [GpuPool(r, "azure", r.props, f"agent pool {name}")] if _is_gpu_aks(r.props, extra) else []
    if r.type == AKS_CLUSTER:
        return [
            GpuPool(r, "azure", pool, f"agentPoolProfiles[{i}] ({get(pool, 'name', '?')})")
            for i, pool in enumerate(items(r.props, "agentPoolProfiles"))
            if _is_gpu_aks(pool, extra)
        ]
    return []


@resource_rule(
    id="gpu-pool-tainted",
    title="GPU pools tainted",
    domain=DOMAIN,
    types=POOL_TYPES,
    description=f"Every GPU node pool carries the taint {GPU_TAINT}, so only pods that tolerate it (GPU workloads) land on GPU nodes.",
    severity="high",
    level="mandatory",
    fix=f"Give the GPU pool the taint {GPU_TAINT} (EKS spells the effect NO_SCHEDULE).",
)
def gpu_pool_tainted(r: Resource, ctx: Context):
    for pool in gpu_pools(r):
        taints = pool.taints()
        gpu_taints = [t for t in taints if t[0] == GPU_TAINT_KEY]
        if (GPU_TAINT_KEY, GPU_TAINT_VALUE, GPU_TAINT_EFFECT) in taints:
            continue
        if pool.cloud == "gcp" and not gpu_taints:
            continue  # GKE taints GPU pools with exactly this taint by itself
        if gpu_taints:
            shown = ", ".join(f"{k}={v}:{e}" for k, v, e in gpu_taints)
            message = f"{pool.where}: the GPU taint is {shown}, not {GPU_TAINT}; the platform's tolerations would not match it."
        else:
            message = f"{pool.where}: the GPU pool has no {GPU_TAINT} taint, so CPU pods can land on (and keep alive) expensive GPU nodes."
        yield Finding(message, fix=_TAINT_FIX[pool.cloud])


@resource_rule(
    id="gpu-pool-scale-to-zero",
    title="GPU pools scale to zero outside prod",
    domain=DOMAIN,
    types=POOL_TYPES,
    description="Outside prod, every GPU pool autoscales with a minimum of zero nodes, so idle GPUs cost nothing.",
    severity="medium",
    level="mandatory",
    environments=["dev", "staging"],
    fix="Set the GPU pool's minimum node count to 0 and let the autoscaler add nodes on demand (stack key gpuPools[].minNodes: 0).",
)
def gpu_pool_scale_to_zero(r: Resource, ctx: Context):
    for pool in gpu_pools(r):
        if not pool.autoscaled():
            yield Finding(
                f"{pool.where}: the GPU pool has a fixed size of {pool.min_nodes()} node(s), so its GPUs are billed around the clock.",
                fix=_SCALE_FIX[pool.cloud],
            )
            continue
        minimum = pool.min_nodes()
        if minimum is None or minimum > 0:
            yield Finding(
                f"{pool.where}: the GPU pool keeps at least {minimum if minimum is not None else 'an unset number of'} node(s) running in {ctx.environment}.",
                fix=_SCALE_FIX[pool.cloud],
            )


@resource_rule(
    id="gpu-spot-allowed",
    title="Spot GPU capacity only where allowed",
    domain=DOMAIN,
    types=POOL_TYPES,
    description="GPU pools use spot/preemptible capacity only in environments listed in spotEnvironments (by default dev and staging).",
    severity="medium",
    level="mandatory",
    uses_environment=True,
    fix="Run the pool on on-demand capacity (stack key gpuPools[].spot: false), or add this environment to spotEnvironments.",
    config={
        "spotEnvironments": {
            "type": "array",
            "items": {"type": "string", "enum": ["dev", "staging", "prod"]},
            "default": ["dev", "staging"],
            "description": "Environments whose GPU pools may run on spot/preemptible capacity.",
        }
    },
)
def gpu_spot_allowed(r: Resource, ctx: Context):
    allowed = list(ctx.config["spotEnvironments"])
    if ctx.environment in allowed:
        return
    for pool in gpu_pools(r):
        if pool.spot():
            yield Finding(
                f"{pool.where}: the GPU pool runs on spot capacity, which {ctx.environment} does not allow (spot allowed in: {', '.join(allowed) or 'none'}); "
                "the cloud can reclaim its nodes with seconds of notice.",
                fix=_SPOT_FIX[pool.cloud],
            )


@resource_rule(
    id="gpu-instance-type-allowlist",
    title="GPU instance types from the allow-list",
    domain=DOMAIN,
    types=POOL_TYPES,
    description="GPU pools use only instance types on the allow-list (by default every GPU type in the project catalog).",
    severity="high",
    level="mandatory",
    fix="Use an instance type from allowedInstanceTypes (stack key gpuPools[].instanceType), or add the type to the policy config after review.",
    config={
        "allowedInstanceTypes": {
            "type": "array",
            "items": {"type": "string"},
            "default": ALL_GPU_TYPES,
            "description": "Instance types / machine types / VM sizes GPU pools may use.",
        }
    },
)
def gpu_instance_type_allowlist(r: Resource, ctx: Context):
    allowed = set(ctx.config["allowedInstanceTypes"])
    for pool in gpu_pools(r):
        rejected = [t for t in pool.instance_types() if t not in allowed]
        if rejected:
            yield f"{pool.where}: instance type {', '.join(rejected)} is not on the GPU allow-list for this environment."


@stack_rule(
    id="gpu-max-gpus-per-stack",
    title="GPU budget per stack",
    domain=DOMAIN,
    types=POOL_TYPES,
    description="The GPU pools of a stack can together scale to at most maxGpus GPUs (maximum nodes times GPUs per node).",
    severity="high",
    level="mandatory",
    fix="Lower gpuPools[].maxNodes or use smaller instance types until the stack fits maxGpus, or raise maxGpus in this environment's policy config.",
    config={
        "maxGpus": {
            "type": "integer",
            "minimum": 0,
            "default": 64,
            "description": "Most GPUs all GPU pools of one stack may scale to.",
        },
        "gpusPerInstanceType": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 1},
            "default": {},
            "description": "GPUs per node for instance types missing from the project catalog.",
        },
    },
)
def gpu_max_gpus_per_stack(resources: Sequence[Resource], ctx: Context):
    extra = {str(k): int(v) for k, v in (ctx.config.get("gpusPerInstanceType") or {}).items()}
    budget = int(ctx.config["maxGpus"])
    total = 0
    parts: list[tuple[int, str]] = []
    for r in resources:
        if r.type not in POOL_TYPES:
            continue
        for pool in gpu_pools(r, extra):
            per_node = pool.gpus_per_node(extra)
            nodes = pool.max_nodes()
            if per_node is None:
                types = ", ".join(pool.instance_types()) or "(set in the launch template)"
                yield Finding(
                    f"{pool.where}: cannot count the GPUs of instance type {types}, so the stack's GPU budget cannot be checked.",
                    fix="Add the type to the catalog (and run python -m policies.gen_catalog) or to gpusPerInstanceType in the policy config.",
                    resource=r,
                )
                continue
            if nodes is None:
                continue
            total += per_node * nodes
            parts.append((per_node * nodes, f"{pool.where}: {nodes} x {per_node}"))
    if total > budget:
        biggest = ", ".join(text for _, text in sorted(parts, key=lambda p: (-p[0], p[1])))
        yield Finding(f"the GPU pools can scale to {total} GPUs, over this environment's budget of {budget} ({biggest}).")


@resource_rule(
    id="gpu-nodepool-keeps-running-jobs",
    title="Karpenter GPU pools never move running jobs",
    domain=DOMAIN,
    types=(KARPENTER_NODE_POOL,),
    description=(
        "A Karpenter GPU NodePool consolidates only empty nodes (consolidationPolicy WhenEmpty), never expires its nodes "
        "(expireAfter Never: expiration is forceful and ignores karpenter.sh/do-not-disrupt), and limits voluntary "
        "disruption with a budget (Karpenter 1.14 concepts/disruption.md)."
    ),
    severity="high",
    level="mandatory",
    environments=("prod",),
    fix="Set spec.disruption.consolidationPolicy WhenEmpty, spec.disruption.budgets (e.g. [{nodes: \"1\"}]) and "
        "spec.template.spec.expireAfter Never (components/clouds/aws/capacity.py does).",
)
def gpu_nodepool_keeps_running_jobs(r: Resource, ctx: Context):
    for pool in gpu_pools(r):
        policy = get(pool.props, "spec.disruption.consolidationPolicy")
        if policy != "WhenEmpty":
            yield f"{pool.where}: consolidationPolicy is {policy or 'unset (WhenEmptyOrUnderutilized)'}, so Karpenter may evict a running training job to pack nodes."
        expire = get(pool.props, "spec.template.spec.expireAfter")
        if expire != "Never":
            yield f"{pool.where}: expireAfter is {expire or 'unset (720h)'}; expiry drains the node even under a running job."
        if not items(pool.props, "spec.disruption.budgets"):
            yield f"{pool.where}: no disruption budget, so Karpenter's default (10% of nodes) may disrupt several GPU nodes at once."

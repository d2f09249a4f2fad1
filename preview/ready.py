"""Time-to-ready: how long `pulumi up` takes on a new stack, from the plan's dependency graph.

Pulumi creates a resource as soon as everything it depends on exists (its `dependsOn`, the
resources whose outputs feed its inputs, and its provider), so with unlimited parallelism the
time until the last resource is ready is the longest path through that graph, each resource
weighted by its typical creation time (components/catalog/timings.py). The report shows that
path and the waits on it that nothing requires: objects of the platform waiting for GPU pools,
and node pools created one after another.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Optional

from components.catalog import timings
from components.conventions import POOL_LABEL
from components.platform.warm import WARM_NAMESPACE

from . import image_pull, model_load
from .engine import Plan, PlannedResource, input_at


@dataclass(frozen=True)
class Step:
    urn: str
    type: str
    name: str
    start: int  # seconds after `pulumi up` starts
    seconds: int


@dataclass(frozen=True)
class Serialization:
    what: str  # one line: which waits, and why they matter
    saves_seconds: int  # how much sooner the stack is ready without them


@dataclass(frozen=True)
class ColdStart:
    """A GPU pool's cold start (scale from zero to a running pod), part by part, with the lazy
    image pull the pool has turned on (`after`) and without it (`before`)."""

    pool: str
    cloud: str
    streaming: bool  # the pool streams images (timings.IMAGE_STREAMING_INPUTS)
    parts: tuple[tuple[str, int, str], ...]  # (part, seconds, source), from zero nodes, as the pool is
    before: tuple[tuple[str, int, str], ...]  # the same pool without lazy pulls
    # Warm nodes the stack keeps for the pool (its placeholder Deployment's replicas in the plan),
    # and the first pod's parts: on a warm node when there are any, else from zero.
    warm_nodes: int = 0
    first: tuple[tuple[str, int, str], ...] = ()
    parallel_pull: bool = False  # the pool's nodes pull images in parallel (timings.PARALLEL_PULL_INPUTS)

    @property
    def image_pull(self) -> str:
        """How the pool's nodes pull the image: streamed (lazily), in parallel, or whole."""
        return "streamed" if self.streaming else "parallel" if self.parallel_pull else "whole"

    @property
    def seconds(self) -> int:
        return sum(p[1] for p in self.parts)

    @property
    def before_seconds(self) -> int:
        return sum(p[1] for p in self.before)

    @property
    def first_parts(self) -> tuple[tuple[str, int, str], ...]:
        return self.first or self.parts

    @property
    def first_seconds(self) -> int:
        """What the first pod waits: on a warm node, or from zero nodes without one."""
        return sum(p[1] for p in self.first_parts)

    def to_json(self) -> dict:
        return {
            "pool": self.pool, "cloud": self.cloud, "imageStreaming": self.streaming, "imagePull": self.image_pull,
            "seconds": self.seconds, "secondsWithoutStreaming": self.before_seconds,
            "parts": [{"part": n, "seconds": s, "source": src} for n, s, src in self.parts],
            "warmNodes": self.warm_nodes, "firstPodSeconds": self.first_seconds,
            "firstPodParts": [{"part": n, "seconds": s, "source": src} for n, s, src in self.first_parts],
        }


@dataclass
class TimeToReady:
    seconds: int
    path: list[Step]
    untimed_types: list[str] = field(default_factory=list)  # types the catalog does not list
    serializations: list[Serialization] = field(default_factory=list)
    cold_starts: list[ColdStart] = field(default_factory=list)  # per GPU pool

    def to_json(self) -> dict:
        return {
            "seconds": self.seconds,
            "criticalPath": [{"urn": s.urn, "type": s.type, "start": s.start, "seconds": s.seconds} for s in self.path],
            "untimedTypes": self.untimed_types,
            "serializations": [{"what": s.what, "savesSeconds": s.saves_seconds} for s in self.serializations],
            "coldStart": [c.to_json() for c in self.cold_starts],
        }



def pool_of(r: PlannedResource, names: list[str]) -> Optional[str]:
    """The GPU pool a node pool resource builds: by its name's end, a NodePool by metadata.name."""
    own = input_at(r.inputs, "metadata.name")
    if isinstance(own, str) and own in names:
        return own
    return next((n for n in names if r.name.endswith(f"-{n}")), None)


def node_class_streams(pool: PlannedResource, resources: Iterable[PlannedResource]) -> bool:
    """Whether a Karpenter NodePool's node class (its nodeClassRef: group, kind and name) turns
    lazy pulls on (timings.NODE_CLASS_STREAMING_INPUTS), read from that object in the plan."""
    ref = input_at(pool.inputs, "spec.template.spec.nodeClassRef")
    if not isinstance(ref, dict):
        return False
    for r in resources:
        path = timings.NODE_CLASS_STREAMING_INPUTS.get(r.type)
        if path is None:
            continue
        _, api, kind = r.type.split(":")  # kubernetes:<group>/<version>:<kind>
        if (api.split("/")[0], kind, input_at(r.inputs, "metadata.name")) == (ref.get("group"), ref.get("kind"), ref.get("name")):
            return input_at(r.inputs, path) is True
    return False


def warm_nodes(resources: Iterable[PlannedResource]) -> dict[str, int]:
    """Pool -> warm nodes, from the placeholder Deployments in the plan (components/platform/warm.py):
    those in WARM_NAMESPACE, by their pool label and replicas."""
    out: dict[str, int] = {}
    for r in resources:
        if r.type != "kubernetes:apps/v1:Deployment" or input_at(r.inputs, "metadata.namespace") != WARM_NAMESPACE:
            continue
        pool = (input_at(r.inputs, "metadata.labels") or {}).get(POOL_LABEL)
        replicas = input_at(r.inputs, "spec.replicas")
        if isinstance(pool, str) and isinstance(replicas, (int, float)):  # numbers come back as floats from the engine
            out[pool] = int(replicas)
    return out


def cold_starts(resources: Iterable[PlannedResource], gpu_pool_names: Iterable[str]) -> list[ColdStart]:
    """Each GPU pool's cold start, from its node pool resource in the plan: the cloud by the
    resource type, lazy pulls by the pool's own input, warm nodes by the pool's placeholder
    Deployment (so the estimate is what the stack builds)."""
    names = list(gpu_pool_names)
    resources = list(resources)
    weights = model_load.weights_streamed(resources)  # the model-load choice the plan makes
    warm = warm_nodes(resources)
    out = []
    for r in resources:
        cloud = timings.node_pool_cloud(r.type, r.inputs)
        pool = pool_of(r, names)
        if cloud is None or pool is None:
            continue
        path = timings.IMAGE_STREAMING_INPUTS.get(r.type)
        streaming = bool(path and input_at(r.inputs, path) is True) or node_class_streams(r, resources)
        parallel = image_pull.parallel_pull(r, resources)  # parallel image pull (preview/image_pull.py)
        out.append(ColdStart(pool, cloud, streaming,
                             tuple(timings.pool_cold_start_parts(cloud, streaming, weights, parallel_pull=parallel)),
                             tuple(timings.pool_cold_start_parts(cloud, False)), parallel_pull=parallel))
    out = [_warmed(c, warm.get(c.pool, 0)) for c in out]
    return sorted(out, key=lambda c: names.index(c.pool))


def _warmed(start: ColdStart, nodes: int) -> ColdStart:
    """`start` with the pool's warm nodes and, with any, the first pod's wait on one."""
    if not nodes:
        return start
    return replace(start, warm_nodes=nodes, first=tuple(timings.warm_node_parts(list(start.parts))))


def _edges(resources: Iterable[PlannedResource]) -> dict[str, set[str]]:
    urns = {r.urn for r in resources}
    edges: dict[str, set[str]] = {}
    for r in resources:
        deps = {d for d in r.dependencies if d in urns}
        provider = r.provider.split("::id", 1)[0] if r.provider else ""
        provider = provider.rsplit("::", 1)[0] if provider not in urns and "::" in provider else provider
        if provider in urns:
            deps.add(provider)
        edges[r.urn] = deps
    return edges


def _longest(resources: list[PlannedResource], edges: dict[str, set[str]]) -> tuple[int, dict[str, int], dict[str, Optional[str]]]:
    by_urn = {r.urn: r for r in resources}
    finish: dict[str, int] = {}
    via: dict[str, Optional[str]] = {}

    def visit(urn: str, trail: frozenset = frozenset()) -> int:
        if urn in finish:
            return finish[urn]
        start, before = 0, None
        for dep in sorted(edges.get(urn, ())):
            if dep in trail:
                continue
            done = visit(dep, trail | {urn})
            if done > start:
                start, before = done, dep
        seconds = timings.creation_seconds(by_urn[urn].type)[0] if by_urn[urn].custom else 0
        finish[urn], via[urn] = start + seconds, before
        return finish[urn]

    total = max((visit(r.urn) for r in resources), default=0)
    return total, finish, via


def estimate(plan: Plan, gpu_pool_names: Iterable[str] = (), other_pool_names: Iterable[str] = ()) -> TimeToReady:
    """`gpu_pool_names`: the pools whose GPU cold start the preview estimates;
    `other_pool_names`: accelerator pools (TPU slices) the platform must not wait for either,
    whose cold start is not a GPU pod's."""
    cold_start_pools = list(gpu_pool_names)
    gpu_pool_names = [*cold_start_pools, *other_pool_names]
    resources = plan.resources
    by_urn = {r.urn: r for r in resources}
    edges = _edges(resources)
    total, finish, via = _longest(resources, edges)
    last = max(finish, key=lambda u: (finish[u], u), default=None)
    path: list[Step] = []
    while last is not None:
        r = by_urn[last]
        seconds = timings.creation_seconds(r.type)[0] if r.custom else 0
        path.append(Step(r.urn, r.type, r.name, finish[last] - seconds, seconds))
        last = via[last]
    path.reverse()
    untimed = sorted({r.type for r in resources if r.custom and not timings.creation_seconds(r.type)[1]})
    result = TimeToReady(total, [s for s in path if s.seconds > 0], untimed)
    result.cold_starts = cold_starts(resources, cold_start_pools)

    # Waits nothing requires: Kubernetes objects (the platform) waiting for GPU pools.
    gpu_suffixes = tuple(f"-{name}" for name in gpu_pool_names)
    gpu_pools = {r.urn for r in resources if r.type in timings.NODE_POOL_TYPES and r.name.endswith(gpu_suffixes)} if gpu_suffixes else set()
    waiting = [u for u, deps in edges.items() if by_urn[u].type.startswith("kubernetes:") and deps & gpu_pools]
    if waiting:
        trimmed = {u: (deps - gpu_pools if u in waiting else deps) for u, deps in edges.items()}
        without, _, _ = _longest(resources, trimmed)
        n = len(waiting)
        result.serializations.append(Serialization(
            f"{n} Kubernetes object{'s' if n != 1 else ''} of the platform wait{'' if n != 1 else 's'} for the GPU pools, "
            "which the platform does not run on",
            total - without,
        ))
    # Node pools created one after another.
    chained = [u for u, deps in edges.items() if by_urn[u].type in timings.NODE_POOL_TYPES
               and any(by_urn[d].type in timings.NODE_POOL_TYPES for d in deps)]
    if chained:
        pools = {u for u in by_urn if by_urn[u].type in timings.NODE_POOL_TYPES}
        trimmed = {u: (deps - pools if u in chained else deps) for u, deps in edges.items()}
        without, _, _ = _longest(resources, trimmed)
        n = len(chained) + 1
        reason = " (AKS refuses concurrent agent pool operations)" if by_urn[chained[0]].type.startswith("azure-native:") else ""
        result.serializations.append(Serialization(f"{n} node pools are created one after another{reason}", total - without))
    return result


def minutes(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"

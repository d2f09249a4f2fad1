"""gpuPools[].warmNodes: nodes a GPU pool keeps up beside its pods (components/platform/warm.py).

One line per problem: the key, the bad value, what is allowed. The placeholders that hold the
warm nodes are pods the pool's autoscaler starts nodes for, so the nodes count within the
pool's size: at most `maxNodes` (a Karpenter NodePool's `limits.nodes` is `maxNodes`, and a
node group or node pool never grows past its maximum). A GKE flex-start pool starts nodes only
for a queued job's ProvisioningRequest and keeps them at most 7 days (docs/gcp.md#capacity),
so nothing can keep one warm. On cloud existing the nodes and the autoscaler are the
cluster's own: nothing brings a fresh node when a pod takes the warm one.
"""

from __future__ import annotations

from ..model import StackConfig


def warm_problems(cfg: StackConfig) -> list[str]:
    out: list[str] = []
    flex = set(cfg.gcp.flex_start_pools) if cfg.cloud == "gcp" and cfg.gcp is not None else set()
    for i, pool in enumerate(cfg.gpu_pools):
        if not pool.warm_nodes:
            continue
        key = f"gpuPools[{i}].warmNodes"
        if cfg.cloud == "existing":
            out.append(f"{key}: {pool.warm_nodes} on cloud existing, whose nodes and autoscaler are the cluster's own, so "
                       "nothing brings a fresh node when a pod takes a warm one; allowed: 0")
        elif pool.name in flex:
            out.append(f"{key}: {pool.warm_nodes} on flex-start pool {pool.name!r}: its nodes come only for a queued job's "
                       "request and run at most 7 days, so none can be kept warm; allowed: 0")
        elif pool.warm_nodes > pool.max_nodes:
            out.append(f"{key}: {pool.warm_nodes} is more than maxNodes {pool.max_nodes} (warm nodes are among the pool's "
                       f"nodes); allowed: 0 to {pool.max_nodes}")
    return out

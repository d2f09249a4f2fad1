"""A stack's capacity, resolved: each GPU pool's chain and provisioner.

The chain is `gpuPools[].capacity`, or what `spot` stands for; the provisioner is the pool's
`provisioner`, else the stack's, with `auto` made concrete per pool and cloud
(components/catalog/capacity.py holds the facts)."""

from __future__ import annotations

from ..catalog import capacity as facts
from .model import GpuPool, StackConfig


def needs_node_provisioner(pool: GpuPool) -> bool:
    """The pool's chain names a reservation or falls back: node groups cannot do either."""
    chain = pool.capacity_chain()
    return len(chain) > 1 or any(t.reserved is not None for t in chain)


def asked_provisioner(cfg: StackConfig, pool: GpuPool) -> str:
    """What the stack file asks for this pool: its own `provisioner`, else the stack's."""
    return pool.provisioner or cfg.provisioner


def pool_provisioner(cfg: StackConfig, pool: GpuPool) -> str:
    """The provisioner that starts the pool's nodes. `auto` picks the cloud's
    node-provisioning autoscaler when the pool asks for what node groups cannot do and this
    version builds it on that cloud as a per-pool choice; a cluster-wide one (AKS NAP) named
    on the stack is every pool's; otherwise it keeps the pool's node group, so a live
    stack that asks for nothing new keeps its nodes."""
    if cfg.cloud == "existing":
        return facts.EXISTING_PROVISIONER
    stack = facts.PROVISIONERS.get((cfg.cloud, cfg.provisioner))
    if stack is not None and stack.cluster_wide:
        return stack.name
    asked = asked_provisioner(cfg, pool)
    if asked != "auto":
        return asked
    node = facts.PROVISIONERS[(cfg.cloud, facts.NODE_PROVISIONER[cfg.cloud])]
    return node.name if node.available and not node.cluster_wide and needs_node_provisioner(pool) else facts.NODE_GROUPS


def pool_provisioners(cfg: StackConfig) -> dict[str, str]:
    """GPU pool name -> its provisioner."""
    return {pool.name: pool_provisioner(cfg, pool) for pool in cfg.gpu_pools}


def chain_text(pool: GpuPool) -> str:
    """The chain as the preview prints it: `reserved cr-... -> spot -> on-demand`."""
    return " -> ".join(t.label() for t in pool.capacity_chain())

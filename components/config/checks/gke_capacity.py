"""gcp.flexStartPools (DWS flex-start with queued provisioning) and what a ComputeClass can
reproduce of a GPU pool on GKE.

GKE and cluster-toolkit (modules/compute/gke-node-pool/main.tf) require of a queued-provisioning,
flex-start node pool: no reservation, no spot, a total minimum of 0 nodes (the pool starts
nodes only for a ProvisioningRequest); Kueue creates those requests, so queueing must be on.
A ComputeClass's auto-created fallback nodes take the machine type and GPUs of a priority
(reference/crds/computeclass priorities[].gpu: type, count, driverVersion), with no GPU
time-sharing or MIG partition: a pool with `sharing` keeps one tier there. Nor do they get the
pool's additional node networks (GPUDirect-TCPX/TCPXO/RDMA: the node pool's
network_config.additional_node_network_configs, components/clouds/gcp/fabric.py; a priority has
no such field): a fabric pool keeps one tier there too, or its fallback nodes would train over
plain TCP.
"""

from __future__ import annotations

from ..capacity import pool_provisioner
from ..model import StackConfig

COMPUTE_CLASSES = "compute-classes"


def gke_capacity_problems(cfg: StackConfig) -> list[str]:
    if cfg.cloud != "gcp" or cfg.gcp is None:
        return []
    out: list[str] = []
    for i, pool in enumerate(cfg.gpu_pools):
        chain = pool.capacity_chain()
        if pool.sharing is not None and len(chain) > 1 and pool.name not in cfg.gcp.flex_start_pools \
                and pool_provisioner(cfg, pool) == COMPUTE_CLASSES:
            listed = ", ".join(t.spelled() for t in chain)
            out.append(f"gpuPools[{i}].capacity: [{listed}] with sharing on compute-classes: the nodes GKE creates for "
                       "the later tiers have no GPU time-sharing or MIG partition; allowed: one tier for a pool with sharing")
        fabric = pool.fabric("gcp")
        if fabric is not None and len(chain) > 1 and pool.name not in cfg.gcp.flex_start_pools \
                and pool_provisioner(cfg, pool) == COMPUTE_CLASSES:
            listed = ", ".join(t.spelled() for t in chain)
            out.append(f"gpuPools[{i}].capacity: [{listed}] on fabric pool {pool.name!r} ({fabric.kind}) on compute-classes: "
                       "the nodes GKE creates for the later tiers lack the pool's fabric networks; allowed: one tier for a "
                       "fabric pool, or interconnect: none")
    names = [p.name for p in cfg.gpu_pools]
    seen: set[str] = set()
    for i, name in enumerate(cfg.gcp.flex_start_pools):
        key = f"gcp.flexStartPools[{i}]"
        if name not in names:
            out.append(f"{key}: {name!r} is not a GPU pool of this stack; allowed: {', '.join(names) or 'none (no gpuPools)'}")
        elif name in seen:
            out.append(f"{key}: {name!r} is listed twice; allowed: each pool once")
        seen.add(name)
    if cfg.gcp.flex_start_pools and not cfg.platform.workloads.queueing.enabled:
        out.append("gcp.flexStartPools: needs platform.workloads.queueing.enabled: true (Kueue asks GKE for a job's "
                   "flex-start nodes through a ProvisioningRequest); allowed: enable queueing, or no flex-start pools")
    for i, pool in enumerate(cfg.gpu_pools):
        key = f"gpuPools[{i}]"
        if pool.name in seen:
            if pool.min_nodes != 0:
                out.append(f"{key}.minNodes: {pool.min_nodes} on flex-start pool {pool.name!r}: queued provisioning "
                           "starts nodes only for a job's request; allowed: 0")
            if pool.spot:
                out.append(f"{key}.spot: true on flex-start pool {pool.name!r}: flex-start VMs are not spot VMs; allowed: false")
            if pool.capacity is not None:
                out.append(f"{key}.capacity: set on flex-start pool {pool.name!r}: its nodes come from DWS flex-start "
                           "only (no reservation, spot or on-demand tier); allowed: unset")
    return out

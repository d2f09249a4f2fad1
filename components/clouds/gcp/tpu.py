"""GKE TPU slice node pools: one node pool per `tpuPools` entry, and the TPU pool facts the
platform reads from the handle.

Upstream facts this relies on (GKE docs, read 2026-12; pulumi-gcp 10.2.0):
- A single-host slice is one VM of the machine type the topology names (ct5lp-hightpu-8t for
  v5e 2x4); the pool autoscales between minSlices and maxSlices such VMs.
- A multi-host slice is one node pool of chips / chips-per-VM nodes of the 4-chip machine type,
  created with `placement_policy {type: COMPACT, tpu_topology: <topology>}` (pulumi-gcp
  NodePoolPlacementPolicyArgs.tpu_topology: "The TPU topology like 2x4 or 2x2x2"), in a
  single zone (cluster-toolkit modules/compute/gke-node-pool/main.tf: "Compact placement is
  only available for node pools operating in a single zone"). GKE treats its nodes as one
  atomic unit ("About TPUs in GKE", atomicity): it creates, repairs and scales all of them
  or none, so the autoscaler's range is 0 or all nodes, with the maximum equal to the slice's
  nodes ("Deploy TPU workloads in GKE Standard": max nodes = product of the topology / chips
  per VM).
- GKE taints TPU nodes google.com/tpu=present:NoSchedule and labels them
  cloud.google.com/gke-tpu-accelerator and cloud.google.com/gke-tpu-topology; its TPU device
  plugin advertises the chips as google.com/tpu.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp

from ... import conventions
from ...catalog import tpus
from ...config import StackConfig, TpuPool
from ...handle import TpuPoolFacts

if TYPE_CHECKING:
    from .cluster import GkeCluster

RESERVATION_KEY = "compute.googleapis.com/reservation-name"  # pulumi-gcp reservation_affinity.key for a named reservation


def tpu_zone(pool: TpuPool, region: str) -> str:
    """The zone the slice runs in: the first zone of the region the catalog lists for the generation."""
    return tpus.TPU_GENERATIONS[pool.generation].zones[region][0]


def gke_node_labels(pool: TpuPool) -> dict[str, str]:
    """The labels GKE itself puts on the pool's nodes, which workloads select a slice by."""
    gen = tpus.TPU_GENERATIONS[pool.generation]
    return {tpus.GKE_TPU_ACCELERATOR_LABEL: gen.accelerator, tpus.GKE_TPU_TOPOLOGY_LABEL: pool.topology}


def tpu_node_pool(cluster: "GkeCluster", pool: TpuPool) -> gcp.container.NodePool:
    tslice = tpus.tpu_slice(pool.generation, pool.topology)
    min_nodes, max_nodes = tpus.node_range(pool.generation, pool.topology, pool.min_slices, pool.max_slices)
    taint = conventions.TPU_TAINT
    node_config = {
        **cluster._node_basics(tslice.machine_type, pool.disk_gb),
        "spot": pool.spot,
        "labels": conventions.tpu_pool_labels(pool),
        "taints": [{"key": taint.key, "value": taint.value, "effect": taint.api_effect()}],
        "gvnic": {"enabled": True},
    }
    if pool.reservation is not None:
        node_config["reservation_affinity"] = {
            "consume_reservation_type": "SPECIFIC_RESERVATION",
            "key": RESERVATION_KEY,
            "values": [pool.reservation],
        }
    depends: list[pulumi.Resource] = [*cluster.node_roles, cluster.nat]
    if cluster.disks_key is not None:
        depends.append(cluster.key_grants["disks"])
    return gcp.container.NodePool(
        f"{cluster.cluster_name}-{pool.name}",
        # A prefix lets a replacement pool (a new topology) come up before the old one goes.
        name_prefix=f"{pool.name}-",
        project=cluster.project,
        cluster=cluster.cluster.name,
        location=cluster.location,
        node_locations=[tpu_zone(pool, cluster.region)],
        initial_node_count=min_nodes,
        autoscaling={
            "total_min_node_count": min_nodes,
            "total_max_node_count": max_nodes,
            # ANY prefers unused reservations and spot capacity wherever it is (provider docstring).
            "location_policy": "ANY" if pool.spot or pool.reservation else "BALANCED",
        },
        placement_policy={"type": "COMPACT", "tpu_topology": pool.topology} if tslice.multi_host else None,
        management={"auto_repair": True, "auto_upgrade": True},
        # Like GPU pools: TPU capacity is scarce, so upgrade in place rather than ask for a surge node.
        upgrade_settings={"strategy": "SURGE", "max_surge": 0, "max_unavailable": 1},
        node_config=node_config,
        opts=pulumi.ResourceOptions.merge(
            cluster._opts,
            pulumi.ResourceOptions(depends_on=depends, ignore_changes=["initialNodeCount"]),
        ),
    )


def tpu_pool_facts(config: StackConfig) -> list[TpuPoolFacts]:
    out = []
    for pool in config.tpu_pools:
        tslice = tpus.tpu_slice(pool.generation, pool.topology)
        labels = {conventions.POOL_LABEL: pool.name, **gke_node_labels(pool)}
        out.append(TpuPoolFacts(
            pool=pool.name, generation=pool.generation, topology=pool.topology,
            chips_per_node=tslice.chips_per_vm, nodes_per_slice=tslice.nodes,
            max_slices=1 if tslice.multi_host else pool.max_slices,
            resource=tpus.TPU_RESOURCE, node_labels=dict(sorted(labels.items())), taint=conventions.TPU_TAINT,
        ))
    return out

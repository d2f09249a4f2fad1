"""GKE capacity: how a GPU pool's nodes are obtained along its capacity chain.

- `cluster-autoscaler`: the pool's node pool takes its one tier: a specific reservation
  (node_config.reservation_affinity SPECIFIC_RESERVATION), spot, or on-demand.
- `compute-classes`: the node pool takes the chain's first tier and joins a custom
  ComputeClass (cloud.google.com/v1) of the same pool; the class's `priorities` are the
  chain, the node pool first (`nodepools`), then one priority per later tier (the same
  machine type and GPUs, as a specific reservation, spot or on-demand), which GKE's
  autoscaler creates node pools for (`nodePoolAutoCreation`, per ComputeClass from GKE
  1.33.3-gke.1136000). When no priority can be met the class never scales up anything
  else (`whenUnsatisfiable: DoNotScaleUp`): a GPU pod on a general-purpose node is useless.
  Pods reach the class by its node label `cloud.google.com/compute-class: <class>`, which
  Kueue's ResourceFlavor of the pool adds to what it admits (GpuPoolFacts.placement_labels);
  the node pool carries that label and the class's NoSchedule taint, as GKE documents for
  manually created node pools in a ComputeClass, and every GPU workload tolerates it.
- `gcp.flexStartPools`: DWS flex-start with queued provisioning. The node pool starts no node
  by itself (queued_provisioning: nodes only through the ProvisioningRequest API), runs
  flex-start VMs (node_config.flex_start, at most 7 days) and, as GKE and cluster-toolkit
  require, has no reservation, min 0 nodes, auto-repair and auto-upgrade off. Kueue's
  provisioning admission check (`kueue.x-k8s.io/provisioning-request`, class
  `queued-provisioning.gke.io`) asks for a job's nodes all at once before it admits the job.

Sources: pulumi-gcp 10.2.0 container/_inputs.py (NodePoolNodeConfigReservationAffinityArgs:
SPECIFIC_RESERVATION with key compute.googleapis.com/reservation-name and the reservation's
name or projects/<p>/reservations/<n>; NodePoolQueuedProvisioningArgs: "nodes obtainable
through the ProvisioningRequest API exclusively"; NodePoolNodeConfigArgs.flex_start);
GKE docs reference/crds/computeclass (priorities: nodepools, machineType, gpu {type, count,
driverVersion}, spot, reservations {affinity Specific, specific [{name, project}]}, storage
{bootDiskKMSKey, bootDiskSize, bootDiskType}; priorityDefaults.location.zones; nodePoolAutoCreation.enabled;
nodePoolConfig {serviceAccount, nodeLabels}; whenUnsatisfiable; activeMigration
{optimizeRulePriority}); GoogleCloudPlatform/cluster-toolkit modules/compute/gke-node-pool/
main.tf (queued provisioning: NO_RESERVATION, total min 0, no COMPACT placement; flex-start:
auto_repair false, NO_RESERVATION, not spot) and examples/gke-consumption-options/
dws-flex-start-queued-provisioning/README.md (queued provisioning: auto_upgrade false).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import pulumi

from ... import conventions
from ...catalog import InstanceType
from ...config import GpuPool, StackConfig
from ...config.capacity import pool_provisioner

COMPUTE_CLASS_API = "cloud.google.com/v1"
COMPUTE_CLASS_LABEL = "cloud.google.com/compute-class"
COMPUTE_CLASSES = "compute-classes"
# The label key GKE matches a SPECIFIC_RESERVATION's values against (pulumi-gcp 10.2.0
# NodePoolNodeConfigReservationAffinityArgs.key).
RESERVATION_KEY = "compute.googleapis.com/reservation-name"
# DWS flex-start with queued provisioning: the ProvisioningRequest class GKE serves, and the
# taint GKE puts on queued-provisioning nodes (cluster-toolkit consumption-options docs:
# workloads tolerate cloud.google.com/gke-queued:NoSchedule).
QUEUED_PROVISIONING_CLASS = "queued-provisioning.gke.io"
QUEUED_TAINT = conventions.Taint("cloud.google.com/gke-queued", "true", "NoSchedule")
# ComputeClass gpu.driverVersion takes the lowercase of the node pool's gpu_driver_version.
DRIVER_VERSIONS = {"LATEST": "latest", "DEFAULT": "default"}


def compute_class_name(pool: str) -> str:
    """The pool's ComputeClass (a DNS label; pool names are at most 12 characters)."""
    return f"ml-gpu-{pool}"


def compute_class_taint(pool: str) -> conventions.Taint:
    return conventions.Taint(COMPUTE_CLASS_LABEL, compute_class_name(pool), "NoSchedule")


def compute_class_toleration() -> dict[str, str]:
    """Tolerates every ComputeClass's taint: GPU workloads and node agents land on a class's
    nodes only where they already select the pool (and its GPU taint)."""
    return {"effect": "NoSchedule", "key": COMPUTE_CLASS_LABEL, "operator": "Exists"}


def queued_toleration() -> dict[str, str]:
    return {"effect": QUEUED_TAINT.effect, "key": QUEUED_TAINT.key, "operator": "Exists"}


def reservation_path(name: str, project: str) -> tuple[str, str]:
    """(reservation name, its project): a bare name is in the stack's project, a shared one
    is `projects/<project>/reservations/<name>`."""
    parts = name.split("/")
    if len(parts) == 4 and parts[0] == "projects" and parts[2] == "reservations":
        return parts[3], parts[1]
    return name, project


def reservation_affinity(name: str, project: str) -> dict[str, Any]:
    """node_config.reservation_affinity consuming exactly this reservation (never another, and
    never on-demand behind the reservation's back: the fallback is the ComputeClass's job)."""
    reservation, owner = reservation_path(name, project)
    value = reservation if owner == project else f"projects/{owner}/reservations/{reservation}"
    return {"consume_reservation_type": "SPECIFIC_RESERVATION", "key": RESERVATION_KEY, "values": [value]}


def is_flex_start(config: StackConfig, pool: GpuPool) -> bool:
    return config.gcp is not None and pool.name in config.gcp.flex_start_pools


def uses_compute_class(config: StackConfig, pool: GpuPool) -> bool:
    return not is_flex_start(config, pool) and pool_provisioner(config, pool) == COMPUTE_CLASSES


@dataclass(frozen=True)
class NodePoolCapacity:
    """What a GPU pool's own node pool gets from its capacity chain."""

    spot: bool
    location_policy: str
    reservation_affinity: Optional[dict[str, Any]] = None
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[conventions.Taint, ...] = ()
    auto_repair: bool = True
    auto_upgrade: bool = True
    queued_provisioning: bool = False
    flex_start: bool = False


def node_pool_capacity(config: StackConfig, pool: GpuPool, project: str) -> NodePoolCapacity:
    """The node pool's first tier, and what joining a ComputeClass or DWS adds to it."""
    if is_flex_start(config, pool):
        return NodePoolCapacity(
            spot=False, location_policy="ANY",
            reservation_affinity={"consume_reservation_type": "NO_RESERVATION"},
            auto_repair=False, auto_upgrade=False, queued_provisioning=True, flex_start=True,
        )
    first = pool.capacity_chain()[0]
    affinity = reservation_affinity(first.reserved.name, project) if first.reserved is not None and first.reserved.name else None
    # ANY takes capacity wherever it is free: what spot needs to get nodes at all, and the
    # zone a specific (zonal) reservation lives in.
    policy = "ANY" if first.spot or affinity is not None else "BALANCED"
    if not uses_compute_class(config, pool):
        return NodePoolCapacity(spot=first.spot, location_policy=policy, reservation_affinity=affinity)
    return NodePoolCapacity(
        spot=first.spot, location_policy=policy, reservation_affinity=affinity,
        labels={COMPUTE_CLASS_LABEL: compute_class_name(pool.name)}, taints=(compute_class_taint(pool.name),),
    )


@dataclass(frozen=True)
class ClassNodes:
    """How auto-created fallback nodes are configured like the pool's own node pool."""

    itype: InstanceType
    accelerator: str
    driver_version: str
    disk_gb: int
    disk_type: str
    zones: list[str]
    node_labels: Mapping[str, str]
    service_account: pulumi.Input[str]
    boot_disk_kms_key: Optional[pulumi.Input[str]] = None


def _tier_priority(tier: Any, nodes: ClassNodes, project: str) -> dict[str, Any]:
    priority: dict[str, Any] = {
        "machineType": nodes.itype.name,
        "gpu": {"type": nodes.accelerator, "count": nodes.itype.gpus, "driverVersion": nodes.driver_version},
        "storage": {"bootDiskSize": nodes.disk_gb, "bootDiskType": nodes.disk_type},
    }
    if nodes.boot_disk_kms_key is not None:
        priority["storage"]["bootDiskKMSKey"] = nodes.boot_disk_kms_key
    if tier.reserved is not None:
        name, owner = reservation_path(tier.reserved.name or "", project)
        priority["reservations"] = {"affinity": "Specific", "specific": [{"name": name, "project": owner}]}
        priority["spot"] = False
    else:
        priority["spot"] = bool(tier.spot)
    return priority


def compute_class(pool: GpuPool, node_pool_name: pulumi.Input[str], nodes: ClassNodes, project: str) -> dict[str, Any]:
    """CustomResource keyword arguments of the pool's ComputeClass."""
    chain = pool.capacity_chain()
    priorities: list[dict[str, Any]] = [{"nodepools": [node_pool_name]}]
    priorities += [_tier_priority(tier, nodes, project) for tier in chain[1:]]
    spec: dict[str, Any] = {
        "priorities": priorities,
        # Later tiers are node pools GKE creates for the class; with one tier there is none.
        "nodePoolAutoCreation": {"enabled": len(chain) > 1},
        "whenUnsatisfiable": "DoNotScaleUp",
        # Moving running pods back to a higher priority evicts them: a training job loses its
        # progress, so the class only chooses where new nodes come from.
        "activeMigration": {"optimizeRulePriority": False},
    }
    if len(chain) > 1:
        # Auto-created nodes: our node identity and the pool's portable labels, so the
        # pool's selectors, Kueue flavor and alerts find them as they find the pool's own.
        spec["nodePoolConfig"] = {"serviceAccount": nodes.service_account, "nodeLabels": dict(sorted(nodes.node_labels.items()))}
        # The zones that offer the pool's accelerator, as for its own node pool.
        spec["priorityDefaults"] = {"location": {"zones": list(nodes.zones)}}
    return {
        "api_version": COMPUTE_CLASS_API,
        "kind": "ComputeClass",
        "metadata": {"name": compute_class_name(pool.name), "labels": {conventions.POOL_LABEL: pool.name}},
        "spec": spec,
    }


__all__ = [
    "COMPUTE_CLASS_LABEL", "QUEUED_PROVISIONING_CLASS", "QUEUED_TAINT", "ClassNodes", "NodePoolCapacity",
    "compute_class", "compute_class_name", "compute_class_toleration", "is_flex_start", "node_pool_capacity",
    "queued_toleration", "reservation_affinity", "uses_compute_class",
]

"""Cloud TPU generations GKE runs as node pools: machine types, chips per VM, the slice
topologies each generation allows (single-host and multi-host), the zones of the catalog's
regions that offer it, and the price per chip-hour. TPUs exist on Google Cloud only.

Sources (read 2026-12):
- Topologies, machine types and chips per VM: cloud.google.com/tpu/docs/v5e ("Configurations":
  2D shapes 1x1 to 16x16), cloud.google.com/tpu/docs/v5p ("Configurations": 2x2x1 to 16x16x24,
  machine type ct5p-hightpu-4t), cloud.google.com/tpu/docs/v6e ("Supported configurations":
  Machine type (GKE API) and Scope per topology); chips per machine type and the GKE accelerator
  label per machine family as GoogleCloudPlatform/cluster-toolkit
  modules/internal/tpu-definition/main.tf lists them (tpu_chip_count_map, tpu_accelerator_map).
- Zones: cloud.google.com/tpu/docs/regions-zones (the United States table; zones listed as
  single-tenant only are left out). Regions outside it are not listed until read.
- Prices: cloud.google.com/tpu/pricing, on-demand per chip-hour in us-central1 (the list
  prices as published for v5e, v5p and v6e; the stored copy of the page this round was an old
  one, so they were not re-read against it: confirm before relying on the figures). Spot TPU
  prices move like spot VM prices, so, as for GPU pools, on-demand is the ceiling a spot pool
  is estimated at (SPOT_PRICE_BASIS).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

TPU_RESOURCE = "google.com/tpu"  # the extended resource GKE's TPU device plugin advertises
# The node labels GKE puts on every TPU node (GKE "Deploy TPU workloads in GKE Standard":
# workloads select a slice with these two nodeSelector keys).
GKE_TPU_ACCELERATOR_LABEL = "cloud.google.com/gke-tpu-accelerator"
GKE_TPU_TOPOLOGY_LABEL = "cloud.google.com/gke-tpu-topology"
PRICE_REGION = "us-central1"
PRICE_DATE = "2026-12-01"
PRICE_SOURCE = "cloud.google.com/tpu/pricing (on-demand, per chip-hour, us-central1)"
SPOT_PRICE_BASIS = "spot, on-demand ceiling"


@dataclass(frozen=True)
class TpuGeneration:
    key: str  # what tpuPools[].generation names, e.g. "v5e"
    name: str
    accelerator: str  # GKE's cloud.google.com/gke-tpu-accelerator value
    hbm_gb: int  # per chip
    # Single-host slices: topology -> the machine type whose one VM holds the whole slice.
    single_host: dict[str, str]
    # Multi-host slices: the machine type of every VM, its chips, and the allowed topologies.
    multi_host_machine_type: str
    multi_host_chips_per_vm: int
    multi_host: tuple[str, ...]
    # Zones per region of the catalog that offer the generation.
    zones: dict[str, tuple[str, ...]]
    usd_per_chip_hour: float  # on-demand, PRICE_REGION
    source: str

    @property
    def topologies(self) -> tuple[str, ...]:
        return (*self.single_host, *self.multi_host)


def chips(topology: str) -> int:
    """Chips in a slice: the product of the topology's dimensions (`4x4` -> 16)."""
    return prod(int(d) for d in topology.split("x"))


@dataclass(frozen=True)
class TpuSlice:
    """What a generation and a topology come to: the machine type, chips per VM, and how
    many VMs (GKE nodes) the slice has."""

    generation: TpuGeneration
    topology: str
    machine_type: str
    chips_per_vm: int
    nodes: int

    @property
    def chips(self) -> int:
        return chips(self.topology)

    @property
    def multi_host(self) -> bool:
        return self.nodes > 1


def tpu_slice(generation: str, topology: str) -> TpuSlice:
    """The slice of `generation` with `topology` (both checked by the config against this catalog)."""
    gen = TPU_GENERATIONS[generation]
    if topology in gen.single_host:
        return TpuSlice(gen, topology, gen.single_host[topology], chips(topology), 1)
    assert topology in gen.multi_host, (generation, topology)
    per_vm = gen.multi_host_chips_per_vm
    return TpuSlice(gen, topology, gen.multi_host_machine_type, per_vm, chips(topology) // per_vm)


def node_range(generation: str, topology: str, min_slices: int, max_slices: int) -> tuple[int, int]:
    """(min, max) nodes of a TPU pool: slices for single-host topologies; for a multi-host
    slice 0 or all of its nodes, and all (GKE scales a multi-host slice as one unit)."""
    tslice = tpu_slice(generation, topology)
    if tslice.multi_host:
        return (tslice.nodes if min_slices else 0), tslice.nodes
    return min_slices, max_slices


TPU_GENERATIONS: dict[str, TpuGeneration] = {
    g.key: g
    for g in (
        TpuGeneration(
            "v5e", "TPU v5e", "tpu-v5-lite-podslice", 16,
            single_host={"1x1": "ct5lp-hightpu-1t", "2x2": "ct5lp-hightpu-4t", "2x4": "ct5lp-hightpu-8t"},
            multi_host_machine_type="ct5lp-hightpu-4t", multi_host_chips_per_vm=4,
            multi_host=("4x4", "4x8", "8x8", "8x16", "16x16"),
            zones={"us-central1": ("us-central1-a",), "us-west1": ("us-west1-c",)},
            usd_per_chip_hour=1.20,
            source="cloud.google.com/tpu/docs/v5e; cluster-toolkit modules/internal/tpu-definition/main.tf",
        ),
        TpuGeneration(
            "v5p", "TPU v5p", "tpu-v5p-slice", 95,
            single_host={"2x2x1": "ct5p-hightpu-4t"},
            multi_host_machine_type="ct5p-hightpu-4t", multi_host_chips_per_vm=4,
            multi_host=("2x2x2", "2x4x4", "4x4x4", "4x4x8", "4x8x8", "8x8x8", "8x8x16", "8x16x16", "16x16x16", "16x16x24"),
            zones={"us-central1": ("us-central1-a",)},
            usd_per_chip_hour=4.20,
            source="cloud.google.com/tpu/docs/v5p; cluster-toolkit modules/internal/tpu-definition/main.tf",
        ),
        TpuGeneration(
            "v6e", "TPU v6e Trillium", "tpu-v6e-slice", 32,
            single_host={"1x1": "ct6e-standard-1t", "2x2": "ct6e-standard-4t", "2x4": "ct6e-standard-8t"},
            multi_host_machine_type="ct6e-standard-4t", multi_host_chips_per_vm=4,
            multi_host=("4x4", "4x8", "8x8", "8x16", "16x16"),
            zones={"us-central1": ("us-central1-b",), "us-east1": ("us-east1-d",)},
            usd_per_chip_hour=2.70,
            source="cloud.google.com/tpu/docs/v6e; cluster-toolkit modules/internal/tpu-definition/main.tf",
        ),
    )
}

"""Shapes of the catalog's rows. The rows themselves are data in the per-cloud modules."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GpuModel:
    """One NVIDIA GPU model, the same on every cloud."""

    key: str  # portable label value, e.g. "h100"
    name: str  # marketing name, e.g. "NVIDIA H100 80GB"
    memory_gb: int
    # MIG profiles the GPU can be partitioned into; empty when MIG is not supported.
    mig_profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstanceType:
    """A VM size / machine type. gpu is None for CPU-only types (system pools)."""

    name: str
    vcpus: int
    memory_gb: float
    usd_per_hour: float  # on-demand, Linux, in the cloud's price reference region
    arch: str = "x86_64"  # or "arm64"
    gpu: str | None = None  # GpuModel.key
    gpus: int = 0
    # Regions that offer the type; None means every region in the cloud's catalog.
    regions: tuple[str, ...] | None = None
    # GKE: the accelerator type attached to the machine type.
    accelerator: str | None = None
    # AKS: largest ephemeral OS disk the VM's cache/temp disk can hold, and host encryption support.
    ephemeral_os_disk_gb: int | None = None
    encryption_at_host: bool = False


# The kinds of multi-node GPU fabric the catalog knows, as `gpuPools[].interconnect` names them.
FABRIC_KINDS: tuple[str, ...] = ("efa", "tcpx", "tcpxo", "rdma", "infiniband")


@dataclass(frozen=True)
class Fabric:
    """The multi-node GPU fabric an instance type has: what its nodes carry besides the
    primary network, and the NCCL all-reduce bus bandwidth two nodes should reach over it."""

    kind: str  # one of FABRIC_KINDS
    name: str  # e.g. "EFA v2", "GPUDirect-TCPXO", "InfiniBand NDR"
    nics: int  # fabric NICs per node (EFA interfaces, GPU NICs, InfiniBand HCAs)
    line_rate_gbps: int  # the node's aggregate fabric line rate, Gbit/s
    # nccl-tests all_reduce_perf on 2 nodes (all GPUs), large messages (>= 1 GiB), GB/s.
    expected_busbw_gbs: float
    source: str  # where kind, NICs and line rate come from
    busbw_source: str  # where the expected bus bandwidth comes from (measured, or how derived)
    generation: int | None = None  # EFA generation (1-4); None for other kinds

    @property
    def nic_gbps(self) -> int:
        return self.line_rate_gbps // self.nics


# How the catalog derives an expected bus bandwidth where no published two-node figure for the
# type was found: NCCL's bus bandwidth is the rate on the bottleneck link (NVIDIA/nccl-tests
# doc/PERFORMANCE.md, "Bus bandwidth"); an all-reduce over 2 nodes with one fabric rail per
# GPU is bounded by the node's aggregate fabric line rate, Gbit/s / 8 = GB/s. A published
# 2-node run reaches it: BM.GPU.H100.8, 16 x 200 Gbit/s RoCE (3,200 Gbit/s = 400 GB/s),
# all_reduce_perf busbw 465 GB/s at 16 GiB (oracle-japan/ocitutorials, "NCCL Tests
# (BM.GPU.H100.8)" page, NCCL 2.21.5), NVLink SHARP inside each node adding to it.
LINE_RATE_BUSBW = (
    "derived: the node's aggregate fabric line rate in GB/s (Gbit/s / 8), the bottleneck NCCL's "
    "bus bandwidth measures on 2 nodes (NVIDIA/nccl-tests doc/PERFORMANCE.md); a published "
    "2-node 3,200 Gbit/s H100 run reached 465 GB/s (oracle-japan/ocitutorials, NCCL Tests BM.GPU.H100.8)"
)


def line_rate_busbw(line_rate_gbps: int) -> float:
    """The bus bandwidth (GB/s) the catalog expects of 2 nodes on a fabric of this line rate."""
    return line_rate_gbps / 8


@dataclass(frozen=True)
class Region:
    name: str
    zones: tuple[str, ...]
    # The paired region a standby would use for disaster recovery.
    pair: str | None = None


@dataclass(frozen=True)
class CloudCatalog:
    cloud: str
    price_region: str
    price_date: str  # ISO date the prices were read
    regions: dict[str, Region]
    instance_types: dict[str, InstanceType]
    default_system_instance_type: str
    # Whether the cloud lets the system pool run on spot capacity.
    system_pool_spot_allowed: bool = True
    # GKE: zones per region where each accelerator is offered.
    accelerator_zones: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # Instance type -> the multi-node GPU fabric it has; a GPU type missing here has none.
    fabrics: dict[str, Fabric] = field(default_factory=dict)

    def fabric(self, instance_type: str) -> Fabric | None:
        return self.fabrics.get(instance_type)

    def regions_offering(self, instance_type: str) -> tuple[str, ...]:
        itype = self.instance_types[instance_type]
        if itype.accelerator is not None and self.accelerator_zones:
            return tuple(sorted(self.accelerator_zones.get(itype.accelerator, {})))
        return itype.regions if itype.regions is not None else tuple(sorted(self.regions))

    def zones_offering(self, instance_type: str, region: str) -> tuple[str, ...]:
        """Zones of `region` where the type can run (all zones unless the catalog narrows it)."""
        itype = self.instance_types[instance_type]
        if itype.accelerator is not None and self.accelerator_zones:
            return self.accelerator_zones.get(itype.accelerator, {}).get(region, ())
        return self.regions[region].zones if region in self.regions else ()

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

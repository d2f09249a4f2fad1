"""Turn what a pool needs into a concrete type of one cloud, and a place into a region.

Config (components/config/resolve.py) calls these while it loads a stack, so every backend sees
concrete instance types and a cloud region. A request no type meets raises NotOffered with
one line naming what the catalog has nearby (other counts, other regions, the largest sizes).

How a type is picked: among the cloud's types that meet every need and are offered in the
stack's region (on GCP: in a zone of the region that has the accelerator), the cheapest by
the catalog's on-demand price; a tie goes to fewer vCPUs, then less memory, then the name
in alphabetical order. Prices are the catalog's reference-region prices (CloudCatalog.price_region).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from .gpus import GPU_MODELS
from .model import CloudCatalog, InstanceType
from .places import PLACES


class NotOffered(ValueError):
    """No type (or region) meets the request. str() is the problem, without its key path."""


@dataclass(frozen=True)
class Choice:
    """One decision the catalog made for a stack: what was asked, what was chosen, and why."""

    key: str  # config key path, e.g. "gpuPools[0]", "systemPool", "region"
    asked: str  # e.g. "l4 x1", "us-east"
    chosen: str  # e.g. "g6.xlarge", "us-east-1"
    why: str

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "asked": self.asked, "chosen": self.chosen, "why": self.why}


@dataclass(frozen=True)
class GpuNeed:
    """What a GPU pool asks for instead of an instance type."""

    gpu: Optional[str] = None  # GpuModel.key
    gpus: int = 1  # GPUs per node, exactly
    min_gpu_memory_gb: Optional[int] = None
    min_vcpus: Optional[int] = None
    min_memory_gb: Optional[float] = None
    arch: str = "x86_64"
    disk_gb: Optional[int] = None  # the node's OS disk; an ephemeral OS disk must hold it
    mig_profile: Optional[str] = None  # the GPU must offer this MIG profile

    def kind(self) -> str:
        """The GPU part, e.g. `l4` or `GPU with >= 40 GB`."""
        if self.gpu is not None and self.min_gpu_memory_gb is not None:
            return f"{self.gpu} (>= {self.min_gpu_memory_gb} GB)"
        return self.gpu if self.gpu is not None else f"GPU with >= {self.min_gpu_memory_gb} GB"

    def describe(self) -> str:
        """E.g. `1 x l4`, `8 x h100 with >= 64 vCPUs`."""
        extras = _size_words(self.min_vcpus, self.min_memory_gb)
        if self.mig_profile:
            extras.append(f"MIG {self.mig_profile}")
        return f"{self.gpus} x {self.kind()}" + (f", {', '.join(extras)}" if extras else "")


@dataclass(frozen=True)
class SizeNeed:
    """What a CPU pool (or the system pool) asks for instead of an instance type."""

    min_vcpus: Optional[int] = None
    min_memory_gb: Optional[float] = None
    arch: str = "x86_64"
    disk_gb: Optional[int] = None

    def describe(self) -> str:
        return ", ".join(_size_words(self.min_vcpus, self.min_memory_gb) or ["any size"]) + f" ({self.arch})"


def _size_words(vcpus: Optional[int], memory_gb: Optional[float]) -> list[str]:
    out = []
    if vcpus is not None:
        out.append(f">= {vcpus} vCPUs")
    if memory_gb is not None:
        out.append(f">= {memory_gb:g} GB memory")
    return out


def order(itype: InstanceType) -> tuple:
    """The pick order: cheapest, then fewer vCPUs, then less memory, then the name."""
    return (itype.usd_per_hour, itype.vcpus, itype.memory_gb, itype.name)


def _offered(cat: CloudCatalog, itype: InstanceType, region: str) -> bool:
    return region in cat.regions_offering(itype.name)


def _specs(itype: InstanceType) -> str:
    return f"{itype.name} ({itype.vcpus} vCPUs, {itype.memory_gb:g} GB, {itype.arch})"


def _with_place(cloud: str, regions: Iterable[str]) -> str:
    out = []
    for region in regions:
        place = place_of(cloud, region)
        out.append(f"{region} ({place})" if place else region)
    return ", ".join(out) or "none"


def _misfit(itype: InstanceType, checks: list[tuple[Callable[[InstanceType], bool], Callable[[InstanceType], str]]]) -> Optional[str]:
    for ok, why in checks:
        if not ok(itype):
            return why(itype)
    return None


def _size_checks(min_vcpus, min_memory_gb, arch, disk_gb) -> list:
    checks: list = [(lambda t: t.arch == arch, lambda t: f"{t.arch}, not {arch}")]
    if min_vcpus is not None:
        checks.append((lambda t: t.vcpus >= min_vcpus, lambda t: f"{t.vcpus} vCPUs"))
    if min_memory_gb is not None:
        checks.append((lambda t: t.memory_gb >= min_memory_gb, lambda t: f"{t.memory_gb:g} GB memory"))
    if disk_gb is not None:
        checks.append((
            lambda t: t.ephemeral_os_disk_gb is None or t.ephemeral_os_disk_gb >= disk_gb,
            lambda t: f"its {t.ephemeral_os_disk_gb} GB ephemeral OS disk cannot hold diskGb {disk_gb}",
        ))
    return checks


def _why(cat: CloudCatalog, fits: list[InstanceType], what: str, region: Optional[str]) -> str:
    best = fits[0]
    where = f" in {region}" if region else ""
    text = f"cheapest of {len(fits)} {cat.cloud} type{'s' if len(fits) != 1 else ''} with {what}{where}: ${best.usd_per_hour:g}/h"
    if len(fits) > 1:
        runner = fits[1]
        text += f"; next {runner.name} ${runner.usd_per_hour:g}/h"
        if runner.usd_per_hour == best.usd_per_hour:
            text += " (a tie, settled by fewer vCPUs, then less memory, then name)"
    if best.accelerator is not None and region is not None and cat.accelerator_zones:
        text += f"; {best.accelerator} zones: {', '.join(cat.zones_offering(best.name, region))}"
    return text


# --- GPU pools -----------------------------------------------------------------------------


def gpu_type(cat: CloudCatalog, region: str, need: GpuNeed) -> tuple[InstanceType, str]:
    """The cheapest type of `cat` meeting `need` in `region`, and why it was chosen."""
    if need.gpu is not None and need.gpu not in GPU_MODELS:
        raise NotOffered(f"{need.gpu!r} is not a GPU model in the catalog; allowed: {', '.join(GPU_MODELS)}")

    def model_ok(t: InstanceType) -> bool:
        if t.gpu is None or (need.gpu is not None and t.gpu != need.gpu):
            return False
        return need.min_gpu_memory_gb is None or GPU_MODELS[t.gpu].memory_gb >= need.min_gpu_memory_gb

    kind = need.kind()
    models = [t for t in cat.instance_types.values() if model_ok(t)]
    if not models:
        offered = sorted({t.gpu for t in cat.instance_types.values() if t.gpu})
        sized = ", ".join(f"{g} ({GPU_MODELS[g].memory_gb} GB)" for g in offered)
        raise NotOffered(f"no {cat.cloud} type has {kind}; {cat.cloud} GPU models: {sized}")
    here = sorted((t for t in models if _offered(cat, t, region)), key=order)
    counted = [t for t in models if t.gpus == need.gpus]
    counted_here = [t for t in here if t.gpus == need.gpus]
    if not counted_here:
        nearby = []
        counts_here = sorted({t.gpus for t in here})
        if counts_here:
            firsts = {n: next(t for t in here if t.gpus == n) for n in counts_here}
            nearby.append(", ".join(f"{n} x {kind} ({firsts[n].name})" for n in counts_here) + f" in {region}")
        if counted:
            regions = sorted({r for t in counted for r in cat.regions_offering(t.name)})
            nearby.append(f"{need.gpus} x {kind} in {_with_place(cat.cloud, regions)}")
        elif not counts_here:
            nearby.append(f"{kind} comes " + ", ".join(str(n) for n in sorted({t.gpus for t in models})) + f" per node on {cat.cloud}")
        else:
            nearby.append(f"no {cat.cloud} region has {need.gpus} x {kind}")
        raise NotOffered(f"no {cat.cloud} type offers {need.gpus} x {kind} in {region}; nearby: {'; '.join(nearby)}")
    checks = _size_checks(need.min_vcpus, need.min_memory_gb, need.arch, need.disk_gb)
    if need.mig_profile is not None:
        profile = need.mig_profile
        checks.append((lambda t: profile in GPU_MODELS[t.gpu].mig_profiles, lambda t: f"{t.gpu} has no MIG profile {profile}"))
    fits = [t for t in counted_here if _misfit(t, checks) is None]
    if not fits:
        why = "; ".join(f"{t.name}: {_misfit(t, checks)}" for t in counted_here)
        raise NotOffered(f"no {cat.cloud} type offers {need.describe()} in {region}; the {need.gpus} x {kind} types there: {why}")
    return fits[0], _why(cat, fits, need.describe(), region)


def gpu_type_any_cloud(catalogs: Iterable[CloudCatalog], need: GpuNeed) -> tuple[InstanceType, str]:
    """For a cluster you already have: a catalog row with the GPU model and count (the
    platform labels nodes from it), the first by cloud name, then pick order."""
    rows = []
    for cat in sorted(catalogs, key=lambda c: c.cloud):
        rows += sorted(
            (t for t in cat.instance_types.values()
             if t.gpu is not None and t.gpus == need.gpus
             and (need.gpu is None or t.gpu == need.gpu)
             and (need.min_gpu_memory_gb is None or GPU_MODELS[t.gpu].memory_gb >= need.min_gpu_memory_gb)),
            key=order,
        )
    if not rows:
        combos = sorted({(t.gpu, t.gpus) for c in catalogs for t in c.instance_types.values() if t.gpu and (need.gpu is None or t.gpu == need.gpu)})
        allowed = ", ".join(f"{n} x {g}" for g, n in combos) or ", ".join(GPU_MODELS)
        raise NotOffered(f"no catalog type has {need.gpus} x {need.kind()}; allowed: {allowed}")
    best = rows[0]
    return best, f"existing cluster: nodes with {best.gpus} x {best.gpu}, labelled as the catalog row {best.name}"


# --- CPU pools and the system pool ---------------------------------------------------------


def cpu_type(cat: CloudCatalog, region: Optional[str], need: SizeNeed) -> tuple[InstanceType, str]:
    """The cheapest CPU type of `cat` meeting `need` (offered in `region`), and why."""
    cpu = sorted((t for t in cat.instance_types.values() if t.gpu is None and (region is None or _offered(cat, t, region))), key=order)
    checks = _size_checks(need.min_vcpus, need.min_memory_gb, need.arch, need.disk_gb)
    fits = [t for t in cpu if _misfit(t, checks) is None]
    if not fits:
        same_arch = [t for t in cpu if t.arch == need.arch]
        if not same_arch:
            raise NotOffered(f"no {cat.cloud} CPU type is {need.arch}; allowed arch: {', '.join(sorted({t.arch for t in cpu}))}")
        largest = max(same_arch, key=lambda t: (t.vcpus, t.memory_gb, t.ephemeral_os_disk_gb or 0, t.name))
        raise NotOffered(f"no {cat.cloud} CPU type has {need.describe()}; the largest is {_specs(largest)}: {_misfit(largest, checks)}")
    return fits[0], _why(cat, fits, need.describe(), region)


# --- Regions and places --------------------------------------------------------------------


def place_region(cloud: str, name: str) -> Optional[str]:
    """The cloud's region for a place, or None when `name` is not a place on that cloud."""
    return PLACES.get(name, {}).get(cloud)


def place_of(cloud: str, region: str) -> Optional[str]:
    """The place a cloud region stands for, if any."""
    for place, regions in PLACES.items():
        if regions.get(cloud) == region:
            return place
    return None


def places_on(cloud: str) -> list[str]:
    return [p for p, regions in PLACES.items() if cloud in regions]


def region_of(cat: CloudCatalog, name: str) -> str:
    """A cloud region or a place, as the cloud's region. Raises NotOffered when neither."""
    if name in cat.regions:
        return name
    mapped = place_region(cat.cloud, name)
    if mapped is not None:
        return mapped
    if name in PLACES:
        elsewhere = ", ".join(f"{c} {r}" for c, r in sorted(PLACES[name].items()))
        raise NotOffered(f"{name!r} is a place with no {cat.cloud} region in the catalog (it maps to {elsewhere}); places on {cat.cloud}: {', '.join(places_on(cat.cloud))}")
    raise NotOffered(f"{name!r} is not a known {cat.cloud} region or place")


def dr_pair(cat: CloudCatalog, name: str) -> Optional[str]:
    """The disaster-recovery region paired with a region or place (the cloud's own pair of
    the region the place maps to: Azure's geo-redundant storage replicates only there)."""
    region = region_of(cat, name)
    return cat.regions[region].pair if region in cat.regions else None

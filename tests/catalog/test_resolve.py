"""components/catalog/resolve.py: a pool's needs and a place become one cloud's type and region.

The pick rule users rely on: among the types that meet every need and are offered in the
stack's region (on GCP: in a zone of it that has the accelerator), the cheapest by the
catalog's on-demand price; a tie goes to fewer vCPUs, then less memory, then the name."""

from __future__ import annotations

import itertools

import pytest

from components import catalog
from components.catalog import resolve
from components.catalog.model import CloudCatalog, InstanceType, Region
from components.catalog.resolve import GpuNeed, NotOffered, SizeNeed


def _offered(cat: CloudCatalog, itype: InstanceType, region: str) -> bool:
    if itype.accelerator is not None and cat.accelerator_zones:
        return bool(cat.accelerator_zones.get(itype.accelerator, {}).get(region))
    return itype.regions is None or region in itype.regions


# --- cheapest type ----------------------------------------------------------------------------


def test_cheapest_l4_on_aws_is_the_smallest_g6():
    # aws.py: g6.xlarge $0.8048/h < g6.2xlarge $0.9776/h < g6.4xlarge $1.3232/h, all 1 x L4.
    itype, why = resolve.gpu_type(catalog.cloud("aws"), "us-east-1", GpuNeed(gpu="l4", gpus=1))
    assert itype.name == "g6.xlarge"
    assert why == "cheapest of 3 aws types with 1 x l4 in us-east-1: $0.8048/h; next g6.2xlarge $0.9776/h"


def test_a_minimum_vcpu_count_skips_the_cheaper_smaller_types():
    itype, _ = resolve.gpu_type(catalog.cloud("aws"), "us-east-1", GpuNeed(gpu="l4", gpus=1, min_vcpus=16))
    assert itype.name == "g6.4xlarge"


def test_gpu_memory_alone_takes_the_cheapest_model_with_enough_and_the_stated_arch():
    aws = catalog.cloud("aws")
    # >= 16 GB: T4 (16 GB) on g4dn.xlarge at $0.526 on x86; T4G on the cheaper g5g.xlarge is Arm.
    assert resolve.gpu_type(aws, "us-east-1", GpuNeed(min_gpu_memory_gb=16))[0].name == "g4dn.xlarge"
    assert resolve.gpu_type(aws, "us-east-1", GpuNeed(min_gpu_memory_gb=16, arch="arm64"))[0].name == "g5g.xlarge"
    # >= 24 GB rules the T4 out: L4 on g6.xlarge ($0.8048) beats A10G on g5.xlarge ($1.006).
    assert resolve.gpu_type(aws, "us-east-1", GpuNeed(min_gpu_memory_gb=24))[0].name == "g6.xlarge"


@pytest.mark.parametrize("cloud", sorted(catalog.CLOUDS))
def test_every_pick_is_offered_in_the_region_and_nothing_offered_is_cheaper(cloud):
    cat = catalog.cloud(cloud)
    combos = sorted({(t.gpu, t.gpus) for t in cat.instance_types.values() if t.gpu})
    picked = 0
    for region, (gpu, count) in itertools.product(sorted(cat.regions), combos):
        offered = [t for t in cat.instance_types.values() if t.gpu == gpu and t.gpus == count and t.arch == "x86_64" and _offered(cat, t, region)]
        if not offered:
            with pytest.raises(NotOffered):
                resolve.gpu_type(cat, region, GpuNeed(gpu=gpu, gpus=count))
            continue
        itype, _ = resolve.gpu_type(cat, region, GpuNeed(gpu=gpu, gpus=count))
        assert itype in offered
        assert itype.usd_per_hour == min(t.usd_per_hour for t in offered)
        picked += 1
    assert picked > 0


# --- region and zone availability ---------------------------------------------------------------


def test_a_type_not_offered_in_the_region_is_skipped():
    # aws.py: p5en.48xlarge (8 x H200) in us-east-1, us-east-2, us-west-2 and ap-northeast-1, not eu-west-1.
    with pytest.raises(NotOffered) as err:
        resolve.gpu_type(catalog.cloud("aws"), "eu-west-1", GpuNeed(gpu="h200", gpus=8))
    assert str(err.value) == (
        "no aws type offers 8 x h200 in eu-west-1; nearby: 8 x h200 in ap-northeast-1 (asia-northeast), us-east-1 (us-east), us-east-2 (us-central), us-west-2 (us-west)"
    )


def test_on_gcp_a_region_without_zones_for_the_accelerator_offers_nothing():
    gcp = catalog.cloud("gcp")
    # gcp.py: nvidia-a100-80gb has zones in us-east4 (us-east4-c) but none in us-east1.
    itype, why = resolve.gpu_type(gcp, "us-east4", GpuNeed(gpu="a100-80gb", gpus=1))
    assert itype.name == "a2-ultragpu-1g" and why.endswith("nvidia-a100-80gb zones: us-east4-c")
    with pytest.raises(NotOffered, match=r"^no gcp type offers 1 x a100-80gb in us-east1; nearby: 1 x a100-80gb in .*us-east4 \(us-east\)"):
        resolve.gpu_type(gcp, "us-east1", GpuNeed(gpu="a100-80gb", gpus=1))


def _two_accelerators(zones_cheap: dict[str, tuple[str, ...]]) -> CloudCatalog:
    """A GCP-shaped catalog with the same GPU on two machine types whose accelerators live in
    different zones, so only zone availability separates them."""
    return CloudCatalog(
        cloud="gcp", price_region="r1", price_date="2026-10-01",
        regions={"r1": Region("r1", ("r1-a", "r1-b")), "r2": Region("r2", ("r2-a",))},
        instance_types={t.name: t for t in (
            InstanceType("cheap-1g", 8, 32, 1.0, gpu="l4", gpus=1, accelerator="acc-cheap"),
            InstanceType("dear-1g", 8, 32, 2.0, gpu="l4", gpus=1, accelerator="acc-dear"),
        )},
        default_system_instance_type="cheap-1g",
        accelerator_zones={"acc-cheap": zones_cheap, "acc-dear": {"r1": ("r1-b",), "r2": ("r2-a",)}},
    )


def test_on_gcp_the_cheaper_type_loses_where_its_accelerator_has_no_zone():
    cat = _two_accelerators({"r2": ("r2-a",)})
    assert resolve.gpu_type(cat, "r1", GpuNeed(gpu="l4"))[0].name == "dear-1g"
    assert resolve.gpu_type(cat, "r2", GpuNeed(gpu="l4"))[0].name == "cheap-1g"
    cat = _two_accelerators({"r1": ("r1-a",), "r2": ("r2-a",)})
    itype, why = resolve.gpu_type(cat, "r1", GpuNeed(gpu="l4"))
    assert itype.name == "cheap-1g" and why.endswith("acc-cheap zones: r1-a")


# --- ties -------------------------------------------------------------------------------------------


def _tied(*types: InstanceType) -> CloudCatalog:
    return CloudCatalog(
        cloud="aws", price_region="r1", price_date="2026-10-01", regions={"r1": Region("r1", ("r1-a",))},
        instance_types={t.name: t for t in types}, default_system_instance_type=types[0].name,
    )


def test_a_price_tie_goes_to_fewer_vcpus_then_less_memory_then_the_name():
    fewer_vcpus = _tied(InstanceType("b.big", 16, 64, 1.0, gpu="l4", gpus=1), InstanceType("z.small", 8, 64, 1.0, gpu="l4", gpus=1))
    itype, why = resolve.gpu_type(fewer_vcpus, "r1", GpuNeed(gpu="l4"))
    assert itype.name == "z.small"
    assert why == "cheapest of 2 aws types with 1 x l4 in r1: $1/h; next b.big $1/h (a tie, settled by fewer vCPUs, then less memory, then name)"
    less_memory = _tied(InstanceType("b.more", 8, 64, 1.0), InstanceType("z.less", 8, 32, 1.0))
    assert resolve.cpu_type(less_memory, "r1", SizeNeed(min_vcpus=8))[0].name == "z.less"
    same = _tied(InstanceType("z.same", 8, 32, 1.0), InstanceType("a.same", 8, 32, 1.0))
    # Whatever order the catalog lists them in, the name settles it: the same stack, the same type.
    assert resolve.cpu_type(same, "r1", SizeNeed(min_vcpus=8))[0].name == "a.same"
    reversed_rows = _tied(*reversed(list(same.instance_types.values())))
    assert resolve.cpu_type(reversed_rows, "r1", SizeNeed(min_vcpus=8))[0].name == "a.same"


# --- sizes for CPU pools and the system pool ---------------------------------------------------------


def test_a_size_class_takes_the_cheapest_cpu_type_of_the_arch():
    aws = catalog.cloud("aws")
    # aws.py: m6i.xlarge $0.192 < m7i.xlarge $0.2016 (4 vCPUs, 16 GB, x86); m7g.xlarge $0.1632 is Arm.
    assert resolve.cpu_type(aws, "us-east-1", SizeNeed(min_vcpus=4, min_memory_gb=16))[0].name == "m6i.xlarge"
    assert resolve.cpu_type(aws, "us-east-1", SizeNeed(min_vcpus=4, arch="arm64"))[0].name == "m7g.xlarge"
    with pytest.raises(NotOffered) as err:
        resolve.cpu_type(aws, "us-east-1", SizeNeed(min_vcpus=64))
    assert str(err.value) == "no aws CPU type has >= 64 vCPUs (x86_64); the largest is m7i.2xlarge (8 vCPUs, 32 GB, x86_64): 8 vCPUs"


def test_on_azure_the_ephemeral_os_disk_must_hold_the_pool_disk():
    azure = catalog.cloud("azure")
    # azure.py: Standard_NC24ads_A100_v4 has a 64 GB cache/temp disk; ND96amsr (8 GPUs) is not 1 per node.
    with pytest.raises(NotOffered) as err:
        resolve.gpu_type(azure, "eastus", GpuNeed(gpu="a100-80gb", gpus=1, disk_gb=100))
    assert str(err.value) == (
        "no azure type offers 1 x a100-80gb in eastus; the 1 x a100-80gb types there: "
        "Standard_NC24ads_A100_v4: its 64 GB ephemeral OS disk cannot hold diskGb 100"
    )
    assert resolve.gpu_type(azure, "eastus", GpuNeed(gpu="a100-80gb", gpus=1, disk_gb=64))[0].name == "Standard_NC24ads_A100_v4"


# --- places and DR pairs ---------------------------------------------------------------------------


@pytest.mark.parametrize("place", sorted(catalog.PLACES))
def test_every_place_maps_to_a_catalog_region_of_each_cloud_that_has_it(place):
    for cloud, region in catalog.PLACES[place].items():
        cat = catalog.cloud(cloud)
        assert region in cat.regions
        assert resolve.region_of(cat, place) == region
        assert resolve.place_of(cloud, region) == place


def test_the_dr_pair_of_a_place_is_the_clouds_pair_of_its_region():
    # aws.py us-east-1 -> us-west-2; gcp.py us-east4 -> us-central1; azure.py eastus -> westus.
    assert {c: resolve.dr_pair(catalog.cloud(c), "us-east") for c in ("aws", "gcp", "azure")} == {
        "aws": "us-west-2", "gcp": "us-central1", "azure": "westus",
    }
    assert resolve.dr_pair(catalog.cloud("aws"), "us-east-1") == "us-west-2"


def test_a_place_a_cloud_lacks_names_where_it_is():
    with pytest.raises(NotOffered) as err:
        resolve.region_of(catalog.cloud("azure"), "asia-northeast")
    assert str(err.value) == (
        "'asia-northeast' is a place with no azure region in the catalog (it maps to aws ap-northeast-1, gcp asia-northeast1); "
        "places on azure: us-east, us-central, us-west, europe-west"
    )


def test_existing_cluster_labels_a_need_by_a_catalog_row_with_that_gpu():
    itype, why = resolve.gpu_type_any_cloud(catalog.CLOUDS.values(), GpuNeed(gpu="h100", gpus=8))
    assert (itype.gpu, itype.gpus) == ("h100", 8)
    with pytest.raises(NotOffered, match=r"^no catalog type has 3 x h100; allowed: 8 x h100$"):
        resolve.gpu_type_any_cloud(catalog.CLOUDS.values(), GpuNeed(gpu="h100", gpus=3))


def test_the_catalog_rows_the_resolver_reads_are_well_formed():
    for cat in catalog.CLOUDS.values():
        for t in cat.instance_types.values():
            assert (t.gpu is None) == (t.gpus == 0), t.name
            assert t.gpu is None or t.gpu in catalog.GPU_MODELS, t.name
            assert t.regions is None or set(t.regions) <= set(cat.regions), t.name
        for acc, by_region in cat.accelerator_zones.items():
            for region, zones in by_region.items():
                assert set(zones) <= set(cat.regions[region].zones), (acc, region)

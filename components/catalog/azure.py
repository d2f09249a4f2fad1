"""Azure: AKS VM sizes and regions. Prices: pay-as-you-go Linux, eastus.

ephemeral_os_disk_gb is the VM's temp disk in GiB, the ceiling for an ephemeral OS disk on
it (AKS places the OS disk there on sizes without a large enough cache). GPU sizes checked
against Microsoft's size pages (MicrosoftDocs/azure-compute-docs,
articles/virtual-machines/sizes/gpu-accelerated/<series>-series.md, "Temp Disk Size (GiB)"):
NCasT4_v3 176/352/352/2816, NC_A100_v4 64/128/256, NDm_A100_v4 6400, NCads_H100_v5 3576,
ND_H100_v5 1024."""

from .model import LINE_RATE_BUSBW, CloudCatalog, Fabric, InstanceType, Region, line_rate_busbw

_A100_REGIONS = ("eastus", "eastus2", "southcentralus", "westus3", "westeurope", "swedencentral")
_H100_REGIONS = ("eastus", "eastus2", "southcentralus", "westus3", "swedencentral", "uksouth")

_TYPES = (
    # System (CPU) pools: the "d" sizes have a temp disk, so their OS disk can be ephemeral.
    InstanceType("Standard_D4ds_v5", 4, 16, 0.226, ephemeral_os_disk_gb=150, encryption_at_host=True),
    InstanceType("Standard_D8ds_v5", 8, 32, 0.452, ephemeral_os_disk_gb=300, encryption_at_host=True),
    InstanceType("Standard_D4pds_v5", 4, 16, 0.181, arch="arm64", ephemeral_os_disk_gb=150, encryption_at_host=True),
    # T4.
    InstanceType("Standard_NC4as_T4_v3", 4, 28, 0.526, gpu="t4", gpus=1, ephemeral_os_disk_gb=176, encryption_at_host=True),
    InstanceType("Standard_NC8as_T4_v3", 8, 56, 0.752, gpu="t4", gpus=1, ephemeral_os_disk_gb=352, encryption_at_host=True),
    InstanceType("Standard_NC16as_T4_v3", 16, 110, 1.204, gpu="t4", gpus=1, ephemeral_os_disk_gb=352, encryption_at_host=True),
    InstanceType("Standard_NC64as_T4_v3", 64, 440, 4.352, gpu="t4", gpus=4, ephemeral_os_disk_gb=2816, encryption_at_host=True),
    # A100 80 GB.
    InstanceType("Standard_NC24ads_A100_v4", 24, 220, 3.673, gpu="a100-80gb", gpus=1, regions=_A100_REGIONS, ephemeral_os_disk_gb=64, encryption_at_host=True),
    InstanceType("Standard_NC48ads_A100_v4", 48, 440, 7.346, gpu="a100-80gb", gpus=2, regions=_A100_REGIONS, ephemeral_os_disk_gb=128, encryption_at_host=True),
    InstanceType("Standard_NC96ads_A100_v4", 96, 880, 14.692, gpu="a100-80gb", gpus=4, regions=_A100_REGIONS, ephemeral_os_disk_gb=256, encryption_at_host=True),
    InstanceType("Standard_ND96amsr_A100_v4", 96, 1800, 32.77, gpu="a100-80gb", gpus=8, regions=_A100_REGIONS, ephemeral_os_disk_gb=6400, encryption_at_host=True),
    # H100.
    InstanceType("Standard_NC40ads_H100_v5", 40, 320, 6.98, gpu="h100-nvl", gpus=1, regions=_H100_REGIONS, ephemeral_os_disk_gb=3576, encryption_at_host=True),
    InstanceType("Standard_ND96isr_H100_v5", 96, 1900, 98.32, gpu="h100", gpus=8, regions=_H100_REGIONS, ephemeral_os_disk_gb=1024, encryption_at_host=True),
)

# The ND sizes' InfiniBand: one HCA per GPU, GPUDirect RDMA. NC sizes have none (TCP over
# accelerated networking).
FABRICS: dict[str, Fabric] = {
    "Standard_ND96amsr_A100_v4": Fabric(
        "infiniband", "InfiniBand HDR", nics=8, line_rate_gbps=1600, expected_busbw_gbs=line_rate_busbw(1600),
        source="MicrosoftDocs/azure-docs articles/virtual-machines/sizes/gpu-accelerated ndma100v4-series "
               "(8 x 200 Gb/s HDR InfiniBand per VM, one per GPU)",
        busbw_source=LINE_RATE_BUSBW,
    ),
    "Standard_ND96isr_H100_v5": Fabric(
        "infiniband", "InfiniBand NDR", nics=8, line_rate_gbps=3200, expected_busbw_gbs=line_rate_busbw(3200),
        source="MicrosoftDocs/azure-docs articles/virtual-machines/sizes/gpu-accelerated/includes/"
               "nd-h100-v5-series-summary.md (400 Gb/s Quantum-2 CX7 InfiniBand per GPU, 3.2 Tb/s per VM)",
        busbw_source=LINE_RATE_BUSBW,
    ),
}

CATALOG = CloudCatalog(
    cloud="azure",
    price_region="eastus",
    price_date="2026-10-01",
    regions={
        r.name: r
        for r in (
            Region("eastus", ("1", "2", "3"), pair="westus"),
            Region("westus", (), pair="eastus"),
            Region("eastus2", ("1", "2", "3"), pair="centralus"),
            Region("centralus", ("1", "2", "3"), pair="eastus2"),
            Region("southcentralus", ("1", "2", "3"), pair="northcentralus"),
            Region("northcentralus", (), pair="southcentralus"),
            Region("westus3", ("1", "2", "3"), pair="eastus"),
            Region("westeurope", ("1", "2", "3"), pair="northeurope"),
            Region("northeurope", ("1", "2", "3"), pair="westeurope"),
            Region("swedencentral", ("1", "2", "3"), pair="swedensouth"),
            Region("swedensouth", (), pair="swedencentral"),
            Region("uksouth", ("1", "2", "3"), pair="ukwest"),
            Region("ukwest", (), pair="uksouth"),
        )
    },
    instance_types={t.name: t for t in _TYPES},
    default_system_instance_type="Standard_D4ds_v5",
    fabrics=FABRICS,
    # AKS rejects spot priority on system-mode pools.
    system_pool_spot_allowed=False,
)

"""NVIDIA GPU models with their memory and MIG profiles (NVIDIA MIG user guide)."""

from .model import GpuModel

GPU_MODELS: dict[str, GpuModel] = {
    g.key: g
    for g in (
        GpuModel("t4", "NVIDIA T4", 16),
        GpuModel("t4g", "NVIDIA T4G", 16),
        GpuModel("a10g", "NVIDIA A10G", 24),
        GpuModel("l4", "NVIDIA L4", 24),
        GpuModel("l40s", "NVIDIA L40S", 48),
        GpuModel("a100", "NVIDIA A100 40GB", 40, ("1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb")),
        GpuModel("a100-80gb", "NVIDIA A100 80GB", 80, ("1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")),
        GpuModel("h100", "NVIDIA H100 80GB", 80, ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")),
        GpuModel("h100-nvl", "NVIDIA H100 NVL 94GB", 94, ("1g.12gb", "1g.24gb", "2g.24gb", "3g.47gb", "4g.47gb", "7g.94gb")),
        GpuModel("h200", "NVIDIA H200 141GB", 141, ("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb")),
        GpuModel("b200", "NVIDIA B200 180GB", 180, ("1g.23gb", "1g.45gb", "2g.45gb", "3g.90gb", "4g.90gb", "7g.180gb")),
    )
}

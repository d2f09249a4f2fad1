"""The catalog: data, not logic. GPU instance types with prices, regions, supported
Kubernetes versions and every pinned version. Config, backends and the cost estimate read it."""

from __future__ import annotations

from . import aws, azure, gcp
from .gpus import GPU_MODELS
from .model import FABRIC_KINDS, CloudCatalog, Fabric, GpuModel, InstanceType, Region
from .places import PLACES
from .versions import (
    CHARTS,
    CLUSTER_AUTOSCALER_CHARTS,
    CLUSTER_AUTOSCALER_IMAGE_TAGS,
    DEFAULT_KUBERNETES_VERSION,
    EKS_ADDONS,
    IMAGES,
    KUBERNETES_VERSIONS,
)

CLOUDS: dict[str, CloudCatalog] = {c.cloud: c for c in (aws.CATALOG, gcp.CATALOG, azure.CATALOG)}


def cloud(name: str) -> CloudCatalog:
    return CLOUDS[name]


def instance_type(cloud_name: str, name: str) -> InstanceType | None:
    cat = CLOUDS.get(cloud_name)
    return cat.instance_types.get(name) if cat else None


def find_instance_type(name: str) -> InstanceType | None:
    """An instance type of any cloud (an existing cluster names its GPUs by one)."""
    for cat in CLOUDS.values():
        if name in cat.instance_types:
            return cat.instance_types[name]
    return None


def gpu_model(key: str) -> GpuModel:
    return GPU_MODELS[key]


__all__ = [
    "CHARTS",
    "CLOUDS",
    "CLUSTER_AUTOSCALER_CHARTS",
    "CLUSTER_AUTOSCALER_IMAGE_TAGS",
    "CloudCatalog",
    "DEFAULT_KUBERNETES_VERSION",
    "EKS_ADDONS",
    "FABRIC_KINDS",
    "Fabric",
    "GPU_MODELS",
    "GpuModel",
    "IMAGES",
    "InstanceType",
    "KUBERNETES_VERSIONS",
    "PLACES",
    "Region",
    "cloud",
    "find_instance_type",
    "gpu_model",
    "instance_type",
]

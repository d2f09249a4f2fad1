"""Cloud backends. Each is a ComponentResource `(name, config, stack, opts)` with a
`.handle: ClusterHandle`; the registry below is the only place that maps cloud -> backend."""

from __future__ import annotations

import importlib

_BACKENDS = {
    "aws": ("components.clouds.aws.cluster", "EksCluster"),
    "gcp": ("components.clouds.gcp.cluster", "GkeCluster"),
    "azure": ("components.clouds.azure.cluster", "AksCluster"),
    "existing": ("components.clouds.existing.cluster", "ExistingCluster"),
}


# Each cloud's stores (components/clouds/<cloud>/stores.py): model store, registry, backups.
_STORES = {
    "aws": ("components.clouds.aws.stores", "S3Stores"),
    "gcp": ("components.clouds.gcp.stores", "GcsStores"),
    "azure": ("components.clouds.azure.stores", "BlobStores"),
    "existing": ("components.clouds.existing.stores", "ExistingStores"),
}


def stores_for(cloud: str):
    module, cls = _STORES[cloud]
    return getattr(importlib.import_module(module), cls)


def backend_for(cloud: str):
    # Imported lazily: a stack pays only for its own cloud's SDK.
    module, cls = _BACKENDS[cloud]
    return getattr(importlib.import_module(module), cls)

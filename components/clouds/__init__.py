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


def backend_for(cloud: str):
    # Imported lazily: a stack pays only for its own cloud's SDK.
    module, cls = _BACKENDS[cloud]
    return getattr(importlib.import_module(module), cls)

"""Notebooks: JupyterHub (zero-to-jupyterhub chart) with a CPU profile and GPU profiles
generated from the GPU pools. A GPU profile asks for the pool's GPUs as a limit, selects
the pool's portable label and tolerates the GPU taint; each user's home volume is a claim
on the block class. The hub and proxy stay on the system pool; the proxy is ClusterIP
(reach it with `kubectl port-forward` or through the cluster's ingress).

No team role: users sign in to JupyterHub, not to the Kubernetes API, and the hub spawns
their servers with its own service account in `jupyterhub` (KubeSpawner), so nothing is
aggregated into `ml-team`, and teams hold no rights in `jupyterhub`."""

from __future__ import annotations

from typing import Any, Sequence

from ...config import Notebooks as NotebookSettings
from ...config import NotebookProfile
from ...conventions import GPU_TAINT, POOL_LABEL
from ...handle import ClusterHandle
from ..common import gpu_tolerations
from .queueing import pool_resource
from ..common import system_placement
from .releases import image_parts

NAMESPACE = "jupyterhub"
# System-pool requests (the chart sets none; these are ours).
REQUESTS = {"hub": {"cpu": "100m", "memory": "512Mi"}, "proxy": {"cpu": "50m", "memory": "128Mi"}}


def _image(key: str) -> dict[str, str]:
    name, tag = image_parts(key)
    return {"name": name, "tag": tag}


def profiles(handle: ClusterHandle, settings: NotebookSettings) -> list[dict[str, Any]]:
    """The spawn form's profiles: CPU first (the default), then one per GPU profile."""
    facts = {f.pool.name: f for f in handle.gpu_pools}
    chosen: Sequence[NotebookProfile] = settings.profiles or [
        NotebookProfile(name=f"gpu-{f.pool.name}", pool=f.pool.name, gpus=1) for f in handle.gpu_pools
    ]
    cpu_image = _image("notebook-cpu")
    out: list[dict[str, Any]] = [{
        "display_name": "CPU",
        "slug": "cpu",
        "description": "CPU only: 2 cores and 8 GiB guaranteed.",
        "default": True,
        "kubespawner_override": {"image": f"{cpu_image['name']}:{cpu_image['tag']}", "cpu_guarantee": 2, "mem_guarantee": "8G"},
    }]
    gpu_image = _image("notebook-gpu")
    for profile in chosen:
        pool = facts[profile.pool]
        resource = pool_resource(pool, handle)
        out.append({
            "display_name": f"{profile.gpus}x {pool.gpu_model.upper()} ({profile.pool})",
            "slug": profile.name,
            "description": f"{profile.gpus} GPU(s) on the {profile.pool} pool; the pool scales up on demand, so the first start can take minutes.",
            "kubespawner_override": {
                "image": f"{gpu_image['name']}:{gpu_image['tag']}",
                "extra_resource_limits": {resource: str(profile.gpus)},
                "node_selector": {POOL_LABEL: profile.pool},
                "tolerations": [GPU_TAINT.toleration(), *gpu_tolerations(handle)[1:]],
                "cpu_guarantee": 2,
                "mem_guarantee": "8G",
            },
        })
    return out


def release_values(handle: ClusterHandle, settings: NotebookSettings) -> dict[str, Any]:
    placement = system_placement(handle)
    return {
        "hub": {
            "resources": {"requests": dict(REQUESTS["hub"])},
            "db": {"pvc": {"storageClassName": settings.storage_class}},
            **placement,
        },
        "proxy": {
            "service": {"type": "ClusterIP"},
            "chp": {"resources": {"requests": dict(REQUESTS["proxy"])}, **placement},
        },
        "singleuser": {
            "image": _image("notebook-cpu"),
            # The chart's iptables init container needs NET_ADMIN; its NetworkPolicy already
            # denies egress to the cloud metadata server (egressAllowRules.cloudMetadataServer false).
            "cloudMetadata": {"blockWithIptables": False},
            "storage": {"type": "dynamic", "capacity": settings.home_storage, "dynamic": {"storageClass": settings.storage_class}},
            "profileList": profiles(handle, settings),
        },
        # No second scheduler, placeholder pods or image-puller DaemonSets: GPU pools scale
        # from zero, and pre-pulling notebook images onto every node costs more than it saves.
        "scheduling": {"userScheduler": {"enabled": False}, "userPlaceholder": {"enabled": False}, "podPriority": {"enabled": False}},
        "prePuller": {"hook": {"enabled": False}, "continuous": {"enabled": False}},
        "cull": {"enabled": True, "timeout": 3600},
    }




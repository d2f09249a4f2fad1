"""NVIDIA's mig-manager (EKS, existing clusters): cuts each MIG pool's GPUs into the pool's
profile where the cloud does not, pausing the other GPU agents on the node meanwhile."""

from __future__ import annotations

from typing import Any

from ... import catalog
from ...conventions import MIG_CONFIG_LABEL
from ...handle import ClusterHandle, GpuPoolFacts
from ..common import GPU_NAMESPACE, checkov_skips, gpu_tolerations, node_name_env, pod_security, resources, sorted_dict
from .agents import CONFIG_CHECKSUM_ANNOTATION, MIG_MANAGER, checksum, daemonset_spec

MIG_MANAGER_CONFIG_MAP = "nvidia-mig-manager-config"

HOST_GPU_CLIENTS = [
    "nvsm.service", "nvsm-mqtt.service", "nvsm-core.service", "nvsm-api-gateway.service", "nvsm-notifier.service",
    "nv_peer_mem.service", "nvidia-dcgm.service", "dcgm-exporter.service",
]


# Instances of one profile that fit a GPU, by slice count (NVIDIA MIG user guide; the same
# counts as mig-parted v0.15.0 deployments/systemd/config-default.yaml, e.g. all-1g.10gb: 7 on
# an 80 GB part, all-1g.20gb: 4, all-2g.20gb: 3, all-3g.40gb: 2, all-4g/7g: 1).
_INSTANCES_BY_SLICES = {1: 7, 2: 3, 3: 2, 4: 1, 7: 1}


def mig_instances_per_gpu(gpu_model: str, profile: str) -> int:
    """How many `profile` instances mig-parted makes per GPU: 7 of the small 1g profile,
    4 of the 1g profile with twice its memory, otherwise by slice count."""
    profiles = catalog.gpu_model(gpu_model).mig_profiles
    slices = int(profile.split("g.", 1)[0])
    one_g = [p for p in profiles if p.startswith("1g.")]
    if slices == 1 and len(one_g) > 1 and profile != one_g[0]:
        return 4
    return _INSTANCES_BY_SLICES[slices]


def mig_parted_config(pools: list[GpuPoolFacts]) -> dict[str, Any]:
    """mig-parted's config: `all-disabled` plus one `all-<profile>` layout per profile the
    MIG pools use; the backend labels each pool's nodes `nvidia.com/mig.config=all-<profile>`."""
    configs: dict[str, Any] = {"all-disabled": [{"devices": "all", "mig-enabled": False}]}
    for facts in pools:
        mig = facts.pool.sharing.mig if facts.pool.sharing else None
        if mig is None:
            continue
        configs[f"all-{mig.profile}"] = [{
            "devices": "all",
            "mig-enabled": True,
            "mig-devices": {mig.profile: mig_instances_per_gpu(facts.gpu_model, mig.profile)},
        }]
    return {"version": "v1", "mig-configs": sorted_dict(configs)}


def mig_manager_daemonset_spec(handle: ClusterHandle, config_data: dict[str, str]) -> dict[str, Any]:
    """NVIDIA's mig-manager (mig-parted v0.15.0 deployments/container/nvidia-mig-manager-example.yaml):
    privileged with the host's PID and IPC namespaces and its root and /sys, because it
    toggles MIG mode and creates GPU instances through the driver and stops host GPU
    clients. It runs only on nodes that ask for a MIG layout."""
    manager = {
        "name": MIG_MANAGER,
        "image": catalog.IMAGES[MIG_MANAGER],
        "imagePullPolicy": "IfNotPresent",
        "env": [
            node_name_env(),
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "CONFIG_FILE", "value": "/mig-parted-config/config.yaml"},
            {"name": "GPU_CLIENTS_FILE", "value": "/gpu-clients/clients.yaml"},
            {"name": "HOST_ROOT_MOUNT", "value": "/host"},
            {"name": "HOST_NVIDIA_DIR", "value": "/usr/local/nvidia"},
            {"name": "HOST_KUBELET_SYSTEMD_SERVICE", "value": "kubelet.service"},
            # Where it looks for the GPU agents' pods (by their `app` label, see MIG_CLIENTS)
            # and waits for them to go before it cuts: ours, not upstream's default `default`.
            {"name": "DEFAULT_GPU_CLIENTS_NAMESPACE", "value": GPU_NAMESPACE},
            {"name": "HOST_MIG_MANAGER_STATE_FILE", "value": "/etc/systemd/system/nvidia-mig-manager.service.d/override.conf"},
            {"name": "WITH_SHUTDOWN_HOST_GPU_CLIENTS", "value": "true"},
            {"name": "WITH_REBOOT", "value": "false"},
        ],
        "resources": resources("50m", "128Mi", "500m", "512Mi"),
        "securityContext": {"privileged": True},
        "volumeMounts": [
            {"name": "host-root", "mountPath": "/host"},
            {"name": "host-sys", "mountPath": "/sys"},
            {"name": "gpu-clients", "mountPath": "/gpu-clients", "readOnly": True},
            {"name": "mig-parted-config", "mountPath": "/mig-parted-config", "readOnly": True},
        ],
    }
    pod = {
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": MIG_CONFIG_LABEL, "operator": "Exists"}]},
        ]}}},
        "automountServiceAccountToken": True,  # it reads and labels its node
        "containers": [manager],
        "hostIPC": True,
        "hostPID": True,
        "nodeSelector": sorted_dict(dict(handle.gpu_node_selector)),
        "priorityClassName": "system-node-critical",
        # Privileged containers run unconfined whatever this says; stated for the pod anyway.
        "securityContext": pod_security(),
        "serviceAccountName": MIG_MANAGER,
        "tolerations": gpu_tolerations(handle),
        "volumes": [
            {"name": "host-root", "hostPath": {"path": "/", "type": "Directory"}},
            {"name": "host-sys", "hostPath": {"path": "/sys", "type": "Directory"}},
            {"name": "gpu-clients", "configMap": {"name": MIG_MANAGER_CONFIG_MAP, "items": [{"key": "clients.yaml", "path": "clients.yaml"}]}},
            {"name": "mig-parted-config", "configMap": {"name": MIG_MANAGER_CONFIG_MAP, "items": [{"key": "config.yaml", "path": "config.yaml"}]}},
        ],
    }
    return daemonset_spec(MIG_MANAGER, pod, {CONFIG_CHECKSUM_ANNOTATION: checksum(config_data)})


MIG_MANAGER_SKIPS = checkov_skips({
    "CKV_K8S_8": "mig-manager serves no HTTP endpoint",
    "CKV_K8S_9": "mig-manager serves no HTTP endpoint",
    "CKV_K8S_16": "mig-manager switches MIG mode and creates GPU instances through the driver",
    "CKV_K8S_17": "mig-manager stops host GPU clients by PID",
    "CKV_K8S_18": "mig-manager shares host IPC as NVIDIA's manifest does",
    "CKV_K8S_19": "mig-manager shares host IPC as NVIDIA's manifest does",
    "CKV_K8S_20": "a privileged container (mig-manager)",
    "CKV_K8S_22": "mig-manager persists its state on the host root",
    "CKV_K8S_23": "a privileged container (mig-manager)",
    "CKV_K8S_28": "a privileged container (mig-manager)",
    "CKV_K8S_37": "a privileged container (mig-manager)",
    "CKV_K8S_38": "mig-manager labels its node through the API",
    "CKV_K8S_40": "a privileged container (mig-manager)",
})

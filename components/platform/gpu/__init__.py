"""The GPU layer, one module per agent NVIDIA ships for Kubernetes:

    component.py          the Gpu component: which agents run here, their objects and order
    agents.py             what every agent DaemonSet shares (pod spec, stepping aside for MIG)
    sharing.py            the device plugin's per-pool configs and the config-manager
    device_plugin.py      NVIDIA's device plugin
    feature_discovery.py  GPU Feature Discovery (with Node Feature Discovery's master)
    dcgm_exporter.py      the DCGM exporter's GPU metrics
    mig_manager.py        mig-manager, where the cloud does not cut MIG GPUs itself
"""

from __future__ import annotations

from .component import ExporterTarget, Gpu, GpuArgs
from .mig_manager import mig_instances_per_gpu, mig_parted_config
from .sharing import config_map_data, device_plugin_configs

__all__ = ["ExporterTarget", "Gpu", "GpuArgs", "config_map_data", "device_plugin_configs", "mig_instances_per_gpu", "mig_parted_config"]

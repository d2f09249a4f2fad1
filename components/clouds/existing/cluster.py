"""ExistingCluster: the platform on a cluster the user already has (on-prem GPU servers,
kind or minikube on a laptop). Nothing cloud-side is created: the backend reads the
kubeconfig, makes a Kubernetes provider from it and states, from config, the few facts a
bare cluster cannot tell (storage provisioners, whether a device plugin already runs on
the GPU nodes, which node label marks them)."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from . import load_balancer
from ... import catalog
from ...config import ConfigError, GpuPool, StackConfig, read_kubeconfig
from ...conventions import gpu_pool_labels
from ...handle import ClusterHandle, GpuMetricsSource, GpuPoolFacts, StorageClassSpec

def _pool_facts(pool: GpuPool, cloud_manages_device_plugin: bool) -> GpuPoolFacts:
    # The pool only names a GPU model (by an instance type of any cloud in the catalog);
    # config validation has already checked that the type exists and has GPUs.
    itype = catalog.find_instance_type(pool.instance_type)
    assert itype is not None, pool.instance_type
    return GpuPoolFacts(
        pool=pool,
        gpu_model=itype.gpu or "",
        gpus_per_node=itype.gpus,
        node_labels=gpu_pool_labels(pool, "existing", cloud_manages_device_plugin),
    )


class ExistingCluster(pulumi.ComponentResource):
    """`cloud: existing`. `.handle` describes the cluster for the platform layer."""

    def __init__(self, name: str, config: StackConfig, stack: str, opts: Optional[pulumi.ResourceOptions] = None):
        settings = config.existing
        if settings is None:  # config validation reports this first; kept for direct callers
            raise ConfigError(["existing: required for cloud existing; it must set at least existing.kubeconfig"])
        # Read and check the kubeconfig before registering anything.
        text, context = read_kubeconfig(settings)
        super().__init__("mlclusters:clouds:ExistingCluster", name, None, opts)

        kubeconfig = pulumi.Output.secret(text)
        provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig,
            context=context,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # A device plugin someone else runs (the GPU operator) is, for the platform, the
        # same as one the cloud runs: deploy none, and leave sharing to its owner.
        external_plugin = settings.device_plugin_installed
        label_key, label_value = settings.gpu_node_label.split("=", 1)
        block = StorageClassSpec(
            provisioner=settings.block_storage_provisioner,
            parameters=dict(sorted(settings.block_storage_parameters.items())),
            encrypted=settings.storage_encrypted,
        )
        files = None
        if settings.file_storage_provisioner is not None:
            files = StorageClassSpec(
                provisioner=settings.file_storage_provisioner,
                parameters=dict(sorted(settings.file_storage_parameters.items())),
                access_mode="ReadWriteMany",
                encrypted=settings.storage_encrypted,
            )
        self.context = context
        self.handle = ClusterHandle(
            name=config.name_for(stack),
            cloud="existing",
            kubernetes_version=config.kubernetes_version,
            kubeconfig=kubeconfig,
            provider=provider,
            block_storage=block,
            file_storage=files,
            cloud_manages_device_plugin=external_plugin,
            gpu_metrics=GpuMetricsSource(managed_by_cloud=False),
            gpu_pools=[_pool_facts(p, external_plugin) for p in config.gpu_pools],
            gpu_node_selector={label_key: label_value},
            system_tolerations=[],
            internal_lb_annotations=dict(load_balancer.INTERNAL),
            public_lb_annotations=dict(load_balancer.PUBLIC),
            workload_identity_annotation=None,
            ready=[],
            # The nodes are the user's: nothing labels a system pool here.
            system_node_selector={},
        )
        self.register_outputs({"kubeconfig": kubeconfig, "context": context})

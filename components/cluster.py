"""MlCluster: picks the cloud backend, then installs the platform on what it returns."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import pulumi

from .clouds import backend_for, stores_for
from .config import StackConfig, pool_provisioners
from .dr import StoresArgs, effective_config, plan_for
from .platform import Platform, PlatformArgs


@dataclass(frozen=True)
class MlClusterArgs:
    config: StackConfig
    stack: str


class MlCluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: MlClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:index:MlCluster", name, None, opts)
        # A standby that has not failed over builds its GPU pools at 0 nodes (components/dr.py).
        self.dr = plan_for(args.config, args.stack)
        config = effective_config(args.config, self.dr)
        backend_cls = backend_for(config.cloud)
        self.backend = backend_cls(name, config, args.stack, pulumi.ResourceOptions(parent=self))
        self.handle = self.backend.handle
        # Each GPU pool's provisioner, resolved from the config the same way on every cloud.
        provisioners = pool_provisioners(config)
        self.handle.gpu_pools = [replace(f, provisioner=provisioners[f.pool.name]) for f in self.handle.gpu_pools]
        # The model store, registry and backup bucket (replicated with DR), after the cluster
        # whose identities they bind.
        self.stores = stores_for(config.cloud)(
            f"{name}-stores", StoresArgs(config, args.stack, self.backend, self.dr), pulumi.ResourceOptions(parent=self)
        )
        self.handle.model_store = self.stores.model_store
        self.handle.backup = self.stores.backup
        self.kubeconfig = self.handle.kubeconfig
        self.cluster_name = self.handle.name
        # The platform layer installs on whatever the backend returned, once it is ready.
        self.platform = Platform(
            name,
            PlatformArgs(self.handle, config.platform, tuple(config.namespaces),
                         config.alert_receivers(), config.alert_routes(), dr=self.dr,
                         retain_shared_volumes=config.is_prod,
                         backup_repository_password=config.velero_repository_password),
            pulumi.ResourceOptions(parent=self, depends_on=list(self.handle.ready)),
        )
        self.grafana_admin_password = self.platform.grafana_admin_password
        self.register_outputs({
            "kubeconfig": self.kubeconfig,
            "clusterName": self.cluster_name,
            "grafanaAdminPassword": self.grafana_admin_password,
        })

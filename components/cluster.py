"""MlCluster: picks the cloud backend, then installs the platform on what it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from .clouds import backend_for
from .config import StackConfig
from .platform import Platform, PlatformArgs


@dataclass(frozen=True)
class MlClusterArgs:
    config: StackConfig
    stack: str


class MlCluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: MlClusterArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:index:MlCluster", name, None, opts)
        backend_cls = backend_for(args.config.cloud)
        self.backend = backend_cls(name, args.config, args.stack, pulumi.ResourceOptions(parent=self))
        self.handle = self.backend.handle
        self.kubeconfig = self.handle.kubeconfig
        self.cluster_name = self.handle.name
        # The platform layer installs on whatever the backend returned, once it is ready.
        self.platform = Platform(
            name,
            PlatformArgs(self.handle, args.config.platform, tuple(args.config.namespaces),
                         args.config.alert_receivers(), args.config.alert_routes()),
            pulumi.ResourceOptions(parent=self, depends_on=list(self.handle.ready)),
        )
        self.grafana_admin_password = self.platform.grafana_admin_password
        self.register_outputs({
            "kubeconfig": self.kubeconfig,
            "clusterName": self.cluster_name,
            "grafanaAdminPassword": self.grafana_admin_password,
        })

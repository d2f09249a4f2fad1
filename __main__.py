"""ml-clusters: a GPU-ready Kubernetes platform for ML, one stack file per environment."""

import pulumi

from components.cluster import MlCluster, MlClusterArgs
from components.config import load_from_pulumi
from components.platform.workloads.notebooks import hub_access

# Every check of the stack's config runs here, before any resource is registered.
# A ConfigError is a pulumi.RunError: Pulumi prints its lines and exits non-zero, no traceback.
config = load_from_pulumi()

cluster = MlCluster(config.name_for(pulumi.get_stack()), MlClusterArgs(config=config, stack=pulumi.get_stack()))

pulumi.export("cloud", config.cloud)
pulumi.export("region", config.region)
pulumi.export("environment", config.environment)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("gpuPools", [p.name for p in config.gpu_pools])
if cluster.grafana_admin_password is not None:
    pulumi.export("grafanaAdminPassword", cluster.grafana_admin_password)
if config.platform.workloads.notebooks.enabled:
    pulumi.export("notebooks", hub_access(config.platform.workloads.notebooks))

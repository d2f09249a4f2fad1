"""Violating and compliant scenarios for every rule of the pack.

The compliant bases below follow REFERENCE.md's secure defaults; each violating scenario
changes one thing. A scenario is a list of resources evaluated together (stack rules see
all of them). `expect` is a fragment the violation message must contain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components import catalog
from policies.rules import types as t

from .helpers import DELETE, FakeResource, patch, res

# --- Compliant bases -------------------------------------------------------------------------

EKS_CLUSTER = {
    "name": "ml-prod",
    "version": "1.35",
    "roleArn": "arn:aws:iam::123456789012:role/ml-prod-cluster",
    "vpcConfig": {
        "subnetIds": ["subnet-a", "subnet-b"],
        "endpointPrivateAccess": True,
        "endpointPublicAccess": True,
        "publicAccessCidrs": ["203.0.113.0/24"],
    },
    "accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True},
    "encryptionConfig": {"provider": {"keyArn": "arn:aws:kms:us-east-1:123456789012:key/1234"}, "resources": ["secrets"]},
    "enabledClusterLogTypes": ["api", "audit", "authenticator"],
    "deletionProtection": True,
    "bootstrapSelfManagedAddons": False,
}
EKS_GPU_NODE_GROUP = {
    "clusterName": "ml-prod",
    "nodeGroupName": "h100",
    "amiType": "AL2023_x86_64_NVIDIA",
    "instanceTypes": ["p5.48xlarge"],
    "capacityType": "ON_DEMAND",
    "scalingConfig": {"minSize": 0, "maxSize": 2, "desiredSize": 0},
    "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}],
    "labels": {"ml-clusters.io/gpu": "true", "ml-clusters.io/pool": "h100"},
    "launchTemplate": {"id": "lt-0123456789", "version": "1"},
    # p5 has EFA; this base goes without it and says why (fabric-prod-pool-uses-its-fabric).
    "tags": {"ml-clusters/interconnect-waiver": "single-node jobs only"},
}
# A Karpenter GPU NodePool as components/clouds/aws/capacity.py writes it (karpenter.sh/v1).
KARPENTER_GPU_NODE_POOL = {
    "apiVersion": "karpenter.sh/v1",
    "kind": "NodePool",
    # p5 has EFA; like the node group base, this one goes without it and says why (annotation).
    "metadata": {"name": "h100", "annotations": {"ml-clusters/interconnect-waiver": "single-node jobs only"}},
    "spec": {
        "template": {
            "metadata": {"labels": {"ml-clusters.io/gpu": "true", "ml-clusters.io/pool": "h100"}},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "h100"},
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["p5.48xlarge"]},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["reserved", "on-demand"]},
                ],
                "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
                "expireAfter": "Never",
            },
        },
        "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m", "budgets": [{"nodes": "1"}]},
        "limits": {"nodes": "4", "nvidia.com/gpu": "32"},
    },
}
# Its EC2NodeClass's node settings (karpenter.k8s.aws/v1), as capacity.py writes them.
KARPENTER_NODE_CLASS = {
    "apiVersion": "karpenter.k8s.aws/v1",
    "kind": "EC2NodeClass",
    "metadata": {"name": "h100"},
    "spec": {
        "role": "ml-prod-karpenter-node",
        "amiSelectorTerms": [{"alias": "al2023@v20260827"}],
        "subnetSelectorTerms": [{"id": "subnet-1"}],
        "securityGroupSelectorTerms": [{"id": "sg-1"}],
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": "500Gi", "volumeType": "gp3", "encrypted": True}}],
    },
}
# A CPU NodePool: no GPU label, taint or GPU type, so no GPU rule applies to it.
KARPENTER_CPU_NODE_POOL = {
    "apiVersion": "karpenter.sh/v1",
    "kind": "NodePool",
    "metadata": {"name": "cpu"},
    "spec": {"template": {"spec": {
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "cpu"},
        "requirements": [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["m7i.xlarge"]}],
    }}},
}
EKS_SYSTEM_NODE_GROUP = {
    "clusterName": "ml-prod",
    "amiType": "AL2023_x86_64_STANDARD",
    "instanceTypes": ["m7i.xlarge"],
    "capacityType": "ON_DEMAND",
    "scalingConfig": {"minSize": 2, "maxSize": 4, "desiredSize": 2},
    "labels": {"ml-clusters.io/gpu": "false"},
    "launchTemplate": {"id": "lt-0123456780", "version": "1"},
}
LAUNCH_TEMPLATE = {
    "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeType": "gp3", "volumeSize": 200}}],
}
KMS_KEY = {"description": "EKS secrets", "enableKeyRotation": True, "deletionWindowInDays": 30}
EFS = {"encrypted": True, "performanceMode": "generalPurpose"}
# amazon-vpc-cni-k8s v1.23.0 charts/aws-vpc-cni/values.yaml: enableNetworkPolicy "false" by default.
VPC_CNI = {"clusterName": "ml-prod", "addonName": "vpc-cni", "addonVersion": "v1.20.4-eksbuild.1",
           "configurationValues": '{"enableNetworkPolicy": "true"}'}

GKE_CLUSTER = {
    "name": "ml-prod",
    "location": "us-central1",
    "removeDefaultNodePool": True,
    "initialNodeCount": 1,
    "releaseChannel": {"channel": "REGULAR"},
    "privateClusterConfig": {"enablePrivateNodes": True, "enablePrivateEndpoint": False, "masterIpv4CidrBlock": "172.16.0.0/28"},
    "masterAuthorizedNetworksConfig": {"cidrBlocks": [{"cidrBlock": "203.0.113.0/24", "displayName": "office"}]},
    "workloadIdentityConfig": {"workloadPool": "my-project.svc.id.goog"},
    "databaseEncryption": {"state": "ENCRYPTED", "keyName": "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"},
    "enableShieldedNodes": True,
    "datapathProvider": "ADVANCED_DATAPATH",
    "enableIntranodeVisibility": True,
    "loggingConfig": {"enableComponents": ["SYSTEM_COMPONENTS", "WORKLOADS"]},
    "deletionProtection": True,
}
GKE_GPU_POOL = {
    "cluster": "ml-prod",
    "nodeLocations": ["us-central1-a"],
    "autoscaling": {"minNodeCount": 0, "maxNodeCount": 2, "locationPolicy": "ANY"},
    "management": {"autoRepair": True, "autoUpgrade": True},
    "nodeConfig": {
        "machineType": "g2-standard-8",
        "guestAccelerators": [{"type": "nvidia-l4", "count": 1, "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"}}],
        "serviceAccount": "ml-prod-nodes@my-project.iam.gserviceaccount.com",
        "workloadMetadataConfig": {"mode": "GKE_METADATA"},
        "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True},
        "imageType": "COS_CONTAINERD",
        "spot": False,
    },
}
GCP_CRYPTO_KEY = {"keyRing": "projects/p/locations/us-central1/keyRings/r", "rotationPeriod": "7776000s", "purpose": "ENCRYPT_DECRYPT"}

AKS_SYSTEM_PROFILE = {
    "name": "system",
    "mode": "System",
    "vmSize": "Standard_D4ds_v5",
    "count": 2,
    "enableAutoScaling": True,
    "minCount": 2,
    "maxCount": 4,
    "osDiskType": "Ephemeral",
    "nodeTaints": ["CriticalAddonsOnly=true:NoSchedule"],
    "enableNodePublicIP": False,
}
AKS_CLUSTER = {
    "resourceName": "ml-prod",
    "apiServerAccessProfile": {"authorizedIPRanges": ["203.0.113.0/24"]},
    "aadProfile": {"managed": True, "enableAzureRBAC": True, "adminGroupObjectIDs": ["00000000-0000-0000-0000-000000000001"]},
    "disableLocalAccounts": True,
    "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkPolicy": "cilium", "networkDataplane": "cilium"},
    "oidcIssuerProfile": {"enabled": True},
    "securityProfile": {
        "workloadIdentity": {"enabled": True},
        "defender": {"logAnalyticsWorkspaceResourceId": "ws-id", "securityMonitoring": {"enabled": True}},
        "imageCleaner": {"enabled": True, "intervalHours": 168},
    },
    "autoUpgradeProfile": {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"},
    "addonProfiles": {"azurepolicy": {"enabled": True}},
    "agentPoolProfiles": [AKS_SYSTEM_PROFILE],
}
AKS_GPU_POOL = {
    "agentPoolName": "h100",
    "mode": "User",
    "vmSize": "Standard_ND96isr_H100_v5",
    "enableAutoScaling": True,
    "minCount": 0,
    "maxCount": 2,
    "nodeTaints": ["nvidia.com/gpu=present:NoSchedule"],
    "osDiskType": "Ephemeral",
    "scaleSetPriority": "Regular",
    "enableNodePublicIP": False,
    # ND H100 v5 has InfiniBand; this base goes without it and says why.
    "tags": {"ml-clusters/interconnect-waiver": "single-node jobs only"},
}
KEY_VAULT = {"properties": {"enablePurgeProtection": True, "enableSoftDelete": True}}


def workload(kind_type: str, pod_spec: dict[str, Any]) -> dict[str, Any]:
    """A workload of `kind_type` wrapping `pod_spec` where that kind keeps it."""
    path = t.POD_SPEC_PATHS[kind_type]
    body: dict[str, Any] = pod_spec
    for key in reversed(path[1:]):
        body = {key: body}
    return {"apiVersion": "v1", "kind": kind_type.rsplit(":", 1)[1], "metadata": {"name": "w", "namespace": "team-a"}, "spec": body}


SERVER = {
    "name": "server",
    "image": "vllm/vllm-openai:v0.6.3",
    "resources": {"requests": {"nvidia.com/gpu": "1", "cpu": "4"}, "limits": {"nvidia.com/gpu": "1"}},
    "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True},
}
POD_SPEC = {"containers": [SERVER], "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}
DEVICE_PLUGIN_SPEC = {
    "priorityClassName": "system-node-critical",
    "containers": [{"name": "plugin", "image": "nvcr.io/nvidia/k8s-device-plugin:v0.20.0", "securityContext": {"capabilities": {"drop": ["ALL"]}}}],
    "volumes": [{"name": "device-plugin", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}}],
}
# NVIDIA's mig-manager as the platform renders it (privileged, host PID/IPC, host / and /sys).
MIG_MANAGER = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {"name": "nvidia-mig-manager", "namespace": "gpu-system"},
    "spec": {"template": {"spec": {
        "hostPID": True,
        "hostIPC": True,
        "containers": [{"name": "nvidia-mig-manager", "image": catalog.IMAGES["nvidia-mig-manager"], "securityContext": {"privileged": True}}],
        "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}, {"name": "host-sys", "hostPath": {"path": "/sys"}}],
    }}},
}
KPS_RELEASE_VALUES = {
    "alertmanager": {
        "enabled": True,
        "config": {
            "route": {"receiver": "null", "routes": [
                {"receiver": "null", "matchers": ['alertname = "Watchdog"']},
                {"receiver": "ml-critical", "matchers": ['severity = "critical"']},
            ]},
            "receivers": [{"name": "null"}, {"name": "ml-critical", "pagerduty_configs": [{"routing_key_file": "/etc/alertmanager/secrets/x/key"}]}],
        },
    },
}
KPS_RELEASE = {"chart": "kube-prometheus-stack", "version": "88.5.3", "values": KPS_RELEASE_VALUES}
SERVING_NAMESPACE = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {
        "name": "team-a",
        "labels": {"ml-clusters.io/serving": "true", "pod-security.kubernetes.io/enforce": "restricted"},
    },
}
NETWORK_POLICY = {"metadata": {"name": "default-deny", "namespace": "team-a"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
RESOURCE_QUOTA = {"metadata": {"name": "quota", "namespace": "team-a"}, "spec": {"hard": {"requests.nvidia.com/gpu": "4"}}}
INTERNAL_SERVICE = {
    "metadata": {"name": "model", "namespace": "team-a", "annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}},
    "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
}
EBS_CLASS = {"provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3", "encrypted": "true"}}


# --- Cases ----------------------------------------------------------------------------------


# Disaster recovery bases.
MLCLUSTER = "mlclusters:clouds:EksCluster"  # a backend component: the stack builds a cluster
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
AZ_POLICY = "azure-native:storage:ObjectReplicationPolicy"
AZ_BLOB = "azure-native:storage:BlobServiceProperties"
S3_RULES = {
    "bucket": "m-east",
    "role": "arn:aws:iam::123456789012:role/replication",
    "rules": [{
        "id": "models", "status": "Enabled", "filter": {}, "deleteMarkerReplication": {"status": "Enabled"},
        "destination": {
            "bucket": "arn:aws:s3:::m-west",
            "replicationTime": {"status": "Enabled", "time": {"minutes": 15}},
            "metrics": {"status": "Enabled", "eventThreshold": {"minutes": 15}},
        },
    }],
}
DUAL_REGION = {
    "location": "US", "rpo": "ASYNC_TURBO", "versioning": {"enabled": True},
    "customPlacementConfig": {"dataLocations": ["US-CENTRAL1", "US-EAST4"]},
}
VELERO = {
    "chart": "velero",
    "values": {
        "configuration": {"backupStorageLocation": [{"name": "default", "provider": "aws", "bucket": "b", "accessMode": "ReadWrite"}]},
        "schedules": {"cluster": {"schedule": "0 * * * *", "annotations": {"ml-clusters.io/rpo-minutes": "60"}, "template": {"ttl": "720h"}}},
    },
}


# The model store's audit trail (prod): a store bucket and its log bucket, per cloud.
S3_STORE = {"bucket": "ml-prod-models-us-east-1", "forceDestroy": False}
S3_LOG_BUCKET = {"bucket": "ml-prod-access-logs-us-east-1", "forceDestroy": False}
S3_LOGGING = {"bucket": "ml-prod-models-us-east-1", "targetBucket": "ml-prod-access-logs-us-east-1", "targetPrefix": "models/"}
GCS_STORE = {"name": "ml-prod-models-1a2b3c", "project": "ml-prod", "location": "US"}
STORAGE_AUDIT = {"project": "ml-prod", "service": "storage.googleapis.com",
                 "auditLogConfigs": [{"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}]}
AZ_STORE = {"accountName": "mlprodstore1a2b3c4d", "kind": "StorageV2", "location": "eastus"}
BLOB_DIAGNOSTICS = {
    "resourceUri": "/subscriptions/s/resourceGroups/ml-prod-rg/providers/Microsoft.Storage/storageAccounts/mlprodstore1a2b3c4d/blobServices/default",
    "workspaceId": "/subscriptions/s/resourceGroups/ml-prod-rg/providers/Microsoft.OperationalInsights/workspaces/ml-prod-logs",
    "logs": [{"category": c, "enabled": True} for c in ("StorageRead", "StorageWrite", "StorageDelete")],
}


def s3_trail(store=S3_STORE, logging=S3_LOGGING, log_bucket=S3_LOG_BUCKET) -> list[FakeResource]:
    out = [res(t.S3_BUCKET, store, "models"), res(t.S3_BUCKET, log_bucket, "logs")]
    return out + ([res(t.S3_BUCKET_LOGGING, logging, "models")] if logging is not None else [])


@dataclass
class Case:
    rule: str
    bad: list[list[FakeResource]]
    good: list[list[FakeResource]]
    env: str = "prod"
    expect: list[str] = field(default_factory=list)  # one fragment per bad scenario (optional)


def one(type_: str, inputs: dict[str, Any], name: str = "r", protect: bool = False) -> list[FakeResource]:
    return [res(type_, inputs, name, protect)]


PARITY_BODY = {
    "gpuPools": [{"name": "h100", "maxNodes": 4, "minNodes": 0}],
    "cpuPools": [{"name": "cpu", "maxNodes": 6, "minNodes": 1}],
    "layers": {"sharedFileSystem": True, "workloads": {"training": {"enabled": True}}},
    "roles": [{"name": "training", "team": "research"}],
}


def parity_json(**changes: Any) -> str:
    import json

    return json.dumps({**PARITY_BODY, **changes}, sort_keys=True)


PARITY = {
    "metadata": {"name": "ml-clusters-dr", "namespace": "velero"},
    "data": {"role": "standby", "stack": "prod-x-dr", "primaryStack": "prod-x", "parity": parity_json(), "primaryParity": parity_json()},
}


CASES: list[Case] = [
    # EKS / AWS
    Case(
        "eks-secrets-encryption",
        bad=[one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"encryptionConfig": DELETE})), one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"encryptionConfig.resources": ["configmaps"]}))],
        good=[one(t.EKS_CLUSTER, EKS_CLUSTER), one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"encryptionConfig": [EKS_CLUSTER["encryptionConfig"]]}))],
        expect=["secrets"] * 2,
    ),
    Case(
        "eks-public-endpoint-cidrs",
        bad=[
            one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"vpcConfig.publicAccessCidrs": ["203.0.113.0/24", "0.0.0.0/0"]})),
            one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"vpcConfig.publicAccessCidrs": DELETE})),
        ],
        good=[one(t.EKS_CLUSTER, EKS_CLUSTER), one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"vpcConfig.endpointPublicAccess": False, "vpcConfig.publicAccessCidrs": DELETE}))],
        expect=["0.0.0.0/0", "0.0.0.0/0"],
    ),
    Case(
        "eks-private-endpoint",
        bad=[one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"vpcConfig.endpointPrivateAccess": False}))],
        good=[one(t.EKS_CLUSTER, EKS_CLUSTER)],
        expect=["endpointPrivateAccess is false"],
    ),
    Case(
        "eks-control-plane-logging",
        bad=[one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"enabledClusterLogTypes": ["api"]}))],
        good=[one(t.EKS_CLUSTER, EKS_CLUSTER)],
        expect=["audit, authenticator"],
    ),
    Case(
        "eks-supported-version",
        bad=[one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"version": "1.29"})), one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"version": DELETE}))],
        good=[one(t.EKS_CLUSTER, EKS_CLUSTER)],
        expect=['"1.29"', "unset"],
    ),
    Case(
        "eks-authentication-mode",
        bad=[one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"accessConfig.authenticationMode": "CONFIG_MAP"})), one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"accessConfig": DELETE}))],
        good=[one(t.EKS_CLUSTER, EKS_CLUSTER), one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"accessConfig.authenticationMode": "API_AND_CONFIG_MAP"}))],
        expect=['"CONFIG_MAP"', "is unset"],
    ),
    Case(
        "eks-node-no-ssh",
        bad=[
            one(t.EKS_NODE_GROUP, patch(EKS_SYSTEM_NODE_GROUP, {"remoteAccess": {"ec2SshKey": "ops"}})),
            one(t.LAUNCH_TEMPLATE, patch(LAUNCH_TEMPLATE, {"keyName": "ops"})),
        ],
        good=[one(t.EKS_NODE_GROUP, EKS_SYSTEM_NODE_GROUP), one(t.LAUNCH_TEMPLATE, LAUNCH_TEMPLATE)],
        expect=["port 22", '"ops"'],
    ),
    Case(
        "eks-node-group-launch-template",
        bad=[one(t.EKS_NODE_GROUP, patch(EKS_SYSTEM_NODE_GROUP, {"launchTemplate": DELETE}))],
        good=[one(t.EKS_NODE_GROUP, EKS_SYSTEM_NODE_GROUP), one(t.EKS_NODE_GROUP, patch(EKS_SYSTEM_NODE_GROUP, {"launchTemplate": {"name": "nodes", "version": "$Latest"}}))],
    ),
    Case(
        "eks-launch-template-imdsv2",
        bad=[
            one(t.LAUNCH_TEMPLATE, patch(LAUNCH_TEMPLATE, {"metadataOptions.httpTokens": "optional"})),
            one(t.LAUNCH_TEMPLATE, patch(LAUNCH_TEMPLATE, {"metadataOptions.httpPutResponseHopLimit": 2})),
            one(t.LAUNCH_TEMPLATE, patch(LAUNCH_TEMPLATE, {"metadataOptions": DELETE})),
            one(t.KARPENTER_NODE_CLASS, patch(KARPENTER_NODE_CLASS, {"spec.metadataOptions.httpPutResponseHopLimit": 2})),
            one(t.KARPENTER_NODE_CLASS, patch(KARPENTER_NODE_CLASS, {"spec.metadataOptions": DELETE})),
        ],
        good=[one(t.LAUNCH_TEMPLATE, LAUNCH_TEMPLATE), one(t.KARPENTER_NODE_CLASS, KARPENTER_NODE_CLASS)],
        expect=['"optional"', "is 2", "httpTokens is unset", "is 2", "httpTokens is unset"],
    ),
    Case(
        "eks-encrypted-volumes",
        bad=[
            one(t.LAUNCH_TEMPLATE, patch(LAUNCH_TEMPLATE, {"blockDeviceMappings.0.ebs.encrypted": "false"})),
            one(t.LAUNCH_TEMPLATE, patch(LAUNCH_TEMPLATE, {"blockDeviceMappings": DELETE})),
            one(t.KARPENTER_NODE_CLASS, patch(KARPENTER_NODE_CLASS, {"spec.blockDeviceMappings.0.ebs.encrypted": False})),
            one(t.KARPENTER_NODE_CLASS, patch(KARPENTER_NODE_CLASS, {"spec.blockDeviceMappings": DELETE})),
        ],
        good=[one(t.LAUNCH_TEMPLATE, LAUNCH_TEMPLATE), one(t.LAUNCH_TEMPLATE, patch(LAUNCH_TEMPLATE, {"blockDeviceMappings.0.ebs.encrypted": True})),
              one(t.KARPENTER_NODE_CLASS, KARPENTER_NODE_CLASS)],
        expect=["/dev/xvda", "declares no EBS volume", "/dev/xvda", "declares no EBS volume"],
    ),
    Case(
        "aws-kms-key-rotation",
        bad=[one(t.KMS_KEY, patch(KMS_KEY, {"enableKeyRotation": DELETE}))],
        good=[one(t.KMS_KEY, KMS_KEY), one(t.KMS_KEY, {"customerMasterKeySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"})],
    ),
    Case(
        "aws-efs-encrypted",
        bad=[one(t.EFS_FILE_SYSTEM, patch(EFS, {"encrypted": False}))],
        good=[one(t.EFS_FILE_SYSTEM, EFS)],
    ),
    Case(
        "aws-store-access-logs",
        bad=[
            s3_trail(logging=None),
            s3_trail(logging=patch(S3_LOGGING, {"bucket": "ml-prod-backups-us-east-1"})),
            s3_trail(store=patch(S3_STORE, {"region": "us-west-2"})),
        ],
        good=[s3_trail(), s3_trail(store=patch(S3_STORE, {"region": "us-west-2"}), log_bucket=patch(S3_LOG_BUCKET, {"region": "us-west-2"}))],
        expect=["ml-prod-models-us-east-1 has no server access logging", "ml-prod-models-us-east-1 has no server access logging",
                'not its own ("us-west-2")'],
    ),
    Case(
        "eks-vpc-cni-network-policy",
        bad=[
            [res(t.EKS_CLUSTER, EKS_CLUSTER, "eks"), res(t.EKS_ADDON, patch(VPC_CNI, {"configurationValues": DELETE}), "cni")],
            [res(t.EKS_CLUSTER, EKS_CLUSTER, "eks"), res(t.EKS_ADDON, patch(VPC_CNI, {"configurationValues": '{"enableNetworkPolicy": "false"}'}), "cni")],
            [res(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"bootstrapSelfManagedAddons": True}), "eks")],
        ],
        good=[
            [res(t.EKS_CLUSTER, EKS_CLUSTER, "eks"), res(t.EKS_ADDON, VPC_CNI, "cni")],
            [res(t.EKS_ADDON, patch(VPC_CNI, {"addonName": "coredns", "configurationValues": DELETE}), "dns")],
            [res(t.EKS_CLUSTER, EKS_CLUSTER, "eks")],  # CNI installed outside the stack
        ],
        expect=["enableNetworkPolicy unset", 'enableNetworkPolicy "false"', "has no vpc-cni add-on"],
    ),
    # GKE / GCP
    Case(
        "gke-private-nodes",
        bad=[
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"privateClusterConfig": DELETE})),
            one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"networkConfig": {"enablePrivateNodes": False}})),
        ],
        good=[one(t.GKE_CLUSTER, GKE_CLUSTER), one(t.GKE_NODE_POOL, GKE_GPU_POOL)],
        expect=["public IP", "public IP"],
    ),
    Case(
        "gke-authorized-networks",
        bad=[
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"masterAuthorizedNetworksConfig": DELETE})),
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"masterAuthorizedNetworksConfig.cidrBlocks": [{"cidrBlock": "0.0.0.0/0"}]})),
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled": True})),
        ],
        good=[
            one(t.GKE_CLUSTER, GKE_CLUSTER),
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"masterAuthorizedNetworksConfig": DELETE, "privateClusterConfig.enablePrivateEndpoint": True})),
        ],
        expect=["unset", "0.0.0.0/0", "gcpPublicCidrsAccessEnabled"],
    ),
    Case(
        "gke-workload-identity",
        bad=[
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"workloadIdentityConfig": DELETE})),
            one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"nodeConfig.workloadMetadataConfig.mode": "GCE_METADATA"})),
        ],
        good=[one(t.GKE_CLUSTER, GKE_CLUSTER), one(t.GKE_NODE_POOL, GKE_GPU_POOL)],
    ),
    Case(
        "gke-secrets-encryption",
        bad=[one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"databaseEncryption.state": "DECRYPTED"}))],
        good=[one(t.GKE_CLUSTER, GKE_CLUSTER)],
        expect=['"DECRYPTED"'],
    ),
    Case(
        "gke-legacy-auth-disabled",
        bad=[
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"enableLegacyAbac": True})),
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"masterAuth": {"clientCertificateConfig": {"issueClientCertificate": True}}})),
        ],
        good=[one(t.GKE_CLUSTER, GKE_CLUSTER), one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"enableLegacyAbac": False}))],
    ),
    Case(
        "gke-shielded-nodes",
        bad=[
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"enableShieldedNodes": False})),
            one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"nodeConfig.shieldedInstanceConfig.enableIntegrityMonitoring": False})),
        ],
        good=[one(t.GKE_CLUSTER, GKE_CLUSTER), one(t.GKE_NODE_POOL, GKE_GPU_POOL)],
    ),
    Case(
        "gke-network-policy",
        bad=[one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"datapathProvider": "LEGACY_DATAPATH"}))],
        good=[one(t.GKE_CLUSTER, GKE_CLUSTER), one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"datapathProvider": DELETE, "networkPolicy": {"enabled": True, "provider": "CALICO"}}))],
    ),
    Case(
        "gke-intranode-visibility",
        bad=[one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"enableIntranodeVisibility": DELETE})),
             one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"enableIntranodeVisibility": False}))],
        good=[one(t.GKE_CLUSTER, GKE_CLUSTER), one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"enableIntranodeVisibility": DELETE, "enableAutopilot": True}))],
        expect=["enableIntranodeVisibility"] * 2,
    ),
    Case(
        "gke-release-channel",
        bad=[one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"releaseChannel.channel": "UNSPECIFIED"})), one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"releaseChannel.channel": "RAPID"}))],
        good=[one(t.GKE_CLUSTER, GKE_CLUSTER)],
        expect=['"UNSPECIFIED"', '"RAPID"'],
    ),
    Case(
        "gke-node-auto-repair-upgrade",
        bad=[one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"management.autoUpgrade": False})),
             # The exemption needs both DWS settings (cluster-toolkit gke-node-pool main.tf, README).
             one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"management.autoRepair": False, "nodeConfig.flexStart": True})),
             one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"management.autoUpgrade": False, "queuedProvisioning": {"enabled": True}}))],
        good=[one(t.GKE_NODE_POOL, GKE_GPU_POOL), one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"management": DELETE})),
              one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"management": {"autoRepair": False, "autoUpgrade": False},
                                                       "nodeConfig.flexStart": True, "queuedProvisioning": {"enabled": True}}))],
        expect=["autoUpgrade", "autoRepair", "autoUpgrade"],
    ),
    Case(
        "gke-dedicated-node-service-account",
        bad=[
            one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"nodeConfig.serviceAccount": "123456789-compute@developer.gserviceaccount.com"})),
            one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"nodeConfig.serviceAccount": DELETE})),
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"removeDefaultNodePool": False, "nodeConfig": {"serviceAccount": "default"}})),
        ],
        good=[one(t.GKE_NODE_POOL, GKE_GPU_POOL), one(t.GKE_CLUSTER, GKE_CLUSTER)],
        expect=["default service account", "unset", '"default"'],
    ),
    Case(
        "gke-logging",
        bad=[
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"loggingService": "none"})),
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"loggingConfig.enableComponents": ["SYSTEM_COMPONENTS"]})),
        ],
        good=[one(t.GKE_CLUSTER, GKE_CLUSTER), one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"loggingConfig": DELETE}))],
        expect=["no logs", "WORKLOADS"],
    ),
    Case(
        "gcp-store-data-access-logs",
        bad=[
            one(t.GCS_BUCKET, GCS_STORE),
            [res(t.GCS_BUCKET, GCS_STORE, "models"), res(t.GCP_IAM_AUDIT_CONFIG, patch(STORAGE_AUDIT, {"auditLogConfigs": [{"logType": "DATA_READ"}]}), "audit")],
            [res(t.GCS_BUCKET, GCS_STORE, "models"), res(t.GCP_IAM_AUDIT_CONFIG, patch(STORAGE_AUDIT, {"project": "another"}), "audit")],
            [res(t.GCS_BUCKET, GCS_STORE, "models"), res(t.GCP_IAM_AUDIT_CONFIG, patch(STORAGE_AUDIT, {"service": "compute.googleapis.com"}), "audit")],
        ],
        good=[
            [res(t.GCS_BUCKET, GCS_STORE, "models"), res(t.GCP_IAM_AUDIT_CONFIG, STORAGE_AUDIT, "audit")],
            [res(t.GCS_BUCKET, GCS_STORE, "models"), res(t.GCP_IAM_AUDIT_CONFIG, patch(STORAGE_AUDIT, {"service": "allServices"}), "audit")],
        ],
        expect=["does not log DATA_READ and DATA_WRITE", "does not log DATA_WRITE", 'project "ml-prod" does not log', "DATA_READ and DATA_WRITE"],
    ),
    Case(
        "gcp-kms-key-rotation",
        bad=[one(t.GCP_KMS_CRYPTO_KEY, patch(GCP_CRYPTO_KEY, {"rotationPeriod": DELETE})), one(t.GCP_KMS_CRYPTO_KEY, patch(GCP_CRYPTO_KEY, {"rotationPeriod": "63072000s"}))],
        good=[one(t.GCP_KMS_CRYPTO_KEY, GCP_CRYPTO_KEY), one(t.GCP_KMS_CRYPTO_KEY, {"purpose": "ASYMMETRIC_SIGN"})],
        expect=["never rotates", "365 days"],
    ),
    # AKS
    Case(
        "aks-api-access-restricted",
        bad=[
            one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"apiServerAccessProfile": DELETE})),
            one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"apiServerAccessProfile.authorizedIPRanges": ["0.0.0.0/0"]})),
        ],
        good=[one(t.AKS_CLUSTER, AKS_CLUSTER), one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"apiServerAccessProfile": {"enablePrivateCluster": True}}))],
        expect=["empty", "0.0.0.0/0"],
    ),
    Case(
        "aks-entra-id-rbac",
        bad=[one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"aadProfile": DELETE})), one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"aadProfile.enableAzureRBAC": False}))],
        good=[one(t.AKS_CLUSTER, AKS_CLUSTER)],
        expect=["aadProfile is unset", "enableAzureRBAC is false"],
    ),
    Case(
        "aks-local-accounts-disabled",
        bad=[one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"disableLocalAccounts": DELETE}))],
        good=[one(t.AKS_CLUSTER, AKS_CLUSTER)],
    ),
    Case(
        "aks-network-policy",
        bad=[one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"networkProfile.networkPolicy": "none"})), one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"networkProfile.networkPolicy": DELETE}))],
        good=[one(t.AKS_CLUSTER, AKS_CLUSTER), one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"networkProfile.networkPolicy": "azure"}))],
    ),
    Case(
        "aks-workload-identity",
        bad=[one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"oidcIssuerProfile": DELETE})), one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"securityProfile.workloadIdentity.enabled": False}))],
        good=[one(t.AKS_CLUSTER, AKS_CLUSTER)],
        expect=["oidcIssuerProfile", "workloadIdentity"],
    ),
    Case(
        "aks-no-node-public-ip",
        bad=[
            one(t.AKS_AGENT_POOL, patch(AKS_GPU_POOL, {"enableNodePublicIP": True})),
            one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"agentPoolProfiles.0.enableNodePublicIP": True})),
        ],
        good=[one(t.AKS_AGENT_POOL, AKS_GPU_POOL), one(t.AKS_CLUSTER, AKS_CLUSTER)],
        expect=["agent pool h100", "agentPoolProfiles[0] (system)"],
    ),
    Case(
        "aks-ephemeral-os-disk",
        bad=[one(t.AKS_AGENT_POOL, patch(AKS_GPU_POOL, {"osDiskType": "Managed"})), one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"agentPoolProfiles.0.osDiskType": DELETE}))],
        good=[one(t.AKS_AGENT_POOL, AKS_GPU_POOL), one(t.AKS_CLUSTER, AKS_CLUSTER)],
    ),
    Case(
        "aks-system-pool-taint",
        bad=[
            one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"agentPoolProfiles.0.nodeTaints": []})),
            one(t.AKS_AGENT_POOL, patch(AKS_SYSTEM_PROFILE, {"agentPoolName": "system2", "nodeTaints": DELETE})),
        ],
        good=[one(t.AKS_CLUSTER, AKS_CLUSTER), one(t.AKS_AGENT_POOL, AKS_GPU_POOL)],
    ),
    Case(
        "aks-defender-and-image-cleaner",
        bad=[one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"securityProfile.defender": DELETE})),
             one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"securityProfile.imageCleaner.enabled": False}))],
        good=[one(t.AKS_CLUSTER, AKS_CLUSTER)],
        expect=["defender", "imageCleaner"],
    ),
    Case(
        "aks-upgrade-channels",
        bad=[
            one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"autoUpgradeProfile.upgradeChannel": "none"})),
            one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"autoUpgradeProfile.nodeOSUpgradeChannel": "Unmanaged"})),
        ],
        good=[one(t.AKS_CLUSTER, AKS_CLUSTER)],
        expect=["upgradeChannel", "nodeOSUpgradeChannel"],
    ),
    Case(
        "azure-store-access-logs",
        bad=[
            one(t.STORAGE_ACCOUNT, AZ_STORE),
            [res(t.STORAGE_ACCOUNT, AZ_STORE, "store"), res(t.AZ_DIAGNOSTIC_SETTING, patch(BLOB_DIAGNOSTICS, {"logs": BLOB_DIAGNOSTICS["logs"][:2]}), "diag")],
            [res(t.STORAGE_ACCOUNT, AZ_STORE, "store"), res(t.AZ_DIAGNOSTIC_SETTING, patch(BLOB_DIAGNOSTICS, {"resourceUri": BLOB_DIAGNOSTICS["resourceUri"].replace("/blobServices/default", "")}), "diag")],
            [res(t.STORAGE_ACCOUNT, AZ_STORE, "store"), res(t.AZ_DIAGNOSTIC_SETTING, patch(BLOB_DIAGNOSTICS, {"workspaceId": DELETE}), "diag")],
        ],
        good=[[res(t.STORAGE_ACCOUNT, AZ_STORE, "store"), res(t.AZ_DIAGNOSTIC_SETTING, BLOB_DIAGNOSTICS, "diag")]],
        expect=["collects StorageRead, StorageWrite, StorageDelete", "collects StorageDelete", "collects StorageRead", "collects StorageRead"],
    ),
    Case(
        "aks-azure-policy",
        bad=[one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"addonProfiles": {}})), one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"addonProfiles.azurepolicy.enabled": False}))],
        good=[one(t.AKS_CLUSTER, AKS_CLUSTER), one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"addonProfiles": {"azurePolicy": {"enabled": True}}}))],
    ),
    # GPU pools
    Case(
        "gpu-pool-tainted",
        bad=[
            one(t.EKS_NODE_GROUP, patch(EKS_GPU_NODE_GROUP, {"taints": []})),
            one(t.AKS_AGENT_POOL, patch(AKS_GPU_POOL, {"nodeTaints": ["nvidia.com/gpu=true:NoSchedule"]})),
            one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"nodeConfig.taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "PREFER_NO_SCHEDULE"}]})),
            one(t.AKS_CLUSTER, patch(AKS_CLUSTER, {"agentPoolProfiles": [AKS_SYSTEM_PROFILE, patch(AKS_GPU_POOL, {"name": "l4", "nodeTaints": DELETE})]})),
            one(t.KARPENTER_NODE_POOL, patch(KARPENTER_GPU_NODE_POOL, {"spec.template.spec.taints": []})),
        ],
        good=[
            one(t.EKS_NODE_GROUP, EKS_GPU_NODE_GROUP),
            one(t.AKS_AGENT_POOL, AKS_GPU_POOL),
            one(t.GKE_NODE_POOL, GKE_GPU_POOL),  # GKE adds the taint itself
            one(t.EKS_NODE_GROUP, EKS_SYSTEM_NODE_GROUP),  # not a GPU pool
            one(t.KARPENTER_NODE_POOL, KARPENTER_GPU_NODE_POOL),
            one(t.KARPENTER_NODE_POOL, KARPENTER_CPU_NODE_POOL),  # not a GPU pool
        ],
        expect=["no nvidia.com/gpu=present:NoSchedule", "nvidia.com/gpu=true:NoSchedule", "PreferNoSchedule", "agentPoolProfiles[1] (l4)",
                "NodePool h100"],
    ),
    Case(
        "gpu-pool-scale-to-zero",
        env="dev",
        bad=[
            one(t.EKS_NODE_GROUP, patch(EKS_GPU_NODE_GROUP, {"scalingConfig.minSize": 1})),
            one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"autoscaling": DELETE, "nodeCount": 1})),
            one(t.AKS_AGENT_POOL, patch(AKS_GPU_POOL, {"minCount": 2})),
            one(t.AKS_AGENT_POOL, patch(AKS_GPU_POOL, {"enableAutoScaling": False, "count": 1})),
        ],
        good=[one(t.EKS_NODE_GROUP, EKS_GPU_NODE_GROUP), one(t.GKE_NODE_POOL, GKE_GPU_POOL), one(t.AKS_AGENT_POOL, AKS_GPU_POOL)],
        expect=["at least 1 node", "fixed size of 1", "at least 2 node", "fixed size of 1"],
    ),
    Case(
        "gpu-spot-allowed",
        bad=[
            one(t.EKS_NODE_GROUP, patch(EKS_GPU_NODE_GROUP, {"capacityType": "SPOT"})),
            one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"nodeConfig.spot": True})),
            one(t.AKS_AGENT_POOL, patch(AKS_GPU_POOL, {"scaleSetPriority": "Spot", "spotMaxPrice": -1})),
            one(t.KARPENTER_NODE_POOL, patch(KARPENTER_GPU_NODE_POOL, {"spec.template.spec.requirements.1.values": ["reserved", "spot", "on-demand"]})),
        ],
        good=[one(t.EKS_NODE_GROUP, EKS_GPU_NODE_GROUP), one(t.EKS_NODE_GROUP, patch(EKS_SYSTEM_NODE_GROUP, {"capacityType": "SPOT"})),
              one(t.KARPENTER_NODE_POOL, KARPENTER_GPU_NODE_POOL)],
        expect=["prod does not allow"] * 4,
    ),
    Case(
        "gpu-instance-type-allowlist",
        bad=[
            one(t.EKS_NODE_GROUP, patch(EKS_GPU_NODE_GROUP, {"instanceTypes": ["g7.48xlarge"]})),
            one(t.AKS_AGENT_POOL, patch(AKS_GPU_POOL, {"vmSize": "Standard_NC6s_v3"})),
        ],
        good=[one(t.EKS_NODE_GROUP, EKS_GPU_NODE_GROUP), one(t.GKE_NODE_POOL, GKE_GPU_POOL), one(t.AKS_AGENT_POOL, AKS_GPU_POOL)],
        expect=["g7.48xlarge", "Standard_NC6s_v3"],
    ),
    Case(
        "gpu-max-gpus-per-stack",
        bad=[
            [res(t.EKS_NODE_GROUP, patch(EKS_GPU_NODE_GROUP, {"scalingConfig.maxSize": 31}), "h100"), res(t.AKS_AGENT_POOL, AKS_GPU_POOL, "nd")],
            # A Karpenter pool counts limits.nodes x the type's GPUs: 33 x 8 = 264.
            one(t.KARPENTER_NODE_POOL, patch(KARPENTER_GPU_NODE_POOL, {"spec.limits.nodes": "33"})),
            one(t.EKS_NODE_GROUP, patch(EKS_GPU_NODE_GROUP, {"instanceTypes": ["g7.48xlarge"]})),
        ],
        good=[[res(t.EKS_NODE_GROUP, EKS_GPU_NODE_GROUP, "h100"), res(t.GKE_NODE_POOL, GKE_GPU_POOL, "l4"), res(t.AKS_AGENT_POOL, AKS_GPU_POOL, "nd"),
               res(t.KARPENTER_NODE_POOL, KARPENTER_GPU_NODE_POOL, "h100k")]],
        expect=["can scale to 264 GPUs, over this environment's budget of 256 (node group h100: 31 x 8, agent pool h100: 2 x 8)",
                "can scale to 264 GPUs, over this environment's budget of 256 (NodePool h100: 33 x 8)",
                "cannot count the GPUs of instance type g7.48xlarge"],
    ),
    Case(
        "gpu-nodepool-keeps-running-jobs",
        bad=[
            one(t.KARPENTER_NODE_POOL, patch(KARPENTER_GPU_NODE_POOL, {"spec.disruption.consolidationPolicy": "WhenEmptyOrUnderutilized"})),
            one(t.KARPENTER_NODE_POOL, patch(KARPENTER_GPU_NODE_POOL, {"spec.template.spec.expireAfter": "720h"})),
            one(t.KARPENTER_NODE_POOL, patch(KARPENTER_GPU_NODE_POOL, {"spec.template.spec.expireAfter": DELETE})),
            one(t.KARPENTER_NODE_POOL, patch(KARPENTER_GPU_NODE_POOL, {"spec.disruption.budgets": DELETE})),
            one(t.KARPENTER_NODE_POOL, patch(KARPENTER_GPU_NODE_POOL, {"spec.disruption": DELETE})),
        ],
        good=[one(t.KARPENTER_NODE_POOL, KARPENTER_GPU_NODE_POOL), one(t.KARPENTER_NODE_POOL, KARPENTER_CPU_NODE_POOL)],
        expect=["consolidationPolicy is WhenEmptyOrUnderutilized", "expireAfter is 720h", "expireAfter is unset (720h)",
                "no disruption budget", "consolidationPolicy is unset (WhenEmptyOrUnderutilized)"],
    ),
    # Kubernetes
    Case(
        "k8s-no-privileged-containers",
        bad=[one(t.K8S_DAEMON_SET, workload(t.K8S_DAEMON_SET, patch(DEVICE_PLUGIN_SPEC, {"containers.0.securityContext.privileged": True})))],
        good=[
            one(t.K8S_DAEMON_SET, workload(t.K8S_DAEMON_SET, DEVICE_PLUGIN_SPEC)),
            one(t.K8S_DEPLOYMENT, workload(t.K8S_DEPLOYMENT, POD_SPEC)),
            # NVIDIA's mig-manager: on the allow-list (allowedPrivilegedWorkloads), with its reason.
            one(t.K8S_DAEMON_SET, MIG_MANAGER),
        ],
        expect=["spec.template.spec.containers[0] (plugin)"],
    ),
    Case(
        "k8s-no-host-namespaces",
        bad=[one(t.K8S_POD, workload(t.K8S_POD, patch(POD_SPEC, {"hostNetwork": True}))), one(t.K8S_JOB, workload(t.K8S_JOB, patch(POD_SPEC, {"hostPID": True})))],
        good=[one(t.K8S_POD, workload(t.K8S_POD, POD_SPEC)), one(t.K8S_POD, workload(t.K8S_POD, patch(POD_SPEC, {"hostNetwork": False}))),
              one(t.K8S_DAEMON_SET, MIG_MANAGER)],
        expect=["spec.hostNetwork", "spec.template.spec.hostPID"],
    ),
    Case(
        "k8s-host-path-allowlist",
        bad=[
            one(t.K8S_DAEMON_SET, workload(t.K8S_DAEMON_SET, patch(DEVICE_PLUGIN_SPEC, {"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}))),
            one(t.K8S_DAEMON_SET, workload(t.K8S_DAEMON_SET, patch(DEVICE_PLUGIN_SPEC, {"volumes.0.hostPath.path": "/var/lib/kubelet/device-plugins/../pods"}))),
            # The RxDM volume names allow their own directory only.
            one(t.K8S_DAEMON_SET, workload(t.K8S_DAEMON_SET, patch(DEVICE_PLUGIN_SPEC, {"volumes": [{"name": "fabric-sys", "hostPath": {"path": "/etc"}}]}))),
        ],
        good=[
            one(t.K8S_DAEMON_SET, workload(t.K8S_DAEMON_SET, DEVICE_PLUGIN_SPEC)),
            one(t.K8S_DAEMON_SET, workload(t.K8S_DAEMON_SET, patch(DEVICE_PLUGIN_SPEC, {"volumes.0.hostPath.path": "/var/lib/kubelet/pod-resources"}))),
            one(t.K8S_DAEMON_SET, MIG_MANAGER),
            # GKE fabric: the NCCL plugin libraries, and the RxDM sidecar's /sys under its volume name.
            one(t.K8S_DAEMON_SET, workload(t.K8S_DAEMON_SET, patch(DEVICE_PLUGIN_SPEC, {"volumes": [
                {"name": "fabric-0", "hostPath": {"path": "/home/kubernetes/bin/nvidia/lib64"}},
                {"name": "fabric-sys", "hostPath": {"path": "/sys"}}]}))),
        ],
        expect=["mounts hostPath /,", "device-plugins/../pods", "mounts hostPath /etc"],
    ),
    Case(
        "k8s-gpu-limits",
        bad=[
            one(t.K8S_DEPLOYMENT, workload(t.K8S_DEPLOYMENT, patch(POD_SPEC, {"containers.0.resources.limits": {}}))),
            one(t.K8S_STATEFUL_SET, workload(t.K8S_STATEFUL_SET, patch(POD_SPEC, {"containers.0.resources": {"requests": {"nvidia.com/mig-1g.10gb": "2"}, "limits": {"nvidia.com/mig-1g.10gb": "1"}}}))),
        ],
        good=[
            one(t.K8S_DEPLOYMENT, workload(t.K8S_DEPLOYMENT, POD_SPEC)),
            one(t.K8S_DEPLOYMENT, workload(t.K8S_DEPLOYMENT, patch(POD_SPEC, {"containers.0.resources": {"limits": {"nvidia.com/gpu": "1"}}}))),
        ],
        expect=["without a limit", "limits it to 1"],
    ),
    Case(
        "k8s-pod-security-labels",
        bad=[
            one(t.K8S_NAMESPACE, patch(SERVING_NAMESPACE, {("metadata", "labels", "pod-security.kubernetes.io/enforce"): DELETE})),
            one(t.K8S_NAMESPACE, patch(SERVING_NAMESPACE, {("metadata", "labels", "pod-security.kubernetes.io/enforce"): "privileged"})),
            # A team namespace without our label is still a team's.
            one(t.K8S_NAMESPACE, {"metadata": {"name": "scratch", "labels": {"team": "x"}}}),
        ],
        good=[
            one(t.K8S_NAMESPACE, SERVING_NAMESPACE),
            one(t.K8S_NAMESPACE, {"metadata": {"name": "monitoring", "labels": {"app": "prometheus"}}}),  # a platform namespace
        ],
        expect=["is unset", '"privileged"', "is unset"],
    ),
    Case(
        "k8s-team-roles-keep-fences",
        bad=[
            # A workload part's role, aggregated into ml-team, that writes NetworkPolicies.
            one(t.K8S_CLUSTER_ROLE, {"metadata": {"name": "ml-team-x", "labels": {"ml-clusters.io/aggregate-to-team": "true"}},
                                     "rules": [{"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["delete"]}]}),
            # A wildcard in an aggregated role reaches the quota too.
            one(t.K8S_CLUSTER_ROLE, {"metadata": {"name": "ml-team-y", "labels": {"ml-clusters.io/aggregate-to-team": "true"}},
                                     "rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}]}),
            # A Role in a team namespace that edits its LimitRange.
            one(t.K8S_ROLE, {"metadata": {"name": "helpers", "namespace": "team-a"},
                             "rules": [{"apiGroups": [""], "resources": ["limitranges"], "verbs": ["patch", "update"]}]}),
            # The built-in edit bound in a team namespace (it writes NetworkPolicies).
            one(t.K8S_ROLE_BINDING, {"metadata": {"name": "team", "namespace": "team-a"},
                                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}}),
        ],
        good=[
            one(t.K8S_CLUSTER_ROLE, {"metadata": {"name": "ml-team-core", "labels": {"ml-clusters.io/aggregate-to-team": "true"}},
                                     "rules": [{"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["get", "list", "watch"]},
                                               {"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["*"]}]}),
            # Not aggregated into the team role: someone else's business.
            one(t.K8S_CLUSTER_ROLE, {"metadata": {"name": "netpol-admin"},
                                     "rules": [{"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["*"]}]}),
            one(t.K8S_ROLE_BINDING, {"metadata": {"name": "team", "namespace": "team-a"},
                                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ml-team"}}),
            # A platform namespace's own operator may.
            one(t.K8S_ROLE_BINDING, {"metadata": {"name": "ops", "namespace": "monitoring"},
                                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"}}),
        ],
        expect=["delete networkpolicies", "* resourcequotas, * limitranges", "patch/update limitranges", "ClusterRole edit"],
    ),
    Case(
        "k8s-pinned-images",
        bad=[
            one(t.K8S_DEPLOYMENT, workload(t.K8S_DEPLOYMENT, patch(POD_SPEC, {"containers.0.image": "vllm/vllm-openai:latest"}))),
            one(t.K8S_CRON_JOB, workload(t.K8S_CRON_JOB, patch(POD_SPEC, {"initContainers": [{"name": "fetch", "image": "registry.local:5000/tools/fetch"}]}))),
        ],
        good=[
            one(t.K8S_DEPLOYMENT, workload(t.K8S_DEPLOYMENT, POD_SPEC)),
            one(t.K8S_DEPLOYMENT, workload(t.K8S_DEPLOYMENT, patch(POD_SPEC, {"containers.0.image": "registry.local:5000/vllm@sha256:" + "a" * 64}))),
        ],
        expect=[":latest tag", "spec.jobTemplate.spec.template.spec.initContainers[0] (fetch) image registry.local:5000/tools/fetch has no tag"],
    ),
    Case(
        "k8s-internal-load-balancers",
        bad=[
            one(t.K8S_SERVICE, patch(INTERNAL_SERVICE, {"metadata.annotations": {}})),
            one(t.K8S_SERVICE, patch(INTERNAL_SERVICE, {"metadata.annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}})),
        ],
        good=[
            one(t.K8S_SERVICE, INTERNAL_SERVICE),
            one(t.K8S_SERVICE, patch(INTERNAL_SERVICE, {"metadata.annotations": {"networking.gke.io/load-balancer-type": "Internal"}})),
            one(t.K8S_SERVICE, patch(INTERNAL_SERVICE, {"metadata.annotations": {}, "spec.type": "ClusterIP"})),
        ],
    ),
    Case(
        "k8s-serving-namespace-network-policy",
        bad=[
            [res(t.K8S_NAMESPACE, SERVING_NAMESPACE, "team-a"), res(t.K8S_RESOURCE_QUOTA, RESOURCE_QUOTA, "quota"), res(t.K8S_NETWORK_POLICY, patch(NETWORK_POLICY, {"metadata.namespace": "team-b"}), "np")],
            # Unlabelled, but not a platform namespace: still fenced.
            [res(t.K8S_NAMESPACE, patch(SERVING_NAMESPACE, {"metadata.labels": {}}), "plain")],
        ],
        good=[
            [res(t.K8S_NAMESPACE, SERVING_NAMESPACE, "team-a"), res(t.K8S_NETWORK_POLICY, NETWORK_POLICY, "np")],
            [res(t.K8S_NAMESPACE, {"metadata": {"name": "kube-system"}}, "system")],
        ],
        expect=["namespace team-a has no NetworkPolicy", "namespace team-a has no NetworkPolicy"],
    ),
    Case(
        "k8s-serving-namespace-resource-quota",
        bad=[[res(t.K8S_NAMESPACE, SERVING_NAMESPACE, "team-a"), res(t.K8S_NETWORK_POLICY, NETWORK_POLICY, "np")]],
        good=[[res(t.K8S_NAMESPACE, SERVING_NAMESPACE, "team-a"), res(t.K8S_RESOURCE_QUOTA, RESOURCE_QUOTA, "quota")]],
        expect=["namespace team-a has no ResourceQuota"],
    ),
    Case(
        "k8s-encrypted-storage-classes",
        bad=[
            one(t.K8S_STORAGE_CLASS, patch(EBS_CLASS, {"parameters.encrypted": DELETE})),
            one(t.K8S_STORAGE_CLASS, {"provisioner": "pd.csi.storage.gke.io", "parameters": {"type": "pd-balanced", "encrypted": "false"}}),
            one(t.K8S_STORAGE_CLASS, {"provisioner": "rancher.io/local-path"}),
            # existing.storageEncrypted false (the default) is recorded on the class, and named.
            one(t.K8S_STORAGE_CLASS, {"provisioner": "rancher.io/local-path",
                                      "metadata": {"annotations": {"ml-clusters.io/encrypted": "false"}}}),
        ],
        good=[
            one(t.K8S_STORAGE_CLASS, EBS_CLASS),
            one(t.K8S_STORAGE_CLASS, {"provisioner": "efs.csi.aws.com", "parameters": {"provisioningMode": "efs-ap", "fileSystemId": "fs-1"}}),
            one(t.K8S_STORAGE_CLASS, {"provisioner": "disk.csi.azure.com", "parameters": {"skuName": "Premium_LRS"}}),
            one(t.K8S_STORAGE_CLASS, {"provisioner": "example.com/csi", "parameters": {"kmsKeyId": "key-1"}}),
            # existing.storageEncrypted: true, the owner's word for a provisioner the rule cannot judge.
            one(t.K8S_STORAGE_CLASS, {"provisioner": "rancher.io/local-path",
                                      "metadata": {"annotations": {"ml-clusters.io/encrypted": "true"}}}),
        ],
        expect=["parameters.encrypted is unset", "stored unencrypted", "rancher.io/local-path",
                "existing.storageEncrypted"],
    ),
    Case(
        "k8s-alerts-reach-people",
        bad=[
            # The chart's default: everything to `null`.
            one("kubernetes:helm.sh/v3:Release", patch(KPS_RELEASE, {"values.alertmanager.config": {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}})),
            one("kubernetes:helm.sh/v3:Release", patch(KPS_RELEASE, {"values.alertmanager.enabled": False})),
            # A route to a receiver that notifies nobody.
            one("kubernetes:helm.sh/v3:Release", patch(KPS_RELEASE, {"values.alertmanager.config.receivers.1": {"name": "ml-critical"}})),
            # Only warnings reach someone; critical pages fall through to `null`.
            one("kubernetes:helm.sh/v3:Release", patch(KPS_RELEASE, {"values.alertmanager.config.route.routes.1.matchers": ['severity = "warning"']})),
            # A catch-all `null` route placed before the critical one swallows the page.
            one("kubernetes:helm.sh/v3:Release", patch(KPS_RELEASE, {"values.alertmanager.config.route.routes.0.matchers": ['alertname =~ ".+"']})),
        ],
        good=[
            one("kubernetes:helm.sh/v3:Release", KPS_RELEASE),
            one("kubernetes:helm.sh/v3:Release", {"chart": "node-feature-discovery", "values": {}}),
            # The root route's own receiver notifies: everything reaches it.
            one("kubernetes:helm.sh/v3:Release", patch(KPS_RELEASE, {"values.alertmanager.config.route": {"receiver": "ml-critical"}})),
            # Legacy `match_re`, and a `continue` past a null route.
            one("kubernetes:helm.sh/v3:Release", patch(KPS_RELEASE, {"values.alertmanager.config.route.routes": [
                {"receiver": "null", "matchers": ['category="gpu-health"'], "continue": True},
                {"receiver": "ml-critical", "match_re": {"severity": "critical|error"}}]})),
        ],
        expect=["null receiver", "Alertmanager is disabled", "null receiver", "only to null", "only to null"],
    ),
    # Production protection
    Case(
        "prod-protect-stateful-resources",
        bad=[one(t.EKS_CLUSTER, EKS_CLUSTER), one(t.GCS_BUCKET, {"location": "US"}, "models"), one(t.KEY_VAULT, KEY_VAULT)],
        good=[one(t.EKS_CLUSTER, EKS_CLUSTER, protect=True), one(t.GCS_BUCKET, {"location": "US"}, "models", protect=True)],
        expect=["not protected"] * 3,
    ),
    Case(
        "prod-cloud-deletion-protection",
        bad=[
            one(t.EKS_CLUSTER, patch(EKS_CLUSTER, {"deletionProtection": DELETE}), protect=True),
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"deletionProtection": False}), protect=True),
            one(t.KEY_VAULT, {"properties": {"enableSoftDelete": True}}, protect=True),
            one(t.S3_BUCKET_V2, {"forceDestroy": True}, protect=True),
        ],
        good=[
            one(t.EKS_CLUSTER, EKS_CLUSTER, protect=True),
            one(t.GKE_CLUSTER, patch(GKE_CLUSTER, {"deletionProtection": DELETE}), protect=True),
            one(t.KEY_VAULT, KEY_VAULT, protect=True),
            one(t.S3_BUCKET_V2, {"forceDestroy": False}, protect=True),
        ],
        expect=["deletionProtection is unset", "deletionProtection is false", "enablePurgeProtection", "forceDestroy"],
    ),
    # Disaster recovery (policies/rules/dr.py). Facts: S3 RTC takes time.minutes 15 with its
    # metrics block (pulumi-aws 7.x s3 docstrings); GCS turbo replication is rpo ASYNC_TURBO on
    # dual-region buckets (pulumi-gcp 10.x); Velero's RPO is its Schedule's cron.
    Case(
        "dr-prod-has-dr",
        bad=[
            one(MLCLUSTER, {}, "ml-prod") + one(S3_REPLICATION, S3_RULES, "models"),
            one(MLCLUSTER, {}, "ml-prod") + one(HELM_RELEASE, VELERO, "velero"),
        ],
        good=[
            one(MLCLUSTER, {}, "ml-prod") + one(HELM_RELEASE, VELERO, "velero") + one(S3_REPLICATION, S3_RULES, "models"),
            one(MLCLUSTER, {}, "ml-prod-dr") + one(HELM_RELEASE, patch(VELERO, {"values.configuration.backupStorageLocation.0.accessMode": "ReadOnly"}), "velero"),
        ],
        expect=["no Velero release", "no store replicates"],
    ),
    Case(
        "dr-replication-time-control",
        bad=[
            one(S3_REPLICATION, patch(S3_RULES, {"rules.0.destination.replicationTime": DELETE}), "models"),
            one(S3_REPLICATION, patch(S3_RULES, {"rules.0.destination.metrics.status": "Disabled"}), "models"),
            one(t.GCS_BUCKET, {**DUAL_REGION, "rpo": "DEFAULT"}, "models"),
        ],
        good=[one(S3_REPLICATION, S3_RULES, "models"), one(t.GCS_BUCKET, DUAL_REGION, "models")],
        expect=["without Replication Time Control", "metrics is not Enabled", "ASYNC_TURBO"],
    ),
    Case(
        "dr-versioning-both-sides",
        bad=[
            one(S3_REPLICATION, S3_RULES, "models") + one(S3_VERSIONING, {"bucket": "m-east", "versioningConfiguration": {"status": "Enabled"}}, "v1"),
            one(t.GCS_BUCKET, {**DUAL_REGION, "versioning": {"enabled": False}}, "models"),
            one(AZ_POLICY, {"accountName": "dst", "objectReplicationPolicyId": "default"}, "dest") + one(AZ_BLOB, {"accountName": "dst", "isVersioningEnabled": False}, "b"),
        ],
        good=[
            one(S3_REPLICATION, S3_RULES, "models")
            + one(S3_VERSIONING, {"bucket": "m-east", "versioningConfiguration": {"status": "Enabled"}}, "v1")
            + one(S3_VERSIONING, {"bucket": "m-west", "versioningConfiguration": {"status": "Enabled"}}, "v2"),
            one(t.GCS_BUCKET, DUAL_REGION, "models"),
        ],
        expect=["replica bucket m-west", "keeps no object versions", "has no blob versioning"],
    ),
    Case(
        "dr-replica-other-region",
        bad=[
            one(S3_REPLICATION, S3_RULES, "models") + one(t.S3_BUCKET, {"bucket": "m-east"}, "src") + one(t.S3_BUCKET, {"bucket": "m-west", "region": "us-east-1"}, "dst")
            + one("pulumi:providers:aws", {"region": "us-east-1"}, "aws"),
            one(t.GCS_BUCKET, {**DUAL_REGION, "customPlacementConfig": {"dataLocations": ["US-EAST4", "us-east4"]}}, "models"),
        ],
        good=[
            one(S3_REPLICATION, S3_RULES, "models") + one(t.S3_BUCKET, {"bucket": "m-east"}, "src") + one(t.S3_BUCKET, {"bucket": "m-west", "region": "us-west-2"}, "dst")
            + one("pulumi:providers:aws", {"region": "us-east-1"}, "aws"),
            one(t.GCS_BUCKET, DUAL_REGION, "models"),
        ],
        expect=["the source's region", "names one region twice"],
    ),
    Case(
        "dr-backup-within-rpo",
        bad=[
            one(HELM_RELEASE, patch(VELERO, {"values.schedules.cluster.schedule": "0 */2 * * *"}), "velero"),
            one(HELM_RELEASE, patch(VELERO, {"values.schedules.cluster.annotations": DELETE}), "velero"),
        ],
        good=[one(HELM_RELEASE, VELERO, "velero"), one(HELM_RELEASE, patch(VELERO, {"values.schedules.cluster.schedule": "*/30 * * * *"}), "velero")],
        expect=["up to 120 minutes", "states no RPO"],
    ),
    # The standby's parity ConfigMap (components/platform/backup.py) carries its own declared
    # pools, layers and roles and its primary's, read from the primary's stack file.
    Case(
        "dr-standby-matches-primary",
        bad=[
            one("kubernetes:core/v1:ConfigMap", patch(PARITY, {"data.parity": parity_json(cpuPools=[])}), "dr"),
            one("kubernetes:core/v1:ConfigMap", patch(PARITY, {"data.parity": parity_json(layers={"workloads": {}})}), "dr"),
            one("kubernetes:core/v1:ConfigMap", patch(PARITY, {"data.parity": parity_json(gpuPools=[{"name": "h100", "maxNodes": 2}])}), "dr"),
        ],
        good=[
            one("kubernetes:core/v1:ConfigMap", PARITY, "dr"),
            # A primary compares with nothing; a standby whose primary file is absent cannot be checked.
            one("kubernetes:core/v1:ConfigMap", patch(PARITY, {"data.role": "primary", "data.parity": parity_json(cpuPools=[])}), "dr"),
            one("kubernetes:core/v1:ConfigMap", patch(PARITY, {"data.primaryParity": DELETE}), "dr"),
        ],
        expect=["CPU pools differ from prod-x's: missing cpu", "platform layers differ", "GPU pools differ from prod-x's: different h100"],
    ),
]

# --- ML workload layer (policies/rules/workloads.py) ------------------------------------------

from policies.rules import workloads as w  # noqa: E402

TEAM_NAMESPACE = {"metadata": {"name": "training", "labels": {"ml-clusters.io/serving": "true"}}}
GPU_RESOURCES = {"requests": {"cpu": "2", "nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 1}}
QUEUED_JOB = {
    "metadata": {"name": "trial-00", "namespace": "training", "labels": {"kueue.x-k8s.io/queue-name": "default"}},
    "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "t", "image": "pytorch/pytorch:2.13.0", "resources": GPU_RESOURCES}]}}},
}
TRAIN_JOB = {
    "metadata": {"name": "finetune", "namespace": "training", "labels": {"kueue.x-k8s.io/queue-name": "default"}},
    "spec": {"runtimeRef": {"name": "torch-distributed"}, "trainer": {"numNodes": 2, "resourcesPerNode": {"limits": {"nvidia.com/gpu": 1}}}},
}
TPU_JOB_SET = {
    "metadata": {"name": "jax", "namespace": "training", "labels": {"kueue.x-k8s.io/queue-name": "default"}},
    "spec": {"replicatedJobs": [{"name": "slice", "template": {"spec": {"parallelism": 4, "template": {"spec": {
        "restartPolicy": "Never",
        "containers": [{"name": "jax", "image": "python:3.12.12-slim", "resources": {"requests": {"google.com/tpu": 4}, "limits": {"google.com/tpu": 4}}}],
    }}}}}]},
}
ISVC = {
    "metadata": {"name": "sentiment", "namespace": "inference"},
    "spec": {"predictor": {"model": {"modelFormat": {"name": "huggingface"}, "storageUri": "hf://org/model", "resources": GPU_RESOURCES}}},
}
RESERVED_ISVC = patch(ISVC, {"metadata.namespace": "training", "spec.predictor.priorityClassName": "ml-serving-high"})
GPU_POD_SPEC = {"containers": [{"name": "s", "image": "vllm/vllm-openai:v0.24.0", "resources": GPU_RESOURCES}]}
GPU_DEPLOYMENT = {
    "metadata": {"name": "llm", "namespace": "training"},
    "spec": {"selector": {"matchLabels": {"app": "llm"}}, "template": {"metadata": {"labels": {"app": "llm"}}, "spec": GPU_POD_SPEC}},
}
WORKLOAD_RELEASE = {"chart": "oci://registry.k8s.io/kueue/charts/kueue", "values": {"controllerManager": {"manager": {"image": {"repository": "registry.k8s.io/kueue/kueue", "tag": "v0.19.2"}}}}}


def _ns_and(type_: str, inputs: dict[str, Any]) -> list[FakeResource]:
    return [res(t.K8S_NAMESPACE, TEAM_NAMESPACE, "ns"), res(type_, inputs, "job")]


CASES += [
    Case(
        "workloads-gpu-jobs-queued",
        bad=[
            _ns_and(t.K8S_JOB, patch(QUEUED_JOB, {("metadata", "labels", "kueue.x-k8s.io/queue-name"): DELETE})),
            _ns_and(w.TRAIN_JOB, patch(TRAIN_JOB, {"metadata.labels": DELETE})),
            # A TPU slice job (examples/tpu/jax-jobset.yaml's shape) without its queue label.
            _ns_and(w.JOB_SET, patch(TPU_JOB_SET, {"metadata.labels": DELETE})),
        ],
        good=[
            _ns_and(t.K8S_JOB, QUEUED_JOB),
            _ns_and(w.TRAIN_JOB, TRAIN_JOB),
            _ns_and(w.JOB_SET, TPU_JOB_SET),
            # Outside a team namespace the rule does not judge.
            _ns_and(t.K8S_JOB, patch(QUEUED_JOB, {"metadata.namespace": "batch", ("metadata", "labels", "kueue.x-k8s.io/queue-name"): DELETE})),
            # A CPU-only job needs no queue.
            _ns_and(t.K8S_JOB, patch(QUEUED_JOB, {"spec.template.spec.containers.0.resources": {"requests": {"cpu": "1"}}, "metadata.labels": DELETE})),
        ],
        expect=["Job in team namespace training asks for GPUs", "TrainJob in team namespace training",
                "JobSet in team namespace training asks for TPU chips"],
    ),
    Case(
        "workloads-gpu-pods-accounted",
        bad=[
            # A model server without a priority class: on the GPUs Kueue counts as free.
            _ns_and(w.INFERENCE_SERVICE, patch(ISVC, {"metadata.namespace": "training"})),
            # A Deployment with another priority class; a queue label does not queue it either.
            _ns_and(t.K8S_DEPLOYMENT, patch(GPU_DEPLOYMENT, {"spec.template.spec.priorityClassName": "ml-batch-low",
                                                            ("metadata", "labels", "kueue.x-k8s.io/queue-name"): "default"})),
            # A canary that sets its own, other priority class.
            _ns_and(w.INFERENCE_SERVICE, patch(RESERVED_ISVC, {"spec.canary": [{"trafficPercent": 20, "predictor": {
                "name": "v2", "priorityClassName": "ml-batch-low", "model": {"resources": GPU_RESOURCES}}}]})),
            _ns_and(t.K8S_POD, {"metadata": {"name": "gpu", "namespace": "training"}, "spec": GPU_POD_SPEC}),
        ],
        good=[
            _ns_and(w.INFERENCE_SERVICE, RESERVED_ISVC),
            # The canary inherits the stable predictor's priority class.
            _ns_and(w.INFERENCE_SERVICE, patch(RESERVED_ISVC, {"spec.canary": [{"trafficPercent": 20, "predictor": {
                "name": "v2", "model": {"resources": GPU_RESOURCES}}}]})),
            _ns_and(t.K8S_DEPLOYMENT, patch(GPU_DEPLOYMENT, {"spec.template.spec.priorityClassName": "ml-notebook"})),
            # A CPU-only Deployment, and a GPU one outside the team namespaces, are not judged.
            _ns_and(t.K8S_DEPLOYMENT, patch(GPU_DEPLOYMENT, {"spec.template.spec.containers.0.resources": {"requests": {"cpu": "1"}}})),
            _ns_and(t.K8S_DEPLOYMENT, patch(GPU_DEPLOYMENT, {"metadata.namespace": "monitoring"})),
            # Queued kinds are Kueue's (workloads-gpu-jobs-queued asks for their label).
            _ns_and(t.K8S_JOB, QUEUED_JOB),
        ],
        expect=["InferenceService in team namespace training asks for GPUs at spec.predictor with priority class none",
                "Deployment in team namespace training asks for GPUs at spec.template.spec with priority class ml-batch-low",
                "spec.canary[0].predictor with priority class ml-batch-low",
                "Pod in team namespace training asks for GPUs at spec"],
    ),
    Case(
        "workloads-pipeline-gpu-steps-queued",
        bad=[
            _ns_and(w.WORKFLOW, {"metadata": {"name": "p", "namespace": "training"}, "spec": {"entrypoint": "train", "templates": [
                {"name": "train", "container": {"image": "pytorch/pytorch:2.13.0", "resources": GPU_RESOURCES}}]}}),
            _ns_and(w.CRON_WORKFLOW, {"metadata": {"name": "c", "namespace": "training"}, "spec": {"schedule": "0 * * * *", "workflowSpec": {
                "templates": [{"name": "nightly", "script": {"image": "pytorch/pytorch:2.13.0", "source": "x", "resources": GPU_RESOURCES}}]}}}),
        ],
        good=[
            # The GPU step as a resource template creating a queued TrainJob; CPU steps.
            _ns_and(w.WORKFLOW, {"metadata": {"name": "p", "namespace": "training"}, "spec": {"templates": [
                {"name": "train", "resource": {"action": "create", "manifest": "kind: TrainJob\nspec: {trainer: {resourcesPerNode: {limits: {nvidia.com/gpu: 1}}}}"}},
                {"name": "prep", "container": {"image": "python:3.12", "resources": {"requests": {"cpu": "1"}}}}]}}),
            # Outside a team namespace the rule does not judge.
            _ns_and(w.WORKFLOW, {"metadata": {"name": "p", "namespace": "batch"}, "spec": {"templates": [
                {"name": "train", "container": {"image": "pytorch/pytorch:2.13.0", "resources": GPU_RESOURCES}}]}}),
        ],
        expect=["Workflow in team namespace training: step template 'train' asks for GPUs",
                "CronWorkflow in team namespace training: step template 'nightly' asks for GPUs"],
    ),
    Case(
        "workloads-inferenceservice-gpu-limits",
        bad=[
            one(w.INFERENCE_SERVICE, patch(ISVC, {"spec.predictor.model.resources.limits": DELETE})),
            one(w.INFERENCE_SERVICE, patch(ISVC, {"spec.predictor.model.resources.limits": {"nvidia.com/gpu": 2}})),
            one(w.INFERENCE_SERVICE, patch(ISVC, {"spec.canary": [{"predictor": {"name": "v2", "model": {"resources": {"requests": {"nvidia.com/gpu": 1}}}}, "trafficPercent": 10}]})),
        ],
        good=[
            one(w.INFERENCE_SERVICE, ISVC),
            one(w.INFERENCE_SERVICE, patch(ISVC, {"spec.predictor.model.resources": {"limits": {"nvidia.com/gpu": 1}}})),
        ],
        expect=["without a limit", "limits it to 2", "spec.canary[0].predictor.model.resources"],
    ),
    Case(
        "workloads-pinned-images",
        bad=[
            one(w.TRAIN_JOB, patch(TRAIN_JOB, {"spec.trainer.image": "pytorch/pytorch"})),
            one(w.INFERENCE_SERVICE, patch(ISVC, {"spec.predictor.containers": [{"name": "kserve-container", "image": "example.com/model:latest"}]})),
            one(t.HELM_RELEASE, patch(WORKLOAD_RELEASE, {"values.controllerManager.manager.image.tag": ""})),
            one(t.HELM_RELEASE, {"chart": "oci://ghcr.io/kserve/charts/kserve-resources", "values": {"kserve": {"controller": {"image": "kserve/kserve-controller", "tag": ""}}}}),
        ],
        good=[
            one(w.TRAIN_JOB, patch(TRAIN_JOB, {"spec.trainer.image": "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime"})),
            one(t.HELM_RELEASE, WORKLOAD_RELEASE),
            one(t.HELM_RELEASE, {"chart": "oci://ghcr.io/kserve/charts/kserve-resources", "values": {"kserve": {"controller": {"image": "kserve/kserve-controller", "tag": "v0.20.0"}}}}),
            # Releases of other charts are the kubernetes rules' business.
            one(t.HELM_RELEASE, {"chart": "kube-prometheus-stack", "values": {"grafana": {"image": {"repository": "grafana/grafana", "tag": ""}}}}),
        ],
        expect=["has no tag", ":latest", "values.controllerManager.manager.image", "kserve/kserve-controller has no tag"],
    ),
]

# --- The serving gateway (policies/rules/gateway.py), shaped as components/platform/gateway.py renders them.
from components.platform import gateway as platform_gateway  # noqa: E402
from components.config import ServingGateway  # noqa: E402
from policies.rules import gateway as g  # noqa: E402

_GW_SETTINGS = ServingGateway.model_validate({
    "enabled": True, "domain": "models.example.com", "tls": {"email": "ops@example.com"},
    "signIn": {"jwksUri": "https://login.example.com/keys", "audiences": ["models"]},
    "models": [{"name": "sentiment", "namespace": "team-a", "versions": [{"inferenceService": "sentiment-v1", "weight": 100}]}],
})
GATEWAY_OBJ = platform_gateway.gateway(_GW_SETTINGS)
MODEL_ROUTE = platform_gateway.model_route(_GW_SETTINGS.models[0], _GW_SETTINGS)
REDIRECT_ROUTE = platform_gateway.https_redirect()
GATEWAY_SIGN_IN = platform_gateway.gateway_sign_in(_GW_SETTINGS, "https://login.example.com")
MODEL_POLICIES = platform_gateway.model_policies(_GW_SETTINGS.models[0], _GW_SETTINGS, "https://login.example.com")
# What KServe makes for an InferenceService: no sectionName, no rule names
# (reconcilers/ingress/httproute_reconciler.go @ v0.20.0 createRawTopLevelHTTPRoute).
KSERVE_ROUTE = {
    "metadata": {"name": "fraud", "namespace": "team-a"},
    "spec": {"parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "models", "namespace": "envoy-gateway-system"}],
             "hostnames": ["fraud-team-a.models.example.com"],
             "rules": [{"backendRefs": [{"name": "fraud-predictor", "port": 80}]}]},
}


def _gw(*extra: list[FakeResource], gateway_obj: dict[str, Any] = GATEWAY_OBJ) -> list[FakeResource]:
    out = [res(g.GATEWAY, gateway_obj, "gateway"), res(g.HTTP_ROUTE, REDIRECT_ROUTE, "redirect")]
    for part in extra:
        out += part
    return out


def _policies(*objs: dict[str, Any]) -> list[FakeResource]:
    return [res(g.SECURITY_POLICY, o, f"policy-{i}") for i, o in enumerate(objs)]


_ROUTE = [res(g.HTTP_ROUTE, MODEL_ROUTE, "route")]
_ALL_POLICIES = _policies(GATEWAY_SIGN_IN, *MODEL_POLICIES)
_PLAIN_LISTENER = patch(GATEWAY_OBJ, {"spec.listeners": [
    {**{k: v for k, v in GATEWAY_OBJ["spec"]["listeners"][0].items() if k != "tls"}, "protocol": "HTTP", "port": 80},
    GATEWAY_OBJ["spec"]["listeners"][1],
]})
_NO_CERT = patch(GATEWAY_OBJ, {"spec.listeners": [
    {k: v for k, v in GATEWAY_OBJ["spec"]["listeners"][0].items() if k != "tls"},
    GATEWAY_OBJ["spec"]["listeners"][1],
]})

CASES += [
    Case(
        "serving-route-tls",
        bad=[
            # The model route on the plain-HTTP listener.
            _gw([res(g.HTTP_ROUTE, patch(MODEL_ROUTE, {"spec.parentRefs": [platform_gateway.parent_ref("http")]}), "route")]),
            # A route naming no listener, on a Gateway whose first listener speaks HTTP.
            _gw([res(g.HTTP_ROUTE, KSERVE_ROUTE, "kserve")], gateway_obj=_PLAIN_LISTENER),
            # The HTTPS listener without a certificate.
            _gw(_ROUTE, gateway_obj=_NO_CERT),
            # A Gateway the stack does not define.
            [res(g.HTTP_ROUTE, MODEL_ROUTE, "route")],
        ],
        good=[
            _gw(_ROUTE, _ALL_POLICIES),
            # KServe's routes name no listener: the rendered Gateway's listeners are HTTPS and
            # the http one, which admits only its own namespace's routes, carries redirects.
            _gw([res(g.HTTP_ROUTE, KSERVE_ROUTE, "kserve")]),
        ],
        expect=["listener 'http'", "listener 'https' of Gateway envoy-gateway-system/models (HTTP)", "HTTPS, no certificate",
                "which this stack does not define"],
    ),
    Case(
        "serving-route-authentication",
        bad=[
            _gw(_ROUTE),
            # Only the API-key rule is covered: the sign-in rule is open.
            _gw(_ROUTE, _policies(MODEL_POLICIES[1])),
            # A policy that authenticates nothing (CORS only).
            _gw(_ROUTE, _policies(patch(GATEWAY_SIGN_IN, {"spec.jwt": DELETE, "spec.cors": {"allowOrigins": ["*"]}}))),
            # The gateway's policy on another listener than the route's.
            _gw([res(g.HTTP_ROUTE, KSERVE_ROUTE, "kserve")], _policies(patch(GATEWAY_SIGN_IN, {"spec.targetRefs": [
                {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "models", "sectionName": "http"}]}))),
        ],
        good=[
            _gw(_ROUTE, _ALL_POLICIES),
            # Rule-level policies alone cover the model route.
            _gw(_ROUTE, _policies(*MODEL_POLICIES)),
            # KServe's route is covered by the gateway's policy on its HTTPS listener.
            _gw([res(g.HTTP_ROUTE, KSERVE_ROUTE, "kserve")], _policies(GATEWAY_SIGN_IN)),
        ],
        expect=["rule 'api-key' is reached without sign-in", "rule 'sign-in' is reached without sign-in",
                "reached without sign-in", "HTTPRoute team-a/fraud rule 0"],
    ),
]


# --- GPU fabric (policies/rules/fabric.py) ---------------------------------------------------
# Facts: EFA stays inside one Availability Zone and needs a security group allowing all traffic
# from and to itself (EC2 User Guide efa-start); the program marks fabric pools with the node
# label ml-clusters.io/fabric and carries the stack's reasons as tags / GKE resource labels.

FABRIC = "ml-clusters.io/fabric"
EFA_GROUP = patch(EKS_GPU_NODE_GROUP, {("labels", FABRIC): "efa", "subnetIds": ["subnet-a"], "tags": DELETE})
EFA_TEMPLATE = {**LAUNCH_TEMPLATE, "networkInterfaces": [
    {"networkCardIndex": c, "deviceIndex": 0, "interfaceType": "efa" if c == 0 else "efa-only", "securityGroups": ["sg-cluster", "sg-efa"]}
    for c in range(4)
]}
SELF_IN = {"securityGroupId": "sg-efa", "referencedSecurityGroupId": "sg-efa", "ipProtocol": "-1"}
SELF_OUT = dict(SELF_IN)
GKE_FABRIC_POOL = patch(GKE_GPU_POOL, {"nodeConfig.machineType": "a3-highgpu-8g", ("nodeConfig", "labels"): {FABRIC: "tcpx"}})
AKS_FABRIC_POOL = patch(AKS_GPU_POOL, {"nodeLabels": {FABRIC: "infiniband"}, "availabilityZones": ["1"], "tags": DELETE})


# A Karpenter EFA pool as capacity.py writes it: the fabric label on the NodePool's nodes, the
# EC2NodeClass in one subnet with the EFA group by id and the efa-only interface layout
# (Karpenter v1.14.1 pkg/apis/v1/ec2nodeclass.go: networkInterfaces types interface/efa-only).
KARPENTER_EFA_POOL = patch(KARPENTER_GPU_NODE_POOL, {("spec", "template", "metadata", "labels", FABRIC): "efa", "metadata.annotations": DELETE})
KARPENTER_EFA_CLASS = patch(KARPENTER_NODE_CLASS, {
    "spec.securityGroupSelectorTerms": [{"id": "sg-cluster"}, {"id": "sg-efa"}],
    "spec.networkInterfaces": [{"networkCardIndex": 0, "deviceIndex": 0, "interfaceType": "interface"}]
    + [{"networkCardIndex": c, "deviceIndex": 1 if c == 0 else 0, "interfaceType": "efa-only"} for c in range(4)],
    "spec.placementGroupSelector": {"name": "ml-prod-h100-efa"},
})


def _karpenter_stack(pool: dict[str, Any] = KARPENTER_EFA_POOL, node_class: Any = KARPENTER_EFA_CLASS,
                     rules: tuple[Any, Any] = (SELF_IN, SELF_OUT)) -> list[FakeResource]:
    out = [res(t.KARPENTER_NODE_POOL, pool, "ml-prod-h100-nodepool")]
    if node_class is not None:
        out.append(res(t.KARPENTER_NODE_CLASS, node_class, "ml-prod-h100-nodeclass"))
    if rules[0] is not None:
        out.append(res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", rules[0], "ml-prod-h100-efa-self-in"))
    if rules[1] is not None:
        out.append(res("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", rules[1], "ml-prod-h100-efa-self-out"))
    return out


def _efa_stack(group: dict[str, Any] = EFA_GROUP, template: dict[str, Any] = EFA_TEMPLATE,
               rules: tuple[Any, Any] = (SELF_IN, SELF_OUT)) -> list[FakeResource]:
    out = [res(t.EKS_NODE_GROUP, group, "ml-prod-h100"), res(t.LAUNCH_TEMPLATE, template, "ml-prod-h100")]
    if rules[0] is not None:
        out.append(res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", rules[0], "ml-prod-h100-efa-self-in"))
    if rules[1] is not None:
        out.append(res("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", rules[1], "ml-prod-h100-efa-self-out"))
    return out


CASES += [
    Case(
        "fabric-pool-one-zone",
        bad=[
            one(t.EKS_NODE_GROUP, patch(EFA_GROUP, {"subnetIds": ["subnet-a", "subnet-b"]})),
            one(t.GKE_NODE_POOL, patch(GKE_FABRIC_POOL, {"nodeLocations": ["us-central1-a", "us-central1-b"]})),
            one(t.GKE_NODE_POOL, patch(GKE_FABRIC_POOL, {"nodeLocations": DELETE})),
            one(t.AKS_AGENT_POOL, patch(AKS_FABRIC_POOL, {"availabilityZones": ["1", "2"]})),
            # Karpenter: the EC2NodeClass's subnets by id, by tags, or no EC2NodeClass to read.
            _karpenter_stack(node_class=patch(KARPENTER_EFA_CLASS, {"spec.subnetSelectorTerms": [{"id": "subnet-1"}, {"id": "subnet-2"}]})),
            _karpenter_stack(node_class=patch(KARPENTER_EFA_CLASS, {"spec.subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "ml-prod"}}]})),
            _karpenter_stack(node_class=None),
        ],
        good=[
            one(t.EKS_NODE_GROUP, EFA_GROUP),
            one(t.GKE_NODE_POOL, GKE_FABRIC_POOL),
            one(t.AKS_AGENT_POOL, AKS_FABRIC_POOL),
            # A pool without a fabric may span zones.
            one(t.EKS_NODE_GROUP, patch(EKS_GPU_NODE_GROUP, {"subnetIds": ["subnet-a", "subnet-b"]})),
            _karpenter_stack(),
            # Subnets by tags, but a NodePool requirement pins one zone.
            _karpenter_stack(
                pool=patch(KARPENTER_EFA_POOL, {"spec.template.spec.requirements": [
                    *KARPENTER_EFA_POOL["spec"]["template"]["spec"]["requirements"],
                    {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["us-east-1a"]}]}),
                node_class=patch(KARPENTER_EFA_CLASS, {"spec.subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "ml-prod"}}]})),
            # A Karpenter pool without a fabric may span zones.
            [res(t.KARPENTER_NODE_POOL, KARPENTER_GPU_NODE_POOL, "ml-prod-h100-nodepool"),
             res(t.KARPENTER_NODE_CLASS, patch(KARPENTER_NODE_CLASS, {"spec.subnetSelectorTerms": [{"id": "subnet-1"}, {"id": "subnet-2"}]}),
                 "ml-prod-h100-nodeclass")],
        ],
        expect=["efa fabric pool spans 2 zones", "tcpx fabric pool spans 2 zones", "spans every zone of the cluster", "infiniband fabric pool spans 2 zones",
                "NodePool h100: the efa fabric pool spans 2 zones", "every zone its EC2NodeClass h100 selects subnets in by tags",
                "EC2NodeClass h100 (not in the stack)"],
    ),
    Case(
        "fabric-eks-efa-security-group",
        bad=[
            _efa_stack(rules=(SELF_IN, None)),  # no egress to itself
            _efa_stack(rules=(patch(SELF_IN, {"ipProtocol": "tcp"}), SELF_OUT)),  # not every protocol
            _efa_stack(template=patch(EFA_TEMPLATE, {"networkInterfaces.2.securityGroups": ["sg-cluster"]})),
            _efa_stack(template=LAUNCH_TEMPLATE),  # labelled EFA, no EFA interfaces
            # Karpenter: the EFA group's egress rule missing; the group selected by name; only the
            # cluster group; no EC2NodeClass to read; an interface layout without efa-only.
            _karpenter_stack(rules=(SELF_IN, None)),
            _karpenter_stack(node_class=patch(KARPENTER_EFA_CLASS, {"spec.securityGroupSelectorTerms": [{"id": "sg-cluster"}, {"name": "efa"}]})),
            _karpenter_stack(node_class=patch(KARPENTER_EFA_CLASS, {"spec.securityGroupSelectorTerms": [{"id": "sg-cluster"}]})),
            _karpenter_stack(node_class=None),
            _karpenter_stack(node_class=patch(KARPENTER_EFA_CLASS, {"spec.networkInterfaces": [
                {"networkCardIndex": 0, "deviceIndex": 0, "interfaceType": "interface"}]})),
        ],
        good=[
            _efa_stack(),
            # A node group without EFA needs none.
            [res(t.EKS_NODE_GROUP, EKS_GPU_NODE_GROUP, "ml-prod-l4"), res(t.LAUNCH_TEMPLATE, LAUNCH_TEMPLATE, "ml-prod-l4")],
            _karpenter_stack(),
            # Without networkInterfaces Karpenter adds EFA interfaces for pods that request them.
            _karpenter_stack(node_class=patch(KARPENTER_EFA_CLASS, {"spec.networkInterfaces": DELETE})),
            # A Karpenter pool without EFA needs none.
            [res(t.KARPENTER_NODE_POOL, KARPENTER_GPU_NODE_POOL, "ml-prod-h100-nodepool"),
             res(t.KARPENTER_NODE_CLASS, KARPENTER_NODE_CLASS, "ml-prod-h100-nodeclass")],
        ],
        expect=["EFA interface 0 (card 0) carries no security group", "EFA interface 0 (card 0)", "EFA interface 2 (card 2)",
                "launch template has no EFA interfaces",
                "EC2NodeClass h100 (NodePool h100): selects no security group that allows all traffic",
                "selects its security groups by tags or name", "EC2NodeClass h100 (NodePool h100): selects no security group",
                "EC2NodeClass h100 is not in the stack", "networkInterfaces has no efa-only interface"],
    ),
    Case(
        "fabric-spot-acknowledged",
        env="dev",
        bad=[
            one(t.EKS_NODE_GROUP, patch(EFA_GROUP, {"capacityType": "SPOT"})),
            one(t.GKE_NODE_POOL, patch(GKE_FABRIC_POOL, {"nodeConfig.spot": True})),
            one(t.AKS_AGENT_POOL, patch(AKS_FABRIC_POOL, {"scaleSetPriority": "Spot"})),
            # Karpenter: spot among the capacity types, no annotation saying why.
            one(t.KARPENTER_NODE_POOL, patch(KARPENTER_EFA_POOL, {"spec.template.spec.requirements.1.values": ["spot", "on-demand"]})),
        ],
        good=[
            one(t.EKS_NODE_GROUP, patch(EFA_GROUP, {"capacityType": "SPOT", ("tags", "ml-clusters/interconnect-spot-reason"): "checkpoints every 10 min"})),
            one(t.GKE_NODE_POOL, patch(GKE_FABRIC_POOL, {"nodeConfig.spot": True, ("nodeConfig", "resourceLabels", "ml-clusters-interconnect-spot-reason"): "checkpoints"})),
            one(t.EKS_NODE_GROUP, EFA_GROUP),
            # Spot without a fabric is gpu-spot-allowed's business.
            one(t.EKS_NODE_GROUP, patch(EKS_GPU_NODE_GROUP, {"capacityType": "SPOT"})),
            one(t.KARPENTER_NODE_POOL, patch(KARPENTER_EFA_POOL, {"spec.template.spec.requirements.1.values": ["spot", "on-demand"],
                                                                 ("metadata", "annotations", "ml-clusters/interconnect-spot-reason"): "checkpoints"})),
            one(t.KARPENTER_NODE_POOL, KARPENTER_EFA_POOL),  # reserved then on-demand
        ],
        expect=["efa fabric pool runs on spot", "tcpx fabric pool runs on spot", "infiniband fabric pool runs on spot",
                "NodePool h100: the efa fabric pool runs on spot"],
    ),
    Case(
        "fabric-prod-pool-uses-its-fabric",
        bad=[
            one(t.EKS_NODE_GROUP, patch(EKS_GPU_NODE_GROUP, {"tags": DELETE})),  # p5 without EFA and no reason
            one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"nodeConfig.machineType": "a3-highgpu-8g"})),
            one(t.AKS_AGENT_POOL, patch(AKS_GPU_POOL, {"tags": DELETE})),  # ND96isr_H100_v5 without InfiniBand
            one(t.KARPENTER_NODE_POOL, patch(KARPENTER_GPU_NODE_POOL, {"metadata.annotations": DELETE})),  # p5 on Karpenter, no EFA, no reason
        ],
        good=[
            one(t.EKS_NODE_GROUP, EFA_GROUP),
            one(t.EKS_NODE_GROUP, EKS_GPU_NODE_GROUP),  # no EFA, with the stack's reason
            one(t.GKE_NODE_POOL, patch(GKE_GPU_POOL, {"nodeConfig.machineType": "a3-highgpu-8g",
                                                      ("nodeConfig", "resourceLabels", "ml-clusters-interconnect-waiver"): "single_node"})),
            one(t.AKS_AGENT_POOL, AKS_FABRIC_POOL),
            one(t.GKE_NODE_POOL, GKE_GPU_POOL),  # g2: no fabric to use
            one(t.KARPENTER_NODE_POOL, KARPENTER_EFA_POOL),
            one(t.KARPENTER_NODE_POOL, KARPENTER_GPU_NODE_POOL),  # no EFA, with the stack's reason (annotation)
        ],
        expect=["p5.48xlarge has a fabric (efa)", "a3-highgpu-8g has a fabric (tcpx)", "Standard_ND96isr_H100_v5 has a fabric (infiniband)",
                "NodePool h100: p5.48xlarge has a fabric (efa)"],
    ),
]

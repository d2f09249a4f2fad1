"""Engine type tokens the rules check, and small shared facts about them."""

from __future__ import annotations

import ipaddress

# AWS (pulumi-aws 7.x)
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_ADDON = "aws:eks/addon:Addon"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
KMS_KEY = "aws:kms/key:Key"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
S3_BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
EFS_FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"

# Google Cloud (pulumi-gcp 10.x)
GKE_CLUSTER = "gcp:container/cluster:Cluster"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCP_KMS_KEY_RING = "gcp:kms/keyRing:KeyRing"
GCP_KMS_CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
FILESTORE_INSTANCE = "gcp:filestore/instance:Instance"
GCP_IAM_AUDIT_CONFIG = "gcp:projects/iAMAuditConfig:IAMAuditConfig"
BINAUTHZ_POLICY = "gcp:binaryauthorization/policy:Policy"

# Azure (pulumi-azure-native 3.x)
AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"
AKS_AGENT_POOL = "azure-native:containerservice:AgentPool"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
KEY_VAULT = "azure-native:keyvault:Vault"
AZ_DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"

# Kubernetes (pulumi-kubernetes 4.x)
# Karpenter's NodePool (karpenter.sh/v1, Karpenter 1.14): a GPU pool when Karpenter provisions it.
KARPENTER_NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
# Karpenter's EC2NodeClass (karpenter.k8s.aws/v1): what an EKS launch template is to a node group.
KARPENTER_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
K8S_POD = "kubernetes:core/v1:Pod"
K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
K8S_DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
K8S_REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
K8S_JOB = "kubernetes:batch/v1:Job"
K8S_CRON_JOB = "kubernetes:batch/v1:CronJob"
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
K8S_NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
K8S_STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
K8S_CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
K8S_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
K8S_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    K8S_POD: ("spec",),
    K8S_DEPLOYMENT: ("spec", "template", "spec"),
    K8S_STATEFUL_SET: ("spec", "template", "spec"),
    K8S_DAEMON_SET: ("spec", "template", "spec"),
    K8S_REPLICA_SET: ("spec", "template", "spec"),
    K8S_JOB: ("spec", "template", "spec"),
    K8S_CRON_JOB: ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOAD_TYPES = tuple(POD_SPEC_PATHS)

# The project's GPU convention (components/conventions.py): one taint on every GPU pool.
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
GPU_TAINT_EFFECT = "NoSchedule"
GPU_TAINT = f"{GPU_TAINT_KEY}={GPU_TAINT_VALUE}:{GPU_TAINT_EFFECT}"
GPU_NODE_LABEL = "ml-clusters.io/gpu"
SERVING_LABEL = "ml-clusters.io/serving"
# On a StorageClass: the stack owner's word that its volumes are encrypted at rest
# (`existing.storageEncrypted`; components/platform/common.py ENCRYPTED_ANNOTATION).
ENCRYPTED_ANNOTATION = "ml-clusters.io/encrypted"


def is_world_cidr(cidr: str) -> bool:
    """0.0.0.0/0, ::/0 or any other range with prefix length 0."""
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False

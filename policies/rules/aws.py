"""EKS and the AWS resources around it (launch templates, KMS keys, EFS)."""

from __future__ import annotations

import json
from typing import Any, Sequence

from .base import Context, Finding, Resource, flag, get, is_set, items, number, present, resource_rule, show, stack_rule
from .catalog_data import KUBERNETES_VERSIONS
from .types import (
    EFS_FILE_SYSTEM, EKS_ADDON, EKS_CLUSTER, EKS_NODE_GROUP, KARPENTER_NODE_CLASS, KMS_KEY, LAUNCH_TEMPLATE, S3_BUCKET, S3_BUCKET_LOGGING,
    is_world_cidr,
)

DOMAIN = "eks"


@resource_rule(
    id="eks-secrets-encryption",
    title="EKS secrets envelope encryption",
    domain=DOMAIN,
    types=[EKS_CLUSTER],
    description="EKS clusters encrypt Kubernetes secrets with a customer-managed KMS key (envelope encryption).",
    severity="high",
    level="mandatory",
    fix='Set encryptionConfig {resources: ["secrets"], provider: {keyArn: <KMS key ARN>}} on the EKS cluster.',
)
def eks_secrets_encryption(r: Resource, ctx: Context):
    configs = items(r.props, "encryptionConfig")
    if not any("secrets" in items(c, "resources") and present(c, "provider.keyArn") for c in configs):
        yield "encryptionConfig does not encrypt the secrets resource with a KMS key, so secrets sit in etcd with only AWS-managed encryption."


@resource_rule(
    id="eks-public-endpoint-cidrs",
    title="EKS public endpoint restricted",
    domain=DOMAIN,
    types=[EKS_CLUSTER],
    description="When the EKS API endpoint is public it lists the CIDRs allowed to reach it, and never 0.0.0.0/0.",
    severity="high",
    level="mandatory",
    fix="Set vpcConfig.endpointPublicAccess false, or list your office/VPN ranges in vpcConfig.publicAccessCidrs (stack key network.apiAllowedCidrs).",
)
def eks_public_endpoint_cidrs(r: Resource, ctx: Context):
    public = flag(get(r.props, "vpcConfig.endpointPublicAccess"))
    if public is False:
        return
    cidrs = items(r.props, "vpcConfig.publicAccessCidrs")
    if not cidrs:
        yield "the API endpoint is public (endpointPublicAccess defaults to true) and publicAccessCidrs is unset, which EKS reads as 0.0.0.0/0."
        return
    world = [c for c in cidrs if isinstance(c, str) and is_world_cidr(c)]
    if world:
        yield f"vpcConfig.publicAccessCidrs includes {', '.join(world)}: the Kubernetes API is reachable from the whole internet."


@resource_rule(
    id="eks-private-endpoint",
    title="EKS private endpoint on",
    domain=DOMAIN,
    types=[EKS_CLUSTER],
    description="EKS clusters enable the private API endpoint so nodes and in-VPC clients never leave the VPC to reach the API.",
    severity="medium",
    level="mandatory",
    fix="Set vpcConfig.endpointPrivateAccess true on the EKS cluster.",
)
def eks_private_endpoint(r: Resource, ctx: Context):
    if flag(get(r.props, "vpcConfig.endpointPrivateAccess")) is not True:
        yield f"vpcConfig.endpointPrivateAccess is {show(get(r.props, 'vpcConfig.endpointPrivateAccess'))}; node-to-API traffic goes through the public endpoint."


@resource_rule(
    id="eks-control-plane-logging",
    title="EKS control-plane logs",
    domain=DOMAIN,
    types=[EKS_CLUSTER],
    description="EKS clusters ship the api, audit and authenticator control-plane logs to CloudWatch.",
    severity="medium",
    level="mandatory",
    fix='Add the missing types to enabledClusterLogTypes, e.g. ["api", "audit", "authenticator"].',
    config={
        "requiredLogTypes": {
            "type": "array",
            "items": {"type": "string", "enum": ["api", "audit", "authenticator", "controllerManager", "scheduler"]},
            "default": ["api", "audit", "authenticator"],
            "description": "Control-plane log types every EKS cluster must enable.",
        }
    },
)
def eks_control_plane_logging(r: Resource, ctx: Context):
    enabled = set(items(r.props, "enabledClusterLogTypes"))
    missing = [t for t in ctx.config["requiredLogTypes"] if t not in enabled]
    if missing:
        yield f"enabledClusterLogTypes lacks {', '.join(missing)}; without them there is no record of API calls or of who authenticated."


@resource_rule(
    id="eks-supported-version",
    title="EKS supported Kubernetes version",
    domain=DOMAIN,
    types=[EKS_CLUSTER],
    description="EKS clusters pin a Kubernetes version the project supports (components/catalog KUBERNETES_VERSIONS).",
    severity="medium",
    level="mandatory",
    fix='Set version to a supported minor, quoted, e.g. "1.35" (stack key kubernetesVersion).',
    config={
        "supportedVersions": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[0-9]+\\.[0-9]+$"},
            "default": list(KUBERNETES_VERSIONS),
            "description": "Kubernetes minor versions allowed on EKS.",
        }
    },
)
def eks_supported_version(r: Resource, ctx: Context):
    version = get(r.props, "version")
    supported = list(ctx.config["supportedVersions"])
    if version is None:
        yield f"version is unset, so EKS picks its current default; pin one of {', '.join(supported)}."
    elif str(version) not in supported:
        yield f"version {show(str(version))} is not supported by this project; supported: {', '.join(supported)}."


@resource_rule(
    id="eks-authentication-mode",
    title="EKS access entries",
    domain=DOMAIN,
    types=[EKS_CLUSTER],
    description="EKS clusters authenticate with access entries (authenticationMode API or API_AND_CONFIG_MAP), not only the aws-auth ConfigMap.",
    severity="high",
    level="mandatory",
    fix='Set accessConfig.authenticationMode "API" (or "API_AND_CONFIG_MAP" while migrating).',
)
def eks_authentication_mode(r: Resource, ctx: Context):
    mode = get(r.props, "accessConfig.authenticationMode")
    if mode not in ("API", "API_AND_CONFIG_MAP"):
        yield f"accessConfig.authenticationMode is {show(mode)}; the aws-auth ConfigMap alone is unaudited and one bad edit locks everyone out."


@resource_rule(
    id="eks-node-no-ssh",
    title="No SSH on EKS nodes",
    domain=DOMAIN,
    types=[EKS_NODE_GROUP, LAUNCH_TEMPLATE],
    description="EKS node groups and their launch templates configure no SSH key; use SSM Session Manager for node access.",
    severity="high",
    level="mandatory",
    fix="Remove remoteAccess from the node group and keyName from the launch template; reach nodes with SSM Session Manager.",
)
def eks_node_no_ssh(r: Resource, ctx: Context):
    if r.type == EKS_NODE_GROUP:
        if is_set(r.props, "remoteAccess"):
            yield "remoteAccess is set: EKS opens port 22 on every node (to 0.0.0.0/0 unless sourceSecurityGroupIds narrows it)."
    elif is_set(r.props, "keyName"):
        yield f"keyName {show(get(r.props, 'keyName'))} installs an SSH key on every node started from this template."


@resource_rule(
    id="eks-node-group-launch-template",
    title="EKS node groups use a launch template",
    domain=DOMAIN,
    types=[EKS_NODE_GROUP],
    description="EKS node groups start from the project's launch template, the only place IMDSv2 and volume encryption are enforced.",
    severity="medium",
    level="mandatory",
    fix="Set launchTemplate {id, version} on the node group, pointing at a template with IMDSv2 required and encrypted volumes.",
)
def eks_node_group_launch_template(r: Resource, ctx: Context):
    if not (present(r.props, "launchTemplate.id") or present(r.props, "launchTemplate.name")):
        yield "the node group has no launchTemplate, so its nodes get EKS's default metadata options and root volume settings."


def _node_template(r: Resource) -> Any:
    """What starts a node: a launch template's inputs, or an EC2NodeClass's spec (same field names)."""
    return get(r.props, "spec", {}) if r.type == KARPENTER_NODE_CLASS else r.props


@resource_rule(
    id="eks-launch-template-imdsv2",
    title="IMDSv2 with hop limit 1",
    domain=DOMAIN,
    types=[LAUNCH_TEMPLATE, KARPENTER_NODE_CLASS],
    description="Node launch templates (and Karpenter's EC2NodeClasses) require IMDSv2 tokens and a response hop limit of 1, so pods cannot read the node's IAM credentials.",
    severity="high",
    level="mandatory",
    fix='Set metadataOptions {httpTokens: "required", httpPutResponseHopLimit: 1} on the launch template (an EC2NodeClass: spec.metadataOptions).',
    config={
        "maxHopLimit": {
            "type": "integer",
            "minimum": 1,
            "maximum": 64,
            "default": 1,
            "description": "Largest allowed metadataOptions.httpPutResponseHopLimit.",
        }
    },
)
def eks_launch_template_imdsv2(r: Resource, ctx: Context):
    props = _node_template(r)
    tokens = get(props, "metadataOptions.httpTokens")
    if tokens != "required":
        yield f"metadataOptions.httpTokens is {show(tokens)}; IMDSv1 lets any SSRF in a pod fetch the node role's credentials."
    hops = number(get(props, "metadataOptions.httpPutResponseHopLimit"))
    limit = ctx.config["maxHopLimit"]
    if hops is None or hops > limit:
        shown = "unset" if hops is None else str(int(hops))
        yield f"metadataOptions.httpPutResponseHopLimit is {shown}; above {limit} lets containers reach the instance metadata service."


@resource_rule(
    id="eks-encrypted-volumes",
    title="Encrypted node volumes",
    domain=DOMAIN,
    types=[LAUNCH_TEMPLATE, KARPENTER_NODE_CLASS],
    description="Node launch templates (and Karpenter's EC2NodeClasses) declare their EBS volumes and encrypt every one of them.",
    severity="high",
    level="mandatory",
    fix='Give the launch template a blockDeviceMappings entry for the root device with ebs {encrypted: "true", volumeType: "gp3"}.',
)
def eks_encrypted_volumes(r: Resource, ctx: Context):
    mappings = [m for m in items(_node_template(r), "blockDeviceMappings") if get(m, "ebs") is not None]
    if not mappings:
        yield "blockDeviceMappings declares no EBS volume, so the root volume's encryption depends on the AMI and the account default."
        return
    for i, m in enumerate(mappings):
        if flag(get(m, "ebs.encrypted")) is not True:
            device = get(m, "deviceName", f"blockDeviceMappings[{i}]")
            yield f"the EBS volume {device} has encrypted {show(get(m, 'ebs.encrypted'))}; model weights and caches on it would be stored in clear."


@resource_rule(
    id="aws-kms-key-rotation",
    title="KMS key rotation",
    domain=DOMAIN,
    types=[KMS_KEY],
    description="Symmetric KMS keys (EKS secrets, EBS, S3) rotate their key material yearly.",
    severity="medium",
    level="mandatory",
    fix="Set enableKeyRotation true on the KMS key.",
)
def aws_kms_key_rotation(r: Resource, ctx: Context):
    spec = get(r.props, "customerMasterKeySpec") or get(r.props, "keySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT":
        return  # AWS rotates only symmetric encryption keys
    if flag(get(r.props, "enableKeyRotation")) is not True:
        yield f"enableKeyRotation is {show(get(r.props, 'enableKeyRotation'))}; the same key material would protect secrets for the key's whole life."


@resource_rule(
    id="aws-efs-encrypted",
    title="Encrypted EFS",
    domain=DOMAIN,
    types=[EFS_FILE_SYSTEM],
    description="EFS file systems (shared model and dataset storage) are encrypted at rest.",
    severity="high",
    level="mandatory",
    fix="Set encrypted true (optionally kmsKeyId) on the EFS file system; encryption cannot be added later, so this replaces it.",
)
def aws_efs_encrypted(r: Resource, ctx: Context):
    if flag(get(r.props, "encrypted")) is not True:
        yield f"encrypted is {show(get(r.props, 'encrypted'))}; EFS defaults to unencrypted when created through the API."


def _cni_network_policy(addon: Resource) -> object:
    """The add-on's enableNetworkPolicy setting, None when unset or unreadable."""
    raw = get(addon.props, "configurationValues")
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        values = json.loads(raw)
    except ValueError:
        return None  # YAML or broken: not what this project writes, so not trusted
    return values.get("enableNetworkPolicy") if isinstance(values, dict) else None


@stack_rule(
    id="eks-vpc-cni-network-policy",
    title="EKS VPC CNI enforces NetworkPolicy",
    domain=DOMAIN,
    types=[EKS_CLUSTER, EKS_ADDON],
    description="EKS clusters run the vpc-cni add-on with enableNetworkPolicy \"true\"; otherwise the namespaces' NetworkPolicies are stored but not enforced.",
    severity="high",
    level="mandatory",
    fix='Manage vpc-cni as an EKS add-on with configurationValues {"enableNetworkPolicy": "true"} (its node agent then enforces NetworkPolicy).',
)
def eks_vpc_cni_network_policy(resources: Sequence[Resource], ctx: Context):
    # amazon-vpc-cni-k8s (v1.23.0 charts/aws-vpc-cni/values.yaml) defaults enableNetworkPolicy
    # to "false" and hands it to the node agent as --enable-network-policy.
    clusters = [r for r in resources if r.type == EKS_CLUSTER]
    cnis = [r for r in resources if r.type == EKS_ADDON and get(r.props, "addonName") == "vpc-cni"]
    if not cnis:
        for cluster in clusters:
            # bootstrapSelfManagedAddons false: the CNI is installed outside the stack, which
            # this rule cannot judge. Unset or true: EKS installs its default, unenforcing CNI.
            if flag(get(cluster.props, "bootstrapSelfManagedAddons")) is not False:
                yield Finding(
                    "the cluster has no vpc-cni add-on in this stack, so EKS installs its self-managed default, which does not enforce NetworkPolicy.",
                    resource=cluster,
                )
    for addon in cnis:
        setting = _cni_network_policy(addon)
        if flag(setting) is not True:
            yield Finding(
                f"vpc-cni has enableNetworkPolicy {show(setting)}: NetworkPolicies are accepted by the API but nothing enforces them.",
                resource=addon,
            )


@stack_rule(
    id="aws-store-access-logs",
    title="S3 data-access audit trail (prod)",
    domain=DOMAIN,
    types=[S3_BUCKET, S3_BUCKET_LOGGING],
    description="Every S3 bucket of a prod stack (the model store, backups and their replicas) has server access logging into a log bucket in its own region; log buckets themselves are exempt.",
    severity="medium",
    level="mandatory",
    environments=["prod"],
    fix="Add an aws.s3.BucketLogging for the bucket whose targetBucket is a log bucket in the same region, with a bucket policy letting logging.s3.amazonaws.com put objects.",
)
def aws_store_access_logs(resources: Sequence[Resource], ctx: Context):
    # S3 delivers server access logs only to a bucket in the source's region and account.
    buckets = {get(r.props, "bucket"): r for r in resources if r.type == S3_BUCKET and get(r.props, "bucket")}
    loggings = [r for r in resources if r.type == S3_BUCKET_LOGGING]
    logged = {get(r.props, "bucket"): get(r.props, "targetBucket") for r in loggings}
    targets = set(logged.values())
    for name, bucket in sorted(buckets.items()):
        if name in targets:
            continue
        if name not in logged:
            yield Finding(f"bucket {name} has no server access logging: reads and writes of its objects leave no audit trail.", resource=bucket)
            continue
        target = buckets.get(logged[name])
        if target is not None and get(target.props, "region") != get(bucket.props, "region"):
            yield Finding(
                f"bucket {name} logs to {logged[name]} in region {show(get(target.props, 'region'))}, not its own ({show(get(bucket.props, 'region'))}): S3 does not deliver logs across regions.",
                resource=bucket,
            )

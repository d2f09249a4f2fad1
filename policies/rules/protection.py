"""Production state that must survive a mistaken `pulumi destroy` or a bad refactor."""

from __future__ import annotations

from .base import Context, Resource, flag, get, resource_rule, show
from .types import (
    AKS_CLUSTER,
    EFS_FILE_SYSTEM,
    EKS_CLUSTER,
    FILESTORE_INSTANCE,
    GCP_KMS_CRYPTO_KEY,
    GCP_KMS_KEY_RING,
    GCS_BUCKET,
    GKE_CLUSTER,
    KEY_VAULT,
    KMS_KEY,
    S3_BUCKET,
    S3_BUCKET_V2,
    STORAGE_ACCOUNT,
)

DOMAIN = "protection"
STATEFUL_TYPES = [
    EKS_CLUSTER,
    GKE_CLUSTER,
    AKS_CLUSTER,
    S3_BUCKET,
    S3_BUCKET_V2,
    GCS_BUCKET,
    STORAGE_ACCOUNT,
    KMS_KEY,
    GCP_KMS_KEY_RING,
    GCP_KMS_CRYPTO_KEY,
    KEY_VAULT,
    EFS_FILE_SYSTEM,
    FILESTORE_INSTANCE,
]


@resource_rule(
    id="prod-protect-stateful-resources",
    title="Stateful resources protected in prod",
    domain=DOMAIN,
    types=STATEFUL_TYPES,
    description="In prod, clusters, buckets, storage accounts, file systems and encryption keys carry Pulumi's protect option.",
    severity="high",
    level="mandatory",
    environments=["prod"],
    fix="Create the resource with pulumi.ResourceOptions(protect=True) when the stack's environment is prod.",
    config={
        "statefulTypes": {
            "type": "array",
            "items": {"type": "string"},
            "default": STATEFUL_TYPES,
            "description": "Resource types that must be protected in prod (a subset of the types this rule inspects).",
        }
    },
)
def prod_protect_stateful_resources(r: Resource, ctx: Context):
    if r.type not in ctx.config["statefulTypes"]:
        return
    if not r.protect:
        yield f"{r.type} {r.name} is not protected: a destroy or an accidental replacement would delete it and its data."


@resource_rule(
    id="prod-cloud-deletion-protection",
    title="Cloud-side deletion protection in prod",
    domain=DOMAIN,
    types=[EKS_CLUSTER, GKE_CLUSTER, KEY_VAULT, S3_BUCKET, S3_BUCKET_V2, GCS_BUCKET],
    description="In prod, the cloud itself refuses deletion where it can: EKS/GKE deletion protection, Key Vault purge protection, no forceDestroy on buckets.",
    severity="high",
    level="mandatory",
    environments=["prod"],
    fix="Turn on the cloud's protection: EKS/GKE deletionProtection true, Key Vault properties.enablePurgeProtection true, bucket forceDestroy false.",
)
def prod_cloud_deletion_protection(r: Resource, ctx: Context):
    if r.type == EKS_CLUSTER:
        if flag(get(r.props, "deletionProtection")) is not True:
            yield f"deletionProtection is {show(get(r.props, 'deletionProtection'))}: EKS deletes the cluster on request (the AWS default is false)."
    elif r.type == GKE_CLUSTER:
        if flag(get(r.props, "deletionProtection")) is False:
            yield "deletionProtection is false: the provider will delete the cluster on destroy or replacement."
    elif r.type == KEY_VAULT:
        if flag(get(r.props, "properties.enablePurgeProtection")) is not True:
            yield "properties.enablePurgeProtection is not true: a deleted vault's keys can be purged before the retention period ends."
    elif flag(get(r.props, "forceDestroy")) is True:
        yield "forceDestroy is true: deleting the bucket also deletes every object in it."

"""The provider SDK facts the stores rely on, read from the installed SDKs (pulumi-aws 7.x,
pulumi-gcp 10.x, pulumi-azure-native 3.x): if an upgrade renames or changes one, this fails
before a real `pulumi up` would."""

from __future__ import annotations

import inspect

import pulumi_aws as aws
import pulumi_azure_native.storage as az_storage
import pulumi_gcp as gcp
from pulumi_aws.s3 import _inputs as s3_inputs


def params(resource_cls) -> set[str]:
    return set(inspect.signature(resource_cls._internal_init).parameters)


def test_aws_resources_take_a_region_for_the_replicas():
    for cls in (aws.s3.Bucket, aws.s3.BucketVersioning, aws.s3.BucketPublicAccessBlock,
                aws.s3.BucketServerSideEncryptionConfiguration, aws.s3.BucketOwnershipControls, aws.kms.Key, aws.kms.Alias):
        assert "region" in params(cls), cls.__name__


def test_s3_rtc_and_metrics_take_fifteen_minutes_only():
    rtc = s3_inputs.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs.__init__.__doc__ or ""
    threshold = s3_inputs.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs.__init__.__doc__ or ""
    assert "Valid values: `15`" in rtc and "Valid values: `15`" in threshold
    destination = s3_inputs.BucketReplicationConfigRuleDestinationArgs.__init__.__doc__ or ""
    assert "Replication Time Control must be used in conjunction with `metrics`" in destination
    rule = s3_inputs.BucketReplicationConfigRuleArgs.__init__.__doc__ or ""
    assert "only valid with V2 replication configurations (i.e., when `filter` is used)" in rule


def test_gcs_turbo_replication_is_for_dual_region_buckets():
    assert {"rpo", "custom_placement_config", "versioning", "public_access_prevention"} <= params(gcp.storage.Bucket)
    source = inspect.getsource(gcp.storage.bucket)
    assert '`"ASYNC_TURBO"` value enables turbo replication, valid for dual-region buckets only' in source
    assert "special values for multi-region locations are `asia`, `europe`, and `us`" in inspect.getsource(gcp.artifactregistry.repository)


def test_azure_object_replication_is_configured_on_the_destination_first():
    source = inspect.getsource(az_storage.object_replication_policy)
    assert "For the destination account, provide the value 'default'. Configure the policy on the destination account first." in source
    assert "should be full resource id if allowCrossTenantReplication set to false" in source
    assert {"is_versioning_enabled", "change_feed"} <= params(az_storage.BlobServiceProperties)
    assert "is_hns_enabled" in params(az_storage.StorageAccount)

"""AWS stores under mocks: the model store, its replica, replication and identities.

Upstream facts (pulumi-aws 7.51.1, pulumi_aws/s3/_inputs.py docstrings):
- BucketReplicationConfigRuleDestinationReplicationTimeTime.minutes: "Valid values: `15`";
  "Replication Time Control must be used in conjunction with `metrics`";
  metrics event_threshold.minutes: "Valid values: `15`".
- delete_marker_replication "is only valid with V2 replication configurations (i.e., when
  `filter` is used)".
- sse_kms_encrypted_objects: "If specified, `replica_kms_key_id` in `destination`
  `encryption_configuration` must be specified as well".
- Every resource's `region`: "Region where this resource will be managed. Defaults to the
  Region set in the provider configuration" (pulumi_aws/s3/bucket.py).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import inputs, plan_for_stack

REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-aws")


@pytest.fixture(scope="module")
def standby():
    return plan_for_stack("prod-aws-dr")


def by_bucket(plan, type_):
    return {inputs(r)["bucket"]: (r, inputs(r)) for r in plan.by_type(type_)}


def test_model_store_and_replica_buckets_live_in_the_pair(prod):
    buckets = {inputs(r)["bucket"]: inputs(r) for r in prod.by_type("aws:s3/bucket:Bucket")}
    assert set(buckets) == {
        "ml-prod-aws-models-us-east-1", "ml-prod-aws-backups-us-east-1",
        "ml-prod-aws-models-us-west-2", "ml-prod-aws-backups-us-west-2",
    }
    # The replicas go to the recovery region by the per-resource region argument.
    assert buckets["ml-prod-aws-models-us-west-2"]["region"] == "us-west-2"
    assert "region" not in buckets["ml-prod-aws-models-us-east-1"]
    assert all(b["forceDestroy"] is False for b in buckets.values())
    assert all(r.protect for r in prod.by_type("aws:s3/bucket:Bucket"))


def test_every_bucket_is_versioned_private_and_encrypted_with_the_stacks_key(prod):
    versioning = by_bucket(prod, "aws:s3/bucketVersioning:BucketVersioning")
    blocks = by_bucket(prod, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    sse = by_bucket(prod, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert len(versioning) == len(blocks) == len(sse) == 4
    assert all(v["versioningConfiguration"]["status"] == "Enabled" for _, v in versioning.values())
    assert all(all(b[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
               for _, b in blocks.values())
    keys = {inputs(k).get("region"): k for k in prod.by_type("aws:kms/key:Key") if "stores" in k.name}
    assert set(keys) == {None, "us-west-2"}  # the stack's own key, and one in the recovery region
    for name, (_, cfg) in sse.items():
        default = cfg["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"].startswith("arn:aws:kms:")
        region = "us-west-2" if name.endswith("us-west-2") else "us-east-1"
        assert f":{region}:" in default["kmsMasterKeyId"], name


def test_replication_has_rtc_metrics_delete_markers_and_a_replica_key(prod):
    configs = {r.name: (r, inputs(r)) for r in prod.by_type(REPLICATION)}
    assert set(configs) == {"ml-prod-aws-stores-models", "ml-prod-aws-stores-backups"}
    resource, cfg = configs["ml-prod-aws-stores-models"]
    assert cfg["bucket"] == "ml-prod-aws-models-us-east-1"
    (rule,) = cfg["rules"]
    assert rule["status"] == "Enabled" and rule["filter"] == {}  # V2 rule: delete markers allowed
    assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    dest = rule["destination"]
    assert dest["bucket"] == "arn:aws:s3:::ml-prod-aws-models-us-west-2"
    assert dest["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert dest["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}
    assert ":us-west-2:" in dest["encryptionConfiguration"]["replicaKmsKeyId"]
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
    # S3 refuses replication until both buckets are versioned: the config waits for both.
    versionings = {inputs(v)["bucket"]: v.urn for v in prod.by_type("aws:s3/bucketVersioning:BucketVersioning")}
    assert versionings["ml-prod-aws-models-us-east-1"] in resource.dependencies
    assert versionings["ml-prod-aws-models-us-west-2"] in resource.dependencies


def test_replication_role_may_replicate_only_into_the_replica(prod):
    policy = json.loads(inputs(prod.one("aws:iam/rolePolicy:RolePolicy", "ml-prod-aws-stores-replication-models"))["policy"])
    write = next(s for s in policy["Statement"] if s["Sid"] == "WriteReplica")
    assert write["Resource"].startswith("arn:aws:") and "ReplicateDelete" in " ".join(write["Action"])


def test_ecr_replicates_the_clusters_repositories_to_the_recovery_region(prod):
    rep = inputs(prod.one("aws:ecr/replicationConfiguration:ReplicationConfiguration"))
    (rule,) = rep["replicationConfiguration"]["rules"]
    assert rule["destinations"] == [{"region": "us-west-2", "registryId": "123456789012"}]
    assert rule["repositoryFilters"] == [{"filter": "ml-prod-aws", "filterType": "PREFIX_MATCH"}]
    template = inputs(prod.one("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"))
    assert template["prefix"] == "ml-prod-aws" and "REPLICATION" in template["appliedFors"]
    assert template["imageTagMutability"] == "IMMUTABLE"


def policy_of(plan, name):
    return json.loads(inputs(plan.one("aws:iam/rolePolicy:RolePolicy", name))["policy"])


def test_serving_reads_and_training_writes_the_model_store_through_pod_identity(prod):
    read = policy_of(prod, "ml-prod-aws-stores-inference-models")
    write = policy_of(prod, "ml-prod-aws-stores-training-models")
    objects = lambda p: next(s for s in p["Statement"] if s["Sid"] == "Objects")  # noqa: E731
    assert objects(read)["Resource"] == "arn:aws:s3:::ml-prod-aws-models-us-east-1/*"
    assert "s3:PutObject" not in objects(read)["Action"] and "s3:PutObject" in objects(write)["Action"]
    associations = {inputs(a)["namespace"]: inputs(a) for a in prod.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    assert associations["inference"]["serviceAccount"] == "workload"
    assert associations["velero"]["serviceAccount"] == "velero-server"  # the chart's <fullname>-server


def test_standby_creates_no_stores_and_reads_the_replicas_by_name(standby):
    assert standby.by_type("aws:s3/bucket:Bucket") == [] and standby.by_type(REPLICATION) == []
    read = policy_of(standby, "ml-prod-aws-dr-stores-inference-models")
    objects = next(s for s in read["Statement"] if s["Sid"] == "Objects")
    assert objects["Resource"] == "arn:aws:s3:::ml-prod-aws-models-us-west-2/*"
    velero = policy_of(standby, "ml-prod-aws-dr-stores-velero")
    assert all("Put" not in a and "Delete" not in a for s in velero["Statement"] for a in s["Action"])
    # No StackReference: the standby does not need the primary stack to preview or run.
    assert standby.by_type("pulumi:pulumi:StackReference") == []

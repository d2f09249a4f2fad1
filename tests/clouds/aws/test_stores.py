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

from components.clouds.aws.stores import (
    ACCESS_LOG_DAYS, ACCESS_LOG_KIND, ACCESS_LOG_NONCURRENT_DAYS, LOG_DELIVERY_PRINCIPAL,
)
from components.config import duration_hours
from components.dr import bucket_name
from preview import engine
from tests.conftest import inputs, plan_for_stack

REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-aws")


@pytest.fixture(scope="module")
def standby():
    return plan_for_stack("prod-aws-dr")


def by_bucket(plan, type_, only=None):
    return {inputs(r)["bucket"]: (r, inputs(r)) for r in plan.by_type(type_) if only is None or inputs(r)["bucket"] in only}


def store_buckets(plan):
    """The stores' buckets, without the access-log buckets."""
    return [r for r in plan.by_type("aws:s3/bucket:Bucket") if f"-{ACCESS_LOG_KIND}-" not in inputs(r)["bucket"]]


def test_model_store_and_replica_buckets_live_in_the_pair(prod):
    buckets = {inputs(r)["bucket"]: inputs(r) for r in store_buckets(prod)}
    assert set(buckets) == {
        "ml-prod-aws-stores-models-us-east-1", "ml-prod-aws-stores-backups-us-east-1",
        "ml-prod-aws-stores-models-us-west-2", "ml-prod-aws-stores-backups-us-west-2",
    }
    # The replicas go to the recovery region by the per-resource region argument.
    assert buckets["ml-prod-aws-stores-models-us-west-2"]["region"] == "us-west-2"
    assert "region" not in buckets["ml-prod-aws-stores-models-us-east-1"]
    assert all(b["forceDestroy"] is False for b in buckets.values())
    assert all(r.protect for r in prod.by_type("aws:s3/bucket:Bucket"))


def test_every_bucket_is_versioned_private_and_encrypted_with_the_stacks_key(prod):
    stores = {inputs(r)["bucket"] for r in store_buckets(prod)}
    versioning = by_bucket(prod, "aws:s3/bucketVersioning:BucketVersioning", stores)
    blocks = by_bucket(prod, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", stores)
    sse = by_bucket(prod, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", stores)
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
    assert cfg["bucket"] == "ml-prod-aws-stores-models-us-east-1"
    (rule,) = cfg["rules"]
    assert rule["status"] == "Enabled" and rule["filter"] == {}  # V2 rule: delete markers allowed
    assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
    dest = rule["destination"]
    assert dest["bucket"] == "arn:aws:s3:::ml-prod-aws-stores-models-us-west-2"
    assert dest["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert dest["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}
    assert ":us-west-2:" in dest["encryptionConfiguration"]["replicaKmsKeyId"]
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
    # S3 refuses replication until both buckets are versioned: the config waits for both.
    versionings = {inputs(v)["bucket"]: v.urn for v in prod.by_type("aws:s3/bucketVersioning:BucketVersioning")}
    assert versionings["ml-prod-aws-stores-models-us-east-1"] in resource.dependencies
    assert versionings["ml-prod-aws-stores-models-us-west-2"] in resource.dependencies


def test_replication_role_may_replicate_only_into_the_replica(prod):
    policy = json.loads(inputs(prod.one("aws:iam/rolePolicy:RolePolicy", "ml-prod-aws-stores-replication-models"))["policy"])
    write = next(s for s in policy["Statement"] if s["Sid"] == "WriteReplica")
    assert write["Resource"].startswith("arn:aws:") and "ReplicateDelete" in " ".join(write["Action"])


def test_ecr_replicates_the_clusters_repositories_to_the_recovery_region(prod):
    rep = inputs(prod.one("aws:ecr/replicationConfiguration:ReplicationConfiguration"))
    (rule,) = rep["replicationConfiguration"]["rules"]
    assert rule["destinations"] == [{"region": "us-west-2", "registryId": "123456789012"}]
    assert rule["repositoryFilters"] == [{"filter": "ml-prod-aws-stores", "filterType": "PREFIX_MATCH"}]
    template = inputs(prod.one("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"))
    assert template["prefix"] == "ml-prod-aws-stores" and "REPLICATION" in template["appliedFors"]
    assert template["imageTagMutability"] == "IMMUTABLE"


def policy_of(plan, name):
    return json.loads(inputs(plan.one("aws:iam/rolePolicy:RolePolicy", name))["policy"])


def test_serving_reads_and_training_writes_the_model_store_through_pod_identity(prod):
    read = policy_of(prod, "ml-prod-aws-stores-inference-models")
    write = policy_of(prod, "ml-prod-aws-stores-training-models")
    objects = lambda p: next(s for s in p["Statement"] if s["Sid"] == "Objects")  # noqa: E731
    assert objects(read)["Resource"] == "arn:aws:s3:::ml-prod-aws-stores-models-us-east-1/*"
    assert "s3:PutObject" not in objects(read)["Action"] and "s3:PutObject" in objects(write)["Action"]
    associations = {inputs(a)["namespace"]: inputs(a) for a in prod.by_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    assert associations["inference"]["serviceAccount"] == "workload"
    assert associations["velero"]["serviceAccount"] == "velero-server"  # the chart's <fullname>-server


def test_standby_creates_no_stores_and_reads_the_replicas_by_name(standby):
    assert standby.by_type("aws:s3/bucket:Bucket") == [] and standby.by_type(REPLICATION) == []
    read = policy_of(standby, "ml-prod-aws-dr-stores-inference-models")
    objects = next(s for s in read["Statement"] if s["Sid"] == "Objects")
    assert objects["Resource"] == "arn:aws:s3:::ml-prod-aws-stores-models-us-west-2/*"
    velero = policy_of(standby, "ml-prod-aws-dr-stores-velero")
    assert all("Put" not in a and "Delete" not in a for s in velero["Statement"] for a in s["Action"])
    # No StackReference: the standby does not need the primary stack to preview or run.
    assert standby.by_type("pulumi:pulumi:StackReference") == []


# --- the audit trail: S3 server access logs ---------------------------------------------
# AWS S3 docs (LoggingEnabled.TargetBucket): logs go to a bucket "in the same AWS Region and
# owned by the same AWS account", which "can't use SSE-KMS or DSSE-KMS default encryption";
# with BucketOwnerEnforced, log delivery is granted by a bucket policy naming the service
# principal logging.s3.amazonaws.com, not by ACL grants.
LOGGING = "aws:s3/bucketLogging:BucketLogging"


def region_of(resource) -> str:
    return inputs(resource).get("region") or "us-east-1"  # prod-aws's provider region


def test_every_store_bucket_in_both_regions_logs_its_requests_to_a_log_bucket_in_its_region(prod):
    logged = {inputs(r)["bucket"]: r for r in prod.by_type(LOGGING)}
    stores = store_buckets(prod)
    assert set(logged) == {inputs(b)["bucket"] for b in stores} and len(stores) == 4
    buckets = {inputs(b)["bucket"]: b for b in prod.by_type("aws:s3/bucket:Bucket")}
    for store in stores:
        name, region = inputs(store)["bucket"], region_of(store)
        logging = inputs(logged[name])
        assert logging["targetBucket"] == bucket_name("ml-prod-aws-stores", ACCESS_LOG_KIND, region), name
        assert region_of(buckets[logging["targetBucket"]]) == region == region_of(logged[name])
        kind = name[len("ml-prod-aws-stores-"):].split("-")[0]
        assert logging["targetPrefix"] == f"{kind}/"


def test_log_buckets_are_private_versioned_sse_s3_protected_and_expire(prod):
    logs = {inputs(b)["bucket"]: b for b in prod.by_type("aws:s3/bucket:Bucket") if f"-{ACCESS_LOG_KIND}-" in inputs(b)["bucket"]}
    assert set(logs) == {bucket_name("ml-prod-aws-stores", ACCESS_LOG_KIND, r) for r in ("us-east-1", "us-west-2")}
    assert all(b.protect for b in logs.values())
    sse = by_bucket(prod, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", logs)
    versioning = by_bucket(prod, "aws:s3/bucketVersioning:BucketVersioning", logs)
    blocks = by_bucket(prod, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", logs)
    lifecycle = by_bucket(prod, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", logs)
    ownership = by_bucket(prod, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", logs)
    for name in logs:
        default = sse[name][1]["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default == {"sseAlgorithm": "AES256"}, name  # S3 cannot deliver logs into an SSE-KMS bucket
        assert versioning[name][1]["versioningConfiguration"]["status"] == "Enabled"
        assert all(blocks[name][1][k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
        assert ownership[name][1]["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        (rule,) = lifecycle[name][1]["rules"]
        assert rule["status"] == "Enabled" and rule["filter"] == {}
        assert rule["expiration"] == {"days": ACCESS_LOG_DAYS}
        assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": ACCESS_LOG_NONCURRENT_DAYS}


def test_only_s3_log_delivery_for_this_accounts_store_buckets_may_write_the_logs(prod):
    policies = by_bucket(prod, "aws:s3/bucketPolicy:BucketPolicy")
    logged = {inputs(r)["bucket"]: r for r in prod.by_type(LOGGING)}
    for source, logging in logged.items():
        target, prefix = inputs(logging)["targetBucket"], inputs(logging)["targetPrefix"]
        policy_resource, policy_inputs = policies[target]
        statements = json.loads(policy_inputs["policy"])["Statement"]
        (grant,) = [s for s in statements if s["Effect"] == "Allow" and s["Resource"] == f"arn:aws:s3:::{target}/{prefix}*"]
        assert grant["Principal"] == {"Service": LOG_DELIVERY_PRINCIPAL} and grant["Action"] == "s3:PutObject"
        assert grant["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:s3:::{source}"}
        assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
        # Logging is switched on only once the service may write.
        assert policy_resource.urn in logging.dependencies
        assert all(s["Principal"] != "*" for s in statements if s["Effect"] == "Allow")


def test_outside_prod_no_access_logs():
    dev = plan_for_stack("dev-aws")
    assert dev.by_type(LOGGING) == [] and dev.by_type("aws:s3/bucketPolicy:BucketPolicy") == []


# --- Noncurrent versions expire after the backup retention (review item M4) ----------------

LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def retention_days(stack: str, retention: str | None = None) -> tuple[engine.Plan, int]:
    """The stack's plan (with `dr.backupRetention` replaced when given) and that retention in
    whole days, rounded up, as the stack file states it."""
    values, secrets = engine.read_stack_config(stack)
    key = f"{engine.PROJECT}:dr"
    dr = json.loads(values[key])
    if retention is not None:
        dr["backupRetention"] = retention
        values[key] = json.dumps(dr, sort_keys=True)
    hours = duration_hours(dr["backupRetention"])
    return engine.run_program(stack, values, secrets), -(-hours // 24)


@pytest.mark.parametrize("retention", [None, "6w", "36h"])
def test_store_and_replica_versions_expire_after_the_backup_retention(retention):
    plan, days = retention_days("prod-aws", retention)
    regions = {inputs(b)["bucket"]: inputs(b).get("region") for b in store_buckets(plan)}
    names = set(regions)
    assert len(names) == 4  # models and backups, in both regions
    rules = by_bucket(plan, LIFECYCLE, names)
    assert set(rules) == names, "a store or replica bucket keeps its old versions forever"
    for bucket, (resource, config) in rules.items():
        (rule,) = config["rules"]
        assert rule["status"] == "Enabled" and rule["filter"] == {}
        assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": days}, bucket
        # Current objects (live backups, models) are never expired by age.
        assert "days" not in rule.get("expiration", {}), bucket
        # Each rule sits in its bucket's region (the replicas' by the region argument).
        assert inputs(resource).get("region") == regions[bucket], bucket


# --- The shared EFS replicates to the recovery region (review item M7) ---------------------

EFS_REPLICATION = "aws:efs/replicationConfiguration:ReplicationConfiguration"


def test_shared_efs_replicates_to_the_recovery_region_with_the_replica_key(prod):
    # The recovery region, as the plan places the replica buckets.
    (recovery,) = {inputs(b)["region"] for b in store_buckets(prod) if "region" in inputs(b)}
    (fs,) = prod.by_type("aws:efs/fileSystem:FileSystem")
    (replication,) = prod.by_type(EFS_REPLICATION)
    # The cluster's own shared EFS is the source (its id flows into the input).
    assert fs.urn in replication.dependencies
    destination = inputs(replication)["destination"]
    assert destination["region"] == recovery
    # prod: the stack's own key in the recovery region, the one the replica buckets use.
    (replica_key,) = [k for k in prod.by_type("aws:kms/key:Key") if inputs(k).get("region") == recovery]
    assert replica_key.urn in replication.dependencies and destination["kmsKeyId"].startswith(f"arn:aws:kms:{recovery}:")


def test_standby_and_stacks_without_dr_replicate_no_efs(standby):
    assert standby.by_type(EFS_REPLICATION) == []
    values, secrets = engine.read_stack_config("prod-aws")
    values.pop(f"{engine.PROJECT}:dr")
    assert engine.run_program("prod-aws", values, secrets).by_type(EFS_REPLICATION) == []

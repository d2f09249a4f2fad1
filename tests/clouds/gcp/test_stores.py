"""GCP stores under mocks.

Upstream facts (pulumi-gcp 10.2.0 docstrings): storage.Bucket `rpo` "ASYNC_TURBO" "enables
turbo replication, valid for dual-region buckets only"; `custom_placement_config.data_locations`
are "the individual regions that comprise a dual-region bucket"; artifactregistry.Repository
`location` takes the multi-regions `asia`, `europe` and `us`.
"""

from __future__ import annotations

import pytest

from components.clouds.gcp.stores import AUDIT_LOG_TYPES, AUDITED_SERVICE, gcs_bucket_name
from tests.conftest import inputs, plan_for_stack

BUCKET = "gcp:storage/bucket:Bucket"


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-gcp")


@pytest.fixture(scope="module")
def standby():
    return plan_for_stack("prod-gcp-dr")


def test_dual_region_buckets_with_turbo_replication_versioning_and_cmek(prod):
    buckets = {inputs(b)["name"]: inputs(b) for b in prod.by_type(BUCKET)}
    assert set(buckets) == {gcs_bucket_name("ml-prod-gcp-stores", k, "ml-platform-prod") for k in ("models", "backups")}
    for bucket in buckets.values():
        assert bucket["location"] == "US"
        assert bucket["customPlacementConfig"] == {"dataLocations": ["US-CENTRAL1", "US-EAST4"]}
        assert bucket["rpo"] == "ASYNC_TURBO"
        assert bucket["versioning"] == {"enabled": True}
        assert bucket["publicAccessPrevention"] == "enforced" and bucket["uniformBucketLevelAccess"] is True
        assert "defaultKmsKeyName" in bucket["encryption"]
    ring = inputs(prod.one("gcp:kms/keyRing:KeyRing", "ml-prod-gcp-stores-stores"))
    assert ring["location"] == "us"  # a dual-region bucket's key lives in its multi-region


def test_registry_is_multi_region(prod):
    repo = inputs(prod.one("gcp:artifactregistry/repository:Repository"))
    assert repo["location"] == "us" and repo["format"] == "DOCKER" and repo["dockerConfig"] == {"immutableTags": True}


def test_team_identities_by_workload_identity(prod):
    grants = {inputs(g)["member"]: inputs(g) for g in prod.by_type("gcp:storage/bucketIAMMember:BucketIAMMember")}
    roles = sorted(g["role"] for g in grants.values())
    assert roles == ["roles/storage.objectAdmin", "roles/storage.objectUser", "roles/storage.objectViewer"]
    bindings = sorted(inputs(b)["member"] for b in prod.by_type("gcp:serviceaccount/iAMMember:IAMMember"))
    assert "serviceAccount:ml-platform-prod.svc.id.goog[inference/workload]" in bindings
    assert "serviceAccount:ml-platform-prod.svc.id.goog[velero/velero-server]" in bindings


def test_standby_uses_the_same_buckets_without_creating_them(prod, standby):
    assert standby.by_type(BUCKET) == []
    names = {inputs(b)["name"] for b in prod.by_type(BUCKET)}
    granted = {inputs(g)["bucket"] for g in standby.by_type("gcp:storage/bucketIAMMember:BucketIAMMember")}
    assert granted == names
    velero = [inputs(g) for g in standby.by_type("gcp:storage/bucketIAMMember:BucketIAMMember") if "velero" in g.name]
    assert [g["role"] for g in velero] == ["roles/storage.objectViewer"]


def test_service_account_ids_are_valid_and_distinct_between_primary_and_standby(prod, standby):
    # IAM service account ids: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter.
    import re

    ids = [inputs(a)["accountId"] for plan in (prod, standby) for a in plan.by_type("gcp:serviceaccount/account:Account")]
    assert all(re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", i) for i in ids), ids
    assert len(ids) == len(set(ids))


def test_cmek_grants_wait_for_service_agents_a_fresh_project_does_not_have_yet(prod):
    """D5: the Cloud Storage and Artifact Registry service agents exist only once something asks
    for them. The Artifact Registry agent is created by projects.ServiceIdentity and its grant
    waits for it (the member is its output); the Cloud Storage agent's address comes from
    storage.getProjectServiceAccount, which creates it when missing (Pulumi GCP docs)."""
    identity = prod.one("gcp:projects/serviceIdentity:ServiceIdentity")
    assert inputs(identity)["service"] == "artifactregistry.googleapis.com"
    assert inputs(identity)["project"] == "ml-platform-prod"
    grants = {inputs(g)["member"]: g for g in prod.by_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
              if g.name.startswith("ml-prod-gcp-stores-stores-")}
    registry = next(g for m, g in grants.items() if "@gcp-sa-artifactregistry." in m)
    assert identity.urn in registry.dependencies
    assert any("@gs-project-accounts." in m for m in grants)
    assert len(grants) == 2


AUDIT = "gcp:projects/iAMAuditConfig:IAMAuditConfig"


def test_prod_turns_on_cloud_storage_data_access_audit_logs_for_its_project(prod, standby):
    """Google Cloud docs (Cloud Audit Logs): Data Access audit logs are off by default except for
    BigQuery; DATA_READ records object reads, DATA_WRITE object writes. The config is per
    project and service (IAMAuditConfig is authoritative for the service), so exactly one
    stack per project owns it: the primary. The standby shares the project and the buckets."""
    (audit,) = prod.by_type(AUDIT)
    config = inputs(audit)
    assert config["project"] == "ml-platform-prod" and config["service"] == AUDITED_SERVICE
    assert sorted(c["logType"] for c in config["auditLogConfigs"]) == sorted(AUDIT_LOG_TYPES) == ["DATA_READ", "DATA_WRITE"]
    assert not any(c.get("exemptedMembers") for c in config["auditLogConfigs"])  # nobody is exempt
    assert standby.by_type(AUDIT) == []


def test_staging_leaves_the_projects_audit_config_alone():
    assert plan_for_stack("staging-gcp").by_type(AUDIT) == []


def test_noncurrent_versions_expire_after_the_backup_retention(prod):
    """Review item M4: old versions are deleted once they have been noncurrent for the
    backup retention (prod-gcp's dr.backupRetention); live objects never by this rule."""
    import json

    from components.config import duration_hours
    from preview import engine

    values, _ = engine.read_stack_config("prod-gcp")
    days = -(-duration_hours(json.loads(values[f"{engine.PROJECT}:dr"])["backupRetention"]) // 24)
    buckets = prod.by_type(BUCKET)
    assert len(buckets) == 2
    for bucket in buckets:
        assert inputs(bucket)["lifecycleRules"] == [{
            "action": {"type": "Delete"},
            "condition": {"daysSinceNoncurrentTime": days, "withState": "ARCHIVED"},
        }], inputs(bucket)["name"]

"""The DR rules on the real stacks' plans: the stacks pass, and breaking one setting fails."""

from __future__ import annotations

import copy

import pytest

from policies import offline
from tests.conftest import plan_for_stack


@pytest.fixture(scope="module")
def prod_aws():
    return plan_for_stack("prod-aws")


def dr_findings(resources, env="prod"):
    return [v for v in offline.evaluate(resources, env) if v.policy.startswith("dr-")]


def replaced(plan, type_, name, change):
    out = []
    for r in plan.resources:
        if r.type == type_ and r.name == name:
            r = copy.deepcopy(r)
            change(r.inputs)
        out.append(r)
    return out


@pytest.mark.parametrize("stack", ["prod-aws", "prod-aws-dr", "prod-gcp", "prod-gcp-dr", "prod-azure", "prod-azure-dr"])
def test_shipped_prod_stacks_pass_every_dr_rule(stack):
    found = dr_findings(plan_for_stack(stack).resources)
    assert found == []


def test_rtc_turned_off_on_the_real_plan_fails(prod_aws):
    def off(inputs):
        inputs["rules"][0]["destination"]["replicationTime"]["status"] = "Disabled"

    found = dr_findings(replaced(prod_aws, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "ml-prod-aws-stores-models", off))
    assert [v.policy for v in found] == ["dr-replication-time-control"]


def test_replica_versioning_suspended_fails(prod_aws):
    def suspend(inputs):
        inputs["versioningConfiguration"]["status"] = "Suspended"

    found = dr_findings(replaced(prod_aws, "aws:s3/bucketVersioning:BucketVersioning", "ml-prod-aws-stores-models-replica", suspend))
    assert [v.policy for v in found] == ["dr-versioning-both-sides"]
    assert "ml-prod-aws-stores-models-us-west-2" in found[0].message


def test_replica_in_the_primary_region_fails(prod_aws):
    def home(inputs):
        inputs["region"] = "us-east-1"

    found = dr_findings(replaced(prod_aws, "aws:s3/bucket:Bucket", "ml-prod-aws-stores-backups-replica", home))
    assert [v.policy for v in found] == ["dr-replica-other-region"]


def test_schedule_beyond_the_stated_rpo_fails(prod_aws):
    def daily(inputs):
        inputs["values"]["schedules"]["cluster"]["schedule"] = "0 3 * * *"

    found = dr_findings(replaced(prod_aws, "kubernetes:helm.sh/v3:Release", "ml-prod-aws-backup-velero", daily))
    assert [v.policy for v in found] == ["dr-backup-within-rpo"]


def test_prod_without_dr_fails_and_dev_without_dr_does_not():
    dev = plan_for_stack("dev-aws")
    assert dr_findings(dev.resources, "dev") == []
    found = dr_findings(dev.resources, "prod")
    assert sorted(v.message.split(":")[0] for v in found) == ["no Velero release", "no store replicates to another region (no S3 replication, dual-region bucket or object replication policy)"]

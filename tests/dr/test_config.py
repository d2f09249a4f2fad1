"""The `dr` block: defaults from the catalog, and one clear line for each bad setting."""

from __future__ import annotations

import pytest

from components.config import ConfigError, load
from components.dr import effective_config, plan_for
from tests.conftest import plan_for as plan_for_raw

# Every cluster stack says how its API is reached (network.privateApi or apiAllowedCidrs);
# every stack with dr has the kopia repository password.
PRIVATE = {"network": {"privateApi": True}, "veleroRepositoryPassword": "test-repository-password"}
AWS = {"cloud": "aws", "region": "us-east-1", "environment": "prod",
       "gpuPools": [{"name": "l4", "instanceType": "g6.xlarge", "minNodes": 2, "maxNodes": 4}], **PRIVATE}
GCP = {"cloud": "gcp", "region": "us-central1", "gcp": {"project": "ml-platform-prod"}, **PRIVATE}
AZURE = {"cloud": "azure", "region": "eastus", **PRIVATE}


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(raw)
    return err.value.problems


BAD = [
    ("same-region", {**AWS, "dr": {"recoveryRegion": "us-east-1"}},
     "dr.recoveryRegion: 'us-east-1' is the stack's own region; a replica there does not survive a region outage; allowed: another aws region, e.g. us-west-2"),
    ("unknown-region", {**AWS, "dr": {"recoveryRegion": "us-west-9"}},
     "dr.recoveryRegion: 'us-west-9' is not a known aws region (did you mean us-west-2?); allowed: ap-northeast-1, ap-northeast-3, eu-central-1, eu-west-1, us-east-2, us-west-2"),
    ("rpo-too-short-aws", {**AWS, "dr": {"rpoMinutes": 5, "backupSchedule": "*/5 * * * *"}},
     "dr.rpoMinutes: 5 is shorter than aws can back: S3 cross-region replication with Replication Time Control replicates within 15 min (RTC: 99.99% by design, SLA credit below 99.9%); allowed: 15 or more"),
    ("rpo-too-short-azure", {**AZURE, "dr": {"rpoMinutes": 10, "backupSchedule": "*/10 * * * *"}},
     "dr.rpoMinutes: 10 is shorter than azure can back: blob object replication between two storage accounts (no priority replication) has no stated figure (priority replication, 15 min for 99%, needs storage API 2025-01-01); allowed: 15 or more"),
    ("schedule-longer-than-rpo", {**AWS, "dr": {"rpoMinutes": 60, "backupSchedule": "0 */2 * * *"}},
     "dr.backupSchedule: '0 */2 * * *' leaves up to 120 minutes between backups, longer than dr.rpoMinutes 60; allowed: a schedule that runs at least every 60 minutes, e.g. '0 * * * *'"),
    ("daily-schedule", {**AWS, "dr": {"rpoMinutes": 240, "backupSchedule": "@daily"}},
     "dr.backupSchedule: '@daily' leaves up to 1440 minutes between backups, longer than dr.rpoMinutes 240; allowed: a schedule that runs at least every 240 minutes, e.g. '0 */4 * * *'"),
    ("bad-cron", {**AWS, "dr": {"backupSchedule": "every hour"}},
     "dr.backupSchedule: 'every hour' is not a schedule Velero accepts (expected five fields (minute hour day-of-month month day-of-week) or a descriptor); allowed: five cron fields in UTC, e.g. '0 * * * *', or @hourly, @every 30m"),
    ("gcp-other-continent", {**GCP, "dr": {"recoveryRegion": "europe-west4"}},
     "dr.recoveryRegion: 'europe-west4' is on another continent than us-central1; a dual-region bucket pairs two regions of one multi-region; allowed: us-east1, us-east4, us-west1"),
    ("failover-on-primary", {**AWS, "dr": {"failover": True}},
     "dr.failover: true is only meaningful on a standby stack (dr.role standby); allowed: false"),
    ("standby-with-recovery-region", {**AWS, "region": "us-west-2", "dr": {"role": "standby", "recoveryRegion": "us-east-1"}},
     "dr.recoveryRegion: set on a standby stack; allowed: set dr.primaryRegion instead (the other region of the pair)"),
    ("existing-without-store", {"cloud": "existing", "existing": {"kubeconfig": "stacks/kubeconfigs/local-kind.yaml"}, "dr": {}},
     "dr.backupStore: required on cloud existing: the S3-compatible store Velero writes backups to (url, bucket, credentialsSecret)"),
    ("bad-retention", {**AWS, "dr": {"backupRetention": "30 days"}},
     "dr.backupRetention: '30 days' is not valid; it must match ^[1-9][0-9]*(h|d|w)$"),
    ("bad-model-store-access", {**AWS, "namespaces": [{"name": "a", "team": "t", "group": "g", "modelStore": "write"}]},
     "namespaces[0].modelStore: 'write' is not allowed; allowed: read, readwrite, none"),
]


@pytest.mark.parametrize("raw,expected", [(c, e) for _, c, e in BAD], ids=[i for i, _, _ in BAD])
def test_bad_dr_config_gets_one_clear_line(raw, expected):
    assert expected in problems(raw)


def test_bad_dr_config_stops_the_program_before_any_resource():
    # The repository password held as Pulumi holds it: a secret.
    with pytest.raises(ConfigError) as err:
        plan_for_raw({**AWS, "dr": {"recoveryRegion": "us-east-1"}})
    errors = err.value.problems
    assert errors == ["dr.recoveryRegion: 'us-east-1' is the stack's own region; a replica there does not survive a region outage; "
                      "allowed: another aws region, e.g. us-west-2"]


def test_recovery_region_defaults_to_the_catalogs_pair():
    plan = plan_for(load({**AWS, "dr": {}}), "prod-aws")
    assert (plan.primary_region, plan.recovery_region, plan.standby_stack) == ("us-east-1", "us-west-2", "prod-aws-dr")
    assert plan.backup_schedule == "0 * * * *" and plan.rpo_minutes == 60 and plan.retention_hours == 720


def test_standby_derives_the_primary_and_its_store_owner_without_the_primary_stack():
    plan = plan_for(load({**AWS, "region": "us-west-2", "dr": {"role": "standby"}}), "prod-aws-dr")
    assert (plan.primary_stack, plan.primary_region, plan.store_owner) == ("prod-aws", "us-east-1", "ml-prod-aws-stores")
    assert plan.store_region == "us-west-2" and plan.standby_idle and not plan.restore_requested


def test_idle_standby_builds_gpu_pools_at_zero_and_failover_restores_the_file_sizes():
    standby = load({**AWS, "region": "us-west-2", "dr": {"role": "standby"}})
    assert [p.min_nodes for p in effective_config(standby, plan_for(standby, "s-dr")).gpu_pools] == [0]
    failed = load({**AWS, "region": "us-west-2", "dr": {"role": "standby", "failover": True}})
    assert [p.min_nodes for p in effective_config(failed, plan_for(failed, "s-dr")).gpu_pools] == [2]


def test_idle_standby_keeps_no_tpu_slice_up_and_failover_restores_it():
    gcp = {"cloud": "gcp", "region": "us-central1", "gcp": {"project": "ml-platform-dr"}, **PRIVATE,
           "tpuPools": [{"name": "v5e", "generation": "v5e", "topology": "4x4", "minSlices": 1}]}
    standby = load({**gcp, "dr": {"role": "standby", "primaryRegion": "us-east4"}})
    assert [p.min_slices for p in effective_config(standby, plan_for(standby, "s-dr")).tpu_pools] == [0]
    failed = load({**gcp, "dr": {"role": "standby", "primaryRegion": "us-east4", "failover": True}})
    assert [p.min_slices for p in effective_config(failed, plan_for(failed, "s-dr")).tpu_pools] == [1]

"""Disaster recovery: prod has it, store replication meets the cloud's best RPO, both sides
are versioned, the replica is in another region, and backups run within the stated RPO.

Facts: S3 Replication Time Control takes `time.minutes` 15 and needs its `metrics` block
(pulumi-aws 7.x s3 docstrings); S3 and Azure object replication need versioning on both
sides, Azure also the change feed on the source; GCS turbo replication (`rpo`
ASYNC_TURBO) applies to dual-region buckets; Velero's RPO is its Schedule's cron.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

from .base import Context, Finding, Resource, flag, get, items, resource_rule, show, stack_rule
from .cron import CronError, max_interval_minutes

DOMAIN = "dr"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
S3_BUCKET = "aws:s3/bucket:Bucket"
AWS_PROVIDER = "pulumi:providers:aws"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
AZ_REPLICATION = "azure-native:storage:ObjectReplicationPolicy"
AZ_BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
AZ_ACCOUNT = "azure-native:storage:StorageAccount"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
RPO_ANNOTATION = "ml-clusters.io/rpo-minutes"
S3_ARN_PREFIX = "arn:aws:s3:::"
RTC_MINUTES = 15
# The program's cloud backends (components/clouds/<cloud>/cluster.py): a stack that builds a cluster.
BACKENDS = ("mlclusters:clouds:EksCluster", "mlclusters:clouds:GkeCluster", "mlclusters:clouds:AksCluster",
            "mlclusters:clouds:ExistingCluster")


def _velero_releases(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources if r.type == HELM_RELEASE and get(r.props, "chart") == "velero"]


def _replicated_stores(resources: Sequence[Resource]) -> list[Resource]:
    # Reading each policy's rules makes a rule whose inputs are unknown not applicable.
    out = [r for r in resources if r.type in (S3_REPLICATION, AZ_REPLICATION) and items(r.props, "rules")]
    out += [r for r in resources if r.type == GCS_BUCKET and len(items(r.props, "customPlacementConfig.dataLocations")) >= 2]
    return out


def _reads_replicated_backups(release: Resource) -> bool:
    """A standby: its Velero reads the primary's replicated backups (location ReadOnly)."""
    return any(get(loc, "accessMode") == "ReadOnly" for loc in items(release.props, "values.configuration.backupStorageLocation"))


@stack_rule(
    id="dr-prod-has-dr",
    title="Prod has disaster recovery",
    domain=DOMAIN,
    description="A prod stack backs its cluster up with Velero and replicates its stores to another region, or is the standby reading those replicas.",
    severity="high",
    level="mandatory",
    environments=["prod"],
    fix="Set ml-clusters:dr in the stack (recovery region, rpoMinutes, backupSchedule) and add its standby stack Pulumi.<stack>-dr.yaml.",
)
def dr_prod_has_dr(resources: Sequence[Resource], ctx: Context) -> Iterable[Finding]:
    # Judged on stacks that build a cluster with this program (a backend component).
    backends = {r.type for r in resources if r.type in BACKENDS}
    if not backends:
        return
    velero = _velero_releases(resources)
    standby = any(_reads_replicated_backups(r) for r in velero)
    stores = _replicated_stores(resources)
    if not velero:
        yield Finding("no Velero release: the cluster's state and volumes are not backed up anywhere.")
    # An existing cluster gets backups only: its stores are not this program's to replicate.
    if not standby and not stores and backends != {"mlclusters:clouds:ExistingCluster"}:
        yield Finding("no store replicates to another region (no S3 replication, dual-region bucket or object replication policy): a region outage loses the models.")


@resource_rule(
    id="dr-replication-time-control",
    title="Replication with a stated RPO",
    domain=DOMAIN,
    types=[S3_REPLICATION, GCS_BUCKET],
    description="S3 replication rules turn on Replication Time Control (15 min) with its metrics; dual-region GCS buckets use turbo replication.",
    severity="high",
    level="mandatory",
    fix="S3: destination.replicationTime {status: Enabled, time.minutes: 15} and destination.metrics {status: Enabled, eventThreshold.minutes: 15}; GCS: rpo ASYNC_TURBO.",
)
def dr_replication_time_control(r: Resource, ctx: Context):
    if r.type == GCS_BUCKET:
        if len(items(r.props, "customPlacementConfig.dataLocations")) >= 2 and get(r.props, "rpo") != "ASYNC_TURBO":
            yield f"rpo is {show(get(r.props, 'rpo'))}: default replication of a dual-region bucket has no 15-minute target; set ASYNC_TURBO."
        return
    for i, rule in enumerate(items(r.props, "rules")):
        if get(rule, "status") != "Enabled":
            continue
        rtc = get(rule, "destination.replicationTime") or {}
        if get(rtc, "status") != "Enabled" or get(rtc, "time.minutes") != RTC_MINUTES:
            yield f"rules[{i}] replicates without Replication Time Control (replicationTime {show(get(rtc, 'status'))}): no 15-minute, SLA-backed RPO."
        if get(rule, "destination.metrics.status") != "Enabled":
            yield f"rules[{i}].destination.metrics is not Enabled; Replication Time Control needs its metrics."


def _replica_bucket(rule: Any) -> str:
    """The bucket name a replication rule's destination names (an `arn:aws:s3:::<name>` ARN)."""
    dest = str(get(rule, "destination.bucket") or "")
    return dest[len(S3_ARN_PREFIX):] if dest.startswith(S3_ARN_PREFIX) else dest


def _versioned_buckets(resources: Sequence[Resource]) -> set[str]:
    return {
        str(get(r.props, "bucket"))
        for r in resources
        if r.type == S3_VERSIONING and get(r.props, "versioningConfiguration.status") == "Enabled"
    }


@stack_rule(
    id="dr-versioning-both-sides",
    title="Versioning on both sides of replication",
    domain=DOMAIN,
    description="Replicated stores keep versions on the source and the replica (S3 buckets, Azure accounts with the change feed on the source, dual-region GCS buckets).",
    severity="high",
    level="mandatory",
    fix="Enable versioning on both buckets or accounts (s3.BucketVersioning status Enabled; BlobServiceProperties isVersioningEnabled, changeFeed on the source; GCS versioning.enabled).",
)
def dr_versioning_both_sides(resources: Sequence[Resource], ctx: Context) -> Iterable[Finding]:
    versioned = _versioned_buckets(resources)
    for r in resources:
        if r.type == S3_REPLICATION:
            source = str(get(r.props, "bucket"))
            if source not in versioned:
                yield Finding(f"source bucket {source} of {r.name} has no Enabled versioning; S3 refuses replication without it.", resource=r)
            for rule in items(r.props, "rules"):
                name = _replica_bucket(rule)
                if name not in versioned:
                    yield Finding(f"replica bucket {name} of {r.name} has no Enabled versioning.", resource=r)
        elif r.type == GCS_BUCKET and len(items(r.props, "customPlacementConfig.dataLocations")) >= 2:
            if flag(get(r.props, "versioning.enabled")) is not True:
                yield Finding(f"dual-region bucket {r.name} keeps no object versions: a deletion replicates to both regions.", resource=r)
        elif r.type == AZ_REPLICATION:
            account = get(r.props, "accountName")
            is_source = get(r.props, "objectReplicationPolicyId") != "default"
            services = [s for s in resources if s.type == AZ_BLOB_SERVICE and get(s.props, "accountName") == account]
            if not any(flag(get(s.props, "isVersioningEnabled")) for s in services):
                yield Finding(f"account {account} ({'source' if is_source else 'destination'} of {r.name}) has no blob versioning.", resource=r)
            if is_source and not any(flag(get(s.props, "changeFeed.enabled")) for s in services):
                yield Finding(f"source account {account} of {r.name} has no change feed; object replication needs it.", resource=r)


@stack_rule(
    id="dr-replica-other-region",
    title="Replica in another region",
    domain=DOMAIN,
    description="A store's replica lives in a region other than the store's own (S3 replica bucket, the second region of a dual-region bucket, the destination account).",
    severity="high",
    level="mandatory",
    fix="Point the replica at the recovery region (stack key dr.recoveryRegion, default: the catalog's pair of the region).",
)
def dr_replica_other_region(resources: Sequence[Resource], ctx: Context) -> Iterable[Finding]:
    provider_regions = {get(r.props, "region") for r in resources if r.type == AWS_PROVIDER and get(r.props, "region")}
    buckets = {str(get(r.props, "bucket")): r for r in resources if r.type == S3_BUCKET}
    for r in resources:
        if r.type == S3_REPLICATION:
            source = buckets.get(str(get(r.props, "bucket")))
            source_region = get(source.props, "region") if source else None
            for rule in items(r.props, "rules"):
                replica = buckets.get(_replica_bucket(rule))
                if replica is None:
                    continue
                replica_region = get(replica.props, "region")
                home = {source_region} if source_region else provider_regions
                if replica_region is None or replica_region in home:
                    yield Finding(f"replica bucket {replica.name} is in {show(replica_region or 'the provider region')}, the source's region: it does not survive a region outage.", resource=r)
        elif r.type == GCS_BUCKET:
            locations = [str(x).lower() for x in items(r.props, "customPlacementConfig.dataLocations")]
            if locations and len(set(locations)) < 2:
                yield Finding(f"dual-region bucket {r.name} names one region twice ({', '.join(locations)}).", resource=r)
        elif r.type == AZ_REPLICATION and get(r.props, "objectReplicationPolicyId") == "default":
            accounts = {get(a.props, "accountName"): a for a in resources if a.type == AZ_ACCOUNT}
            dest = accounts.get(get(r.props, "accountName"))
            others = [a for a in accounts.values() if a is not dest]
            if dest is not None and others and all(get(a.props, "location") == get(dest.props, "location") for a in others):
                yield Finding(f"destination account {get(dest.props, 'accountName')} is in {get(dest.props, 'location')}, the same region as the source.", resource=r)


@resource_rule(
    id="dr-backup-within-rpo",
    title="Backups within the stated RPO",
    domain=DOMAIN,
    types=[HELM_RELEASE],
    description="Every Velero schedule states its RPO (annotation ml-clusters.io/rpo-minutes) and its cron never leaves a longer gap between backups.",
    severity="high",
    level="mandatory",
    fix="Make dr.backupSchedule run at least every dr.rpoMinutes minutes (e.g. '0 * * * *' for 60), or state the RPO you can keep.",
)
def dr_backup_within_rpo(r: Resource, ctx: Context):
    if get(r.props, "chart") != "velero":
        return
    schedules = get(r.props, "values.schedules") or {}
    for key, schedule in sorted(schedules.items()):
        if flag(get(schedule, "disabled")) is True:
            continue
        cron = str(get(schedule, "schedule") or "")
        rpo = get(schedule, ["annotations", RPO_ANNOTATION])
        if rpo is None or not str(rpo).isdigit():
            yield f"schedule {key} states no RPO (annotation {RPO_ANNOTATION}), so nothing says how old a restore may be."
            continue
        try:
            gap = max_interval_minutes(cron)
        except CronError as err:
            yield f"schedule {key}: {show(cron)} is not a schedule Velero runs ({err})."
            continue
        if gap > int(rpo):
            yield f"schedule {key}: {show(cron)} leaves up to {gap:g} minutes between backups, beyond its stated RPO of {rpo} minutes."


K8S_CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
PARITY_CONFIG_MAP = "ml-clusters-dr"
PARITY_SECTIONS = {"gpuPools": "GPU pools", "cpuPools": "CPU pools", "layers": "platform layers", "roles": "team namespaces and roles"}


def _parity_diff(section: str, mine: Any, theirs: Any) -> str:
    if isinstance(mine, list) and isinstance(theirs, list):
        names = lambda xs: {str(x.get("name")): x for x in xs if isinstance(x, dict)}  # noqa: E731
        a, b = names(mine), names(theirs)
        missing, extra = sorted(set(b) - set(a)), sorted(set(a) - set(b))
        changed = sorted(n for n in set(a) & set(b) if a[n] != b[n])
        parts = [f"missing {', '.join(missing)}" if missing else "", f"extra {', '.join(extra)}" if extra else "",
                 f"different {', '.join(changed)}" if changed else ""]
        return "; ".join(p for p in parts if p)
    keys = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k)) if isinstance(mine, dict) and isinstance(theirs, dict) else []
    return f"different {', '.join(keys)}" if keys else "different"


@stack_rule(
    id="dr-standby-matches-primary",
    title="The standby carries its primary's pools, layers and roles",
    domain=DOMAIN,
    description="A standby stack declares the same GPU pools (built at 0 nodes until failover), CPU pools, platform layers and team namespaces as the primary stack it names, read from that stack's file; otherwise a failover brings up a different platform and restored objects land outside Pulumi.",
    severity="high",
    level="mandatory",
    fix="Copy the primary's gpuPools, cpuPools, platform (workloads, sharedFileSystem) and namespaces into the standby stack file (Pulumi.<primary>-dr.yaml).",
)
def dr_standby_matches_primary(resources: Sequence[Resource], ctx: Context) -> Iterable[Finding]:
    for r in resources:
        if r.type != K8S_CONFIG_MAP or get(r.props, "metadata.name") != PARITY_CONFIG_MAP:
            continue
        if get(r.props, "data.role") != "standby" or not get(r.props, "data.primaryParity"):
            continue
        mine, theirs = json.loads(str(get(r.props, "data.parity"))), json.loads(str(get(r.props, "data.primaryParity")))
        primary = get(r.props, "data.primaryStack")
        for section, label in PARITY_SECTIONS.items():
            if mine.get(section) != theirs.get(section):
                yield Finding(f"the standby's {label} differ from {primary}'s: {_parity_diff(section, mine.get(section), theirs.get(section))}.", resource=r)

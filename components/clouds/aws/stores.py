"""AWS stores: the model store (S3), the container registry (ECR) and Velero's backup bucket,
replicated to the recovery region when the stack has `dr`; team and Velero identities
through EKS Pod Identity. A standby creates no stores: it reads the primary's replicas,
whose names it derives (components/dr.py), so it never needs the primary stack.

Upstream facts relied on (pulumi-aws 7.x docstrings, pulumi_aws/s3/_inputs.py):
replication time and its metrics take `minutes` 15 only; RTC "must be used in conjunction
with `metrics`"; `delete_marker_replication` is valid only with a `filter` (V2 rules);
`source_selection_criteria.sse_kms_encrypted_objects` requires the destination's
`encryption_configuration.replica_kms_key_id`. Every resource takes a `region` argument
("Defaults to the Region set in the provider configuration"), which places the replicas.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from ... import catalog
from ...catalog.model_streaming import SCHEMES as STREAM_SCHEMES
from ...config import StackConfig
from ...dr import StoresArgs, VELERO_RELEASE, bucket_name, noncurrent_version_days, store_owner
from ...handle import BackupTarget, ModelStore, RecoveryLocation
from .cluster import POD_IDENTITY_TRUST, EksCluster, _assume_role
from .kms import key_policy

WORKLOAD_SERVICE_ACCOUNT = "workload"
VELERO_NAMESPACE = "velero"
VELERO_SERVICE_ACCOUNT = f"{VELERO_RELEASE}-server"
RTC_MINUTES = 15  # the only value S3 accepts for replication time and its metrics threshold
# The audit trail: S3 server access logs, one log bucket per region (S3 delivers only to a
# bucket in the source's region and account). A year of logs, then they expire.
ACCESS_LOG_KIND = "access-logs"
ACCESS_LOG_DAYS = 365
ACCESS_LOG_NONCURRENT_DAYS = 30
LOG_DELIVERY_PRINCIPAL = "logging.s3.amazonaws.com"

READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"]
WRITE_ACTIONS = ["s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
LIST_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation"]


def key_alias(owner: str) -> str:
    return f"alias/{owner}-stores"


def _policy(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def bucket_access_policy(bucket: str, write: bool, alias: Optional[str], region: str, write_prefix: Optional[str] = None) -> str:
    """Least privilege on one bucket (and its KMS key, found by alias so a standby can name a
    key it did not create): list and read, plus write and delete for read-write, or only
    under `write_prefix` (a failed-over standby's own backups beside the primary's replicas)."""
    arn = f"arn:aws:s3:::{bucket}"
    statements: list[dict[str, Any]] = [
        {"Sid": "List", "Effect": "Allow", "Action": LIST_ACTIONS, "Resource": arn},
        {"Sid": "Objects", "Effect": "Allow", "Action": READ_ACTIONS + (WRITE_ACTIONS if write else []), "Resource": f"{arn}/*"},
    ]
    if write_prefix is not None and not write:
        statements.append({"Sid": "WritePrefix", "Effect": "Allow", "Action": WRITE_ACTIONS, "Resource": f"{arn}/{write_prefix}/*"})
        write = True  # the key encrypts what is written there
    if alias is not None:
        statements.append({
            "Sid": "StoreKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey"] + (["kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt*"] if write else []),
            "Resource": "*",
            # kms:ResourceAliases matches keys by alias (AWS KMS ABAC), in the bucket's region.
            "Condition": {
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": alias},
                "StringEquals": {"aws:RequestedRegion": region},
            },
        })
    return _policy(statements)


class S3Stores(pulumi.ComponentResource):
    """`.model_store` and `.backup` for the handle; `.buckets` by kind; `.replicas` by kind."""

    def __init__(self, name: str, args: StoresArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:clouds:S3Stores", name, None, opts)
        cfg, plan = args.config, args.dr
        eks: EksCluster = args.cluster
        self.name = name
        self.region = cfg.region or ""
        self._opts = pulumi.ResourceOptions(parent=self, provider=eks.provider)
        self._keep = pulumi.ResourceOptions(protect=cfg.is_prod)
        self.prod = cfg.is_prod
        self.eks = eks
        owner = plan.store_owner if plan else store_owner(cfg.name_for(args.stack))  # the same with and without dr
        self.owner = owner
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self, provider=eks.provider))
        self.account_id = identity.account_id
        self.buckets: dict[str, aws.s3.Bucket] = {}
        self.replicas: dict[str, aws.s3.Bucket] = {}
        self.replications: dict[str, aws.s3.BucketReplicationConfig] = {}
        self.versionings: dict[str, aws.s3.BucketVersioning] = {}
        self.lifecycles: dict[str, aws.s3.BucketLifecycleConfiguration] = {}
        self.access_logs: dict[str, aws.s3.BucketLogging] = {}
        self.key: Optional[aws.kms.Key] = None
        self.replica_key: Optional[aws.kms.Key] = None
        standby = plan is not None and plan.standby
        # Where this stack's workloads read: its own buckets, or the replicas on a standby.
        store_region = plan.store_region if plan else self.region
        replica_region = plan.recovery_region if plan and not standby else None
        uses_key = cfg.is_prod
        if not standby:
            self._create_stores(owner, replica_region, cfg)
        # M7: the shared EFS replicates to a new, read-only file system in the recovery region
        # (EFS creates it; encrypted with the replica key in prod). A standby has its own EFS
        # and no replication: the replica is what failover step "shared file system" reads.
        self.file_system_replication: Optional[aws.efs.ReplicationConfiguration] = None
        if replica_region and eks.file_system is not None:
            destination: dict[str, Any] = {"region": replica_region}
            if self.replica_key is not None:
                destination["kms_key_id"] = self.replica_key.arn
            self.file_system_replication = aws.efs.ReplicationConfiguration(
                f"{name}-shared-replication", source_file_system_id=eks.file_system.id,
                destination=destination, opts=self._opts,
            )
        models = bucket_name(owner, "models", store_region)
        backups = bucket_name(owner, "backups", store_region)
        alias = key_alias(owner) if uses_key else None
        self.snapshot_controller = eks._addon("snapshot-controller", depends_on=[eks.system_group])
        self.team_roles = self._team_access(cfg, models, alias, store_region)
        # A failed-over standby backs itself up again under its own prefix of the replica bucket
        # (the primary's replication writes only outside it and never copies it back).
        recovery_prefix = plan.stack if plan is not None and plan.restore_requested else None
        velero_role, velero_association = self._velero_identity(backups, alias, store_region, write=not standby, write_prefix=recovery_prefix)
        registry_region = store_region
        self.model_store = ModelStore(
            url=f"s3://{models}",
            registry=pulumi.Output.concat(self.account_id, f".dkr.ecr.{registry_region}.amazonaws.com/{owner}"),
            workload_annotations={},  # Pod Identity binds by namespace and ServiceAccount
            region=store_region,
            replica_region=replica_region,
            # vLLM streams s3:// with the AWS SDK's default chain: Pod Identity's container credentials.
            stream_url=f"{STREAM_SCHEMES['aws'].scheme}://{models}",
            stream_env={STREAM_SCHEMES["aws"].env[0]: store_region},  # the bucket's region, not the SDK's guess
        )
        config: dict[str, pulumi.Input[str]] = {"region": store_region}
        if uses_key and not standby:
            assert self.key is not None
            config["kmsKeyId"] = self.key.arn
        self.backup = BackupTarget(
            provider="aws",
            plugin_image=catalog.IMAGES["velero-plugin-for-aws"],
            bucket=backups,
            config=config,
            read_only=standby,
            ready=[velero_association, velero_role, self.snapshot_controller],
            recovery=RecoveryLocation(backups, recovery_prefix, {"region": store_region}) if recovery_prefix else None,
        )
        self.register_outputs({"modelStore": self.model_store.url, "registry": self.model_store.registry})

    # --- the stores (primary only) ------------------------------------------------------

    def _kms_key(self, suffix: str, region: Optional[str], what: str) -> aws.kms.Key:
        key = aws.kms.Key(
            f"{self.name}-{suffix}",
            description=f"{what} of cluster {self.owner}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            # The same explicit shape as the cluster key (kms.py): the account statement lets the
            # IAM policies of the team, Velero and replication roles work; the stack's admins
            # administer it. Not KMS's implicit default, so every key reads the same.
            policy=self.account_id.apply(
                lambda account: key_policy(self.eks.partition, account, self.eks.settings.admin_principal_arns, [])
            ),
            region=region,
            opts=pulumi.ResourceOptions.merge(self._opts, self._keep),
        )
        aws.kms.Alias(f"{self.name}-{suffix}", name=key_alias(self.owner), target_key_id=key.key_id, region=region, opts=self._opts)
        return key

    def _bucket(self, resource: str, bucket: str, region: Optional[str], key: Optional[aws.kms.Key]) -> tuple[aws.s3.Bucket, aws.s3.BucketVersioning]:
        created = aws.s3.Bucket(
            resource, bucket=bucket, force_destroy=False, region=region,
            opts=pulumi.ResourceOptions.merge(self._opts, self._keep),
        )
        aws.s3.BucketOwnershipControls(
            resource, bucket=created.id, rule={"object_ownership": "BucketOwnerEnforced"}, region=region, opts=self._opts,
        )
        aws.s3.BucketPublicAccessBlock(
            resource, bucket=created.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, region=region, opts=self._opts,
        )
        default: dict[str, Any] = {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn} if key else {"sse_algorithm": "AES256"}
        aws.s3.BucketServerSideEncryptionConfiguration(
            resource, bucket=created.id, region=region,
            rules=[{"apply_server_side_encryption_by_default": default, "bucket_key_enabled": key is not None}],
            opts=self._opts,
        )
        versioning = aws.s3.BucketVersioning(
            resource, bucket=created.id, region=region, versioning_configuration={"status": "Enabled"}, opts=self._opts,
        )
        return created, versioning

    def _noncurrent_expiry(self, resource: str, bucket: aws.s3.Bucket, versioning: aws.s3.BucketVersioning,
                           region: Optional[str], days: int) -> aws.s3.BucketLifecycleConfiguration:
        """Versions that stopped being current are deleted after `days` (the backup
        retention); current objects are never touched. Delete markers left with no version
        behind them and abandoned multipart uploads go too."""
        return aws.s3.BucketLifecycleConfiguration(
            resource, bucket=bucket.id, region=region,
            rules=[{
                "id": "expire-noncurrent-versions",
                "status": "Enabled",
                "filter": {},
                "noncurrent_version_expiration": {"noncurrent_days": days},
                "expiration": {"expired_object_delete_marker": True},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }],
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=[versioning])),
        )

    def _create_stores(self, owner: str, replica_region: Optional[str], cfg: StackConfig) -> None:
        if cfg.is_prod:
            self.key = self._kms_key("stores", None, "Model store, backups and registry encryption")
            if replica_region:
                self.replica_key = self._kms_key("stores-replica", replica_region, f"Replica encryption in {replica_region}")
        role = None
        if replica_region:
            role = aws.iam.Role(f"{self.name}-replication", assume_role_policy=_assume_role("s3.amazonaws.com"), opts=self._opts)
        days = noncurrent_version_days(cfg)
        for kind in ("models", "backups"):
            source, source_versioning = self._bucket(f"{self.name}-{kind}", bucket_name(owner, kind, self.region), None, self.key)
            self.buckets[kind], self.versionings[kind] = source, source_versioning
            self.lifecycles[kind] = self._noncurrent_expiry(f"{self.name}-{kind}", source, source_versioning, None, days)
            if replica_region is None or role is None:
                continue
            replica, replica_versioning = self._bucket(
                f"{self.name}-{kind}-replica", bucket_name(owner, kind, replica_region), replica_region, self.replica_key
            )
            # Lifecycle deletions are not replicated: the replica expires its own old versions.
            self.lifecycles[f"{kind}-replica"] = self._noncurrent_expiry(
                f"{self.name}-{kind}-replica", replica, replica_versioning, replica_region, days,
            )
            self.replicas[kind] = replica
            self.versionings[f"{kind}-replica"] = replica_versioning
            policy = aws.iam.RolePolicy(
                f"{self.name}-replication-{kind}", role=role.id,
                policy=pulumi.Output.all(source.arn, replica.arn).apply(lambda arns: self._replication_policy(*arns)),
                opts=self._opts,
            )
            destination: dict[str, Any] = {
                # An S3 bucket's ARN is arn:aws:s3:::<name>, and its id is its name.
                "bucket": pulumi.Output.concat("arn:aws:s3:::", replica.id),
                "storage_class": "STANDARD",
                # RTC: 99.99% of objects within 15 minutes (SLA); needs the metrics block.
                "replication_time": {"status": "Enabled", "time": {"minutes": RTC_MINUTES}},
                "metrics": {"status": "Enabled", "event_threshold": {"minutes": RTC_MINUTES}},
            }
            rule: dict[str, Any] = {
                "id": f"{kind}-to-{replica_region}",
                "status": "Enabled",
                "priority": 1,
                # An empty filter makes the rule V2, which delete-marker replication requires.
                "filter": {},
                "delete_marker_replication": {"status": "Enabled"},
                "destination": destination,
            }
            if self.replica_key is not None:
                destination["encryption_configuration"] = {"replica_kms_key_id": self.replica_key.arn}
                rule["source_selection_criteria"] = {"sse_kms_encrypted_objects": {"status": "Enabled"}}
            self.replications[kind] = aws.s3.BucketReplicationConfig(
                f"{self.name}-{kind}",
                bucket=source.id,
                role=role.arn,
                rules=[rule],
                # S3 refuses a replication configuration until both sides are versioned.
                opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=[source_versioning, replica_versioning, policy])),
            )
        if cfg.is_prod:
            self._access_logs(owner, None, self.buckets)
            if replica_region:
                self._access_logs(owner, replica_region, self.replicas)
        # The registry: repositories under `<cluster>/` are created on first push, encrypted,
        # with immutable tags; with DR each is replicated to the recovery region.
        applied = ["CREATE_ON_PUSH", "REPLICATION"] if replica_region else ["CREATE_ON_PUSH"]
        aws.ecr.RepositoryCreationTemplate(
            f"{self.name}-registry",
            prefix=owner,
            applied_fors=applied,
            description=f"Images of cluster {owner}",
            image_tag_mutability="IMMUTABLE",
            encryption_configurations=[{"encryption_type": "AES256"}],
            opts=self._opts,
        )
        if replica_region:
            aws.ecr.ReplicationConfiguration(
                f"{self.name}-registry",
                replication_configuration={"rules": [{
                    "destinations": [{"region": replica_region, "registry_id": self.account_id}],
                    "repository_filters": [{"filter": owner, "filter_type": "PREFIX_MATCH"}],
                }]},
                opts=self._opts,
            )

    def _access_logs(self, owner: str, region: Optional[str], sources: dict[str, aws.s3.Bucket]) -> None:
        """Server access logs of every store bucket in one region, into a log bucket there.

        Server access logging rather than CloudTrail data events: it is a per-bucket setting
        this stack owns (aws.s3.BucketLogging in pulumi-aws 7.x), costs only the log storage,
        and needs no trail, which is account-wide and often already owned by an organization.
        The log bucket must not use SSE-KMS default encryption (S3 cannot deliver into it), so
        it gets SSE-S3; S3's log delivery service writes through the bucket policy below, the
        only way with BucketOwnerEnforced (no ACL grants)."""
        where = region or self.region
        suffix = "-replica" if region else ""
        resource = f"{self.name}-{ACCESS_LOG_KIND}{suffix}"
        log_bucket, _ = self._bucket(resource, bucket_name(owner, ACCESS_LOG_KIND, where), region, None)
        aws.s3.BucketLifecycleConfiguration(
            resource, bucket=log_bucket.id, region=region,
            rules=[{
                "id": "expire-access-logs",
                "status": "Enabled",
                "filter": {},
                "expiration": {"days": ACCESS_LOG_DAYS},
                "noncurrent_version_expiration": {"noncurrent_days": ACCESS_LOG_NONCURRENT_DAYS},
                "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            }],
            opts=self._opts,
        )
        kinds = sorted(sources)
        policy = aws.s3.BucketPolicy(
            resource, bucket=log_bucket.id, region=region,
            # A bucket's ARN is arn:<partition>:s3:::<name>, and its id is its name.
            policy=pulumi.Output.all(log_bucket.id, self.account_id, *[sources[k].id for k in kinds]).apply(
                lambda args: self._log_delivery_policy(
                    self._bucket_arn(args[0]), args[1], {k: self._bucket_arn(b) for k, b in zip(kinds, args[2:], strict=True)}
                )
            ),
            opts=self._opts,
        )
        for kind in kinds:
            self.access_logs[f"{kind}{suffix}"] = aws.s3.BucketLogging(
                f"{self.name}-{kind}{suffix}",
                bucket=sources[kind].id,
                target_bucket=log_bucket.id,
                target_prefix=f"{kind}/",
                # <prefix><account>/<region>/<bucket>/YYYY/MM/DD/...: Athena partitions by day.
                target_object_key_format={"partitioned_prefix": {"partition_date_source": "EventTime"}},
                region=region,
                # S3 delivers only once the service may write; the grant comes first.
                opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=[policy])),
            )

    def _bucket_arn(self, bucket: str) -> str:
        return f"arn:{self.eks.partition}:s3:::{bucket}"

    @staticmethod
    def _log_delivery_policy(log_arn: str, account: str, sources: dict[str, str]) -> str:
        """S3's logging service may put objects under each source's prefix, for that source only."""
        statements: list[dict[str, Any]] = [
            {
                "Sid": f"S3ServerAccessLogs{kind.capitalize()}",
                "Effect": "Allow",
                "Principal": {"Service": LOG_DELIVERY_PRINCIPAL},
                "Action": "s3:PutObject",
                "Resource": f"{log_arn}/{kind}/*",
                "Condition": {"ArnLike": {"aws:SourceArn": arn}, "StringEquals": {"aws:SourceAccount": account}},
            }
            for kind, arn in sorted(sources.items())
        ]
        statements.append({
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [log_arn, f"{log_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        })
        return _policy(statements)

    def _replication_policy(self, source_arn: str, replica_arn: str) -> str:
        statements: list[dict[str, Any]] = [
            {"Sid": "ReadSource", "Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": source_arn},
            {"Sid": "ReadVersions", "Effect": "Allow",
             "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
             "Resource": f"{source_arn}/*"},
            {"Sid": "WriteReplica", "Effect": "Allow",
             "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], "Resource": f"{replica_arn}/*"},
        ]
        if self.key is not None:
            statements.append({"Sid": "Keys", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], "Resource": "*",
                               "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": key_alias(self.owner)}}})
        return _policy(statements)

    # --- identities ---------------------------------------------------------------------

    def _association(self, name: str, namespace: str, service_account: str, role: aws.iam.Role,
                     policy: aws.iam.RolePolicy) -> aws.eks.PodIdentityAssociation:
        return aws.eks.PodIdentityAssociation(
            name, cluster_name=self.eks.cluster.name, namespace=namespace, service_account=service_account, role_arn=role.arn,
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=[self.eks.pod_identity_agent, policy])),
        )

    def _team_access(self, cfg: StackConfig, models: str, alias: Optional[str], region: str) -> dict[str, aws.iam.Role]:
        roles = {}
        for ns in cfg.namespaces:
            if ns.model_store == "none":
                continue
            base = f"{self.name}-{ns.name}-models"
            role = aws.iam.Role(base, assume_role_policy=POD_IDENTITY_TRUST, opts=self._opts)
            policy = aws.iam.RolePolicy(
                base, role=role.id, policy=bucket_access_policy(models, ns.model_store == "readwrite", alias, region), opts=self._opts,
            )
            self._association(base, ns.name, WORKLOAD_SERVICE_ACCOUNT, role, policy)
            roles[ns.name] = role
        return roles

    def _velero_identity(self, backups: str, alias: Optional[str], region: str, write: bool, write_prefix: Optional[str] = None):
        base = f"{self.name}-velero"
        role = aws.iam.Role(base, assume_role_policy=POD_IDENTITY_TRUST, opts=self._opts)
        policy = aws.iam.RolePolicy(base, role=role.id, policy=bucket_access_policy(backups, write, alias, region, write_prefix), opts=self._opts)
        return role, self._association(base, VELERO_NAMESPACE, VELERO_SERVICE_ACCOUNT, role, policy)


def describe(cfg: StackConfig, plan) -> list[dict[str, str]]:
    """The DR table's rows for this stack (preview/dr.py): each store, where it and its replica live."""
    from ...catalog import dr as dr_catalog

    owner = plan.store_owner
    rep = dr_catalog.STORE_REPLICATION["aws"]
    primary, recovery = plan.primary_region, plan.recovery_region
    rows = []
    for store, kind in (("model store", "models"), ("cluster backups", "backups")):
        rows.append({
            "store": store,
            "lives": f"s3://{bucket_name(owner, kind, primary)} ({primary})",
            "replica": f"s3://{bucket_name(owner, kind, recovery)} ({recovery})",
            "mechanism": rep.mechanism + ", delete markers replicated, versioning on both",
            "rpo": rep.rpo_text,
        })
    rows.append({
        "store": "container registry",
        "lives": f"ECR {owner}/* ({primary})",
        "replica": f"ECR {owner}/* ({recovery})",
        "mechanism": dr_catalog.REGISTRY_REPLICATION["aws"],
        "rpo": "asynchronous, no stated figure",
    })
    return rows

"""GCP stores: the model store and Velero's backup bucket (GCS) and the container registry
(Artifact Registry). With `dr` both buckets are dual-region (the primary and the recovery
region) with turbo replication, and the registry lives in the multi-region holding both:
one resource survives the loss of either region, so the standby uses the very same
buckets, by name, and never needs the primary stack. Team and Velero identities are
Google service accounts bound through GKE Workload Identity.

Upstream facts relied on (pulumi-gcp 10.x docstrings): Bucket `rpo` "ASYNC_TURBO" "enables
turbo replication, valid for dual-region buckets only"; `custom_placement_config.data_locations`
lists "the individual regions that comprise a dual-region bucket" (changing it recreates the
bucket); Artifact Registry `location` accepts the multi-regions `asia`, `europe` and `us`;
its `kms_key_name` "may not be changed after the Repository has been created".
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_gcp as gcp

from ... import catalog
from ...catalog.model_streaming import SCHEMES as STREAM_SCHEMES
from ...catalog import dr as dr_catalog
from ...config import StackConfig
from ...dr import StoresArgs, VELERO_RELEASE, noncurrent_version_days, short_hash, store_owner
from ...handle import BackupTarget, ModelStore, RecoveryLocation
from .admission import project_policy
from .cluster import KEY_ROTATION, KMS_ENCRYPTER, GkeCluster

WORKLOAD_SERVICE_ACCOUNT = "workload"
VELERO_NAMESPACE = "velero"
VELERO_SERVICE_ACCOUNT = f"{VELERO_RELEASE}-server"
GKE_SA_ANNOTATION = "iam.gke.io/gcp-service-account"
TOKEN_CREATOR = "roles/iam.serviceAccountTokenCreator"  # holds iam.serviceAccounts.signBlob
ROLE_BY_ACCESS = {"read": "roles/storage.objectViewer", "readwrite": "roles/storage.objectUser"}
# The audit trail: Cloud Storage's Data Access audit logs (object reads, and writes of object
# data and metadata), which Google leaves off by default. Admin Activity logs are always on.
AUDITED_SERVICE = "storage.googleapis.com"
AUDIT_LOG_TYPES = ("DATA_READ", "DATA_WRITE")


def gcs_bucket_name(owner: str, kind: str, project: str) -> str:
    """Globally unique and the same from the primary and the standby stack."""
    return f"{owner}-{kind}-{short_hash(project)}"


def account_id(owner: str, what: str) -> str:
    """A service account id (6-30 characters)."""
    return f"{owner[: 29 - len(what)].rstrip('-')}-{what}"


class GcsStores(pulumi.ComponentResource):
    def __init__(self, name: str, args: StoresArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:clouds:GcsStores", name, None, opts)
        cfg, plan = args.config, args.dr
        gke: GkeCluster = args.cluster
        self.name, self.gke = name, gke
        self.project = gke.project
        self._opts = pulumi.ResourceOptions(parent=self, provider=gke.provider)
        self._keep = pulumi.ResourceOptions(protect=cfg.is_prod)
        owner = plan.store_owner if plan else store_owner(cfg.name_for(args.stack))  # the same with and without dr
        standby = plan is not None and plan.standby
        region = cfg.region or ""
        pair = (plan.recovery_region if not standby else plan.primary_region) if plan else None
        multi = dr_catalog.gcp_multi_region(region)
        self.location = multi[0] if plan and multi else region.upper()
        self.registry_location = multi[1] if plan and multi else region
        self.data_locations = sorted({region.upper(), pair.upper()}) if plan and pair else []
        self.buckets: dict[str, gcp.storage.Bucket] = {}
        self.key: Optional[gcp.kms.CryptoKey] = None
        models = gcs_bucket_name(owner, "models", self.project)
        backups = gcs_bucket_name(owner, "backups", self.project)
        self.registry_id = owner
        if not standby:
            self._create_stores(owner, cfg)
        depends = list(self.buckets.values())
        self.team_accounts: dict[str, gcp.serviceaccount.Account] = {}
        annotations: dict[str, dict[str, pulumi.Input[str]]] = {}
        for ns in cfg.namespaces:
            if ns.model_store == "none":
                continue
            account, _ = self._identity(
                f"{name}-{ns.name}-models", account_id(name, f"{ns.name}"[:12] + "-m"), ns.name, WORKLOAD_SERVICE_ACCOUNT,
                models, ROLE_BY_ACCESS[ns.model_store], depends,
            )
            self.team_accounts[ns.name] = account
            annotations[ns.name] = {GKE_SA_ANNOTATION: account.email}
        velero, grants = self._identity(
            f"{name}-velero", account_id(name, "velero"), VELERO_NAMESPACE, VELERO_SERVICE_ACCOUNT,
            backups, "roles/storage.objectAdmin" if not standby else "roles/storage.objectViewer", depends,
        )
        # The plugin signs download URLs as this account (`velero backup logs`, `describe`):
        # it needs iam.serviceAccounts.signBlob on itself (velero-plugin-for-gcp README).
        grants.append(gcp.serviceaccount.IAMMember(
            f"{name}-velero-sign", service_account_id=velero.name, role=TOKEN_CREATOR, member=velero.member, opts=self._opts,
        ))
        # A failed-over standby backs itself up again under its own prefix of the same
        # dual-region bucket: objectAdmin there only (an IAM condition on the object name).
        recovery_prefix = plan.stack if plan is not None and plan.restore_requested else None
        if recovery_prefix:
            grants.append(gcp.storage.BucketIAMMember(
                f"{name}-velero-recovery", bucket=backups, role="roles/storage.objectAdmin", member=velero.member,
                condition={
                    "title": "failover-backups",
                    "expression": f'resource.name.startsWith("projects/_/buckets/{backups}/objects/{recovery_prefix}/")',
                },
                opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=depends)),
            ))
        self.model_store = ModelStore(
            url=f"gs://{models}",
            registry=f"{self.registry_location}-docker.pkg.dev/{self.project}/{self.registry_id}",
            workload_annotations=annotations,
            region=self.location if plan else region,
            replica_region=None,  # one dual-region bucket: both regions hold the data
            # vLLM streams gs:// with Google's default credentials: the Workload Identity binding above.
            stream_url=f"{STREAM_SCHEMES['gcp'].scheme}://{models}",
        )
        self.backup = BackupTarget(
            provider="gcp",
            plugin_image=catalog.IMAGES["velero-plugin-for-gcp"],
            bucket=backups,
            # The plugin signs and reads as this service account through Workload Identity.
            config={"serviceAccount": velero.email},
            service_account_annotations={GKE_SA_ANNOTATION: velero.email},
            read_only=standby,
            ready=grants,
            recovery=RecoveryLocation(backups, recovery_prefix, {"serviceAccount": velero.email}) if recovery_prefix else None,
        )
        self.register_outputs({"modelStore": self.model_store.url, "registry": self.model_store.registry})

    def _create_stores(self, owner: str, cfg: StackConfig) -> None:
        name = self.name
        protected = pulumi.ResourceOptions.merge(self._opts, self._keep)
        grants: list[pulumi.Resource] = []
        if cfg.is_prod:
            # The key sits in the bucket's location: the multi-region for a dual-region bucket.
            ring = gcp.kms.KeyRing(
                f"{name}-stores", name=f"{owner}-stores", project=self.project,
                location=self.registry_location.lower(), opts=protected,
            )
            self.key = gcp.kms.CryptoKey(
                f"{name}-stores", name="stores", key_ring=ring.id, purpose="ENCRYPT_DECRYPT",
                rotation_period=KEY_ROTATION, opts=protected,
            )
            # A fresh project has no Cloud Storage or Artifact Registry service agent until
            # something asks for one (Pulumi GCP docs, storage.getProjectServiceAccount: it
            # "ensures it exists prior to any API operations which demand its existence";
            # projects.ServiceIdentity creates a service's agent). Granting the key to an agent
            # that does not exist yet fails, so each grant names the agent these return.
            invoke = pulumi.InvokeOutputOptions(parent=self, provider=self.gke.provider)
            storage_agent = gcp.storage.get_project_service_account_output(project=self.project, opts=invoke)
            registry_agent = gcp.projects.ServiceIdentity(
                f"{name}-artifactregistry-agent", project=self.project, service="artifactregistry.googleapis.com",
                opts=self._opts,
            )
            for agent, member in (("gs-project-accounts", storage_agent.member), ("gcp-sa-artifactregistry", registry_agent.member)):
                grants.append(gcp.kms.CryptoKeyIAMMember(
                    f"{name}-stores-{agent}", crypto_key_id=self.key.id, role=KMS_ENCRYPTER, member=member,
                    opts=self._opts,
                ))
        if cfg.is_prod:
            # Project-wide: the audit config is per project and service, not per bucket, and
            # IAMAuditConfig is authoritative for the service. The primary owns it; a standby in
            # the same project creates none (it never runs _create_stores).
            self.audit = gcp.projects.IAMAuditConfig(
                f"{name}-storage-data-access", project=self.project, service=AUDITED_SERVICE,
                audit_log_configs=[{"log_type": log_type} for log_type in AUDIT_LOG_TYPES],
                opts=self._opts,
            )
        if cfg.is_prod:
            # Binary Authorization's policy is one per project, like the audit config: the
            # primary owns it and every prod cluster in the project enforces it.
            self.admission = project_policy(
                owner, self.project, f"{self.registry_location}-docker.pkg.dev/{self.project}/{self.registry_id}", self._opts,
            )
        for kind in ("models", "backups"):
            extra: dict = {}
            if self.data_locations:
                extra["custom_placement_config"] = {"data_locations": self.data_locations}
                extra["rpo"] = "ASYNC_TURBO"
            if self.key is not None:
                extra["encryption"] = {"default_kms_key_name": self.key.id}
            self.buckets[kind] = gcp.storage.Bucket(
                f"{name}-{kind}",
                name=gcs_bucket_name(owner, kind, self.project),
                project=self.project,
                location=self.location,
                storage_class="STANDARD",
                versioning={"enabled": True},
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                force_destroy=False,
                soft_delete_policy={"retention_duration_seconds": 7 * 24 * 3600},
                # Versions that stopped being live go after the backup retention; live objects
                # (current backups and models) are never touched by this rule.
                lifecycle_rules=[{
                    "action": {"type": "Delete"},
                    "condition": {"days_since_noncurrent_time": noncurrent_version_days(cfg), "with_state": "ARCHIVED"},
                }],
                opts=pulumi.ResourceOptions.merge(protected, pulumi.ResourceOptions(depends_on=grants)),
                **extra,
            )
        self.registry = gcp.artifactregistry.Repository(
            f"{name}-registry",
            repository_id=self.registry_id,
            project=self.project,
            location=self.registry_location,
            format="DOCKER",
            description=f"Images of cluster {owner}",
            docker_config={"immutable_tags": True},
            kms_key_name=self.key.id if self.key is not None else None,
            opts=pulumi.ResourceOptions.merge(protected, pulumi.ResourceOptions(depends_on=grants)),
        )

    def _identity(self, resource: str, sa_id: str, namespace: str, ksa: str, bucket: str, role: str,
                  depends: list[pulumi.Resource]) -> tuple[gcp.serviceaccount.Account, list[pulumi.Resource]]:
        account = gcp.serviceaccount.Account(
            resource, account_id=sa_id, project=self.project,
            display_name=f"{namespace}/{ksa} on {self.name}", opts=self._opts,
        )
        bucket_grant = gcp.storage.BucketIAMMember(
            resource, bucket=bucket, role=role, member=account.member,
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=depends)),
        )
        # The Kubernetes ServiceAccount may act as the Google one (GKE Workload Identity).
        binding = gcp.serviceaccount.IAMMember(
            resource, service_account_id=account.name, role="roles/iam.workloadIdentityUser",
            member=f"serviceAccount:{self.gke.workload_pool}[{namespace}/{ksa}]", opts=self._opts,
        )
        return account, [bucket_grant, binding]


def describe(cfg: StackConfig, plan) -> list[dict[str, str]]:
    """The DR table's rows (preview/dr.py): one dual-region bucket holds the data in both regions."""
    assert cfg.gcp is not None
    rep = dr_catalog.STORE_REPLICATION["gcp"]
    both = f"{plan.primary_region} + {plan.recovery_region}"
    multi = dr_catalog.gcp_multi_region(plan.primary_region) or ("", "")
    rows = []
    for store, kind in (("model store", "models"), ("cluster backups", "backups")):
        rows.append({
            "store": store,
            "lives": f"gs://{gcs_bucket_name(plan.store_owner, kind, cfg.gcp.project)} (dual-region {both})",
            "replica": f"the same bucket in {plan.recovery_region}",
            "mechanism": rep.mechanism,
            "rpo": rep.rpo_text,
        })
    rows.append({
        "store": "container registry",
        "lives": f"{multi[1]}-docker.pkg.dev/{cfg.gcp.project}/{plan.store_owner} (multi-region {multi[1]})",
        "replica": "the same repository (multi-region)",
        "mechanism": dr_catalog.REGISTRY_REPLICATION["gcp"],
        "rpo": "within the multi-region, no stated figure",
    })
    return rows

"""Azure stores: the model store and Velero's backups (blob containers in a StorageV2
account) and the container registry (ACR). With `dr`, a second account in the recovery
region (in its own resource group there) receives both containers by object replication,
and the Premium registry keeps a geo-replica there. A standby creates no stores: it reads
the replica account and the registry by their derived names (components/dr.py).

Upstream facts relied on (pulumi-azure-native 3.x docstrings, storage and containerregistry):
ObjectReplicationPolicy `object_replication_policy_id`: "For the destination account,
provide the value 'default'. Configure the policy on the destination account first. For
the source account, provide the value of the policy ID" the destination returned; a rule's
`rule_id` "is auto-generated for each new rule on destination account. It is required for
put policy on source account"; `source_account`/`destination_account` "should be full
resource id if allowCrossTenantReplication set to false". Object replication needs blob
versioning on both accounts and the change feed on the source (REFERENCE.md), and no
hierarchical namespace. Velero plugin for Azure (README, workload identity): `useAAD`,
`storageAccountURI` (no Reader role needed then), the pod label
`azure.workload.identity/use=true`, and a credentials file with the subscription and group.
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
from pulumi_azure_native import authorization, containerregistry, keyvault, managedidentity, monitor, resources, storage

from ... import catalog
from ...catalog.model_streaming import SCHEMES as STREAM_SCHEMES
from ...dr import StoresArgs, VELERO_RELEASE, compact_name, noncurrent_version_days, store_owner
from ...handle import BackupTarget, ModelStore, RecoveryLocation
from .cluster import WORKLOAD_IDENTITY_ANNOTATION, AksCluster, role_definition_id

WORKLOAD_SERVICE_ACCOUNT = "workload"
VELERO_NAMESPACE = "velero"
VELERO_SERVICE_ACCOUNT = f"{VELERO_RELEASE}-server"
WORKLOAD_IDENTITY_LABEL = {"azure.workload.identity/use": "true"}
TOKEN_AUDIENCE = "api://AzureADTokenExchange"
CONTAINERS = ("models", "backups")
# The failed-over standby's writable containers beside the replicated ones.
FAILOVER_SUFFIX = "-failover"
# The audit trail: the blob service's resource logs (every read, write and delete, with the
# caller's identity), sent to the cluster's Log Analytics workspace, table StorageBlobLogs.
BLOB_LOG_CATEGORIES = ("StorageRead", "StorageWrite", "StorageDelete")

# Built-in roles (the same ids in every subscription).
BLOB_READER_ROLE = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"  # Storage Blob Data Reader
BLOB_CONTRIBUTOR_ROLE = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"  # Storage Blob Data Contributor
ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d"  # AcrPull
KEY_ENCRYPTION_USER_ROLE = "e147488a-f6f5-4113-8e2d-b22465e65bf6"  # Key Vault Crypto Service Encryption User
ROLE_BY_ACCESS = {"read": BLOB_READER_ROLE, "readwrite": BLOB_CONTRIBUTOR_ROLE}


def account_name(owner: str, region: str) -> str:
    return compact_name(owner, f"store-{region}", 24)


def registry_name(owner: str) -> str:
    return compact_name(owner, "registry", 50)


def dr_resource_group(owner: str) -> str:
    """The replica account's group in the recovery region, owned by the primary. Named from the
    stores' prefix, so it is never the standby cluster's own group (`<primary>-dr-rg`), which
    a standby's teardown would delete with the replica in it."""
    return f"{owner}-dr-rg"


class BlobStores(pulumi.ComponentResource):
    def __init__(self, name: str, args: StoresArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:clouds:BlobStores", name, None, opts)
        cfg, plan = args.config, args.dr
        aks: AksCluster = args.cluster
        self.name, self.aks, self.cfg = name, aks, cfg
        self._opts = pulumi.ResourceOptions(parent=self, provider=aks.azure_provider)
        self._keep = pulumi.ResourceOptions(protect=cfg.is_prod)
        self.tags = aks.tags
        owner = plan.store_owner if plan else store_owner(cfg.name_for(args.stack))  # the same with and without dr
        standby = plan is not None and plan.standby
        region = cfg.region or ""
        self.subscription = aks.client.subscription_id
        self.accounts: dict[str, storage.StorageAccount] = {}
        self.blob_services: dict[str, storage.BlobServiceProperties] = {}
        self.policies: dict[str, storage.ObjectReplicationPolicy] = {}
        self.management_policies: dict[str, storage.ManagementPolicy] = {}
        self.containers: dict[str, storage.BlobContainer] = {}
        self.access_logs: dict[str, monitor.DiagnosticSetting] = {}
        if standby:
            assert plan is not None
            store_account = account_name(owner, plan.recovery_region)
            store_group: pulumi.Input[str] = dr_resource_group(owner)
            registry_group: pulumi.Input[str] = f"{plan.primary_cluster}-rg"  # the primary cluster's group
            replica_region = None
        else:
            replica_region = plan.recovery_region if plan else None
            self._create_stores(owner, region, replica_region)
            store_account = account_name(owner, region)
            store_group = aks.resource_group.name
            registry_group = aks.resource_group.name
        account_id = pulumi.Output.concat(
            "/subscriptions/", self.subscription, "/resourceGroups/", store_group,
            "/providers/Microsoft.Storage/storageAccounts/", store_account,
        )
        registry_id = pulumi.Output.concat(
            "/subscriptions/", self.subscription, "/resourceGroups/", registry_group,
            "/providers/Microsoft.ContainerRegistry/registries/", registry_name(owner),
        )
        depends: list[pulumi.Resource] = [*self.accounts.values(), *self.containers.values()]
        # The cluster's nodes pull from the registry (the primary's, geo-replicated here on a standby).
        self.acr_pull = authorization.RoleAssignment(
            f"{name}-acr-pull", principal_id=aks.kubelet_object_id, principal_type="ServicePrincipal",
            role_definition_id=self._role(ACR_PULL_ROLE), scope=registry_id,
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=depends)),
        )
        # A failed-over standby writes into containers of its own in the replica account: the
        # object-replication destinations (`models`, `backups`) refuse every write with 409 while
        # the primary's policy exists (Azure object replication overview), and deleting that
        # policy by hand would be drift in the primary's stack. Failback copies them back.
        writable: dict[str, pulumi.Input[str]] = {}
        if plan is not None and plan.restore_requested:
            for container in CONTAINERS:
                created = storage.BlobContainer(
                    f"{name}-{container}{FAILOVER_SUFFIX}", container_name=f"{container}{FAILOVER_SUFFIX}",
                    account_name=store_account, resource_group_name=store_group, public_access="None", opts=self._opts,
                )
                depends.append(created)
                writable[container] = pulumi.Output.concat(account_id, f"/blobServices/default/containers/{container}{FAILOVER_SUFFIX}")
        annotations: dict[str, dict[str, pulumi.Input[str]]] = {}
        for ns in cfg.namespaces:
            if ns.model_store == "none":
                continue
            identity, _ = self._identity(
                f"{name}-{ns.name}-models", ns.name, WORKLOAD_SERVICE_ACCOUNT,
                pulumi.Output.concat(account_id, "/blobServices/default/containers/models"),
                BLOB_READER_ROLE if writable else ROLE_BY_ACCESS[ns.model_store], depends,
            )
            if writable and ns.model_store == "readwrite":
                self._grant(f"{name}-{ns.name}-models{FAILOVER_SUFFIX}", identity, writable["models"], BLOB_CONTRIBUTOR_ROLE, depends)
            annotations[ns.name] = {WORKLOAD_IDENTITY_ANNOTATION: identity.client_id}
        velero, grants = self._identity(
            f"{name}-velero", VELERO_NAMESPACE, VELERO_SERVICE_ACCOUNT,
            pulumi.Output.concat(account_id, "/blobServices/default/containers/backups"),
            BLOB_READER_ROLE if standby else BLOB_CONTRIBUTOR_ROLE, depends,
        )
        if writable:
            grants.append(self._grant(f"{name}-velero{FAILOVER_SUFFIX}", velero, writable["backups"], BLOB_CONTRIBUTOR_ROLE, depends))
        endpoint = f"https://{store_account}.blob.core.windows.net"
        self.model_store = ModelStore(
            url=f"{endpoint}/models",
            registry=f"{registry_name(owner)}.azurecr.io",
            workload_annotations=annotations,
            workload_pod_labels=WORKLOAD_IDENTITY_LABEL,
            region=plan.store_region if plan else region,
            replica_region=replica_region,
            write_url=f"{endpoint}/models{FAILOVER_SUFFIX}" if writable else None,
            # vLLM streams az://<container>/<path> from the account it is told, with
            # DefaultAzureCredential: the namespace's federated identity above.
            stream_url=f"{STREAM_SCHEMES['azure'].scheme}://models",
            stream_env={STREAM_SCHEMES["azure"].env[0]: store_account},
        )
        # The plugin still reads the subscription and group from a credentials file; it holds
        # no secret with workload identity.
        credentials = pulumi.Output.concat(
            "AZURE_SUBSCRIPTION_ID=", self.subscription, "\nAZURE_RESOURCE_GROUP=", store_group,
            "\nAZURE_CLOUD_NAME=AzurePublicCloud\n",
        )
        self.backup = BackupTarget(
            provider="azure",
            plugin_image=catalog.IMAGES["velero-plugin-for-microsoft-azure"],
            bucket="backups",
            config={
                "useAAD": "true",
                "storageAccount": store_account,
                "resourceGroup": store_group,
                "subscriptionId": self.subscription,
                "storageAccountURI": endpoint,
            },
            service_account_annotations={WORKLOAD_IDENTITY_ANNOTATION: velero.client_id},
            pod_labels=WORKLOAD_IDENTITY_LABEL,
            credentials_file=credentials,
            read_only=standby,
            ready=grants,
            recovery=RecoveryLocation(f"backups{FAILOVER_SUFFIX}", plan.stack, {
                "useAAD": "true", "storageAccount": store_account, "resourceGroup": store_group,
                "subscriptionId": self.subscription, "storageAccountURI": endpoint,
            }) if writable and plan is not None else None,
        )
        self.register_outputs({"modelStore": self.model_store.url, "registry": self.model_store.registry})

    def _role(self, role: str) -> pulumi.Output[str]:
        return self.subscription.apply(lambda s: role_definition_id(s, role))

    # --- the stores (primary only) ------------------------------------------------------

    def _key(self, suffix: str, group: pulumi.Input[str], region: str) -> tuple[dict[str, Any], dict[str, Any], pulumi.Resource]:
        """prod: a key in a vault of the account's own region (a replica must not depend on
        the region it protects against), used through a user-assigned identity."""
        name = self.name
        protected = pulumi.ResourceOptions.merge(self._opts, self._keep)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-stores-{suffix}", resource_name_=f"{name}-stores-{suffix}", resource_group_name=group,
            location=region, tags=self.tags, opts=self._opts,
        )
        vault_name = compact_name(self.name, f"kv-{region}", 24)
        vault = keyvault.Vault(
            f"{name}-stores-{suffix}", vault_name=vault_name, resource_group_name=group,
            location=region,
            properties={
                "tenant_id": self.aks.client.tenant_id, "sku": {"family": "A", "name": "standard"},
                "enable_rbac_authorization": True, "enable_soft_delete": True, "enable_purge_protection": True,
                "soft_delete_retention_in_days": 90,
            },
            tags=self.tags, opts=protected,
        )
        key = keyvault.Key(
            f"{name}-stores-{suffix}", key_name="stores", vault_name=vault.name, resource_group_name=group,
            properties={"kty": "RSA", "key_size": 3072}, opts=protected,
        )
        grant = authorization.RoleAssignment(
            f"{name}-stores-{suffix}", principal_id=identity.principal_id, principal_type="ServicePrincipal",
            role_definition_id=self._role(KEY_ENCRYPTION_USER_ROLE), scope=vault.id, opts=self._opts,
        )
        encryption = {
            "key_source": "Microsoft.Keyvault",
            "key_vault_properties": {"key_name": key.name, "key_vault_uri": f"https://{vault_name}.vault.azure.net/"},
            "encryption_identity": {"encryption_user_assigned_identity": identity.id},
            "services": {"blob": {"enabled": True, "key_type": "Account"}},
            "require_infrastructure_encryption": True,
        }
        return encryption, {"type": "UserAssigned", "user_assigned_identities": [identity.id]}, grant

    def _account(self, suffix: str, owner: str, group: pulumi.Input[str], region: str, change_feed: bool) -> None:
        name = self.name
        extra: dict[str, Any] = {}
        depends: list[pulumi.Resource] = []
        if self.cfg.is_prod:
            encryption, identity, grant = self._key(suffix, group, region)
            extra.update(encryption=encryption, identity=identity)
            depends.append(grant)
        account = storage.StorageAccount(
            f"{name}-{suffix}",
            account_name=account_name(owner, region),
            resource_group_name=group,
            location=region,
            kind="StorageV2",
            sku={"name": "Standard_ZRS" if self.cfg.is_prod else "Standard_LRS"},
            access_tier="Hot",
            # Object replication does not work with a hierarchical namespace.
            is_hns_enabled=False,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            allow_cross_tenant_replication=False,
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            tags=self.tags,
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(protect=self.cfg.is_prod, depends_on=depends)),
            **extra,
        )
        self.accounts[suffix] = account
        self.blob_services[suffix] = storage.BlobServiceProperties(
            f"{name}-{suffix}",
            account_name=account.name,
            resource_group_name=group,
            blob_services_name="default",
            is_versioning_enabled=True,
            change_feed={"enabled": change_feed, "retention_in_days": 7} if change_feed else None,
            delete_retention_policy={"enabled": True, "days": 7},
            container_delete_retention_policy={"enabled": True, "days": 7},
            opts=self._opts,
        )
        # Previous versions (Azure counts their age from the version's creation) go after the
        # backup retention; the current version of a blob is never touched by this rule.
        self.management_policies[suffix] = storage.ManagementPolicy(
            f"{name}-{suffix}",
            account_name=account.name,
            resource_group_name=group,
            management_policy_name="default",
            policy={"rules": [{
                "name": "expire-previous-versions",
                "enabled": True,
                "type": "Lifecycle",
                "definition": {
                    "filters": {"blob_types": ["blockBlob"]},
                    "actions": {"version": {"delete": {"days_after_creation_greater_than": noncurrent_version_days(self.cfg)}}},
                },
            }]},
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=[self.blob_services[suffix]])),
        )
        if self.cfg.is_prod:
            self._access_logs(suffix, account, group, account_name(owner, region))
        for container in CONTAINERS:
            self.containers[f"{suffix}-{container}"] = storage.BlobContainer(
                f"{name}-{suffix}-{container}", container_name=container, account_name=account.name,
                resource_group_name=group, public_access="None",
                # A container holds the data: deleting one deletes its blobs, so prod protects it
                # like its account (turning DR off must not delete the replica's data).
                opts=pulumi.ResourceOptions.merge(
                    pulumi.ResourceOptions.merge(self._opts, self._keep),
                    pulumi.ResourceOptions(depends_on=[self.blob_services[suffix]]),
                ),
            )

    def _access_logs(self, suffix: str, account: storage.StorageAccount, group: pulumi.Input[str], name_of_account: str) -> None:
        """The blob service's read, write and delete logs into the cluster's workspace. A
        workspace may sit in another region than the account it receives from, so the replica's
        logs land in the same workspace as the primary's."""
        name = f"{self.name}-{suffix}-blob-access"
        self.access_logs[suffix] = monitor.DiagnosticSetting(
            name,
            name=name,
            # Spelled from the account's name (known before it exists, as the identities'
            # scopes are), so a preview and the policy pack can tell which account it logs.
            resource_uri=pulumi.Output.concat(
                "/subscriptions/", self.subscription, "/resourceGroups/", group,
                "/providers/Microsoft.Storage/storageAccounts/", name_of_account, "/blobServices/default",
            ),
            workspace_id=self.aks.workspace.id,
            # Resource-specific table StorageBlobLogs rather than the shared AzureDiagnostics.
            log_analytics_destination_type="Dedicated",
            logs=[{"category": category, "enabled": True} for category in BLOB_LOG_CATEGORIES],
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=[account, self.blob_services[suffix]])),
        )

    def _create_stores(self, owner: str, region: str, replica_region: Optional[str]) -> None:
        name, aks = self.name, self.aks
        self._account("store", owner, aks.resource_group.name, region, change_feed=replica_region is not None)
        registry = containerregistry.Registry(
            f"{name}-registry",
            registry_name=registry_name(owner),
            resource_group_name=aks.resource_group.name,
            location=region,
            # Premium is the tier with geo-replication.
            sku={"name": "Premium" if replica_region else "Standard"},
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            tags=self.tags,
            opts=pulumi.ResourceOptions.merge(self._opts, self._keep),
        )
        if replica_region is None:
            return
        group = resources.ResourceGroup(
            f"{name}-dr-rg", resource_group_name=dr_resource_group(owner), location=replica_region, tags=self.tags,
            opts=pulumi.ResourceOptions.merge(self._opts, self._keep),
        )
        self._account("replica", owner, group.name, replica_region, change_feed=False)
        containerregistry.Replication(
            f"{name}-registry-{replica_region}",
            registry_name=registry.name,
            resource_group_name=aks.resource_group.name,
            replication_name=replica_region,
            location=replica_region,
            region_endpoint_enabled=True,
            tags=self.tags,
            opts=self._opts,
        )
        source, replica = self.accounts["store"], self.accounts["replica"]
        rules = [{"source_container": c, "destination_container": c} for c in CONTAINERS]
        ready = [self.blob_services["store"], self.blob_services["replica"], *self.containers.values()]
        # Destination first, with the id "default"; Azure answers with the policy and rule ids.
        destination = storage.ObjectReplicationPolicy(
            f"{name}-replication-destination",
            account_name=replica.name,
            resource_group_name=group.name,
            object_replication_policy_id="default",
            source_account=source.id,
            destination_account=replica.id,
            rules=rules,
            metrics={"enabled": True},
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=ready)),
        )
        source_rules = destination.rules.apply(
            lambda given: [
                {"source_container": r.source_container, "destination_container": r.destination_container, "rule_id": r.rule_id}
                for r in (given or [])
            ]
        )
        source_policy = storage.ObjectReplicationPolicy(
            f"{name}-replication-source",
            account_name=source.name,
            resource_group_name=aks.resource_group.name,
            object_replication_policy_id=destination.policy_id,
            source_account=source.id,
            destination_account=replica.id,
            rules=source_rules,
            metrics={"enabled": True},
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=[destination])),
        )
        self.policies = {"destination": destination, "source": source_policy}

    # --- identities ---------------------------------------------------------------------

    def _identity(self, resource: str, namespace: str, ksa: str, scope: pulumi.Input[str], role: str,
                  depends: list[pulumi.Resource]) -> tuple[managedidentity.UserAssignedIdentity, list[pulumi.Resource]]:
        aks = self.aks
        identity = managedidentity.UserAssignedIdentity(
            resource, resource_name_=resource, resource_group_name=aks.resource_group.name, location=self.cfg.region,
            tags=self.tags, opts=self._opts,
        )
        federation = managedidentity.FederatedIdentityCredential(
            resource, federated_identity_credential_resource_name=f"{namespace}-{ksa}", resource_name_=identity.name,
            resource_group_name=aks.resource_group.name, issuer=aks.oidc_issuer,
            subject=f"system:serviceaccount:{namespace}:{ksa}", audiences=[TOKEN_AUDIENCE], opts=self._opts,
        )
        return identity, [federation, self._grant(resource, identity, scope, role, depends)]

    def _grant(self, resource: str, identity: managedidentity.UserAssignedIdentity, scope: pulumi.Input[str], role: str,
               depends: list[pulumi.Resource]) -> authorization.RoleAssignment:
        return authorization.RoleAssignment(
            resource, principal_id=identity.principal_id, principal_type="ServicePrincipal",
            role_definition_id=self._role(role), scope=scope,
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=list(depends))),
        )


def describe(cfg, plan) -> list[dict[str, str]]:
    """The DR table's rows (preview/dr.py). Azure states no SLA for object replication."""
    from ...catalog import dr as dr_catalog

    rep = dr_catalog.STORE_REPLICATION["azure"]
    owner, primary, recovery = plan.store_owner, plan.primary_region, plan.recovery_region
    rows = []
    for store, container in (("model store", "models"), ("cluster backups", "backups")):
        rows.append({
            "store": store,
            "lives": f"{account_name(owner, primary)}/{container} ({primary})",
            "replica": f"{account_name(owner, recovery)}/{container} ({recovery}, group {dr_resource_group(owner)})",
            "mechanism": rep.mechanism + ", versioning on both, change feed on the source",
            "rpo": rep.rpo_text,
        })
    rows.append({
        "store": "container registry",
        "lives": f"{registry_name(owner)}.azurecr.io ({primary}, Premium)",
        "replica": f"geo-replica in {recovery}",
        "mechanism": dr_catalog.REGISTRY_REPLICATION["azure"],
        "rpo": "asynchronous, no stated figure",
    })
    return rows

"""Azure stores under mocks.

Upstream facts (pulumi-azure-native 3.29.0, storage.ObjectReplicationPolicy docstrings):
"For the destination account, provide the value 'default'. Configure the policy on the
destination account first. For the source account, provide the value of the policy ID"
returned; `rule_id` "is auto-generated for each new rule on destination account. It is
required for put policy on source account"; accounts "should be full resource id if
allowCrossTenantReplication set to false".
"""

from __future__ import annotations

import pytest

from tests.conftest import inputs, plan_for_stack

POLICY = "azure-native:storage:ObjectReplicationPolicy"


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-azure")


@pytest.fixture(scope="module")
def standby():
    return plan_for_stack("prod-azure-dr")


def test_two_accounts_one_per_region_without_hns_or_public_access(prod):
    accounts = {inputs(a)["location"]: inputs(a) for a in prod.by_type("azure-native:storage:StorageAccount")}
    assert set(accounts) == {"eastus", "westus3"}
    for account in accounts.values():
        assert account["isHnsEnabled"] is False and account["allowBlobPublicAccess"] is False
        assert account["allowCrossTenantReplication"] is False
        assert account["encryption"]["keySource"] == "Microsoft.Keyvault"  # prod: the stack's own key


def test_versioning_on_both_and_change_feed_on_the_source(prod):
    services = {r.name: inputs(r) for r in prod.by_type("azure-native:storage:BlobServiceProperties")}
    assert all(s["isVersioningEnabled"] is True for s in services.values())
    assert services["ml-prod-azure-stores-store"]["changeFeed"]["enabled"] is True
    assert "changeFeed" not in services["ml-prod-azure-stores-replica"]


def test_replication_policy_created_on_the_destination_first(prod):
    destination = prod.one(POLICY, "ml-prod-azure-stores-replication-destination")
    source = prod.one(POLICY, "ml-prod-azure-stores-replication-source")
    dest, src = inputs(destination), inputs(source)
    assert dest["objectReplicationPolicyId"] == "default"
    assert src["objectReplicationPolicyId"] not in ("default", None)
    assert destination.urn in source.dependencies
    assert [r["sourceContainer"] for r in dest["rules"]] == ["models", "backups"]
    assert all(r["ruleId"] for r in src["rules"])  # the ids the destination returned
    assert src["sourceAccount"].endswith("-id") and dest["destinationAccount"] == src["destinationAccount"]


def test_premium_registry_with_a_replica_in_the_recovery_region(prod):
    registry = inputs(prod.one("azure-native:containerregistry:Registry"))
    assert registry["sku"] == {"name": "Premium"} and registry["adminUserEnabled"] is False
    replication = inputs(prod.one("azure-native:containerregistry:Replication"))
    assert replication["location"] == "westus3"


def test_standby_reads_the_replica_account_with_workload_identity(standby):
    assert standby.by_type("azure-native:storage:StorageAccount") == []
    federations = {inputs(f)["subject"] for f in standby.by_type("azure-native:managedidentity:FederatedIdentityCredential")}
    assert federations == {"system:serviceaccount:inference:workload", "system:serviceaccount:training:workload",
                           "system:serviceaccount:velero:velero-server"}
    scopes = [inputs(r)["scope"] for r in standby.by_type("azure-native:authorization:RoleAssignment") if "models" in r.name]
    # The replica lives in the primary's own recovery-region group, not the standby cluster's group.
    assert scopes and all("/resourceGroups/ml-prod-azure-stores-dr-rg/" in s and s.endswith("/containers/models") for s in scopes)
    # The registry stays in the primary cluster's group, and neither group is the standby's own.
    pulls = [inputs(r)["scope"] for r in standby.by_type("azure-native:authorization:RoleAssignment") if "/registries/" in inputs(r)["scope"]]
    assert pulls and all("/resourceGroups/ml-prod-azure-rg/" in s for s in pulls)
    assert "ml-prod-azure-dr-rg" not in {s.split("/resourceGroups/")[1].split("/")[0] for s in scopes + pulls}


def test_global_names_fit_azure_rules(prod):
    import re

    for account in prod.by_type("azure-native:storage:StorageAccount"):
        assert re.fullmatch(r"[a-z0-9]{3,24}", inputs(account)["accountName"])
    assert re.fullmatch(r"[a-zA-Z0-9]{5,50}", inputs(prod.one("azure-native:containerregistry:Registry"))["registryName"])
    for vault in prod.by_type("azure-native:keyvault:Vault"):
        assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", inputs(vault)["vaultName"])
        assert inputs(vault)["properties"]["enablePurgeProtection"] is True


DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"


def test_every_account_sends_its_blob_reads_writes_and_deletes_to_the_clusters_workspace(prod):
    """Azure Monitor docs (Azure Blob Storage monitoring data reference): a diagnostic setting on
    the account's blobServices/default resource takes the categories StorageRead, StorageWrite
    and StorageDelete; with the Dedicated destination type they land in StorageBlobLogs. A Log
    Analytics destination may be in another region than the resource, so the replica in the
    recovery region logs to the same workspace."""
    from components.clouds.azure.stores import BLOB_LOG_CATEGORIES

    (workspace,) = prod.by_type("azure-native:operationalinsights:Workspace")
    settings = [s for s in prod.by_type(DIAGNOSTICS) if inputs(s)["resourceUri"].endswith("/blobServices/default")]
    accounts = prod.by_type("azure-native:storage:StorageAccount")
    assert len(accounts) == 2
    for account in accounts:
        (setting,) = [s for s in settings if account.urn in s.dependencies]
        config = inputs(setting)
        # Spelled from the account's name, so the policy pack can pair them (azure-store-access-logs).
        assert config["resourceUri"].endswith(f"/storageAccounts/{inputs(account)['accountName']}/blobServices/default")
        assert workspace.urn in setting.dependencies and config["workspaceId"].startswith(inputs(workspace)["workspaceName"])
        assert config["logAnalyticsDestinationType"] == "Dedicated"
        assert {c["category"] for c in config["logs"] if c["enabled"]} == set(BLOB_LOG_CATEGORIES)
        assert set(BLOB_LOG_CATEGORIES) == {"StorageRead", "StorageWrite", "StorageDelete"}
    assert len(settings) == len(accounts)


def test_standby_creates_no_store_diagnostics(standby):
    assert not [s for s in standby.by_type(DIAGNOSTICS) if inputs(s)["resourceUri"].endswith("/blobServices/default")]


def test_previous_versions_expire_after_the_backup_retention_in_both_accounts(prod):
    """Review item M4: each account (the store and its replica) deletes previous blob versions
    older than prod-azure's dr.backupRetention; current blobs are never touched by the rule."""
    import json

    from components.config import duration_hours
    from preview import engine

    values, _ = engine.read_stack_config("prod-azure")
    days = -(-duration_hours(json.loads(values[f"{engine.PROJECT}:dr"])["backupRetention"]) // 24)
    accounts = {a.urn: inputs(a)["accountName"] for a in prod.by_type("azure-native:storage:StorageAccount")}
    policies = prod.by_type("azure-native:storage:ManagementPolicy")
    assert sorted(inputs(p)["accountName"] for p in policies) == sorted(accounts.values())
    for policy in policies:
        (rule,) = inputs(policy)["policy"]["rules"]
        assert rule["enabled"] is True and rule["type"] == "Lifecycle"
        assert rule["definition"]["actions"] == {"version": {"delete": {"daysAfterCreationGreaterThan": days}}}
        assert rule["definition"]["filters"] == {"blobTypes": ["blockBlob"]}

"""GKE clusters and node pools, and Cloud KMS keys."""

from __future__ import annotations

import re

from typing import Sequence

from .base import Context, Finding, Resource, flag, get, items, number, present, resource_rule, show, stack_rule
from .types import GCP_IAM_AUDIT_CONFIG, GCP_KMS_CRYPTO_KEY, GCS_BUCKET, GKE_CLUSTER, GKE_NODE_POOL, is_world_cidr

DOMAIN = "gke"
DEFAULT_COMPUTE_SA = re.compile(r"-compute@developer\.gserviceaccount\.com$")


@resource_rule(
    id="gke-private-nodes",
    title="GKE private nodes",
    domain=DOMAIN,
    types=[GKE_CLUSTER, GKE_NODE_POOL],
    description="GKE nodes have internal IP addresses only; node pools do not override the cluster back to public nodes.",
    severity="high",
    level="mandatory",
    fix="Set privateClusterConfig.enablePrivateNodes true on the cluster and drop networkConfig.enablePrivateNodes false from node pools.",
)
def gke_private_nodes(r: Resource, ctx: Context):
    if r.type == GKE_CLUSTER:
        if flag(get(r.props, "privateClusterConfig.enablePrivateNodes")) is not True:
            yield "privateClusterConfig.enablePrivateNodes is not true: every node gets a public IP address."
    elif flag(get(r.props, "networkConfig.enablePrivateNodes")) is False:
        yield "networkConfig.enablePrivateNodes is false: this pool's nodes get public IP addresses."


@resource_rule(
    id="gke-authorized-networks",
    title="GKE control plane authorized networks",
    domain=DOMAIN,
    types=[GKE_CLUSTER],
    description="The GKE control plane's public endpoint is off or limited to master authorized networks, never 0.0.0.0/0.",
    severity="high",
    level="mandatory",
    fix="Set masterAuthorizedNetworksConfig.cidrBlocks to your office/VPN ranges (stack key network.apiAllowedCidrs), or enable the private endpoint.",
)
def gke_authorized_networks(r: Resource, ctx: Context):
    if flag(get(r.props, "privateClusterConfig.enablePrivateEndpoint")) is True:
        return
    if flag(get(r.props, "controlPlaneEndpointsConfig.ipEndpointsConfig.enabled")) is False:
        return  # only the DNS endpoint, which IAM guards
    config = get(r.props, "masterAuthorizedNetworksConfig")
    if config is None:
        yield "masterAuthorizedNetworksConfig is unset and the endpoint is public: any address can reach the Kubernetes API."
        return
    world = [get(b, "cidrBlock") for b in items(config, "cidrBlocks") if is_world_cidr(str(get(b, "cidrBlock", "")))]
    if world:
        yield f"masterAuthorizedNetworksConfig.cidrBlocks includes {', '.join(world)}, which authorizes the whole internet."
    if flag(get(config, "gcpPublicCidrsAccessEnabled")) is True:
        yield "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled is true: any Google Cloud VM of any customer can reach the API."


@resource_rule(
    id="gke-workload-identity",
    title="GKE workload identity",
    domain=DOMAIN,
    types=[GKE_CLUSTER, GKE_NODE_POOL],
    description="GKE clusters enable Workload Identity and node pools serve the GKE metadata server, so pods never see the node's service account.",
    severity="high",
    level="mandatory",
    fix='Set workloadIdentityConfig.workloadPool "<project>.svc.id.goog" on the cluster and nodeConfig.workloadMetadataConfig.mode "GKE_METADATA" on node pools.',
)
def gke_workload_identity(r: Resource, ctx: Context):
    if r.type == GKE_CLUSTER:
        if not present(r.props, "workloadIdentityConfig.workloadPool"):
            yield "workloadIdentityConfig.workloadPool is unset: pods authenticate as the node's service account."
    else:
        mode = get(r.props, "nodeConfig.workloadMetadataConfig.mode")
        if mode is not None and mode != "GKE_METADATA":
            yield f"nodeConfig.workloadMetadataConfig.mode is {show(mode)}: pods on this pool can read the node's credentials from the metadata server."


@resource_rule(
    id="gke-secrets-encryption",
    title="GKE application-layer secrets encryption (prod)",
    domain=DOMAIN,
    types=[GKE_CLUSTER],
    description="Production GKE clusters encrypt Kubernetes secrets at the application layer with a Cloud KMS key.",
    severity="high",
    level="mandatory",
    environments=["prod"],
    fix='Set databaseEncryption {state: "ENCRYPTED", keyName: <Cloud KMS crypto key id>} on the cluster.',
)
def gke_secrets_encryption(r: Resource, ctx: Context):
    state = get(r.props, "databaseEncryption.state")
    if state != "ENCRYPTED" or not present(r.props, "databaseEncryption.keyName"):
        yield f"databaseEncryption.state is {show(state)}; secrets in etcd are protected only by Google's default encryption."


@resource_rule(
    id="gke-legacy-auth-disabled",
    title="GKE legacy authorization off",
    domain=DOMAIN,
    types=[GKE_CLUSTER],
    description="GKE clusters use RBAC only: legacy ABAC is off and no client certificate is issued.",
    severity="high",
    level="mandatory",
    fix="Remove enableLegacyAbac (or set false) and masterAuth.clientCertificateConfig.issueClientCertificate false.",
)
def gke_legacy_auth_disabled(r: Resource, ctx: Context):
    if flag(get(r.props, "enableLegacyAbac")) is True:
        yield "enableLegacyAbac is true: ABAC grants broad static permissions that RBAC cannot narrow."
    if flag(get(r.props, "masterAuth.clientCertificateConfig.issueClientCertificate")) is True:
        yield "masterAuth.clientCertificateConfig.issueClientCertificate is true: a never-expiring admin certificate is issued and stored in state."


@resource_rule(
    id="gke-shielded-nodes",
    title="GKE shielded nodes",
    domain=DOMAIN,
    types=[GKE_CLUSTER, GKE_NODE_POOL],
    description="GKE nodes are Shielded VMs with integrity monitoring, so a tampered boot chain is detected.",
    severity="medium",
    level="mandatory",
    fix="Leave enableShieldedNodes at true on the cluster and nodeConfig.shieldedInstanceConfig.enableIntegrityMonitoring at true on node pools.",
)
def gke_shielded_nodes(r: Resource, ctx: Context):
    if r.type == GKE_CLUSTER:
        if flag(get(r.props, "enableShieldedNodes")) is False:
            yield "enableShieldedNodes is false: nodes boot without verified boot integrity."
    elif flag(get(r.props, "nodeConfig.shieldedInstanceConfig.enableIntegrityMonitoring")) is False:
        yield "nodeConfig.shieldedInstanceConfig.enableIntegrityMonitoring is false: boot tampering on this pool goes unnoticed."


@resource_rule(
    id="gke-network-policy",
    title="GKE network policy enforcement",
    domain=DOMAIN,
    types=[GKE_CLUSTER],
    description="GKE clusters enforce NetworkPolicy, through Dataplane V2 or the network policy add-on.",
    severity="medium",
    level="mandatory",
    fix='Set datapathProvider "ADVANCED_DATAPATH" (Dataplane V2) or networkPolicy {enabled: true}.',
)
def gke_network_policy(r: Resource, ctx: Context):
    if get(r.props, "datapathProvider") == "ADVANCED_DATAPATH":
        return
    if flag(get(r.props, "networkPolicy.enabled")) is not True:
        yield "neither Dataplane V2 nor networkPolicy is enabled: the serving namespaces' NetworkPolicies would be ignored."


@resource_rule(
    id="gke-intranode-visibility",
    title="GKE intranode visibility",
    domain=DOMAIN,
    types=[GKE_CLUSTER],
    description="GKE clusters route pod-to-pod traffic on the same node through the VPC, so flow logs and firewall rules see all of it (Checkov CKV_GCP_61). It works with Dataplane V2.",
    severity="medium",
    level="advisory",
    fix="Set enableIntranodeVisibility true on the cluster.",
)
def gke_intranode_visibility(r: Resource, ctx: Context):
    if flag(get(r.props, "enableAutopilot")) is True:
        return  # Autopilot turns it on itself
    if flag(get(r.props, "enableIntranodeVisibility")) is not True:
        yield "enableIntranodeVisibility is not true: traffic between pods on one node bypasses VPC flow logs and firewall rules."


@resource_rule(
    id="gke-release-channel",
    title="GKE release channel",
    domain=DOMAIN,
    types=[GKE_CLUSTER],
    description="GKE clusters are enrolled in an allowed release channel, so control plane and nodes get security patches.",
    severity="medium",
    level="mandatory",
    fix='Set releaseChannel.channel to an allowed channel, e.g. "REGULAR" (stack key gcp.releaseChannel).',
    config={
        "allowedChannels": {
            "type": "array",
            "items": {"type": "string", "enum": ["RAPID", "REGULAR", "STABLE", "EXTENDED"]},
            "default": ["RAPID", "REGULAR", "STABLE", "EXTENDED"],
            "description": "Release channels a cluster may use.",
        }
    },
)
def gke_release_channel(r: Resource, ctx: Context):
    channel = get(r.props, "releaseChannel.channel")
    allowed = list(ctx.config["allowedChannels"])
    if channel not in allowed:
        yield f"releaseChannel.channel is {show(channel)}; allowed: {', '.join(allowed)}."


@resource_rule(
    id="gke-node-auto-repair-upgrade",
    title="GKE node auto-repair and auto-upgrade",
    domain=DOMAIN,
    types=[GKE_NODE_POOL],
    description=("GKE node pools keep auto-repair and auto-upgrade on, so broken nodes are replaced and nodes follow the release "
                 "channel. Exempt: DWS flex-start pools with queued provisioning, which GKE requires to have both off; their "
                 "nodes live for one job, at most 7 days."),
    severity="medium",
    level="mandatory",
    fix="Remove management.autoRepair/autoUpgrade false from the node pool (both default to true).",
)
def gke_node_auto_repair_upgrade(r: Resource, ctx: Context):
    # cluster-toolkit modules/compute/gke-node-pool/main.tf: flex-start needs auto_repair
    # false; its README: queued provisioning needs auto_upgrade false.
    if flag(get(r.props, "queuedProvisioning.enabled")) is True and flag(get(r.props, "nodeConfig.flexStart")) is True:
        return
    for key in ("autoRepair", "autoUpgrade"):
        if flag(get(r.props, f"management.{key}")) is False:
            yield f"management.{key} is false on this node pool."


def _service_account_problem(account: object) -> str | None:
    if account is None or account == "":
        return "nodeConfig.serviceAccount is unset, so nodes run as the Compute Engine default service account (Editor on the project)."
    if account == "default" or DEFAULT_COMPUTE_SA.search(str(account)):
        return f"nodeConfig.serviceAccount is {show(account)}, the Compute Engine default service account (Editor on the project)."
    return None


@resource_rule(
    id="gke-dedicated-node-service-account",
    title="GKE dedicated node service account",
    domain=DOMAIN,
    types=[GKE_CLUSTER, GKE_NODE_POOL],
    description="GKE nodes run as a dedicated least-privilege service account, never the Compute Engine default one.",
    severity="high",
    level="mandatory",
    fix="Create a service account with only logging/monitoring/artifact-reader roles and set it as nodeConfig.serviceAccount.",
)
def gke_dedicated_node_service_account(r: Resource, ctx: Context):
    if r.type == GKE_CLUSTER:
        # The cluster's own nodeConfig only matters while its default pool exists.
        if flag(get(r.props, "removeDefaultNodePool")) is True or flag(get(r.props, "enableAutopilot")) is True:
            return
    problem = _service_account_problem(get(r.props, "nodeConfig.serviceAccount"))
    if problem:
        yield problem


@resource_rule(
    id="gke-logging",
    title="GKE logging and monitoring",
    domain=DOMAIN,
    types=[GKE_CLUSTER],
    description="GKE clusters send system and workload logs to Cloud Logging and metrics to Cloud Monitoring.",
    severity="medium",
    level="mandatory",
    fix='Leave loggingService/monitoringService at their defaults and include "SYSTEM_COMPONENTS" and "WORKLOADS" in loggingConfig.enableComponents.',
)
def gke_logging(r: Resource, ctx: Context):
    for key in ("loggingService", "monitoringService"):
        if get(r.props, key) == "none":
            yield f"{key} is \"none\": the cluster keeps no {'logs' if key == 'loggingService' else 'metrics'}."
    if get(r.props, "loggingConfig") is not None:
        enabled = set(items(r.props, "loggingConfig.enableComponents"))
        missing = [c for c in ("SYSTEM_COMPONENTS", "WORKLOADS") if c not in enabled]
        if missing:
            yield f"loggingConfig.enableComponents lacks {', '.join(missing)}."


def _seconds(duration: object) -> float | None:
    text = str(duration)
    if text.endswith("s"):
        return number(text[:-1])
    return None


@resource_rule(
    id="gcp-kms-key-rotation",
    title="Cloud KMS key rotation",
    domain=DOMAIN,
    types=[GCP_KMS_CRYPTO_KEY],
    description="Cloud KMS crypto keys (GKE secrets encryption, buckets) rotate automatically at least every maxRotationDays.",
    severity="medium",
    level="mandatory",
    fix='Set rotationPeriod on the crypto key, e.g. "7776000s" (90 days).',
    config={
        "maxRotationDays": {
            "type": "integer",
            "minimum": 1,
            "default": 365,
            "description": "Longest allowed rotationPeriod, in days.",
        }
    },
)
def gcp_kms_key_rotation(r: Resource, ctx: Context):
    purpose = get(r.props, "purpose", "ENCRYPT_DECRYPT")
    if purpose != "ENCRYPT_DECRYPT":
        return  # Cloud KMS rotates only symmetric encryption keys
    period = get(r.props, "rotationPeriod")
    limit = int(ctx.config["maxRotationDays"])
    if period is None:
        yield "rotationPeriod is unset: the key never rotates."
        return
    seconds = _seconds(period)
    if seconds is None or seconds > limit * 86400:
        yield f"rotationPeriod {show(period)} is longer than {limit} days."


DATA_ACCESS_LOG_TYPES = ("DATA_READ", "DATA_WRITE")


@stack_rule(
    id="gcp-store-data-access-logs",
    title="Cloud Storage data-access audit trail (prod)",
    domain=DOMAIN,
    types=[GCS_BUCKET, GCP_IAM_AUDIT_CONFIG],
    description="A prod stack that creates Cloud Storage buckets (the model store) turns on Data Access audit logs, DATA_READ and DATA_WRITE, for storage.googleapis.com in each bucket's project.",
    severity="medium",
    level="mandatory",
    environments=["prod"],
    fix='Add gcp.projects.IAMAuditConfig(project, service="storage.googleapis.com", audit_log_configs=[{"log_type": "DATA_READ"}, {"log_type": "DATA_WRITE"}]).',
)
def gcp_store_data_access_logs(resources: Sequence[Resource], ctx: Context):
    # Cloud Audit Logs: Data Access logs are off by default (BigQuery aside); a config for
    # allServices counts for every service.
    enabled: dict[str, set[str]] = {}
    for config in (r for r in resources if r.type == GCP_IAM_AUDIT_CONFIG):
        if get(config.props, "service") not in ("storage.googleapis.com", "allServices"):
            continue
        types = {get(c, "logType") for c in items(config.props, "auditLogConfigs") if not items(c, "exemptedMembers")}
        enabled.setdefault(get(config.props, "project") or "", set()).update(types)
    for bucket in (r for r in resources if r.type == GCS_BUCKET):
        project = get(bucket.props, "project") or ""
        missing = [t for t in DATA_ACCESS_LOG_TYPES if t not in enabled.get(project, set())]
        if missing:
            yield Finding(
                f"bucket {get(bucket.props, 'name')}: project {show(project)} does not log {' and '.join(missing)} for storage.googleapis.com, so object reads and writes leave no audit trail.",
                resource=bucket,
            )

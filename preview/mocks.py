"""Provider stand-ins for the offline preview and the tests.

A resource's outputs are its inputs plus what the cloud would compute (an id, an ARN,
an endpoint). Values are derived from the resource's name only, so the same stack
always gives the same plan. Each cloud's computed outputs sit in its own table.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Optional

from pulumi.runtime import mocks as pulumi_mocks

ACCOUNT_ID = "123456789012"
FAKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nmock\n-----END CERTIFICATE-----\n").decode()


def _short_hash(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


@dataclass(frozen=True)
class Where:
    """Where a resource or call lands: its provider's region (or location), GCP project and
    Azure subscription, else the stack's own. Ids and ARNs are built from it, so a plan never
    names a region the stack does not use."""

    region: str = "us-east-1"
    project: str = "mock-project"
    subscription: str = "00000000-0000-4000-8000-000000000001"


def _where(args: Any) -> Where:
    return getattr(args, "where", None) or Where()


def _region(args: pulumi_mocks.MockResourceArgs) -> str:
    return str(args.inputs.get("region") or _where(args).region)


# --- AWS ---------------------------------------------------------------------------------


def _aws_default(args: pulumi_mocks.MockResourceArgs) -> dict[str, Any]:
    service = args.typ.split(":")[1].split("/")[0]
    return {"arn": f"arn:aws:{service}:{_region(args)}:{ACCOUNT_ID}:{args.name}"}


def _eks_cluster(args):
    name = args.inputs.get("name", args.name)
    return {
        "name": name,
        "endpoint": f"https://{_short_hash(args.name, 32).upper()}.gr7.{_region(args)}.eks.amazonaws.com",
        "certificateAuthority": {"data": FAKE_CA},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{_region(args)}.amazonaws.com/id/{_short_hash(args.name, 32).upper()}"}]}],
        "vpcConfig": {**args.inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{_short_hash(args.name + 'csg', 17)}"},
        "arn": f"arn:aws:eks:{_region(args)}:{ACCOUNT_ID}:cluster/{name}",
    }


def _eks_node_group(args):
    return {"resources": [{"autoscalingGroups": [{"name": f"eks-{args.name}-{_short_hash(args.name, 12)}"}]}]}


def _iam_role(args):
    name = args.inputs.get("name", args.name)
    return {"name": name, "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"}


def _iam_policy(args):
    name = args.inputs.get("name", args.name)
    return {"name": name, "arn": f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"}


def _kms_key(args):
    key_id = f"{_short_hash(args.name, 8)}-mock-key"
    return {"keyId": key_id, "arn": f"arn:aws:kms:{_region(args)}:{ACCOUNT_ID}:key/{key_id}"}


def _log_group(args):
    name = args.inputs.get("name", args.name)
    return {"name": name, "arn": f"arn:aws:logs:{_region(args)}:{ACCOUNT_ID}:log-group:{name}"}


AWS_OUTPUTS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    # A new launch template starts at version 1.
    "aws:ec2/launchTemplate:LaunchTemplate": lambda a: {"latestVersion": 1, "defaultVersion": 1},
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "aws:iam/role:Role": _iam_role,
    "aws:iam/policy:Policy": _iam_policy,
    "aws:kms/key:Key": _kms_key,
}

AWS_IDS: dict[str, str] = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:efs/fileSystem:FileSystem": "fs-",
    "aws:efs/accessPoint:AccessPoint": "fsap-",
}

# --- Google Cloud -------------------------------------------------------------------------

GCP_COMPUTE = "https://www.googleapis.com/compute/v1/projects"


def _gcp_project(args) -> str:
    return str(args.inputs.get("project") or _where(args).project)


def _gcp_project_number(project_id: str) -> str:
    return str(int(_short_hash(project_id, 10), 16) % 10**12).rjust(12, "1")


def _gcp_network(args):
    name = args.inputs.get("name", args.name)
    return {"name": name, "selfLink": f"{GCP_COMPUTE}/{_gcp_project(args)}/global/networks/{name}"}


def _gcp_regional(kind: str):
    def outputs(args):
        name = args.inputs.get("name", args.name)
        region = args.inputs.get("region") or _where(args).region
        return {"name": name, "selfLink": f"{GCP_COMPUTE}/{_gcp_project(args)}/regions/{region}/{kind}/{name}"}

    return outputs


def _gcp_service_account(args):
    email = f"{args.inputs['accountId']}@{_gcp_project(args)}.iam.gserviceaccount.com"
    return {
        "email": email,
        "member": f"serviceAccount:{email}",
        "name": f"projects/{_gcp_project(args)}/serviceAccounts/{email}",
        "uniqueId": str(int(_short_hash(email, 12), 16)),
    }


def _gke_cluster(args):
    name = args.inputs.get("name", args.name)
    octets = bytes.fromhex(_short_hash(args.name, 6))
    location = args.inputs.get("location")
    return {
        "name": name,
        "endpoint": f"34.{octets[0]}.{octets[1]}.{octets[2]}",
        "masterAuth": {"clusterCaCertificate": FAKE_CA},
        "masterVersion": f"{args.inputs.get('minMasterVersion', '1.35')}.1-gke.1000",
        "selfLink": f"https://container.googleapis.com/v1/projects/{_gcp_project(args)}/locations/{location}/clusters/{name}",
        # GKE reports the control plane's private address (Private Service Connect clusters).
        "privateClusterConfig": {**(args.inputs.get("privateClusterConfig") or {}), "privateEndpoint": f"10.{octets[0]}.{octets[1]}.2"},
    }


def _gke_node_pool(args):
    return {"name": f"{args.inputs.get('namePrefix', '')}{_short_hash(args.name, 26)}"}


def _gcp_service_agent(project: str, service: str) -> str:
    """A Google-managed service agent's address: service-<project number>@<agent domain>."""
    domain = "gs-project-accounts" if service == "storage.googleapis.com" else f"gcp-sa-{service.split('.')[0]}"
    return f"service-{_gcp_project_number(project)}@{domain}.iam.gserviceaccount.com"


def _gcp_service_identity(args):
    email = _gcp_service_agent(_gcp_project(args), str(args.inputs.get("service")))
    return {"email": email, "member": f"serviceAccount:{email}"}


GCP_OUTPUTS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "gcp:projects/serviceIdentity:ServiceIdentity": _gcp_service_identity,
    "gcp:compute/network:Network": _gcp_network,
    "gcp:compute/subnetwork:Subnetwork": _gcp_regional("subnetworks"),
    "gcp:compute/router:Router": _gcp_regional("routers"),
    "gcp:serviceaccount/account:Account": _gcp_service_account,
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:container/nodePool:NodePool": _gke_node_pool,
}

# --- Azure --------------------------------------------------------------------------------

AZURE_SUBSCRIPTION_ID = Where().subscription  # when neither the stack nor the provider names one
AZURE_TENANT_ID = "00000000-0000-4000-8000-000000000002"
AZURE_DEPLOYER_OBJECT_ID = "00000000-0000-4000-8000-000000000003"


def _azure_uuid(text: str) -> str:
    h = _short_hash(text, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def _azure_named(name_input: str) -> Callable[[Any], dict[str, Any]]:
    """azure-native resources echo their explicit name input (e.g. `resourceGroupName`) as `name`."""
    return lambda args: {"name": args.inputs.get(name_input) or args.name}


def _azure_identity(args):
    return {
        "name": args.inputs.get("resourceName") or args.name,
        "principalId": _azure_uuid(args.name + "principal"),
        "clientId": _azure_uuid(args.name + "client"),
        "tenantId": AZURE_TENANT_ID,
    }


def _aks_cluster(args):
    name = args.inputs.get("resourceName") or args.name
    location = args.inputs.get("location") or _where(args).region
    dns = f"{args.inputs.get('dnsPrefix') or name}-{_short_hash(args.name, 8)}"
    node_rg = args.inputs.get("nodeResourceGroup") or f"MC_{name}"
    outputs = {
        "name": name,
        "fqdn": f"{dns}.hcp.{location}.azmk8s.io",
        "azurePortalFQDN": f"{dns}.portal.hcp.{location}.azmk8s.io",
        "identityProfile": {
            "kubeletidentity": {
                "clientId": _azure_uuid(args.name + "kubelet-client"),
                "objectId": _azure_uuid(args.name + "kubelet-object"),
                "resourceId": f"/subscriptions/{_where(args).subscription}/resourceGroups/{node_rg}"
                f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool",
            }
        },
        "oidcIssuerProfile": {
            **(args.inputs.get("oidcIssuerProfile") or {}),
            "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{AZURE_TENANT_ID}/{_azure_uuid(args.name + 'oidc')}/",
        },
        "currentKubernetesVersion": f"{args.inputs.get('kubernetesVersion', '1.35')}.0",
        "provisioningState": "Succeeded",
    }
    identity = args.inputs.get("identity")
    if identity and isinstance(identity.get("userAssignedIdentities"), list):
        # Sent as a list of ids, returned by ARM as a map of id -> identity.
        outputs["identity"] = {
            **identity,
            "userAssignedIdentities": {
                rid: {"principalId": _azure_uuid(rid + "principal"), "clientId": _azure_uuid(rid + "client")}
                for rid in identity["userAssignedIdentities"]
            },
        }
    if (args.inputs.get("apiServerAccessProfile") or {}).get("enablePrivateCluster"):
        outputs["privateFQDN"] = f"{dns}.{_short_hash(args.name + 'private', 8)}.privatelink.{location}.azmk8s.io"
    return outputs


def _azure_with_identity(name_input: str) -> Callable[[Any], dict[str, Any]]:
    """A resource with user-assigned identities: sent as a list of ids, returned as a map."""

    def outputs(args):
        out: dict[str, Any] = {"name": args.inputs.get(name_input) or args.name}
        identity = args.inputs.get("identity")
        if identity and isinstance(identity.get("userAssignedIdentities"), list):
            out["identity"] = {**identity, "userAssignedIdentities": {
                rid: {"principalId": _azure_uuid(rid + "principal"), "clientId": _azure_uuid(rid + "client")}
                for rid in identity["userAssignedIdentities"]
            }}
        return out

    return outputs


def _object_replication_policy(args):
    """ARM gives the destination's policy a generated id and each rule a rule id."""
    given = args.inputs.get("objectReplicationPolicyId")
    policy_id = _azure_uuid(args.name + "policy") if given in (None, "default") else given
    rules = [{**r, "ruleId": r.get("ruleId") or _azure_uuid(f"{args.name}-rule-{i}")} for i, r in enumerate(args.inputs.get("rules") or [])]
    return {"name": policy_id, "policyId": policy_id, "rules": rules}


AZURE_OUTPUTS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "azure-native:storage:StorageAccount": _azure_with_identity("accountName"),
    "azure-native:storage:ObjectReplicationPolicy": _object_replication_policy,
    "azure-native:resources:ResourceGroup": _azure_named("resourceGroupName"),
    "azure-native:network:VirtualNetwork": _azure_named("virtualNetworkName"),
    "azure-native:network:Subnet": _azure_named("subnetName"),
    "azure-native:managedidentity:UserAssignedIdentity": _azure_identity,
    "azure-native:operationalinsights:Workspace": lambda a: {
        "name": a.inputs.get("workspaceName") or a.name,
        "customerId": _azure_uuid(a.name + "workspace"),
    },
    "azure-native:monitor:DataCollectionRule": _azure_named("dataCollectionRuleName"),
    "azure-native:monitor:DataCollectionRuleAssociation": _azure_named("associationName"),
    "azure-native:authorization:RoleAssignment": lambda a: {"name": _azure_uuid(a.name)},
    "azure-native:containerservice:ManagedCluster": _aks_cluster,
    "azure-native:containerservice:AgentPool": _azure_named("agentPoolName"),
}


def _aks_user_credentials(args):
    """What listClusterUserCredential returns for an Entra ID cluster: an exec kubeconfig (base64)."""
    import yaml

    name = args.args.get("resourceName") or "aks"
    server = f"https://{name}-{_short_hash(name, 8)}.hcp.azmk8s.io:443"
    user = f"clusterUser_{args.args.get('resourceGroupName')}_{name}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": FAKE_CA}}],
        "users": [
            {
                "name": user,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": ["get-token", "--login", "devicecode", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"],
                    }
                },
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user}}],
        "current-context": name,
    }
    encoded = base64.b64encode(yaml.safe_dump(doc, sort_keys=True).encode()).decode()
    return {"kubeconfigs": [{"name": "clusterUser", "value": encoded}]}

def _aws_session_context(args):
    """An assumed-role session ARN resolves to its role; anything else to itself."""
    arn = str(args.args.get("arn", ""))
    parts = arn.split(":")
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        issuer = f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
        return {"arn": arn, "issuerArn": issuer, "issuerName": role, "sessionName": parts[5].split("/", 2)[2]}
    return {"arn": arn, "issuerArn": arn, "issuerName": arn.rsplit("/", 1)[-1]}


def _eks_addon_version(args):
    """A stand-in for the newest add-on build EKS offers for a Kubernetes version: it names
    both, so a plan shows which version an add-on was resolved for."""
    addon, kubernetes = args.args.get("addonName"), args.args.get("kubernetesVersion")
    return {"addonName": addon, "kubernetesVersion": kubernetes, "mostRecent": args.args.get("mostRecent"),
            "version": f"v0.0.0-mock.k{kubernetes}-eksbuild.1", "id": addon}

def _ssm_parameter(args):
    """AWS's public EKS AMI parameters: a stand-in release that names the Kubernetes minor it
    was read for and a hash of the parameter (`1.35.0-mock1a2b3c`), so a plan shows which
    minor's and which AMI type's release a node group follows."""
    name = str(args.args.get("name", ""))
    minor = name.split("/")[5] if name.startswith("/aws/service/eks/optimized-ami/") else "0"
    value = f"{minor}.0-mock{_short_hash(name, 6)}"
    return {"name": name, "value": value, "insecureValue": value, "type": "String", "id": name}


# --- Cloud-agnostic -------------------------------------------------------------------------


def _random_password(args):
    # A stand-in value: the real one is generated by the provider at `pulumi up`.
    return {"result": f"mock-{_short_hash(args.name, 16)}"}


COMMON_OUTPUTS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "random:index/randomPassword:RandomPassword": _random_password,
}

CALLS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a: {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/preview",
        "userId": "AIDAPREVIEW",
    },
    "aws:index/getPartition:getPartition": lambda a: {"partition": "aws", "dnsSuffix": "amazonaws.com"},
    "aws:iam/getSessionContext:getSessionContext": _aws_session_context,
    "aws:eks/getAddonVersion:getAddonVersion": _eks_addon_version,
    "aws:ssm/getParameter:getParameter": _ssm_parameter,
    "azure-native:authorization:getClientConfig": lambda a: {
        "clientId": _azure_uuid("deployer-client"),
        "objectId": AZURE_DEPLOYER_OBJECT_ID,
        "subscriptionId": _where(a).subscription,
        "tenantId": AZURE_TENANT_ID,
    },
    "azure-native:containerservice:listManagedClusterUserCredentials": _aks_user_credentials,
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": lambda a: {
        "emailAddress": _gcp_service_agent(a.args.get("project") or _where(a).project, "storage.googleapis.com"),
        "member": "serviceAccount:" + _gcp_service_agent(a.args.get("project") or _where(a).project, "storage.googleapis.com"),
        "project": a.args.get("project") or _where(a).project,
    },
    "gcp:organizations/getProject:getProject": lambda a: {
        "projectId": a.args.get("projectId") or _where(a).project,
        "number": _gcp_project_number(a.args.get("projectId") or _where(a).project),
        "name": a.args.get("projectId") or _where(a).project,
    },
}


def stack_where(config: Optional[dict[str, str]]) -> Where:
    """The stack's own region, GCP project and Azure subscription, from its flat config."""
    config = config or {}
    gcp: Any = {}
    try:
        gcp = json.loads(config.get("ml-clusters:gcp") or "{}")
    except ValueError:
        pass
    default = Where()
    return Where(
        region=config.get("ml-clusters:region") or config.get("aws:region") or default.region,
        project=(gcp.get("project") if isinstance(gcp, dict) else None) or config.get("gcp:project") or default.project,
        subscription=config.get("azure-native:subscriptionId") or default.subscription,
    )


class PlanMocks(pulumi_mocks.Mocks):
    def __init__(self, config: Optional[dict[str, str]] = None):
        self.stack = stack_where(config)
        self.providers: dict[str, Where] = {}  # provider resource id -> where its resources land

    def _where_for(self, provider_ref: Optional[str]) -> Where:
        if provider_ref:
            found = self.providers.get(provider_ref.rsplit("::", 1)[-1])
            if found is not None:
                return found
        return self.stack

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        outputs = dict(args.inputs)
        typ = args.typ
        prefix = AWS_IDS.get(typ)
        resource_id = f"{prefix}{_short_hash(args.name, 17)}" if prefix else f"{args.name}-id"
        if typ.startswith("pulumi:providers:"):
            self.providers[resource_id] = Where(
                region=str(args.inputs.get("region") or args.inputs.get("location") or self.stack.region),
                project=str(args.inputs.get("project") or self.stack.project),
                subscription=str(args.inputs.get("subscriptionId") or self.stack.subscription),
            )
            return resource_id, outputs
        args.where = self._where_for(args.provider)
        if typ == "aws:s3/bucket:Bucket" and args.inputs.get("bucket"):
            resource_id = args.inputs["bucket"]  # S3 answers with the bucket's name as its id
        if typ.startswith("aws:"):
            outputs.update(_aws_default(args))
        for table in (AWS_OUTPUTS, GCP_OUTPUTS, AZURE_OUTPUTS, COMMON_OUTPUTS):
            if typ in table:
                outputs.update(table[typ](args))
        return resource_id, outputs

    def call(self, args: pulumi_mocks.MockCallArgs):
        args.where = self._where_for(args.provider)
        handler = CALLS.get(args.token)
        return handler(args) if handler else {}

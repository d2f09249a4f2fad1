"""EKS backend: VPC, identity, encryption, the cluster, a tainted system node group, one
managed node group per CPU and GPU pool (a GPU pool on Karpenter gets a NodePool instead,
capacity.py), with the add-ons the platform needs. Returns a
ClusterHandle whose `ready` list is what the platform waits for: the system pool, the
add-ons it runs on and the access grants, never the GPU or CPU worker pools."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from . import load_balancer
from ... import catalog, conventions
from ...conventions import gpu_resources
from ...config import CpuPool, GpuPool, StackConfig, pool_provisioner
from ...handle import ClusterHandle, GpuMetricsSource, GpuPoolFacts, StorageClassSpec
from ..kubeconfig import exec_kubeconfig
from . import coldstart, health
from . import fabric as efa
from .capacity import Karpenter
from . import karpenter_metrics
from .capacity import node_labels as karpenter_node_labels
from .kms import account_root, key_policy

MANAGED_POLICY = "arn:aws:iam::aws:policy/"
CA_TAG_PREFIX = "k8s.io/cluster-autoscaler/node-template"
# EKS add-ons that run a Deployment and do not tolerate the system taint by their own
# defaults get it through their configuration values (see _addon_configuration).
SYSTEM_ADDON_TOLERATIONS = [{"key": conventions.SYSTEM_TAINT.key, "operator": "Exists", "effect": conventions.SYSTEM_TAINT.effect}]
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
CONTROL_PLANE_LOGS = ["api", "audit", "authenticator"]
CA_SERVICE_ACCOUNT = "cluster-autoscaler"
# Cluster Autoscaler's AWS provider reads this label to tell a GPU node whose device plugin
# is not ready yet from one without GPUs, so it does not scale up twice for the same pod.
AWS_GPU_LABEL = "k8s.amazonaws.com/accelerator"


def _ami_type(arch: str, gpu: bool) -> str:
    # The NVIDIA AMIs carry the driver and the container toolkit; we add the device plugin.
    flavour = "NVIDIA" if gpu else "STANDARD"
    return f"AL2023_{'ARM_64' if arch == 'arm64' else 'x86_64'}_{flavour}"


def ami_release_parameter(kubernetes_version: str, ami_type: str) -> str:
    """The public SSM parameter naming the newest EKS-optimized AMI release of an AMI type for a
    Kubernetes minor, e.g. `1.35.3-20260827` (the path terraform-aws-modules/eks v21.19.0
    reads in modules/eks-managed-node-group when `use_latest_ami_release_version`, its default)."""
    arch = "arm64" if "_ARM_64_" in ami_type else "x86_64"
    flavour = "nvidia" if ami_type.endswith("_NVIDIA") else "standard"
    return f"/aws/service/eks/optimized-ami/{kubernetes_version}/amazon-linux-2023/{arch}/{flavour}/recommended/release_version"


def _assume_role(service: str, extra_actions: tuple[str, ...] = ()) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": ["sts:AssumeRole", *extra_actions]}
            ],
        }
    )


POD_IDENTITY_TRUST = _assume_role("pods.eks.amazonaws.com", ("sts:TagSession",))


def subnet_plan(vpc_cidr: str, zones: int = 3) -> tuple[list[str], list[str]]:
    """Split the VPC: large private subnets (the VPC CNI gives pods VPC addresses) and
    small public ones for load balancers and NAT."""
    vpc = ipaddress.ip_network(vpc_cidr)
    quarters = list(vpc.subnets(prefixlen_diff=2))
    private = [str(q) for q in quarters[:zones]]
    public = [str(s) for s in list(quarters[3].subnets(prefixlen_diff=2))[:zones]]
    return private, public


class EksCluster(pulumi.ComponentResource):
    def __init__(self, name: str, config: StackConfig, stack: str, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlclusters:clouds:EksCluster", name, None, opts)
        self.config = config
        self.cluster_name = name
        region = config.region
        assert region is not None
        self.settings = config.settings("aws")
        self.zones = catalog.cloud("aws").regions[region].zones[:3]
        self.tags = dict(
            sorted(
                {
                    **config.tags,
                    "ml-clusters/cluster": name,
                    "ml-clusters/environment": config.environment,
                    "ml-clusters/stack": stack,
                }.items()
            )
        )
        self.provider = aws.Provider(
            f"{name}-aws", region=region, default_tags={"tags": self.tags}, opts=pulumi.ResourceOptions(parent=self)
        )
        self._opts = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self._prod_protect = pulumi.ResourceOptions(protect=config.is_prod)
        self._invoke = pulumi.InvokeOptions(parent=self, provider=self.provider)
        # Who runs `pulumi up`: plain invokes (no resource is created from them). The session
        # context turns an assumed-role session into the IAM role EKS and KMS know.
        caller = aws.get_caller_identity(opts=self._invoke)
        self.account_id = caller.account_id
        self.partition = aws.get_partition(opts=self._invoke).partition
        self.deployer_arn = aws.iam.get_session_context(arn=caller.arn, opts=self._invoke).issuer_arn
        self._warn_about_deployer_entry()
        # Every role's policy attachments, by role name: whoever uses a role waits for them,
        # so a teardown deletes the user first (EKS strands ENIs if the role loses them first).
        self.role_grants: dict[str, list[pulumi.Resource]] = {}
        self.installed_addons: list[aws.eks.Addon] = []  # every add-on so far (_addon)

        self.cluster_role = self._role(f"{name}-cluster", "eks.amazonaws.com", ["AmazonEKSClusterPolicy"])
        self._network()
        self._encryption()
        self._flow_logs()
        self._cluster()
        self._access()
        self._core_addons()
        self.node_role = self._role(f"{name}-node", "ec2.amazonaws.com", [
            "AmazonEKSWorkerNodePolicy",
            "AmazonEC2ContainerRegistryPullOnly",
            "AmazonEKS_CNI_Policy",
        ])
        self.system_group = self._node_group(
            conventions.SYSTEM_POOL,
            instance_type=config.system_instance_type(),
            min_size=config.system_pool.min_nodes,
            max_size=config.system_pool.max_nodes,
            disk_gb=config.system_pool.disk_gb,
            spot=config.system_pool.spot,
            labels=conventions.system_pool_labels(),
            taints=[conventions.SYSTEM_TAINT],
        )
        self.cpu_groups = {pool.name: self._cpu_pool(pool) for pool in config.cpu_pools}
        self.efa_pools: dict[str, efa.EfaFabric] = {}
        # A pool Karpenter provisions has no node group (capacity.py builds its NodePool).
        self.karpenter_pools = [p for p in config.gpu_pools if pool_provisioner(config, p) == "karpenter"]
        self.gpu_groups = {pool.name: self._gpu_pool(pool) for pool in config.gpu_pools if pool not in self.karpenter_pools}
        # A Karpenter pool's EFA resources too: its EC2NodeClass takes them (capacity.py).
        for pool in self.karpenter_pools:
            self._efa(pool)
        self._storage_addons()
        self.file_system = self._shared_file_system() if config.platform.shared_file_system else None
        self._identity_provider()
        self.ready = self._ready()

        kubeconfig = exec_kubeconfig(
            cluster_name=self.cluster.name,
            endpoint=self.cluster.endpoint,
            ca_data=self.cluster.certificate_authority.data,
            command="aws",
            args=["eks", "get-token", "--output", "json", "--region", region, "--cluster-name"],
            append_cluster_name=True,
        )
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        # The provider, and so every Kubernetes object, waits for what the platform runs on.
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self, depends_on=self.ready)
        )
        self.autoscaler = self._cluster_autoscaler()
        # The EFA device plugin, where a pool has EFA; workloads that request EFA wait for it.
        self.efa_device_plugin = efa.device_plugin(
            name, self.k8s_provider, self, self.ready, [conventions.GPU_TAINT.toleration()],
        ) if self.efa_pools else None
        self.karpenter = Karpenter(self, self.karpenter_pools, POD_IDENTITY_TRUST, {
            p.name: ami_release_parameter(config.kubernetes_version, _ami_type(catalog.cloud("aws").instance_types[p.instance_type].arch, True))
            for p in self.karpenter_pools
        }) if self.karpenter_pools else None
        self.handle = self._handle()
        self.register_outputs(
            {
                "clusterName": self.cluster.name,
                "endpoint": self.cluster.endpoint,
                "vpcId": self.vpc.id,
                "kubeconfig": self.kubeconfig,
                "oidcIssuer": self.cluster.identities[0].oidcs[0].issuer,
            }
        )

    # --- network --------------------------------------------------------------------

    def _network(self) -> None:
        name, net = self.cluster_name, self.config.network
        private_cidrs, public_cidrs = subnet_plan(net.vpc_cidr, len(self.zones))
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc", cidr_block=net.vpc_cidr, enable_dns_hostnames=True, enable_dns_support=True,
            tags={"Name": f"{name}-vpc"}, opts=self._opts,
        )
        # Adopting the VPC's default security group strips its rules (pulumi_aws
        # ec2.DefaultSecurityGroup docs: "immediately removes all ingress and egress rules");
        # none are declared, so anything that lands in it by accident can talk to nothing.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default", vpc_id=self.vpc.id, tags={"Name": f"{name}-default-unused"}, opts=self._opts
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags={"Name": f"{name}-igw"}, opts=self._opts)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public", vpc_id=self.vpc.id, routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags={"Name": f"{name}-public"}, opts=self._opts,
        )
        self.public_subnets, self.private_subnets = [], []
        # One NAT gateway per zone in prod (a zone outage keeps egress); one shared elsewhere.
        nat_count = len(self.zones) if self.config.is_prod else 1
        nats = []
        for i, zone in enumerate(self.zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}", vpc_id=self.vpc.id, cidr_block=public_cidrs[i], availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{zone}", "kubernetes.io/role/elb": "1"}, opts=self._opts,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{zone}", subnet_id=public.id, route_table_id=public_rt.id, opts=self._opts)
            self.public_subnets.append(public)
            if i < nat_count:
                eip = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{name}-nat-{zone}"}, opts=self._opts)
                # A public NAT gateway needs the VPC's internet gateway attached first (AWS
                # documents the dependency; Terraform's aws_nat_gateway docs ask for depends_on).
                nats.append(aws.ec2.NatGateway(
                    f"{name}-nat-{zone}", allocation_id=eip.id, subnet_id=public.id,
                    tags={"Name": f"{name}-nat-{zone}"},
                    opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=[igw])),
                ))
        for i, zone in enumerate(self.zones):
            private = aws.ec2.Subnet(
                f"{name}-private-{zone}", vpc_id=self.vpc.id, cidr_block=private_cidrs[i], availability_zone=zone,
                tags={"Name": f"{name}-private-{zone}", "kubernetes.io/role/internal-elb": "1"}, opts=self._opts,
            )
            rt = aws.ec2.RouteTable(
                f"{name}-private-{zone}", vpc_id=self.vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nats[min(i, nat_count - 1)].id}],
                tags={"Name": f"{name}-private-{zone}"}, opts=self._opts,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=private.id, route_table_id=rt.id, opts=self._opts)
            self.private_subnets.append(private)

    # --- identity and encryption ------------------------------------------------------

    def _role(self, name: str, service: str, managed: list[str], trust: Optional[str] = None) -> aws.iam.Role:
        role = aws.iam.Role(name, assume_role_policy=trust or _assume_role(service), opts=self._opts)
        self.role_grants[name] = [
            aws.iam.RolePolicyAttachment(f"{name}-{policy}", role=role.name, policy_arn=MANAGED_POLICY + policy, opts=self._opts)
            for policy in managed
        ]
        return role

    def _after(self, *deps: pulumi.Resource, extra: Optional[pulumi.ResourceOptions] = None) -> pulumi.ResourceOptions:
        opts = pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=list(deps)))
        return pulumi.ResourceOptions.merge(opts, extra) if extra is not None else opts

    def _warn_about_deployer_entry(self) -> None:
        """EKS gives whoever creates the cluster an access entry of its own
        (bootstrapClusterCreatorAdminPermissions); another one for the same principal fails
        with 409. Who runs `pulumi up` is known only now, so this is a warning, not a check:
        on an existing cluster created by someone else the entry is legitimate."""
        settings = self.settings
        listed = [*settings.admin_principal_arns, *(a for arns in settings.group_principal_arns.values() for a in arns)]
        if self.deployer_arn in listed:
            pulumi.log.warn(
                f"aws: {self.deployer_arn} runs `pulumi up` and is also listed for an access entry; if this run creates "
                "the cluster, EKS already gave it one and the second fails with 409: remove it from the stack for the first up",
                self,
            )

    def _pod_identity_role(self, name: str, managed: list[str]) -> aws.iam.Role:
        return self._role(name, "pods.eks.amazonaws.com", managed, trust=POD_IDENTITY_TRUST)

    def _encryption(self) -> None:
        name = self.cluster_name
        self.log_groups = {"control-plane": f"/aws/eks/{name}/cluster", "flow-logs": f"/aws/vpc/{name}/flow-logs"}
        self.kms_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"EKS cluster {name}: envelope encryption of Kubernetes secrets, its log groups and (prod) its file system",
            enable_key_rotation=True,
            deletion_window_in_days=30 if self.config.is_prod else 7,
            policy=self.cluster_role.arn.apply(self._key_policy),
            opts=pulumi.ResourceOptions.merge(self._opts, self._prod_protect),
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/{name}-eks-secrets", target_key_id=self.kms_key.key_id, opts=self._opts)

    # --- cluster ----------------------------------------------------------------------

    def _cluster(self) -> None:
        name, cfg = self.cluster_name, self.config
        cluster_role = self.cluster_role
        # Created first so the control-plane logs get a retention instead of "never expire".
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=self.log_groups["control-plane"],
            retention_in_days=365 if cfg.is_prod else 30,
            kms_key_id=self.kms_key.arn,
            opts=self._opts,
        )
        cidrs = list(cfg.network.api_allowed_cidrs)
        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=name,
            version=cfg.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config={
                "subnet_ids": [s.id for s in self.private_subnets],
                "endpoint_private_access": True,
                # network.privateApi: no public endpoint (config requires it when cidrs is empty).
                "endpoint_public_access": not cfg.network.private_api,
                "public_access_cidrs": cidrs or None,
            },
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            encryption_config={"provider": {"key_arn": self.kms_key.arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            kubernetes_network_config={"service_ipv4_cidr": cfg.network.service_cidr, "ip_family": "ipv4"},
            # We install vpc-cni, kube-proxy and CoreDNS as managed add-ons below.
            bootstrap_self_managed_addons=False,
            upgrade_policy={"support_type": "STANDARD"},
            deletion_protection=cfg.is_prod,
            # The role's policy must outlive the cluster: EKS uses it to delete the ENIs it
            # put in the subnets, so a teardown that detaches it first strands them.
            opts=pulumi.ResourceOptions.merge(
                self._opts,
                pulumi.ResourceOptions(protect=cfg.is_prod, depends_on=[log_group, *self.role_grants[f"{name}-cluster"]]),
            ),
        )

    def _key_policy(self, cluster_role_arn: str) -> str:
        """The key policy (components/clouds/aws/kms.py): the account statement, the stack's
        admins, use for the cluster role (EKS envelope encryption), for CloudWatch Logs on this
        cluster's log groups only, and for EFS through the EFS service in prod. No wildcard
        principal, and nothing that depends on who runs `pulumi up`."""
        region, account, partition = self.config.region, self.account_id, self.partition
        log_arns = [f"arn:{partition}:logs:{region}:{account}:log-group:{group}" for group in self.log_groups.values()]
        statements: list[dict] = [
            {
                # The cluster role encrypts and decrypts Kubernetes secrets (EKS user guide,
                # "Encrypt Kubernetes secrets with KMS": Encrypt, Decrypt, DescribeKey, ListGrants).
                "Sid": "EksSecretsEncryption",
                "Effect": "Allow",
                "Principal": {"AWS": cluster_role_arn},
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ListGrants", "kms:ReEncrypt*"],
                "Resource": "*",
            },
            {
                # CloudWatch Logs encrypts a log group with a key only when the key policy lets
                # the regional logs service use it for that group (CloudWatch Logs user guide,
                # "Encrypt log data in CloudWatch Logs using AWS KMS").
                "Sid": "CloudWatchLogsOfThisCluster",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_arns}},
            },
        ]
        if self.config.is_prod and self.config.platform.shared_file_system:
            statements.append({
                # EFS uses the key through grants it creates for the caller that creates the
                # file system; only through the EFS service of this region and account.
                "Sid": "EfsThroughTheService",
                "Effect": "Allow",
                "Principal": {"AWS": account_root(partition, account)},
                "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"elasticfilesystem.{region}.amazonaws.com", "kms:CallerAccount": account}},
            })
        return key_policy(partition, account, self.settings.admin_principal_arns, statements)

    def _flow_logs(self) -> None:
        """VPC flow logs (all traffic) to a KMS-encrypted CloudWatch log group with retention."""
        name = self.cluster_name
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=self.log_groups["flow-logs"],
            retention_in_days=365 if self.config.is_prod else 30,
            kms_key_id=self.kms_key.arn,
            opts=self._opts,
        )
        region, account = self.config.region, self.account_id
        # Only flow logs of this account and region may assume it (the confused-deputy
        # conditions of the VPC user guide's flow-logs IAM role).
        trust = {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:{self.partition}:ec2:{region}:{account}:vpc-flow-log/*"},
                },
            }],
        }
        role = aws.iam.Role(f"{name}-flow-logs", assume_role_policy=json.dumps(trust, sort_keys=True), opts=self._opts)
        write = aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=group.arn.apply(lambda arn: json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    "Resource": [arn, f"{arn}:*"],
                }],
            }, sort_keys=True)),
            opts=self._opts,
        )
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-vpc",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{name}-vpc"},
            opts=self._after(write),
        )

    def _access(self) -> None:
        """Access entries: cluster-admin for the stack's admins, Kubernetes groups for teams
        (IAM principals mapped to their namespace's group), and/or an OIDC identity provider
        whose groups claim supplies the groups. Whoever creates the cluster needs none: EKS
        gave it one (bootstrapClusterCreatorAdminPermissions)."""
        name, settings = self.cluster_name, self.settings
        self.admin_grants: list[pulumi.Resource] = []
        for i, arn in enumerate(settings.admin_principal_arns):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{i}", cluster_name=self.cluster.name, principal_arn=arn, type="STANDARD", opts=self._opts
            )
            self.admin_grants.append(aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{i}", cluster_name=self.cluster.name, principal_arn=entry.principal_arn,
                policy_arn=CLUSTER_ADMIN_POLICY, access_scope={"type": "cluster"}, opts=self._opts,
            ))
        # One entry per principal, carrying every group it is mapped to. No access policy:
        # the namespaces' RoleBindings to the group are the authorization.
        groups_of: dict[str, set[str]] = {}
        for group, arns in settings.group_principal_arns.items():
            for arn in arns:
                groups_of.setdefault(arn, set()).add(group)
        self.team_entries = []
        for arn in sorted(groups_of):
            role = arn.rsplit("/", 1)[-1].lower()
            self.team_entries.append(aws.eks.AccessEntry(
                f"{name}-team-{role}-{_short(arn)}", cluster_name=self.cluster.name, principal_arn=arn, type="STANDARD",
                kubernetes_groups=sorted(groups_of[arn]), opts=self._opts,
            ))
    def _identity_provider(self) -> None:
        """The teams' OIDC identity provider, associated after every node group and add-on:
        the association is a cluster update that can take 15-25 minutes, and EKS refuses other
        cluster updates (and node group creation) meanwhile (review Q1)."""
        self.identity_provider = None
        idp = self.settings.identity_provider
        if idp is None:
            return
        after = [self.system_group, *self.cpu_groups.values(), *self.gpu_groups.values(), *self.installed_addons]
        self.identity_provider = aws.eks.IdentityProviderConfig(
            f"{self.cluster_name}-oidc",
            cluster_name=self.cluster.name,
            oidc={
                "identity_provider_config_name": "teams",
                "issuer_url": idp.issuer_url,
                "client_id": idp.client_id,
                "groups_claim": idp.groups_claim,
                "username_claim": idp.username_claim,
            },
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=after)),
        )

    def _addon_version(self, addon: str) -> str:
        """The stack's pin, else the newest version EKS offers for the cluster's Kubernetes
        version (terraform-aws-modules/eks resolves the same way), so an upgrade of the
        cluster moves every add-on with it instead of leaving the old build running."""
        pinned = self.settings.addon_versions.get(addon) or catalog.EKS_ADDONS[addon]
        if pinned:
            return pinned
        return aws.eks.get_addon_version(
            addon_name=addon, kubernetes_version=self.config.kubernetes_version, most_recent=True, opts=self._invoke
        ).version

    def _addon(self, addon: str, depends_on: Optional[list[pulumi.Resource]] = None,
               configuration: Optional[dict] = None, **kwargs) -> aws.eks.Addon:
        if configuration is not None:
            kwargs["configuration_values"] = json.dumps(configuration, sort_keys=True)
        installed = aws.eks.Addon(
            f"{self.cluster_name}-{addon}",
            cluster_name=self.cluster.name,
            addon_name=addon,
            addon_version=self._addon_version(addon),
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            opts=self._after(*(depends_on or [])),
            **kwargs,
        )
        self.installed_addons.append(installed)
        return installed

    def _core_addons(self) -> None:
        # Networking and pod identity must exist before any node joins.
        # The VPC CNI enforces NetworkPolicy only when its node agent is told to: the
        # aws-vpc-cni chart (aws/amazon-vpc-cni-k8s v1.23.0 charts/aws-vpc-cni/values.yaml)
        # defaults enableNetworkPolicy to "false" and passes it to the agent as
        # --enable-network-policy (templates/daemonset.yaml). The add-on takes the same key.
        self.vpc_cni = self._addon("vpc-cni", configuration={"enableNetworkPolicy": "true"})
        self.kube_proxy = self._addon("kube-proxy")
        self.pod_identity_agent = self._addon("eks-pod-identity-agent")

    # --- node groups --------------------------------------------------------------------

    def _launch_template(self, pool: str, disk_gb: int, fast_pull: bool = False, **extra) -> aws.ec2.LaunchTemplate:
        """`fast_pull`: the GPU pools' parallel image pull, its user data and root volume (coldstart.py)."""
        name = f"{self.cluster_name}-{pool}"
        return aws.ec2.LaunchTemplate(
            name,
            description=f"Nodes of pool {pool} in {self.cluster_name}: IMDSv2 only, encrypted gp3 root volume",
            update_default_version=True,
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                # 1 hop: pods cannot reach the node's instance role; they use Pod Identity.
                "http_put_response_hop_limit": 1,
            },
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",
                    "ebs": {
                        "volume_size": disk_gb,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "delete_on_termination": "true",
                        **(coldstart.root_volume_ebs() if fast_pull else {}),
                    },
                }
            ],
            tag_specifications=[
                {"resource_type": "instance", "tags": {**self.tags, "Name": name}},
                {"resource_type": "volume", "tags": {**self.tags, "Name": name}},
            ],
            user_data=coldstart.launch_template_user_data() if fast_pull else None,
            opts=self._opts,
            **extra,  # an EFA pool's interfaces and placement group (fabric.py)
        )


    def _node_group(self, pool: str, *, instance_type: str, min_size: int, max_size: int, disk_gb: int, spot: bool,
                    labels: dict[str, str], taints: list[conventions.Taint], gpu: bool = False,
                    name_prefix: Optional[str] = None, fabric: Optional[efa.EfaFabric] = None,
                    tags: Optional[dict[str, str]] = None) -> aws.eks.NodeGroup:
        itype = catalog.cloud("aws").instance_types[instance_type]
        template = self._launch_template(pool, disk_gb, gpu and self.config.settings("aws").parallel_image_pull,
                                         **(fabric.launch_template_args() if fabric else {}))
        ami_type = _ami_type(itype.arch, gpu)
        # The newest AMI release for this minor, read on every up: nodes roll onto patched
        # kernels, containerd and NVIDIA drivers within a minor (EKS otherwise keeps a group on
        # the release it was created with). A version bump reads the new minor's parameter.
        release = aws.ssm.get_parameter_output(
            name=ami_release_parameter(self.config.kubernetes_version, ami_type),
            opts=pulumi.InvokeOutputOptions(parent=self, provider=self.provider),
        ).insecure_value
        # Nodes join only with networking and pod identity in place, and the node role keeps
        # its policies until the group is gone (a teardown otherwise strands ENIs).
        depends = [self.vpc_cni, self.pod_identity_agent, self.kube_proxy, *self.role_grants[f"{self.cluster_name}-node"]]
        if fabric is not None:
            depends += fabric.node_group_depends_on()
        return aws.eks.NodeGroup(
            f"{self.cluster_name}-{pool}",
            cluster_name=self.cluster.name,
            # pulumi_aws eks.NodeGroup `version`: "Defaults to EKS Cluster Kubernetes version. The
            # provider will only perform drift detection if a configuration value is provided."
            # Set, a version bump upgrades the control plane first, then every group.
            version=self.cluster.version,
            node_group_name_prefix=name_prefix or f"{pool}-",
            node_role_arn=self.node_role.arn,
            # An EFA pool lives in one subnet, so in one zone (EFA does not cross zones).
            subnet_ids=[s.id for s in (self.private_subnets[:1] if fabric else self.private_subnets)],
            instance_types=[instance_type],
            ami_type=ami_type,
            release_version=release,
            capacity_type="SPOT" if spot else "ON_DEMAND",
            scaling_config={"min_size": min_size, "max_size": max_size, "desired_size": min_size},
            update_config={"max_unavailable": 1},
            node_repair_config=health.NODE_REPAIR_CONFIG,
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            labels=labels,
            taints=[{"key": t.key, "value": t.value, "effect": t.api_effect()} for t in taints],
            tags=tags or None,  # the stack's fabric reasons, for the policy pack
            opts=self._after(
                *depends,
                # The autoscaler owns the desired size once the group exists. Raising minNodes
                # above the live desired size needs docs/aws.md's two-step path.
                extra=pulumi.ResourceOptions(ignore_changes=["scalingConfig.desiredSize"]),
            ),
        )

    def _cpu_pool(self, pool: CpuPool) -> aws.eks.NodeGroup:
        """A CPU worker pool: untainted, portable labels, scales from minNodes (0 allowed)."""
        labels = conventions.cpu_pool_labels(pool)
        group = self._node_group(
            pool.name, instance_type=pool.instance_type, min_size=pool.min_nodes, max_size=pool.max_nodes,
            disk_gb=pool.disk_gb, spot=pool.spot, labels=labels, taints=[],
        )
        self._autoscaler_node_template_tags(pool.name, group, node_template(labels, [], {}))
        return group

    def _gpu_pool(self, pool: GpuPool) -> aws.eks.NodeGroup:
        itype = catalog.cloud("aws").instance_types[pool.instance_type]
        labels = conventions.gpu_pool_labels(pool, "aws", cloud_manages_device_plugin=False)
        mig = pool.sharing.mig if pool.sharing else None
        if mig is None or mig.strategy != "mixed":
            # Cluster Autoscaler's AWS provider reads this label (GPULabel) to tell a GPU node
            # whose device plugin is not ready yet from a node without GPUs. It counts only
            # nvidia.com/gpu as ready GPUs (utils/gpu NodeHasGpuAllocatable, CA 1.35.2), so a
            # mixed-MIG node, which has none, would stay "unready" forever: no label there.
            labels = dict(sorted({**labels, AWS_GPU_LABEL: f"nvidia-{itype.gpu}"}.items()))
        # A failed-over standby raises its GPU pools from 0 to the primary's minimum. EKS
        # refuses a minSize above the live desiredSize (which the autoscaler owns, so it is
        # ignored here): the groups, empty while idle, get a new name prefix at failover,
        # and since EKS cannot rename a node group, the provider replaces each one,
        # creating them at desiredSize = minNodes. Later runs keep the name: no replacement.
        dr = self.config.dr
        failed_over = dr is not None and dr.role == "standby" and dr.failover
        fabric, resources = self._efa(pool), gpu_resources(pool, itype)
        if fabric is not None:
            labels = dict(sorted({**labels, conventions.FABRIC_LABEL: "efa"}.items()))
            resources = {**resources, efa.EFA_RESOURCE: str(fabric.nics)}
        group = self._node_group(
            pool.name, instance_type=pool.instance_type, min_size=pool.min_nodes, max_size=pool.max_nodes,
            disk_gb=pool.disk_gb, spot=pool.spot, labels=labels, taints=[conventions.GPU_TAINT], gpu=True,
            name_prefix=f"{pool.name}-failover-" if failed_over else None, fabric=fabric,
            tags=conventions.fabric_reason_tags(pool, "aws"),
        )
        self._autoscaler_node_template_tags(pool.name, group, node_template(labels, [conventions.GPU_TAINT], resources))
        return group

    def _efa(self, pool: GpuPool) -> Optional[efa.EfaFabric]:
        """The pool's EFA security group and placement group (components/clouds/aws/fabric.py)."""
        fabric = pool.fabric("aws")
        if fabric is None:
            return None
        self.efa_pools[pool.name] = efa.EfaFabric(
            self.cluster_name, pool.name, self.vpc.id, self.cluster.vpc_config.cluster_security_group_id,
            self._opts, nics=fabric.nics, placement_group=efa.placement_group_allowed(pool),
        )
        return self.efa_pools[pool.name]

    def _autoscaler_node_template_tags(self, pool: str, group: aws.eks.NodeGroup, tags: dict[str, str]) -> None:
        """EKS does not copy node group labels and taints to the Auto Scaling group. Cluster
        Autoscaler reads these ASG tags to know what a node of an empty group would offer."""
        asg_name = group.resources.apply(lambda rs: rs[0].autoscaling_groups[0].name)
        for key, value in sorted(tags.items()):
            suffix = key[len(CA_TAG_PREFIX) + 1 :].replace("/", "-").replace(".", "-")
            aws.autoscaling.Tag(
                f"{self.cluster_name}-{pool}-{suffix}",
                autoscaling_group_name=asg_name,
                tag={"key": key, "value": value, "propagate_at_launch": False},
                opts=self._opts,
            )

    # --- add-ons that need nodes --------------------------------------------------------

    def _storage_addons(self) -> None:
        name = self.cluster_name
        # Deployments of these add-ons must tolerate the system taint, or they stay Pending
        # (or wake a CPU pool for themselves). metrics-server's upstream chart has
        # `tolerations: []` (kubernetes-sigs/metrics-server metrics-server-helm-chart-3.13.1
        # values.yaml), so it needs ours. CoreDNS gets the same explicitly: its add-on takes
        # `tolerations` in its configuration (EKS user guide, CoreDNS add-on), and an explicit
        # value does not depend on defaults that change between add-on builds.
        system_only = {"tolerations": SYSTEM_ADDON_TOLERATIONS}
        self.coredns = self._addon("coredns", depends_on=[self.system_group], configuration=system_only)
        self.metrics_server = self._addon("metrics-server", depends_on=[self.system_group], configuration=system_only)
        # The EBS CSI controller tolerates CriticalAddonsOnly by default and its node
        # DaemonSet tolerates every taint (kubernetes-sigs/aws-ebs-csi-driver v1.64.0
        # charts/aws-ebs-csi-driver/values.yaml controller.tolerations, node.tolerateAllTaints).
        ebs_role = self._pod_identity_role(f"{name}-ebs-csi", ["service-role/AmazonEBSCSIDriverPolicy"])
        self.ebs_csi = self._addon(
            "aws-ebs-csi-driver", depends_on=[self.system_group, self.pod_identity_agent, *self.role_grants[f"{name}-ebs-csi"]],
            pod_identity_associations=[{"role_arn": ebs_role.arn, "service_account": "ebs-csi-controller-sa"}],
        )
        # Node health (health.py): the agent's conditions drive node auto repair.
        self.node_monitoring_agent = self._addon(
            health.NODE_MONITORING_AGENT, depends_on=[self.system_group],
            configuration=health.node_monitoring_agent_configuration(),
        )

    def _shared_file_system(self) -> aws.efs.FileSystem:
        """EFS for datasets and checkpoints (ReadWriteMany), reachable from the private subnets.
        Prod encrypts it with the stack's own key (auditable, revocable); elsewhere with the
        AWS-managed EFS key. The key of a live file system cannot change: see docs/aws.md."""
        name = self.cluster_name
        fs = aws.efs.FileSystem(
            f"{name}-shared",
            encrypted=True,
            kms_key_id=self.kms_key.arn if self.config.is_prod else None,
            performance_mode="generalPurpose",
            throughput_mode="elastic",
            tags={"Name": f"{name}-shared"},
            opts=pulumi.ResourceOptions.merge(self._opts, self._prod_protect),
        )
        aws.efs.BackupPolicy(
            f"{name}-shared", file_system_id=fs.id,
            backup_policy={"status": "ENABLED" if self.config.is_prod else "DISABLED"}, opts=self._opts,
        )
        sg = aws.ec2.SecurityGroup(
            f"{name}-efs",
            description=f"NFS from the {name} VPC to its shared file system",
            vpc_id=self.vpc.id,
            ingress=[{"protocol": "tcp", "from_port": 2049, "to_port": 2049, "cidr_blocks": [self.config.network.vpc_cidr],
                      "description": "NFS from nodes"}],
            tags={"Name": f"{name}-efs"},
            opts=self._opts,
        )
        for subnet, zone in zip(self.private_subnets, self.zones, strict=True):
            aws.efs.MountTarget(f"{name}-shared-{zone}", file_system_id=fs.id, subnet_id=subnet.id, security_groups=[sg.id], opts=self._opts)
        # The EFS CSI controller tolerates CriticalAddonsOnly and its node DaemonSet every
        # taint by default (kubernetes-sigs/aws-efs-csi-driver helm-chart 4.4.1 values.yaml).
        efs_role = self._pod_identity_role(f"{name}-efs-csi", ["service-role/AmazonEFSCSIDriverPolicy"])
        self.efs_csi = self._addon(
            "aws-efs-csi-driver", depends_on=[self.system_group, self.pod_identity_agent, *self.role_grants[f"{name}-efs-csi"]],
            pod_identity_associations=[{"role_arn": efs_role.arn, "service_account": "efs-csi-controller-sa"}],
        )
        return fs

    def _cluster_autoscaler(self) -> k8s.helm.v3.Release:
        name, version = self.cluster_name, self.config.kubernetes_version
        role = aws.iam.Role(f"{name}-autoscaler", assume_role_policy=POD_IDENTITY_TRUST, opts=self._opts)
        policy = aws.iam.RolePolicy(
            f"{name}-autoscaler", role=role.id,
            policy=self.cluster.name.apply(lambda cluster: autoscaler_policy(cluster, self.config.region or "", self.account_id, self.partition)),
            opts=self._opts,
        )
        association = aws.eks.PodIdentityAssociation(
            f"{name}-autoscaler", cluster_name=self.cluster.name, namespace="kube-system",
            service_account=CA_SERVICE_ACCOUNT, role_arn=role.arn,
            opts=self._after(self.pod_identity_agent, policy),
        )
        chart = catalog.CHARTS["cluster-autoscaler"]
        return k8s.helm.v3.Release(
            f"{name}-cluster-autoscaler",
            name="cluster-autoscaler",
            namespace="kube-system",
            chart=chart.name,
            # Chart and image follow the cluster's minor (catalog/versions.py says why).
            version=catalog.CLUSTER_AUTOSCALER_CHARTS[version],
            repository_opts={"repo": chart.repo},
            values={
                "cloudProvider": "aws",
                "awsRegion": self.config.region,
                "autoDiscovery": {"clusterName": self.cluster.name},
                "image": {"tag": catalog.CLUSTER_AUTOSCALER_IMAGE_TAGS[version]},
                "rbac": {"serviceAccount": {"create": True, "name": CA_SERVICE_ACCOUNT}},
                "nodeSelector": {conventions.POOL_LABEL: conventions.SYSTEM_POOL},
                "tolerations": [conventions.SYSTEM_TOLERATION],
                "extraArgs": {
                    "balance-similar-node-groups": "true",
                    "expander": "least-waste",
                    "skip-nodes-with-system-pods": "false",
                    "scale-down-unneeded-time": "10m",
                },
            },
            opts=pulumi.ResourceOptions(parent=self, provider=self.k8s_provider, depends_on=[association, *self.ready]),
        )

    # --- handle ----------------------------------------------------------------------------

    def _ready(self) -> list[pulumi.Resource]:
        """What the platform waits for: the system pool it runs on, the add-ons its objects
        need (pod networking, Services, DNS, pod identity, volumes) and the admins' access
        grants. Not the CPU or GPU worker pools: they come up in parallel."""
        ready: list[pulumi.Resource] = [
            self.system_group, self.vpc_cni, self.kube_proxy, self.pod_identity_agent, self.coredns, self.ebs_csi,
        ]
        if self.file_system is not None:
            ready.append(self.efs_csi)
        return ready + self.admin_grants

    def _handle(self) -> ClusterHandle:
        cat = catalog.cloud("aws")
        pools = []
        for pool in self.config.gpu_pools:
            itype = cat.instance_types[pool.instance_type]
            fabric = pool.fabric("aws")
            on_karpenter = pool in self.karpenter_pools
            pools.append(GpuPoolFacts(
                pool=pool, gpu_model=itype.gpu or "", gpus_per_node=itype.gpus,
                node_labels=karpenter_node_labels(pool) if on_karpenter
                else conventions.gpu_pool_labels(pool, "aws", cloud_manages_device_plugin=False),
                provisioner="karpenter" if on_karpenter else "cluster-autoscaler",
                fabric=efa.pool_fabric(fabric, [self.efa_device_plugin]) if fabric is not None and self.efa_device_plugin else None,
            ))
        file_storage = None
        if self.file_system is not None:
            file_storage = StorageClassSpec(
                provisioner="efs.csi.aws.com",
                parameters={"provisioningMode": "efs-ap", "fileSystemId": self.file_system.id, "directoryPerms": "700",
                            "basePath": "/volumes"},
                access_mode="ReadWriteMany",
            )
        return ClusterHandle(
            name=self.cluster_name,
            cloud="aws",
            kubernetes_version=self.config.kubernetes_version,
            kubeconfig=self.kubeconfig,
            provider=self.k8s_provider,
            block_storage=StorageClassSpec(
                provisioner="ebs.csi.aws.com",
                parameters={"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
            ),
            file_storage=file_storage,
            cloud_manages_device_plugin=False,
            gpu_metrics=GpuMetricsSource(managed_by_cloud=False),
            gpu_pools=pools,
            gpu_node_selector={conventions.GPU_NODE_LABEL: "true"},
            system_tolerations=[dict(conventions.SYSTEM_TOLERATION)],
            internal_lb_annotations=dict(load_balancer.INTERNAL),
            public_lb_annotations=dict(load_balancer.PUBLIC),
            identity_endpoint="169.254.170.23:80",  # the EKS Pod Identity agent on every node
            workload_identity_annotation=None,  # EKS binds identities with Pod Identity associations
            ready=list(self.ready),
            # Karpenter's metrics and capacity alerts (karpenter_metrics.py), with Karpenter only.
            scrape_targets=(karpenter_metrics.SCRAPE_TARGET,) if self.karpenter is not None else (),
            alert_groups=tuple(karpenter_metrics.rule_groups()) if self.karpenter is not None else (),
        )


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def node_template(labels: dict[str, str], taints: list[conventions.Taint], resources: dict[str, str]) -> dict[str, str]:
    """Cluster Autoscaler's node-template ASG tags (read by cloudprovider/aws/aws_manager.go:
    `.../label/<key>`, `.../taint/<key>` = `<value>:<Effect>`, `.../resources/<name>`)."""
    tags = {f"{CA_TAG_PREFIX}/label/{k}": v for k, v in labels.items()}
    tags.update({f"{CA_TAG_PREFIX}/taint/{t.key}": f"{t.value}:{t.effect}" for t in taints})
    tags.update({f"{CA_TAG_PREFIX}/resources/{k}": v for k, v in resources.items()})
    return dict(sorted(tags.items()))


def autoscaler_policy(cluster_name: str, region: str, account_id: str, partition: str = "aws") -> str:
    """Least privilege for Cluster Autoscaler. The Service Authorization Reference lists no
    resource type for the Describe*/Get* actions below (autoscaling, ec2), so they take "*";
    SetDesiredCapacity and TerminateInstanceInAutoScalingGroup take an autoScalingGroup ARN
    and eks:DescribeNodegroup a nodegroup ARN, so those are scoped to this account, region
    and cluster (and the writes to groups tagged as owned by this cluster)."""
    asg_arn = f"arn:{partition}:autoscaling:{region}:{account_id}:autoScalingGroup:*:autoScalingGroupName/*"
    nodegroup_arn = f"arn:{partition}:eks:{region}:{account_id}:nodegroup/{cluster_name}/*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DiscoverUnscopable",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "DescribeOwnNodegroups",
                    "Effect": "Allow",
                    "Action": ["eks:DescribeNodegroup"],
                    "Resource": nodegroup_arn,
                },
                {
                    "Sid": "ScaleOwnGroups",
                    "Effect": "Allow",
                    "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                    "Resource": asg_arn,
                    "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
                },
            ],
        },
        sort_keys=True,
    )

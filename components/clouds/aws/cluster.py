"""EKS backend: VPC, identity, encryption, the cluster, a system node group and one
managed node group per GPU pool, with the add-ons the platform needs. Returns a ClusterHandle."""

from __future__ import annotations

import ipaddress
import json
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ... import catalog, conventions
from ...config import GpuPool, StackConfig
from ...handle import ClusterHandle, GpuMetricsSource, GpuPoolFacts, StorageClassSpec
from ..kubeconfig import exec_kubeconfig

MANAGED_POLICY = "arn:aws:iam::aws:policy/"
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

        self._network()
        self._encryption()
        self._cluster()
        self._admin_access()
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
            taints=[],
        )
        self.gpu_groups = {pool.name: self._gpu_pool(pool) for pool in config.gpu_pools}
        self._storage_addons()
        self.file_system = self._shared_file_system() if config.platform.shared_file_system else None

        kubeconfig = exec_kubeconfig(
            cluster_name=self.cluster.name,
            endpoint=self.cluster.endpoint,
            ca_data=self.cluster.certificate_authority.data,
            command="aws",
            args=["eks", "get-token", "--output", "json", "--region", region, "--cluster-name"],
            append_cluster_name=True,
        )
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, opts=pulumi.ResourceOptions(parent=self)
        )
        self.autoscaler = self._cluster_autoscaler()
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
                nats.append(aws.ec2.NatGateway(
                    f"{name}-nat-{zone}", allocation_id=eip.id, subnet_id=public.id,
                    tags={"Name": f"{name}-nat-{zone}"}, opts=self._opts,
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
        for policy in managed:
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy}", role=role.name, policy_arn=MANAGED_POLICY + policy, opts=self._opts
            )
        return role

    def _pod_identity_role(self, name: str, managed: list[str]) -> aws.iam.Role:
        return self._role(name, "pods.eks.amazonaws.com", managed, trust=POD_IDENTITY_TRUST)

    def _encryption(self) -> None:
        name = self.cluster_name
        self.kms_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of Kubernetes secrets in EKS cluster {name}",
            enable_key_rotation=True,
            deletion_window_in_days=30 if self.config.is_prod else 7,
            opts=pulumi.ResourceOptions.merge(self._opts, self._prod_protect),
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/{name}-eks-secrets", target_key_id=self.kms_key.key_id, opts=self._opts)

    # --- cluster ----------------------------------------------------------------------

    def _cluster(self) -> None:
        name, cfg = self.cluster_name, self.config
        cluster_role = self._role(f"{name}-cluster", "eks.amazonaws.com", ["AmazonEKSClusterPolicy"])
        # Created first so the control-plane logs get a retention instead of "never expire".
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=f"/aws/eks/{name}/cluster",
            retention_in_days=365 if cfg.is_prod else 30,
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
                "endpoint_public_access": bool(cidrs),
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
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(protect=cfg.is_prod, depends_on=[log_group])),
        )

    def _admin_access(self) -> None:
        for i, arn in enumerate(self.settings.admin_principal_arns):
            entry = aws.eks.AccessEntry(
                f"{self.cluster_name}-admin-{i}", cluster_name=self.cluster.name, principal_arn=arn, type="STANDARD", opts=self._opts
            )
            aws.eks.AccessPolicyAssociation(
                f"{self.cluster_name}-admin-{i}", cluster_name=self.cluster.name, principal_arn=entry.principal_arn,
                policy_arn=CLUSTER_ADMIN_POLICY, access_scope={"type": "cluster"}, opts=self._opts,
            )

    def _addon(self, addon: str, depends_on: Optional[list[pulumi.Resource]] = None, **kwargs) -> aws.eks.Addon:
        version = self.settings.addon_versions.get(addon, catalog.EKS_ADDONS[addon])
        return aws.eks.Addon(
            f"{self.cluster_name}-{addon}",
            cluster_name=self.cluster.name,
            addon_name=addon,
            addon_version=version,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=depends_on or [])),
            **kwargs,
        )

    def _core_addons(self) -> None:
        # Networking and pod identity must exist before any node joins.
        self.vpc_cni = self._addon("vpc-cni")
        self.kube_proxy = self._addon("kube-proxy")
        self.pod_identity_agent = self._addon("eks-pod-identity-agent")

    # --- node groups --------------------------------------------------------------------

    def _launch_template(self, pool: str, disk_gb: int) -> aws.ec2.LaunchTemplate:
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
                    },
                }
            ],
            tag_specifications=[
                {"resource_type": "instance", "tags": {**self.tags, "Name": name}},
                {"resource_type": "volume", "tags": {**self.tags, "Name": name}},
            ],
            opts=self._opts,
        )

    def _node_group(self, pool: str, *, instance_type: str, min_size: int, max_size: int, disk_gb: int, spot: bool,
                    labels: dict[str, str], taints: list[conventions.Taint], gpu: bool = False) -> aws.eks.NodeGroup:
        itype = catalog.cloud("aws").instance_types[instance_type]
        template = self._launch_template(pool, disk_gb)
        depends = [self.vpc_cni, self.pod_identity_agent, self.kube_proxy]
        return aws.eks.NodeGroup(
            f"{self.cluster_name}-{pool}",
            cluster_name=self.cluster.name,
            node_group_name_prefix=f"{pool}-",
            node_role_arn=self.node_role.arn,
            subnet_ids=[s.id for s in self.private_subnets],
            instance_types=[instance_type],
            ami_type=_ami_type(itype.arch, gpu),
            capacity_type="SPOT" if spot else "ON_DEMAND",
            scaling_config={"min_size": min_size, "max_size": max_size, "desired_size": min_size},
            update_config={"max_unavailable": 1},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            labels=labels,
            taints=[{"key": t.key, "value": t.value, "effect": t.api_effect()} for t in taints],
            opts=pulumi.ResourceOptions.merge(
                self._opts,
                pulumi.ResourceOptions(
                    depends_on=depends,
                    # The autoscaler owns the desired size once the group exists.
                    ignore_changes=["scalingConfig.desiredSize"],
                ),
            ),
        )

    def _gpu_pool(self, pool: GpuPool) -> aws.eks.NodeGroup:
        itype = catalog.cloud("aws").instance_types[pool.instance_type]
        labels = {**conventions.gpu_pool_labels(pool, "aws", cloud_manages_device_plugin=False), AWS_GPU_LABEL: f"nvidia-{itype.gpu}"}
        labels = dict(sorted(labels.items()))
        group = self._node_group(
            pool.name, instance_type=pool.instance_type, min_size=pool.min_nodes, max_size=pool.max_nodes,
            disk_gb=pool.disk_gb, spot=pool.spot, labels=labels, taints=[conventions.GPU_TAINT], gpu=True,
        )
        self._autoscaler_node_template_tags(pool, group, labels, itype.gpus)
        return group

    def _autoscaler_node_template_tags(self, pool: GpuPool, group: aws.eks.NodeGroup, labels: dict[str, str], gpus: int) -> None:
        """EKS does not copy node group labels and taints to the Auto Scaling group. Cluster
        Autoscaler reads these ASG tags to know what a node of an empty group would offer."""
        asg_name = group.resources.apply(lambda rs: rs[0].autoscaling_groups[0].name)
        prefix = "k8s.io/cluster-autoscaler/node-template"
        taint = conventions.GPU_TAINT
        tags = {
            f"{prefix}/resources/{conventions.GPU_RESOURCE}": str(gpus),
            f"{prefix}/taint/{taint.key}": f"{taint.value}:{taint.effect}",
            **{f"{prefix}/label/{k}": v for k, v in labels.items()},
        }
        for key, value in sorted(tags.items()):
            suffix = key[len(prefix) + 1 :].replace("/", "-").replace(".", "-")
            aws.autoscaling.Tag(
                f"{self.cluster_name}-{pool.name}-{suffix}",
                autoscaling_group_name=asg_name,
                tag={"key": key, "value": value, "propagate_at_launch": False},
                opts=self._opts,
            )

    # --- add-ons that need nodes --------------------------------------------------------

    def _storage_addons(self) -> None:
        name = self.cluster_name
        after_nodes = [self.system_group, self.pod_identity_agent]
        self.coredns = self._addon("coredns", depends_on=[self.system_group])
        self.metrics_server = self._addon("metrics-server", depends_on=[self.system_group])
        ebs_role = self._pod_identity_role(f"{name}-ebs-csi", ["service-role/AmazonEBSCSIDriverPolicy"])
        self.ebs_csi = self._addon(
            "aws-ebs-csi-driver", depends_on=after_nodes,
            pod_identity_associations=[{"role_arn": ebs_role.arn, "service_account": "ebs-csi-controller-sa"}],
        )

    def _shared_file_system(self) -> aws.efs.FileSystem:
        """EFS for datasets and checkpoints (ReadWriteMany), reachable from the private subnets."""
        name = self.cluster_name
        fs = aws.efs.FileSystem(
            f"{name}-shared",
            encrypted=True,
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
        efs_role = self._pod_identity_role(f"{name}-efs-csi", ["service-role/AmazonEFSCSIDriverPolicy"])
        self.efs_csi = self._addon(
            "aws-efs-csi-driver", depends_on=[self.system_group, self.pod_identity_agent],
            pod_identity_associations=[{"role_arn": efs_role.arn, "service_account": "efs-csi-controller-sa"}],
        )
        return fs

    def _cluster_autoscaler(self) -> k8s.helm.v3.Release:
        name = self.cluster_name
        role = aws.iam.Role(f"{name}-autoscaler", assume_role_policy=POD_IDENTITY_TRUST, opts=self._opts)
        aws.iam.RolePolicy(
            f"{name}-autoscaler", role=role.id, policy=self.cluster.name.apply(autoscaler_policy), opts=self._opts
        )
        association = aws.eks.PodIdentityAssociation(
            f"{name}-autoscaler", cluster_name=self.cluster.name, namespace="kube-system",
            service_account=CA_SERVICE_ACCOUNT, role_arn=role.arn,
            opts=pulumi.ResourceOptions.merge(self._opts, pulumi.ResourceOptions(depends_on=[self.pod_identity_agent])),
        )
        chart = catalog.CHARTS["cluster-autoscaler"]
        return k8s.helm.v3.Release(
            f"{name}-cluster-autoscaler",
            name="cluster-autoscaler",
            namespace="kube-system",
            chart=chart.name,
            version=chart.version,
            repository_opts={"repo": chart.repo},
            values={
                "cloudProvider": "aws",
                "awsRegion": self.config.region,
                "autoDiscovery": {"clusterName": self.cluster.name},
                "image": {"tag": catalog.CLUSTER_AUTOSCALER_IMAGE_TAGS[self.config.kubernetes_version]},
                "rbac": {"serviceAccount": {"create": True, "name": CA_SERVICE_ACCOUNT}},
                "nodeSelector": {conventions.POOL_LABEL: conventions.SYSTEM_POOL},
                "extraArgs": {
                    "balance-similar-node-groups": "true",
                    "expander": "least-waste",
                    "skip-nodes-with-system-pods": "false",
                    "scale-down-unneeded-time": "10m",
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self, provider=self.k8s_provider, depends_on=[association, self.system_group, self.coredns]
            ),
        )

    # --- handle ----------------------------------------------------------------------------

    def _handle(self) -> ClusterHandle:
        cat = catalog.cloud("aws")
        pools = []
        for pool in self.config.gpu_pools:
            itype = cat.instance_types[pool.instance_type]
            pools.append(GpuPoolFacts(
                pool=pool, gpu_model=itype.gpu or "", gpus_per_node=itype.gpus,
                node_labels=conventions.gpu_pool_labels(pool, "aws", cloud_manages_device_plugin=False),
            ))
        file_storage = None
        if self.file_system is not None:
            file_storage = StorageClassSpec(
                provisioner="efs.csi.aws.com",
                parameters={"provisioningMode": "efs-ap", "fileSystemId": self.file_system.id, "directoryPerms": "700",
                            "basePath": "/volumes"},
                access_mode="ReadWriteMany",
            )
        ready: list[pulumi.Resource] = [self.system_group, self.coredns, self.ebs_csi, *self.gpu_groups.values()]
        if self.file_system is not None:
            ready.append(self.efs_csi)
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
            system_tolerations=[],
            internal_lb_annotations={
                "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
                "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
            },
            identity_endpoint="169.254.170.23:80",  # the EKS Pod Identity agent on every node
            workload_identity_annotation=None,  # EKS binds identities with Pod Identity associations
            ready=ready,
        )


def autoscaler_policy(cluster_name: str) -> str:
    """Least privilege for Cluster Autoscaler: read anything it must discover, but change
    only Auto Scaling groups tagged as owned by this cluster."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Discover",
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
                        "eks:DescribeNodegroup",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "ScaleOwnGroups",
                    "Effect": "Allow",
                    "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
                },
            ],
        },
        sort_keys=True,
    )

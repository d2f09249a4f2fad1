"""EKS capacity: Karpenter for the GPU pools whose provisioner is `karpenter`.

What it creates, in order:
1. IAM: the controller's role (EKS Pod Identity) with a policy scoped to this cluster, and the
   role Karpenter's nodes run as, with an access entry that lets them join.
2. The interruption queue (SQS, TLS only) with EventBridge rules for spot interruption
   warnings, rebalance recommendations, instance state changes, AWS Health scheduled changes
   and capacity reservation interruptions.
3. Karpenter's CRDs (chart karpenter-crd), then the controller (chart karpenter) on the system
   pool, after 1 and 2.
4. Per GPU pool an EC2NodeClass and a NodePool (after the controller): our GPU taint and
   portable labels, the pool's instance type, capacity types in the chain's order
   (reserved -> spot -> on-demand), the pool's reservations, limits from maxNodes, and
   consolidation only of empty nodes.

Facts, each from aws/karpenter-provider-aws at v1.14.1 (chart files at the release commit
1d927085, CRDs at the tag):
- website/content/en/v1.14/reference/cloudformation.md: the controller's permissions, the node
  role, the queue, its policy and the five event rules (written here on our own, scoped the
  same way: to this cluster's tags, region and account).
- website/content/en/v1.14/concepts/nodepools.md "karpenter.sh/capacity-type": with several
  capacity types allowed, Karpenter prioritizes reserved, then spot, then on-demand.
- website/content/en/v1.14/concepts/disruption.md: `WhenEmpty` consolidates only nodes
  without workload pods; a pod annotated `karpenter.sh/do-not-disrupt: "true"` keeps its node
  out of consolidation and drift; expiration is forceful and ignores that annotation, and a
  set `terminationGracePeriod` lets drift override it. So GPU pools never expire
  (`expireAfter: Never`) and leave terminationGracePeriod unset.
- charts/karpenter/values.yaml: settings.clusterName (required), settings.interruptionQueue,
  settings.featureGates.reservedCapacity (beta, on by default; set explicitly here),
  serviceAccount.name, nodeSelector, tolerations.
- pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml: capacityReservationSelectorTerms
  (id, or tags; id excludes the other fields), amiSelectorTerms alias `al2023@<version>`,
  exactly one of role / instanceProfile.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from ... import catalog, conventions
from . import coldstart, health
from ...config import CapacityTier, GpuPool

if TYPE_CHECKING:
    from .cluster import EksCluster

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
NODEPOOL_API = "karpenter.sh/v1"
NODECLASS_API = "karpenter.k8s.aws/v1"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
# Karpenter's name for each tier of our chain.
CAPACITY_TYPES = {"reserved": "reserved", "spot": "spot", "onDemand": "on-demand"}
# Empty GPU nodes go after the same wait Cluster Autoscaler gives them (scale-down-unneeded-time).
CONSOLIDATE_AFTER = "10m"
# The interruption events Karpenter reads from its queue (reference/cloudformation.md "Rules").
INTERRUPTION_EVENTS: dict[str, dict[str, list[str]]] = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "instance-state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "reservation-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"]},
}
NODE_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonEKS_CNI_Policy"]


def capacity_types(chain: tuple[CapacityTier, ...]) -> list[str]:
    """The NodePool's `karpenter.sh/capacity-type` values, in the chain's order."""
    return list(dict.fromkeys(CAPACITY_TYPES[t.kind] for t in chain))


def reservation_terms(chain: tuple[CapacityTier, ...]) -> list[dict[str, Any]]:
    """EC2NodeClass capacityReservationSelectorTerms: a reservation by id, or by its Name tag."""
    terms: list[dict[str, Any]] = []
    for tier in chain:
        if tier.reserved is None:
            continue
        terms.append({"id": tier.reserved.id} if tier.reserved.id else {"tags": {"Name": tier.reserved.name}})
    return terms


def node_labels(pool: GpuPool) -> dict[str, str]:
    """The pool's portable labels for Karpenter's nodes. The spot label is static on a node
    group; a Karpenter pool that mixes spot with other tiers decides per node, so there the
    label is left out and `karpenter.sh/capacity-type` (set by Karpenter) says which it is."""
    labels = conventions.gpu_pool_labels(pool, "aws", cloud_manages_device_plugin=False)
    if pool.fabric("aws") is not None:
        # The EFA device plugin runs on these nodes only (fabric.py device_plugin nodeSelector).
        labels[conventions.FABRIC_LABEL] = "efa"
    kinds = {t.kind for t in pool.capacity_chain()}
    if kinds == {"spot"}:
        labels[conventions.SPOT_LABEL] = "true"
    elif "spot" in kinds:
        labels.pop(conventions.SPOT_LABEL)
    else:
        labels[conventions.SPOT_LABEL] = "false"
    return dict(sorted(labels.items()))


def node_pool_spec(pool: GpuPool, node_class: str) -> dict[str, Any]:
    itype = catalog.cloud("aws").instance_types[pool.instance_type]
    return {
        "template": {
            "metadata": {"labels": node_labels(pool)},
            "spec": {
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class},
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [pool.instance_type]},
                    {"key": CAPACITY_TYPE_LABEL, "operator": "In", "values": capacity_types(pool.capacity_chain())},
                ],
                "taints": [{"key": conventions.GPU_TAINT.key, "value": conventions.GPU_TAINT.value, "effect": conventions.GPU_TAINT.effect}],
                # Expiration is forceful (it ignores do-not-disrupt): a GPU node lives until
                # it is empty; AMI updates reach it through drift, which waits for its jobs.
                "expireAfter": "Never",
            },
        },
        "disruption": {
            "consolidationPolicy": "WhenEmpty",
            "consolidateAfter": CONSOLIDATE_AFTER,
            # One GPU node at a time, for every voluntary reason (empty, drifted).
            "budgets": [{"nodes": "1"}],
        },
        "limits": {"nodes": str(pool.max_nodes), conventions.GPU_RESOURCE: str(pool.max_nodes * itype.gpus)},
    }


def ami_alias(release_version: str) -> str:
    """`1.35.3-20260827` (the EKS AMI release the node groups use) -> `al2023@v20260827`: the
    same AMI release for Karpenter's nodes, which picks the NVIDIA variant for GPU types."""
    return f"al2023@v{release_version.rsplit('-', 1)[-1]}"


def node_class_spec(pool: GpuPool, role: str, subnet_ids: list[str], security_group: str, release: str,
                    tags: dict[str, str], efa: Optional[dict[str, Any]] = None, fast_pull: bool = False) -> dict[str, Any]:
    """`efa`: an EFA pool's fields (fabric.py EfaFabric.node_class_args), which replace the
    subnet and security group terms. `fast_pull`: parallel image pull, its NodeConfig user data
    and root volume throughput (coldstart.py)."""
    spec: dict[str, Any] = {
        "role": role,
        "amiSelectorTerms": [{"alias": ami_alias(release)}],
        "subnetSelectorTerms": [{"id": s} for s in subnet_ids],
        "securityGroupSelectorTerms": [{"id": security_group}],
        # As the node groups' launch template: IMDSv2 only, one hop (pods use Pod Identity).
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
        "blockDeviceMappings": [{
            "deviceName": "/dev/xvda",
            "ebs": {"volumeSize": f"{pool.disk_gb}Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True,
                    **(coldstart.root_volume_ebs() if fast_pull else {})},
        }],
        **({"userData": coldstart.node_class_user_data()} if fast_pull else {}),
        "tags": tags,
        **(efa or {}),
    }
    terms = reservation_terms(pool.capacity_chain())
    if terms:
        spec["capacityReservationSelectorTerms"] = terms
    return spec


def controller_policy(cluster: str, region: str, account: str, partition: str, node_role_arn: str, queue_arn: str) -> str:
    """The Karpenter controller's permissions, scoped as Karpenter's CloudFormation reference
    scopes them (reference/cloudformation.md, v1.14): launches and deletions only of
    resources tagged for this cluster and a NodePool, instance profiles only for this cluster
    and region, PassRole only of the node role, the queue only ours."""
    ec2 = f"arn:{partition}:ec2:{region}"
    owned = {f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster}
    tagged = {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}
    created = [f"{ec2}:*:{kind}/*" for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")]
    profile = f"arn:{partition}:iam::{account}:instance-profile/*"
    statements = [
        {"Sid": "LaunchFromRegionalResources", "Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Resource": [f"{ec2}::image/*", f"{ec2}::snapshot/*", f"{ec2}:*:security-group/*", f"{ec2}:*:subnet/*",
                      f"{ec2}:*:capacity-reservation/*", f"{ec2}:*:placement-group/*"]},
        {"Sid": "LaunchFromOwnTemplates", "Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Resource": f"{ec2}:*:launch-template/*",
         "Condition": {"StringEquals": tagged, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "CreateOwnedResources", "Effect": "Allow", "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
         "Resource": created, "Condition": {"StringEquals": owned, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "TagOnCreate", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": created,
         "Condition": {"StringEquals": {**owned, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                       "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "TagOwnInstances", "Effect": "Allow", "Action": "ec2:CreateTags", "Resource": f"{ec2}:*:instance/*",
         "Condition": {"StringEquals": tagged, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
                       "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                       "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]}}},
        {"Sid": "DeleteOwnInstancesAndTemplates", "Effect": "Allow", "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
         "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
         "Condition": {"StringEquals": tagged, "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "PassNodeRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": node_role_arn,
         "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}}},
        {"Sid": "CreateOwnInstanceProfiles", "Effect": "Allow", "Action": "iam:CreateInstanceProfile", "Resource": profile,
         "Condition": {"StringEquals": {**owned, "aws:RequestTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "TagOwnInstanceProfiles", "Effect": "Allow", "Action": "iam:TagInstanceProfile", "Resource": profile,
         "Condition": {"StringEquals": {**tagged, "aws:ResourceTag/topology.kubernetes.io/region": region, **owned,
                                        "aws:RequestTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                                      "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "ManageOwnInstanceProfiles", "Effect": "Allow",
         "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
         "Resource": profile,
         "Condition": {"StringEquals": {**tagged, "aws:ResourceTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "ReadInstanceProfiles", "Effect": "Allow", "Action": "iam:GetInstanceProfile", "Resource": profile},
        {"Sid": "ListInstanceProfiles", "Effect": "Allow", "Action": "iam:ListInstanceProfiles", "Resource": "*"},
        {"Sid": "DescribeCluster", "Effect": "Allow", "Action": "eks:DescribeCluster",
         "Resource": f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}"},
        {"Sid": "ReadInterruptionQueue", "Effect": "Allow", "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
         "Resource": queue_arn},
        {"Sid": "DescribeInRegion", "Effect": "Allow", "Resource": "*",
         "Action": ["ec2:DescribeCapacityReservations", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus",
                    "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates",
                    "ec2:DescribePlacementGroups", "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets"],
         "Condition": {"StringEquals": {"aws:RequestedRegion": region}}},
        {"Sid": "ReadPublicAmiParameters", "Effect": "Allow", "Action": "ssm:GetParameter",
         "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*"},
        # The price list API has no regional scope (it is served from few regions).
        {"Sid": "ReadPrices", "Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*"},
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def queue_policy(queue_arn: str) -> str:
    """EventBridge (and SQS itself) may send to the queue; nothing may use it without TLS."""
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "KarpenterInterruptions",
        "Statement": [
            {"Sid": "EventsSend", "Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
             "Action": "sqs:SendMessage", "Resource": queue_arn},
            {"Sid": "DenyWithoutTls", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue_arn,
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ],
    }, sort_keys=True)


class Karpenter:
    """Karpenter and one NodePool + EC2NodeClass per pool, on the EKS cluster `eks`."""

    def __init__(self, eks: EksCluster, pools: list[GpuPool], trust: str, release_parameters: dict[str, str]):
        """`trust`: the Pod Identity trust policy; `release_parameters`: per pool, the SSM
        parameter naming the EKS AMI release its node group would run (cluster.py)."""
        self.eks = eks
        self.trust = trust
        self.release_parameters = release_parameters
        name = eks.cluster_name
        self.pools = pools
        self.node_role = eks._role(f"{name}-karpenter-node", "ec2.amazonaws.com", NODE_POLICIES)
        # Karpenter's nodes join through an access entry of type EC2_LINUX (managed node groups
        # get theirs from EKS itself).
        self.node_access = aws.eks.AccessEntry(
            f"{name}-karpenter-node", cluster_name=eks.cluster.name, principal_arn=self.node_role.arn, type="EC2_LINUX",
            opts=eks._after(*eks.role_grants[f"{name}-karpenter-node"]),
        )
        self._queue()
        self._controller_identity()
        self.crds, self.release = self._charts()
        self.node_classes: dict[str, k8s.apiextensions.CustomResource] = {}
        self.node_pools: dict[str, k8s.apiextensions.CustomResource] = {}
        for pool in pools:
            self._pool(pool)

    def _queue(self) -> None:
        eks, name = self.eks, self.eks.cluster_name
        # Named for the cluster, as Karpenter's reference names it: the chart's settings take the name.
        self.queue = aws.sqs.Queue(
            f"{name}-karpenter", name=f"{name}-karpenter", message_retention_seconds=300, sqs_managed_sse_enabled=True,
            opts=eks._opts,
        )
        self.queue_policy = aws.sqs.QueuePolicy(
            f"{name}-karpenter", queue_url=self.queue.id, policy=self.queue.arn.apply(queue_policy), opts=eks._opts,
        )
        self.rules: dict[str, aws.cloudwatch.EventRule] = {}
        self.targets: list[aws.cloudwatch.EventTarget] = []
        for key, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-karpenter-{key}", description=f"{pattern['detail-type'][0]} -> Karpenter ({name})",
                event_pattern=json.dumps(pattern, sort_keys=True), opts=eks._opts,
            )
            self.rules[key] = rule
            self.targets.append(aws.cloudwatch.EventTarget(
                f"{name}-karpenter-{key}", rule=rule.name, arn=self.queue.arn, target_id="KarpenterInterruptionQueue",
                opts=eks._after(self.queue_policy),
            ))

    def _controller_identity(self) -> None:
        eks, name = self.eks, self.eks.cluster_name
        region = eks.config.region or ""
        self.role = aws.iam.Role(f"{name}-karpenter", assume_role_policy=self.trust, opts=eks._opts)
        self.policy = aws.iam.RolePolicy(
            f"{name}-karpenter", role=self.role.id,
            policy=pulumi.Output.all(eks.cluster.name, self.node_role.arn, self.queue.arn).apply(
                lambda args: controller_policy(args[0], region, eks.account_id, eks.partition, args[1], args[2])),
            opts=eks._opts,
        )
        self.association = aws.eks.PodIdentityAssociation(
            f"{name}-karpenter", cluster_name=eks.cluster.name, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
            role_arn=self.role.arn, opts=eks._after(eks.pod_identity_agent, self.policy),
        )

    def _charts(self) -> tuple[k8s.helm.v3.Release, k8s.helm.v3.Release]:
        eks, name = self.eks, self.eks.cluster_name
        crd_chart, chart = catalog.CHARTS["karpenter-crd"], catalog.CHARTS["karpenter"]
        k8s_opts = pulumi.ResourceOptions(parent=eks, provider=eks.k8s_provider)
        crds = k8s.helm.v3.Release(
            f"{name}-karpenter-crd", name="karpenter-crd", namespace=NAMESPACE,
            chart=f"{crd_chart.repo}/{crd_chart.name}", version=crd_chart.version, atomic=True,
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=list(eks.ready))),
        )
        release = k8s.helm.v3.Release(
            f"{name}-karpenter", name="karpenter", namespace=NAMESPACE,
            chart=f"{chart.repo}/{chart.name}", version=chart.version, atomic=True,
            # The CRDs come from karpenter-crd, which Helm upgrades; the chart's crds/ it would not.
            skip_crds=True,
            values={
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                "nodeSelector": dict(conventions.system_pool_labels()),
                "tolerations": [dict(conventions.SYSTEM_TOLERATION)],
                "settings": {
                    "clusterName": eks.cluster.name,
                    "clusterEndpoint": eks.cluster.endpoint,
                    "interruptionQueue": self.queue.name,
                    # nodeRepair (alpha, off by default in the chart): Karpenter replaces a node
                    # whose condition stays bad, among them the node monitoring agent's
                    # AcceleratedHardwareReady=False after 10 minutes (health.py).
                    "featureGates": {"reservedCapacity": True, "nodeRepair": health.KARPENTER_NODE_REPAIR},
                },
            },
            # IAM and the queue first: the controller reads the queue and launches with the
            # role from its first reconcile.
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                depends_on=[crds, self.association, self.policy, self.queue_policy, *self.targets, *eks.ready])),
        )
        return crds, release

    def _pool(self, pool: GpuPool) -> None:
        eks, name = self.eks, self.eks.cluster_name
        k8s_opts = pulumi.ResourceOptions(parent=eks, provider=eks.k8s_provider)
        release_version = aws.ssm.get_parameter_output(
            name=self.release_parameters[pool.name],
            opts=pulumi.InvokeOutputOptions(parent=eks, provider=eks.provider),
        ).insecure_value
        # An EFA pool (fabric.py): one subnet, its EFA security group, interfaces and placement
        # group; the node class waits for the group's rules and the placement group.
        fabric = eks.efa_pools.get(pool.name)
        extra = fabric.node_class_inputs() if fabric is not None else []
        spec = pulumi.Output.all(
            self.node_role.name, [s.id for s in eks.private_subnets], eks.cluster.vpc_config.cluster_security_group_id,
            release_version, *extra,
        ).apply(lambda a: node_class_spec(
            pool, a[0], a[1], a[2], a[3], {**eks.tags, "Name": f"{name}-{pool.name}"},
            fabric.node_class_args(a[2], a[1][0], a[4], a[5]) if fabric is not None else None,
            eks.config.settings("aws").parallel_image_pull))
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-{pool.name}-nodeclass", api_version=NODECLASS_API, kind="EC2NodeClass",
            metadata={"name": pool.name}, spec=spec,
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[
                self.release, self.node_access, *eks.ready, *(fabric.node_group_depends_on() if fabric is not None else [])])),
        )
        # The stack's fabric reasons ride on the NodePool as annotations, for the policy pack.
        reasons = conventions.fabric_reason_tags(pool, "aws")
        node_pool = k8s.apiextensions.CustomResource(
            f"{name}-{pool.name}-nodepool", api_version=NODEPOOL_API, kind="NodePool",
            metadata={"name": pool.name, **({"annotations": reasons} if reasons else {})}, spec=node_pool_spec(pool, pool.name),
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[self.release, node_class, *eks.ready])),
        )
        self.node_classes[pool.name] = node_class
        self.node_pools[pool.name] = node_pool

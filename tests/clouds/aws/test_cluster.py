"""EKS backend under mocks: every input a user depends on."""

from __future__ import annotations

import json

import pytest
import yaml

from components import catalog, conventions
from components.clouds.aws.cluster import autoscaler_policy, subnet_plan
from preview.engine import is_secret
from tests.conftest import inputs, plan_for, plan_for_stack

# The smallest valid EKS stack: the API choice must be explicit (network.privateApi).
MINIMAL = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True}}


@pytest.fixture(scope="module")
def dev():
    return plan_for_stack("dev-aws")


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-aws")


def node_group(plan, pool):
    return inputs(plan.one("aws:eks/nodeGroup:NodeGroup", f"{plan.outputs['clusterName']}-{pool}"))


def test_vpc_spans_three_zones_with_private_and_public_subnets(dev):
    vpc = inputs(dev.one("aws:ec2/vpc:Vpc"))
    assert vpc["cidrBlock"] == "10.20.0.0/16" and vpc["enableDnsHostnames"] is True
    subnets = [inputs(s) for s in dev.by_type("aws:ec2/subnet:Subnet")]
    private = [s for s in subnets if s["tags"].get("kubernetes.io/role/internal-elb") == "1"]
    public = [s for s in subnets if s["tags"].get("kubernetes.io/role/elb") == "1"]
    assert sorted(s["availabilityZone"] for s in private) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert sorted(s["availabilityZone"] for s in public) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert sorted(s["cidrBlock"] for s in private) == ["10.20.0.0/18", "10.20.128.0/18", "10.20.64.0/18"]
    assert all(s["mapPublicIpOnLaunch"] is False for s in public)


def test_one_nat_in_dev_one_per_zone_in_prod(dev, prod):
    assert len(dev.by_type("aws:ec2/natGateway:NatGateway")) == 1
    assert len(prod.by_type("aws:ec2/natGateway:NatGateway")) == 3
    routes = [inputs(r)["routes"][0] for r in prod.by_type("aws:ec2/routeTable:RouteTable") if "private" in r.name]
    assert len(routes) == 3 and all(r["cidrBlock"] == "0.0.0.0/0" and r["natGatewayId"].startswith("nat-") for r in routes)


def test_subnet_plan_leaves_no_overlap():
    private, public = subnet_plan("10.0.0.0/20")
    assert private == ["10.0.0.0/22", "10.0.4.0/22", "10.0.8.0/22"]
    assert public == ["10.0.12.0/24", "10.0.13.0/24", "10.0.14.0/24"]


def test_secrets_are_envelope_encrypted_with_a_rotating_key(dev):
    key = dev.one("aws:kms/key:Key")
    assert inputs(key)["enableKeyRotation"] is True
    cluster = inputs(dev.one("aws:eks/cluster:Cluster"))
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:us-east-1:")


def test_endpoint_private_on_public_only_for_listed_cidrs(dev, prod):
    vpc_config = inputs(prod.one("aws:eks/cluster:Cluster"))["vpcConfig"]
    assert vpc_config["endpointPrivateAccess"] is True
    assert vpc_config["endpointPublicAccess"] is True
    assert vpc_config["publicAccessCidrs"] == ["203.0.113.0/24", "198.51.100.0/24"]
    assert len(vpc_config["subnetIds"]) == 3 and all(s.startswith("subnet-") for s in vpc_config["subnetIds"])


def test_private_api_means_private_endpoint_only():
    plan = plan_for({**MINIMAL, "region": "us-west-2"})
    vpc_config = inputs(plan.one("aws:eks/cluster:Cluster"))["vpcConfig"]
    assert vpc_config["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in vpc_config


def test_cluster_settings(dev, prod):
    cluster = inputs(dev.one("aws:eks/cluster:Cluster"))
    assert cluster["name"] == "ml-dev-aws"
    assert cluster["version"] == "1.35"
    assert cluster["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]
    assert cluster["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}
    assert cluster["bootstrapSelfManagedAddons"] is False
    assert cluster["kubernetesNetworkConfig"]["serviceIpv4Cidr"] == "10.96.0.0/16"
    assert cluster["deletionProtection"] is False
    assert inputs(prod.one("aws:eks/cluster:Cluster"))["deletionProtection"] is True


def test_prod_protects_stateful_resources(dev, prod):
    for type_ in ("aws:eks/cluster:Cluster", "aws:kms/key:Key", "aws:efs/fileSystem:FileSystem"):
        # The stores' own keys (components/clouds/aws/stores.py) are checked in test_stores.py.
        assert all(r.protect is True for r in prod.by_type(type_)), type_
        assert all(r.protect is False for r in dev.by_type(type_)) and dev.by_type(type_), type_


def test_control_plane_log_group_has_retention_and_the_stack_key(dev):
    group = inputs(dev.one("aws:cloudwatch/logGroup:LogGroup", "ml-dev-aws-control-plane"))
    assert group["name"] == "/aws/eks/ml-dev-aws/cluster" and group["retentionInDays"] == 30
    assert group["kmsKeyId"].startswith("arn:aws:kms:us-east-1:123456789012:key/")


def test_admin_access_entries(prod):
    entry = inputs(prod.one("aws:eks/accessEntry:AccessEntry"))
    assert entry["principalArn"] == "arn:aws:iam::123456789012:role/platform-admins"
    assoc = inputs(prod.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation"))
    assert assoc["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert assoc["accessScope"] == {"type": "cluster"}


def test_gpu_pool_node_group(dev):
    ng = node_group(dev, "l4")
    assert ng["amiType"] == "AL2023_x86_64_NVIDIA"
    assert ng["instanceTypes"] == ["g6.xlarge"]
    assert ng["capacityType"] == "SPOT"
    assert ng["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert ng["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 0}
    assert ng["labels"][conventions.POOL_LABEL] == "l4"
    assert ng["labels"][conventions.GPU_MODEL_LABEL] == "l4"
    assert ng["labels"][conventions.GPU_NODE_LABEL] == "true"
    assert ng["labels"]["k8s.amazonaws.com/accelerator"] == "nvidia-l4"
    assert "remoteAccess" not in ng  # no SSH
    assert "diskSize" not in ng  # the launch template sizes the disk


def test_on_demand_and_time_slicing_pools(prod):
    h100 = node_group(prod, "h100")
    assert h100["capacityType"] == "ON_DEMAND" and h100["scalingConfig"]["maxSize"] == 4
    infer = node_group(prod, "l4infer")
    assert infer["labels"][conventions.DEVICE_PLUGIN_CONFIG_LABEL] == "pool-l4infer"
    assert infer["scalingConfig"]["minSize"] == 1


def test_graviton_gpu_pool_uses_the_arm_nvidia_ami():
    plan = plan_for({**MINIMAL, "gpuPools": [{"name": "t4g", "instanceType": "g5g.xlarge"}]})
    assert node_group(plan, "t4g")["amiType"] == "AL2023_ARM_64_NVIDIA"


def test_system_node_group_is_tainted_for_the_platform_and_addons(dev):
    ng = node_group(dev, "system")
    assert ng["amiType"] == "AL2023_x86_64_STANDARD"
    # The one system taint every cloud uses (AKS baseline's): only tolerating pods land here.
    assert ng["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]
    assert ng["scalingConfig"] == {"minSize": 2, "maxSize": 3, "desiredSize": 2}
    assert ng["instanceTypes"] == [catalog.cloud("aws").default_system_instance_type]


def test_launch_templates_require_imdsv2_and_encrypt_gp3(dev):
    templates = {r.name: inputs(r) for r in dev.by_type("aws:ec2/launchTemplate:LaunchTemplate")}
    assert set(templates) == {"ml-dev-aws-system", "ml-dev-aws-l4", "ml-dev-aws-cpu"}
    for lt in templates.values():
        assert lt["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
        ebs = lt["blockDeviceMappings"][0]["ebs"]
        assert ebs["encrypted"] == "true" and ebs["volumeType"] == "gp3"
    assert templates["ml-dev-aws-l4"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 150
    assert templates["ml-dev-aws-system"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 100
    ng = node_group(dev, "l4")
    assert ng["launchTemplate"]["id"].startswith("lt-")


def test_autoscaler_node_template_tags_on_the_asg(prod):
    tags = [inputs(t) for t in prod.by_type("aws:autoscaling/tag:Tag") if "-h100-" in t.name]
    by_key = {t["tag"]["key"]: t for t in tags}
    prefix = "k8s.io/cluster-autoscaler/node-template"
    assert by_key[f"{prefix}/resources/nvidia.com/gpu"]["tag"]["value"] == "8"
    assert by_key[f"{prefix}/taint/nvidia.com/gpu"]["tag"]["value"] == "present:NoSchedule"
    assert by_key[f"{prefix}/label/{conventions.POOL_LABEL}"]["tag"]["value"] == "h100"
    assert by_key[f"{prefix}/label/{conventions.GPU_MODEL_LABEL}"]["tag"]["value"] == "h100"
    asg_names = {t["autoscalingGroupName"] for t in tags}
    assert len(asg_names) == 1 and next(iter(asg_names)).startswith("eks-ml-prod-aws-h100-")
    assert all(t["tag"]["propagateAtLaunch"] is False for t in tags)


def test_addons_with_their_own_identities(dev):
    addons = {inputs(a)["addonName"]: inputs(a) for a in dev.by_type("aws:eks/addon:Addon")}
    assert set(addons) == set(catalog.EKS_ADDONS)
    ebs = addons["aws-ebs-csi-driver"]["podIdentityAssociations"][0]
    assert ebs["serviceAccount"] == "ebs-csi-controller-sa" and ebs["roleArn"].startswith("arn:aws:iam::")
    efs = addons["aws-efs-csi-driver"]["podIdentityAssociations"][0]
    assert efs["serviceAccount"] == "efs-csi-controller-sa"
    roles = {r.name: inputs(r) for r in dev.by_type("aws:iam/role:Role")}
    trust = json.loads(roles["ml-dev-aws-ebs-csi"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    attached = {inputs(a)["policyArn"] for a in dev.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if "ebs-csi" in a.name}
    assert attached == {"arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"}


def test_addon_version_can_be_pinned():
    plan = plan_for({**MINIMAL, "aws": {"addonVersions": {"coredns": "v1.12.4-eksbuild.1"}}})
    coredns = next(inputs(a) for a in plan.by_type("aws:eks/addon:Addon") if inputs(a)["addonName"] == "coredns")
    assert coredns["addonVersion"] == "v1.12.4-eksbuild.1"


def test_shared_file_system_is_encrypted_and_mounted_in_every_private_subnet(dev):
    fs = inputs(dev.one("aws:efs/fileSystem:FileSystem"))
    assert fs["encrypted"] is True and fs["throughputMode"] == "elastic"
    assert len(dev.by_type("aws:efs/mountTarget:MountTarget")) == 3
    sg = inputs(dev.one("aws:ec2/securityGroup:SecurityGroup"))
    assert sg["ingress"] == [{"protocol": "tcp", "fromPort": 2049, "toPort": 2049, "cidrBlocks": ["10.20.0.0/16"], "description": "NFS from nodes"}]


def test_cluster_autoscaler_release_and_identity(dev):
    release = inputs(dev.one("kubernetes:helm.sh/v3:Release", "ml-dev-aws-cluster-autoscaler"))
    chart = catalog.CHARTS["cluster-autoscaler"]
    assert (release["chart"], release["repositoryOpts"]["repo"]) == (chart.name, chart.repo)
    assert release["version"] == catalog.CLUSTER_AUTOSCALER_CHARTS["1.35"] == "9.59.0"
    values = release["values"]
    assert values["autoDiscovery"]["clusterName"] == "ml-dev-aws"
    assert values["image"]["tag"] == catalog.CLUSTER_AUTOSCALER_IMAGE_TAGS["1.35"]
    assert values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    # It runs on the tainted system pool, so it must tolerate the taint (chart value
    # `tolerations`, default [] in cluster-autoscaler-chart-9.59.0 values.yaml).
    assert values["nodeSelector"] == {conventions.POOL_LABEL: "system"}
    assert values["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}]
    assoc = inputs(dev.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "ml-dev-aws-autoscaler"))
    assert (assoc["namespace"], assoc["serviceAccount"]) == ("kube-system", "cluster-autoscaler")
    policy = json.loads(inputs(dev.one("aws:iam/rolePolicy:RolePolicy", "ml-dev-aws-autoscaler"))["policy"])
    scale = next(s for s in policy["Statement"] if s["Sid"] == "ScaleOwnGroups")
    assert scale["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/ml-dev-aws": "owned"}}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.lstrip("v").split("."))


def test_autoscaler_chart_and_image_are_pinned_per_kubernetes_minor():
    # kubernetes/autoscaler: CA 1.35 locks --enable-dynamic-resource-allocation to true
    # (cluster-autoscaler-1.35.2 config/flags/flags.go) and needs list/watch on
    # resource.k8s.io, which charts/cluster-autoscaler/templates/clusterrole.yaml grants
    # from cluster-autoscaler-chart-9.54.0 (appVersion 1.35.0) on; 9.53.0 is appVersion 1.34.2.
    assert set(catalog.CLUSTER_AUTOSCALER_CHARTS) == set(catalog.KUBERNETES_VERSIONS) == set(catalog.CLUSTER_AUTOSCALER_IMAGE_TAGS)
    assert _version(catalog.CLUSTER_AUTOSCALER_CHARTS["1.35"]) >= (9, 54, 0)
    assert catalog.CLUSTER_AUTOSCALER_CHARTS["1.34"] == "9.53.0"
    for minor, tag in catalog.CLUSTER_AUTOSCALER_IMAGE_TAGS.items():
        assert _version(tag)[:2] == _version(minor), (minor, tag)


# Service Authorization Reference (docs.aws.amazon.com/service-authorization/latest/reference/
# list_amazonec2autoscaling.html, list_amazonec2.html, list_amazonelastickubernetesservice.html):
# these actions list no resource type, so "*" is the only Resource they accept.
UNSCOPABLE = {
    "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities", "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements",
}


def test_autoscaler_policy_uses_star_only_where_the_action_cannot_be_scoped():
    policy = json.loads(autoscaler_policy("c1", "us-east-1", "123456789012"))
    for statement in policy["Statement"]:
        if statement["Resource"] == "*":
            assert set(statement["Action"]) <= UNSCOPABLE, statement["Sid"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    # autoScalingGroup and nodegroup ARNs, as the reference spells them.
    assert by_sid["ScaleOwnGroups"]["Resource"] == "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/*"
    assert by_sid["DescribeOwnNodegroups"] == {
        "Sid": "DescribeOwnNodegroups", "Effect": "Allow", "Action": ["eks:DescribeNodegroup"],
        "Resource": "arn:aws:eks:us-east-1:123456789012:nodegroup/c1/*",
    }
    writes = [a for s in policy["Statement"] for a in s["Action"] if not a.split(":")[1].startswith(("Describe", "Get"))]
    assert sorted(writes) == ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    assert all("Condition" in s for s in policy["Statement"] if set(s["Action"]) & set(writes))


def test_node_role_policies(dev):
    attached = {inputs(a)["policyArn"].rsplit("/", 1)[1] for a in dev.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.name.startswith("ml-dev-aws-node-")}
    assert attached == {"AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonEKS_CNI_Policy"}


def test_kubeconfig_is_a_secret_that_calls_aws_eks_get_token(dev):
    raw = dev.outputs["kubeconfig"]
    assert is_secret(raw)
    doc = yaml.safe_load(raw["value"])
    exec_ = doc["users"][0]["user"]["exec"]
    assert exec_["command"] == "aws"
    assert exec_["args"] == ["eks", "get-token", "--output", "json", "--region", "us-east-1", "--cluster-name", "ml-dev-aws"]
    assert doc["clusters"][0]["cluster"]["server"].endswith(".gr7.us-east-1.eks.amazonaws.com")
    provider = dev.one("pulumi:providers:kubernetes")
    assert is_secret(provider.inputs["kubeconfig"])


def test_explicit_aws_provider_with_default_tags(dev):
    provider = inputs(dev.one("pulumi:providers:aws"))
    assert provider["region"] == "us-east-1"
    tags = json.loads(provider["defaultTags"])["tags"] if isinstance(provider["defaultTags"], str) else provider["defaultTags"]["tags"]
    assert tags["team"] == "ml-platform" and tags["ml-clusters/environment"] == "dev"

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


@pytest.fixture(scope="module")
def standby():
    """prod-aws-dr: its h100 pool is a managed node group (prod-aws's is on Karpenter:
    tests/clouds/aws/test_capacity.py)."""
    return plan_for_stack("prod-aws-dr")


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
    key = dev.one("aws:kms/key:Key", "ml-dev-aws-secrets")
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
    entry = inputs(prod.one("aws:eks/accessEntry:AccessEntry", "ml-prod-aws-admin-0"))
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


def test_on_demand_and_time_slicing_pools(prod, standby):
    h100 = node_group(standby, "h100")
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
    assert ng["launchTemplate"]["id"].startswith("lt-") and ng["launchTemplate"]["version"] == "1"


def test_autoscaler_node_template_tags_on_the_asg(standby):
    tags = [inputs(t) for t in standby.by_type("aws:autoscaling/tag:Tag") if "-h100-" in t.name]
    by_key = {t["tag"]["key"]: t for t in tags}
    prefix = "k8s.io/cluster-autoscaler/node-template"
    assert by_key[f"{prefix}/resources/nvidia.com/gpu"]["tag"]["value"] == "8"
    assert by_key[f"{prefix}/taint/nvidia.com/gpu"]["tag"]["value"] == "present:NoSchedule"
    assert by_key[f"{prefix}/label/{conventions.POOL_LABEL}"]["tag"]["value"] == "h100"
    assert by_key[f"{prefix}/label/{conventions.GPU_MODEL_LABEL}"]["tag"]["value"] == "h100"
    asg_names = {t["autoscalingGroupName"] for t in tags}
    assert len(asg_names) == 1 and next(iter(asg_names)).startswith("eks-ml-prod-aws-dr-h100-")
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
    assert scale["Resource"] == "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/*"
    describe = next(s for s in policy["Statement"] if s["Sid"] == "DescribeOwnNodegroups")
    assert describe["Resource"] == "arn:aws:eks:us-east-1:123456789012:nodegroup/ml-dev-aws/*"


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


# --- deploy order, from the plan's dependencies (the JSON plan's dependsOn) ---------------------


def urn(plan, type_, name):
    return plan.one(type_, name).urn


def deps(plan, resource):
    return set(resource.dependencies)


def test_platform_waits_for_system_pool_addons_and_admin_grants_not_worker_pools(prod):
    """DESIGN.md: the platform waits for what it runs on, no more. GPU and CPU pools come up
    in parallel with it. The kubernetes Provider itself waits too, so nothing that talks to
    the API is attempted before the nodes and add-ons it needs exist."""
    system = urn(prod, "aws:eks/nodeGroup:NodeGroup", "ml-prod-aws-system")
    addons = {urn(prod, "aws:eks/addon:Addon", f"ml-prod-aws-{a}")
              for a in ("vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent", "aws-ebs-csi-driver", "aws-efs-csi-driver")}
    grants = {r.urn for r in prod.by_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")}
    workers = {r.urn for r in prod.by_type("aws:eks/nodeGroup:NodeGroup") if r.name != "ml-prod-aws-system"}
    assert len(workers) == 2 and len(grants) == 1  # l4infer, cpu (h100 is Karpenter's); the platform admins
    needed = {system, *addons, *grants}
    provider = prod.one("pulumi:providers:kubernetes")
    assert needed <= deps(prod, provider) and not deps(prod, provider) & workers
    objects = [r for r in prod.resources if r.type.startswith("kubernetes:") and r.custom]
    assert len(objects) > 30
    for obj in objects:
        assert needed <= deps(prod, obj), obj.name
        assert not deps(prod, obj) & workers, obj.name


def test_cluster_and_node_groups_wait_for_their_roles_policy_attachments(dev):
    """A teardown must delete the cluster and node groups before their roles lose their
    policies: EKS needs them to clean up the ENIs it created (REFERENCE.md; the same
    ordering terraform-aws-modules/eks encodes with depends_on on the attachments)."""
    attachments = {r.name: r.urn for r in dev.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    cluster_grants = {u for n, u in attachments.items() if n.startswith("ml-dev-aws-cluster-")}
    node_grants = {u for n, u in attachments.items() if n.startswith("ml-dev-aws-node-")}
    assert len(cluster_grants) == 1 and len(node_grants) == 3
    assert cluster_grants <= deps(dev, dev.one("aws:eks/cluster:Cluster"))
    groups = dev.by_type("aws:eks/nodeGroup:NodeGroup")
    assert {g.name for g in groups} == {"ml-dev-aws-system", "ml-dev-aws-l4", "ml-dev-aws-cpu"}
    for group in groups:
        assert node_grants <= deps(dev, group), group.name
    ebs_grants = {u for n, u in attachments.items() if n.startswith("ml-dev-aws-ebs-csi-")}
    assert ebs_grants and ebs_grants <= deps(dev, dev.one("aws:eks/addon:Addon", "ml-dev-aws-aws-ebs-csi-driver"))


def test_nat_gateways_wait_for_the_internet_gateway(prod):
    # A public NAT gateway routes through the VPC's internet gateway (AWS VPC user guide,
    # "NAT gateways": the VPC must have an internet gateway attached).
    igw = urn(prod, "aws:ec2/internetGateway:InternetGateway", "ml-prod-aws-igw")
    nats = prod.by_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 3 and all(igw in deps(prod, n) for n in nats)


def test_the_json_plan_records_the_same_order(prod):
    from preview import report

    doc = json.loads(report.plan_json(prod, [], []))
    by_name = {r["name"]: r for r in doc["resources"]}
    system = by_name["ml-prod-aws-system"]["urn"]
    assert system in by_name["ml-prod-aws-k8s"]["dependsOn"]
    assert by_name["ml-prod-aws-l4infer"]["urn"] not in by_name["ml-prod-aws-k8s"]["dependsOn"]


# --- day 2: a version bump, add-on versions, raising minNodes -------------------------------------


def _dev_at(version: str, **overrides):
    from preview import engine

    values, secrets = engine.read_stack_config("dev-aws")
    values = {**values, "ml-clusters:kubernetesVersion": version}
    for key, value in overrides.items():
        values[f"ml-clusters:{key}"] = engine.config_string(value)
    return engine.run_program("dev-aws", values, secrets)


@pytest.fixture(scope="module")
def dev_134():
    return _dev_at("1.34")


def _changed(before, after) -> dict[str, set[str]]:
    old = {r.urn: inputs(r) for r in before.resources}
    new = {r.urn: inputs(r) for r in after.resources}
    assert set(old) == set(new), "a version bump must not add, remove or rename resources"
    return {
        u.split("::")[-1]: {k for k in set(old[u]) | set(new[u]) if old[u].get(k) != new[u].get(k)}
        for u in old if old[u] != new[u]
    }


def test_a_version_bump_upgrades_control_plane_node_groups_addons_and_autoscaler(dev_134, dev):
    """The same stack at 1.34 and 1.35: exactly the control plane, every node group (they
    set `version`, so they follow the cluster), every add-on (versions resolved per cluster
    version) and Cluster Autoscaler (chart and image per minor) change; plus the Pod Security
    version labels of the platform's namespaces. Nothing is replaced or renamed."""
    changed = _changed(dev_134, dev)
    addons = {f"ml-dev-aws-{a}" for a in catalog.EKS_ADDONS}
    groups = {"ml-dev-aws-system", "ml-dev-aws-l4", "ml-dev-aws-cpu"}
    namespaces = {"ml-dev-aws-gpu-namespace", "ml-dev-aws-monitoring-namespace", "ml-dev-aws-serving-research-namespace"}
    assert set(changed) == {"ml-dev-aws-eks", *groups, *addons, "ml-dev-aws-cluster-autoscaler", *namespaces}
    assert changed["ml-dev-aws-eks"] == {"version"}
    for group in groups:
        # releaseVersion: the new minor's AMI release (D8).
        assert changed[group] == {"version", "releaseVersion"}
        assert node_group(dev_134, group.rsplit("-", 1)[1])["version"] == "1.34"
        assert node_group(dev, group.rsplit("-", 1)[1])["version"] == "1.35"
    for addon in addons:
        assert changed[addon] == {"addonVersion"}
    ca_old = inputs(dev_134.one("kubernetes:helm.sh/v3:Release", "ml-dev-aws-cluster-autoscaler"))
    ca_new = inputs(dev.one("kubernetes:helm.sh/v3:Release", "ml-dev-aws-cluster-autoscaler"))
    assert (ca_old["version"], ca_old["values"]["image"]["tag"]) == ("9.53.0", "v1.34.5")
    assert (ca_new["version"], ca_new["values"]["image"]["tag"]) == ("9.59.0", "v1.35.2")


def test_node_groups_follow_the_cluster_version(dev):
    # pulumi_aws eks.NodeGroup `version`: "Defaults to EKS Cluster Kubernetes version. The
    # provider will only perform drift detection if a configuration value is provided."
    cluster = dev.one("aws:eks/cluster:Cluster")
    for group in dev.by_type("aws:eks/nodeGroup:NodeGroup"):
        assert inputs(group)["version"] == "1.35" and cluster.urn in group.dependencies


def test_addon_versions_are_resolved_for_the_cluster_version(dev_134, dev):
    # As terraform-aws-modules/eks does: aws.eks.get_addon_version(addon_name,
    # kubernetes_version, most_recent=True). The preview's mock answers with a version that
    # names the Kubernetes version it was resolved for.
    for plan, version in ((dev_134, "1.34"), (dev, "1.35")):
        for addon in plan.by_type("aws:eks/addon:Addon"):
            assert inputs(addon)["addonVersion"] == f"v0.0.0-mock.k{version}-eksbuild.1", addon.name


def test_pinned_addon_versions_survive_a_version_bump():
    pin = {"aws": {**{"groupPrincipalArns": {"ml-researchers": ["arn:aws:iam::123456789012:role/ml-researchers"]}},
                   "addonVersions": {"vpc-cni": "v1.20.4-eksbuild.1"}}}
    for version in ("1.34", "1.35"):
        plan = _dev_at(version, **pin)
        assert inputs(plan.one("aws:eks/addon:Addon", "ml-dev-aws-vpc-cni"))["addonVersion"] == "v1.20.4-eksbuild.1"
        assert inputs(plan.one("aws:eks/addon:Addon", "ml-dev-aws-coredns"))["addonVersion"].endswith(f"k{version}-eksbuild.1")


def test_raising_min_nodes_keeps_the_live_desired_size(dev):
    """What the plan does when minNodes goes up: the group's scalingConfig asks for the new
    minSize, and desiredSize is in ignore_changes (Cluster Autoscaler owns it), so the update
    sends the live desired size. EKS refuses a minSize above the desired size, so docs/aws.md's
    path raises the live desired size first (aws eks update-nodegroup-config), then up."""
    raised = _dev_at("1.35", gpuPools=[{"name": "l4", "instanceType": "g6.xlarge", "minNodes": 1, "maxNodes": 2, "spot": True, "diskGb": 150}])
    group = raised.one("aws:eks/nodeGroup:NodeGroup", "ml-dev-aws-l4")
    assert inputs(group)["scalingConfig"] == {"minSize": 1, "maxSize": 2, "desiredSize": 1}
    assert group.ignore_changes == ("scalingConfig.desiredSize",)
    assert dev.one("aws:eks/nodeGroup:NodeGroup", "ml-dev-aws-l4").ignore_changes == ("scalingConfig.desiredSize",)
    from pathlib import Path

    page = (Path(__file__).resolve().parents[3] / "docs" / "aws.md").read_text(encoding="utf-8")
    assert "aws eks update-nodegroup-config" in page and "desiredSize" in page


# --- access: NetworkPolicy, access entries, team groups ---------------------------------------------


def test_vpc_cni_enforces_network_policy(dev):
    # aws/amazon-vpc-cni-k8s v1.23.0 charts/aws-vpc-cni/values.yaml: `enableNetworkPolicy: "false"`
    # by default, passed to the node agent as --enable-network-policy (templates/daemonset.yaml).
    cni = inputs(dev.one("aws:eks/addon:Addon", "ml-dev-aws-vpc-cni"))
    assert json.loads(cni["configurationValues"]) == {"enableNetworkPolicy": "true"}


def test_the_policy_pack_passes_the_stacks_cni(dev, prod):
    from policies import offline

    for plan in (dev, prod):
        found = [v for v in offline.evaluate(plan.resources, "prod") if v.policy == "eks-vpc-cni-network-policy"]
        assert found == []


def test_the_deployer_gets_no_access_entry_of_ours(dev, prod):
    # bootstrapClusterCreatorAdminPermissions gives the creator its entry; a second one for
    # the same principal fails with 409 (EKS CreateAccessEntry: ResourceInUseException).
    deployer = "arn:aws:iam::123456789012:user/preview"  # the mock's caller identity
    for plan in (dev, prod):
        assert inputs(plan.one("aws:eks/cluster:Cluster"))["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True
        assert deployer not in {inputs(e)["principalArn"] for e in plan.by_type("aws:eks/accessEntry:AccessEntry")}
        assert not [w for w in plan.warnings if "409" in w]


def test_listing_the_deployer_warns_about_the_409():
    plan = plan_for({**MINIMAL, "aws": {"adminPrincipalArns": ["arn:aws:iam::123456789012:user/preview"]}})
    assert [w for w in plan.warnings if w.startswith("aws: arn:aws:iam::123456789012:user/preview runs `pulumi up`") and "409" in w]


def test_team_groups_come_from_access_entries(dev):
    entries = {inputs(e)["principalArn"]: inputs(e) for e in dev.by_type("aws:eks/accessEntry:AccessEntry")}
    assert entries == {"arn:aws:iam::123456789012:role/ml-researchers": {
        "clusterName": "ml-dev-aws", "principalArn": "arn:aws:iam::123456789012:role/ml-researchers",
        "type": "STANDARD", "kubernetesGroups": ["ml-researchers"],
    }}
    # No access policy for team entries: the namespace's RoleBinding is the authorization.
    assert dev.by_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation") == []
    assert dev.by_type("aws:eks/identityProviderConfig:IdentityProviderConfig") == []


def test_team_groups_come_from_the_oidc_provider(prod):
    idp = inputs(prod.one("aws:eks/identityProviderConfig:IdentityProviderConfig"))
    assert idp["oidc"] == {"identityProviderConfigName": "teams", "issuerUrl": "https://login.example.com/oauth2/default",
                           "clientId": "eks-ml-prod", "groupsClaim": "groups", "usernameClaim": "email"}


def test_the_oidc_association_waits_for_every_node_group_and_addon(prod):
    """Q1: associating an identity provider is a cluster update of 15-25 minutes during which
    EKS refuses other cluster updates and node group creation (aws/containers-roadmap#1438,
    eksctl#2244); it goes last, after every node group and add-on of the backend."""
    deps = set(prod.one("aws:eks/identityProviderConfig:IdentityProviderConfig").dependencies)
    groups = {r.urn for r in prod.by_type("aws:eks/nodeGroup:NodeGroup")}
    addons = {r.urn for r in prod.by_type("aws:eks/addon:Addon") if not r.name.endswith("snapshot-controller")}
    assert groups and groups <= deps
    assert addons and addons <= deps


@pytest.mark.parametrize("stack", ["dev-aws", "prod-aws"])
def test_every_namespace_group_is_supplied(stack, dev, prod):
    """A RoleBinding to a group nothing puts users in is inert (REFERENCE.md). On EKS only
    access entries' kubernetesGroups or an OIDC provider's groups claim supply groups."""
    plan = {"dev-aws": dev, "prod-aws": prod}[stack]
    bound = {s["name"] for r in plan.by_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
             for s in inputs(r).get("subjects", []) if s["kind"] == "Group"}
    assert bound
    supplied = {g for e in plan.by_type("aws:eks/accessEntry:AccessEntry") for g in inputs(e).get("kubernetesGroups", [])}
    by_idp = bool(plan.by_type("aws:eks/identityProviderConfig:IdentityProviderConfig"))
    assert by_idp or bound <= supplied


def test_principals_with_several_groups_get_one_entry():
    plan = plan_for({**MINIMAL, "aws": {"groupPrincipalArns": {
        "ml-a": ["arn:aws:iam::123456789012:role/ml-team"], "ml-b": ["arn:aws:iam::123456789012:role/ml-team"]}}})
    [entry] = plan.by_type("aws:eks/accessEntry:AccessEntry")
    assert inputs(entry)["kubernetesGroups"] == ["ml-a", "ml-b"]


# --- pools: the tainted system pool, CPU pools, scale-from-zero tags ----------------------------------


def tags_of(plan, pool):
    prefix = "k8s.io/cluster-autoscaler/node-template/"
    return {inputs(t)["tag"]["key"][len(prefix):]: inputs(t)["tag"]["value"]
            for t in plan.by_type("aws:autoscaling/tag:Tag") if t.name.startswith(f"{plan.outputs['clusterName']}-{pool}-")}


def test_cpu_pool_node_group(dev):
    ng = node_group(dev, "cpu")
    assert ng["amiType"] == "AL2023_x86_64_STANDARD" and ng["instanceTypes"] == ["m7i.xlarge"]
    assert ng["taints"] == [] and ng["capacityType"] == "SPOT"
    assert ng["scalingConfig"] == {"minSize": 0, "maxSize": 3, "desiredSize": 0}
    assert ng["labels"] == {conventions.POOL_LABEL: "cpu", conventions.GPU_NODE_LABEL: "false", conventions.SPOT_LABEL: "true"}
    # Scale from zero: CA learns CPU and memory from the instance type, labels from the tags.
    assert tags_of(dev, "cpu") == {f"label/{k}": v for k, v in ng["labels"].items()}


def test_system_pool_addons_tolerate_the_taint(dev):
    """Every EKS add-on that may run on the tainted system pool tolerates it:
    vpc-cni and the Pod Identity agent are DaemonSets tolerating everything (aws-vpc-cni
    v1.23.0 chart `tolerations: [{operator: Exists}]`, aws/eks-pod-identity-agent v0.1.37 chart
    the same), and so is EKS's kube-proxy DaemonSet (`operator: Exists`, as kubeadm's); EBS CSI (v1.64.0 chart controller.tolerations) and EFS CSI (helm-chart
    4.4.1 controller.tolerations) controllers tolerate CriticalAddonsOnly by default;
    metrics-server's chart (3.13.1) tolerates nothing, so it and CoreDNS get it set."""
    expected = [{"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}]
    for addon in ("coredns", "metrics-server"):
        values = json.loads(inputs(dev.one("aws:eks/addon:Addon", f"ml-dev-aws-{addon}"))["configurationValues"])
        assert values == {"tolerations": expected}, addon
    for addon in ("kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver", "aws-efs-csi-driver"):
        assert "configurationValues" not in inputs(dev.one("aws:eks/addon:Addon", f"ml-dev-aws-{addon}")), addon


def test_platform_pods_tolerate_the_system_taint(dev):
    release = next(r for r in dev.by_type("kubernetes:helm.sh/v3:Release") if r.name.endswith("kube-prometheus-stack"))
    tolerations = inputs(release)["values"]["prometheus"]["prometheusSpec"]["tolerations"]
    assert {"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"} in tolerations


def test_time_sliced_pools_advertise_gpus_times_replicas(prod, standby):
    # The tags overwrite the template node's capacity (REFERENCE.md); the device plugin
    # advertises each GPU `replicas` times under nvidia.com/gpu (renameByDefault false).
    assert tags_of(prod, "l4infer")["resources/nvidia.com/gpu"] == "4"  # g6.2xlarge: 1 L4 x 4 replicas
    assert tags_of(standby, "h100")["resources/nvidia.com/gpu"] == "8"


@pytest.mark.parametrize("strategy, profile, resource, count", [
    ("mixed", "1g.10gb", "nvidia.com/mig-1g.10gb", "56"),  # 8 H100 x 7
    ("mixed", "3g.40gb", "nvidia.com/mig-3g.40gb", "16"),  # 8 x 2
    ("single", "1g.20gb", "nvidia.com/gpu", "32"),  # 8 x 4
    ("single", "7g.80gb", "nvidia.com/gpu", "8"),
])
def test_mig_pools_advertise_their_mig_devices(strategy, profile, resource, count):
    # NVIDIA MIG user guide, H100 profiles: 1g.10gb x7, 1g.20gb x4, 2g.20gb x3, 3g.40gb x2,
    # 4g.40gb and 7g.80gb x1. k8s-device-plugin: `single` shows slices as nvidia.com/gpu,
    # `mixed` as nvidia.com/mig-<profile>.
    plan = plan_for({**MINIMAL, "gpuPools": [{"name": "h100", "instanceType": "p5.48xlarge",
                                              "sharing": {"mig": {"strategy": strategy, "profile": profile}}}]})
    tags = tags_of(plan, "h100")
    resources = {k: v for k, v in tags.items() if k.startswith("resources/")}
    assert resources == {f"resources/{resource}": count}
    labels = node_group(plan, "h100")["labels"]
    # CA counts only nvidia.com/gpu as a ready GPU (utils/gpu NodeHasGpuAllocatable, 1.35.2):
    # with its GPU label on a mixed-MIG node it would wait for a GPU that never shows up.
    assert ("k8s.amazonaws.com/accelerator" in labels) is (strategy == "single")


def test_mig_pool_nodes_join_with_mig_managers_labels():
    # EKS has no MIG setting: the platform's NVIDIA mig-manager cuts the GPUs. The node group
    # labels its nodes with the layout mig-manager reads (nvidia.com/mig.config) and with the
    # GPU agents' deploy labels set "true", which mig-manager turns to paused-for-mig-change
    # while it cuts and back (NVIDIA/mig-parted v0.15.0 pkg/mig/reconfigure/reconfigure.go:
    # devicePluginDeployLabel, gpuFeatureDiscoveryDeployLabel, dcgmExporterDeployLabel).
    # Scale from zero: the autoscaler's template node carries the same labels.
    plan = plan_for({**MINIMAL, "gpuPools": [{"name": "h100", "instanceType": "p5.48xlarge",
                                              "sharing": {"mig": {"strategy": "mixed", "profile": "1g.10gb"}}},
                                             {"name": "l4", "instanceType": "g6.xlarge"}]})
    expected = {
        "nvidia.com/mig.config": "all-1g.10gb",
        "nvidia.com/gpu.deploy.device-plugin": "true",
        "nvidia.com/gpu.deploy.gpu-feature-discovery": "true",
        "nvidia.com/gpu.deploy.dcgm-exporter": "true",
    }
    labels = node_group(plan, "h100")["labels"]
    assert {k: labels.get(k) for k in expected} == expected
    tags = tags_of(plan, "h100")
    assert {k: tags.get(f"label/{k}") for k in expected} == expected
    assert not {k for k in node_group(plan, "l4")["labels"] if k.startswith("nvidia.com/")}


# --- secure defaults a scanner asks for -----------------------------------------------------------


def test_vpc_flow_logs_go_to_an_encrypted_log_group_with_retention(dev, prod):
    for plan, days in ((dev, 30), (prod, 365)):
        name = plan.outputs["clusterName"]
        flow = inputs(plan.one("aws:ec2/flowLog:FlowLog"))
        assert flow["vpcId"].startswith("vpc-") and flow["trafficType"] == "ALL"
        assert flow["logDestinationType"] == "cloud-watch-logs" and flow["iamRoleArn"] == f"arn:aws:iam::123456789012:role/{name}-flow-logs"
        group = plan.one("aws:cloudwatch/logGroup:LogGroup", f"{name}-flow-logs")
        assert inputs(group)["retentionInDays"] == days
        assert inputs(group)["kmsKeyId"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
        trust = json.loads(inputs(plan.one("aws:iam/role:Role", f"{name}-flow-logs"))["assumeRolePolicy"])
        assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
        assert trust["Statement"][0]["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
        write = json.loads(inputs(plan.one("aws:iam/rolePolicy:RolePolicy", f"{name}-flow-logs"))["policy"])
        arn = f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc/{name}/flow-logs"
        assert write["Statement"][0]["Resource"] == [arn, f"{arn}:*"] and flow["logDestination"] == arn


def test_the_default_security_group_is_emptied(dev):
    # pulumi_aws ec2.DefaultSecurityGroup: adopting it "immediately removes all ingress and
    # egress rules", then adds only the declared ones: none here.
    sg = inputs(dev.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"))
    assert sg["vpcId"].startswith("vpc-") and "ingress" not in sg and "egress" not in sg


def kms_policies(plan):
    return {k.name: json.loads(inputs(k)["policy"]) for k in plan.by_type("aws:kms/key:Key")}


def test_the_kms_key_policy_names_its_principals(dev, prod):
    """D3: every key keeps KMS's account statement (IAM policies of the account decide, so a
    second deployer or CI can update and destroy the stack), names the stack's admins, never
    the deployer (the policy must not change with who runs `pulumi up`), and no wildcard."""
    for plan in (dev, prod):
        name = plan.outputs["clusterName"]
        policy = json.loads(inputs(plan.one("aws:kms/key:Key", f"{name}-secrets"))["policy"])
        by_sid = {s["Sid"]: s for s in policy["Statement"]}
        principals = [p for s in policy["Statement"] for v in s["Principal"].values() for p in ([v] if isinstance(v, str) else v)]
        assert "*" not in principals
        assert by_sid["AccountIamPolicies"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
        assert "arn:aws:iam::123456789012:user/preview" not in principals  # the deployer
        assert by_sid["EksSecretsEncryption"]["Principal"] == {"AWS": f"arn:aws:iam::123456789012:role/{name}-cluster"}
        logs = by_sid["CloudWatchLogsOfThisCluster"]
        assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
        assert logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == [
            f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/eks/{name}/cluster",
            f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc/{name}/flow-logs",
        ]
    assert "KeyAdministrators" not in {s["Sid"] for s in kms_policies(dev)["ml-dev-aws-secrets"]["Statement"]}  # no admins listed
    prod_admins = {s["Sid"]: s for s in kms_policies(prod)["ml-prod-aws-secrets"]["Statement"]}["KeyAdministrators"]
    assert "arn:aws:iam::123456789012:role/platform-admins" in prod_admins["Principal"]["AWS"]
    assert not {"kms:Encrypt", "kms:Decrypt"} & set(prod_admins["Action"])


def test_the_kms_key_policy_does_not_depend_on_who_deploys():
    """D3: Alice creates the stack, CI runs the next `pulumi up`: the key policy is the same,
    so there is no PutKeyPolicy (which KMS authorizes against the current policy)."""
    from preview import mocks

    raw = {**MINIMAL}
    first = kms_policies(plan_for(raw))
    saved = mocks.CALLS["aws:index/getCallerIdentity:getCallerIdentity"]
    mocks.CALLS["aws:index/getCallerIdentity:getCallerIdentity"] = lambda a: {
        **saved(a), "arn": f"arn:aws:iam::{mocks.ACCOUNT_ID}:role/ci-deployer"}
    try:
        second = kms_policies(plan_for(raw))
    finally:
        mocks.CALLS["aws:index/getCallerIdentity:getCallerIdentity"] = saved
    assert first == second and first


def test_store_and_replica_keys_have_the_same_explicit_policy_shape(prod):
    """Item 7: the model-store and replica keys no longer fall back to KMS's implicit default;
    they carry the account statement and the stack's admins like the cluster key."""
    policies = kms_policies(prod)
    stores = {n: p for n, p in policies.items() if "stores" in n}
    assert set(stores) == {"ml-prod-aws-stores-stores", "ml-prod-aws-stores-stores-replica"}
    for policy in stores.values():
        by_sid = {s["Sid"]: s for s in policy["Statement"]}
        assert by_sid["AccountIamPolicies"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
        assert by_sid["KeyAdministrators"] == {s["Sid"]: s for s in policies["ml-prod-aws-secrets"]["Statement"]}["KeyAdministrators"]


def test_efs_uses_the_stacks_own_key_in_prod(dev, prod):
    assert inputs(prod.one("aws:efs/fileSystem:FileSystem"))["kmsKeyId"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert "kmsKeyId" not in inputs(dev.one("aws:efs/fileSystem:FileSystem"))
    efs = next(s for s in json.loads(inputs(prod.one("aws:kms/key:Key", "ml-prod-aws-secrets"))["policy"])["Statement"] if s["Sid"] == "EfsThroughTheService")
    assert efs["Condition"]["StringEquals"]["kms:ViaService"] == "elasticfilesystem.us-east-1.amazonaws.com"


# --- bad EKS config: one line each ------------------------------------------------------------------


@pytest.mark.parametrize("aws, expected", [
    ({"adminPrincipalArns": ["arn:aws:sts::123456789012:assumed-role/platform-admins/alice"]},
     "aws.adminPrincipalArns[0]: 'arn:aws:sts::123456789012:assumed-role/platform-admins/alice' is an STS session ARN, "
     "which EKS access entries do not take; allowed: the IAM role behind it, e.g. arn:aws:iam::123456789012:role/platform-admins (with its path, if any)"),
    ({"adminPrincipalArns": ["arn:aws:iam::123456789012:group/admins"]},
     "aws.adminPrincipalArns[0]: 'arn:aws:iam::123456789012:group/admins' is not an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/platform-admins"),
    ({"groupPrincipalArns": {"ml": ["arn:aws:sts::123456789012:assumed-role/ml/bob"]}},
     "aws.groupPrincipalArns.ml[0]: 'arn:aws:sts::123456789012:assumed-role/ml/bob' is an STS session ARN, which EKS access entries do not take; "
     "allowed: the IAM role behind it, e.g. arn:aws:iam::123456789012:role/ml (with its path, if any)"),
    ({"adminPrincipalArns": ["arn:aws:iam::123456789012:role/a"], "groupPrincipalArns": {"ml": ["arn:aws:iam::123456789012:role/a"]}},
     "aws.groupPrincipalArns.ml[0]: 'arn:aws:iam::123456789012:role/a' already has an access entry as aws.adminPrincipalArns[0]; "
     "EKS takes one entry per principal; allowed: drop it here (admins see every namespace)"),
    ({"groupPrincipalArns": {"system:masters": ["arn:aws:iam::123456789012:role/a"]}},
     "aws.groupPrincipalArns.system:masters: not a group EKS can map; allowed: a group name without surrounding spaces, not starting with system:"),
    ({"identityProvider": {"issuerUrl": "http://login.example.com", "clientId": "eks"}},
     "aws.identityProvider.issuerUrl: 'http://login.example.com' is not an https URL; allowed: the provider's issuer, e.g. https://login.example.com"),
])
def test_bad_access_config_is_one_line(aws, expected):
    from tests.conftest import config_errors

    assert expected in config_errors({**MINIMAL, "aws": aws})


def test_a_namespace_group_nothing_supplies_gets_a_warning():
    # A warning, not an error: a portable stack (one file for every cloud) cannot carry aws.*.
    plan = plan_for({**MINIMAL, "namespaces": [{"name": "search", "team": "search", "group": "search-eng"}]})
    assert plan.warnings == [
        "namespaces[0].group: 'search-eng' is given to nobody on EKS: no aws.groupPrincipalArns entry maps IAM principals to it "
        "and no aws.identityProvider supplies groups, so its RoleBinding grants nothing; add aws.groupPrincipalArns.search-eng, or set aws.identityProvider"
    ]
    supplied = {**MINIMAL, "namespaces": [{"name": "search", "team": "search", "group": "search-eng"}],
                "aws": {"groupPrincipalArns": {"search-eng": ["arn:aws:iam::210987654321:role/search"]}}}  # not a documentation account
    assert plan_for(supplied).warnings == []



def test_node_groups_follow_the_newest_ami_release_of_their_minor():
    """D8: EKS keeps a managed node group on the AMI release it was created with unless
    release_version changes. Each group's release is read from AWS's public SSM parameter for
    its AMI type and the stack's minor (terraform-aws-modules/eks v21.19.0
    use_latest_ami_release_version), so a new release rolls the nodes and a minor bump moves
    to the new minor's release."""
    from types import SimpleNamespace

    from components.clouds.aws.cluster import ami_release_parameter
    from preview.mocks import CALLS

    def release(name):
        return CALLS["aws:ssm/getParameter:getParameter"](SimpleNamespace(args={"name": name}))["insecureValue"]

    pools = {"gpuPools": [{"name": "l4", "instanceType": "g6.xlarge", "maxNodes": 2}],
             "cpuPools": [{"name": "arm", "instanceType": "m7g.xlarge", "maxNodes": 2}]}
    seen = {}
    for version in ("1.34", "1.35"):
        plan = plan_for({**MINIMAL, "kubernetesVersion": version, **pools})
        for group in plan.by_type("aws:eks/nodeGroup:NodeGroup"):
            ng = inputs(group)
            assert ng["releaseVersion"] == release(ami_release_parameter(version, ng["amiType"])), group.name
            seen[(version, ng["amiType"])] = ng["releaseVersion"]
    assert {t for _, t in seen} == {"AL2023_x86_64_NVIDIA", "AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD"}
    assert len(set(seen.values())) == len(seen)  # one release per minor and AMI type
    assert ami_release_parameter("1.35", "AL2023_ARM_64_NVIDIA") == \
        "/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/arm64/nvidia/recommended/release_version"

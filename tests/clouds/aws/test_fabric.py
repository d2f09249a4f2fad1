"""EKS EFA (components/clouds/aws/fabric.py) on the plan: the pool's security group, placement
group, launch template interfaces, one subnet, the device plugin, and their order.

Upstream facts relied on, each named where it is used:
- EC2 User Guide, efa-start "Prepare an EFA-enabled security group": inbound and outbound all
  traffic from/to the group itself; efa-acc-inst-types.md: the primary interface (card 0,
  device 0) cannot be EFA-only, further cards take EFA-only interfaces at device 0.
- EKS user guide node-efa: a managed node group's EFA pool lives in one AZ and gets its
  security groups on the launch template's interfaces (EKS adds none then).
- aws/eks-charts v0.5.30 stable/aws-efa-k8s-device-plugin (values.yaml nodeSelector and
  tolerations, templates/daemonset.yaml: the DaemonSet tolerates only CriticalAddonsOnly
  besides `tolerations`), advertising `vpc.amazonaws.com/efa`.
- kubernetes/autoscaler cloudprovider/aws aws_manager.go: node-template resource tags.
"""

from __future__ import annotations

import pytest

from components import catalog, conventions
from components.clouds.aws.fabric import EFA_RESOURCE, efa_network_interfaces
from tests.conftest import inputs, plan_for, plan_for_stack

MINIMAL = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True}}
CLUSTER = "ml-prod-aws"


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-aws")


def test_efa_security_group_allows_all_traffic_to_and_from_itself(prod):
    sg = prod.one("aws:ec2/securityGroup:SecurityGroup", f"{CLUSTER}-h100-efa")
    ingress = inputs(prod.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", f"{CLUSTER}-h100-efa-self-in"))
    egress = inputs(prod.one("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", f"{CLUSTER}-h100-efa-self-out"))
    sg_id = ingress["securityGroupId"]
    assert sg_id.startswith("sg-") and inputs(sg)["vpcId"].startswith("vpc-")
    for rule in (ingress, egress):
        assert rule["ipProtocol"] == "-1"  # every protocol and port
        assert rule["securityGroupId"] == sg_id and rule["referencedSecurityGroupId"] == sg_id
        assert "cidrIpv4" not in rule and "cidrIpv6" not in rule


def test_cluster_placement_group(prod):
    pg = inputs(prod.one("aws:ec2/placementGroup:PlacementGroup", f"{CLUSTER}-h100-efa"))
    assert pg["strategy"] == "cluster"


def test_launch_template_puts_every_efa_interface_in_the_group_with_the_placement_group(prod):
    fabric = catalog.cloud("aws").fabric("p5.48xlarge")
    lt = inputs(prod.one("aws:ec2/launchTemplate:LaunchTemplate", f"{CLUSTER}-h100"))
    interfaces = lt["networkInterfaces"]
    assert len(interfaces) == fabric.nics == 32
    assert [i["networkCardIndex"] for i in interfaces] == list(range(fabric.nics))
    assert all(i["deviceIndex"] == 0 and i["deleteOnTermination"] == "true" for i in interfaces)
    # The primary interface is an EFA with the node's IP; the rest take no IP (efa-only).
    assert interfaces[0]["interfaceType"] == "efa"
    assert {i["interfaceType"] for i in interfaces[1:]} == {"efa-only"}
    efa_sg = inputs(prod.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", f"{CLUSTER}-h100-efa-self-in"))["securityGroupId"]
    # The EFA group and EKS's cluster security group (what EKS would attach itself).
    groups = {tuple(i["securityGroups"]) for i in interfaces}
    assert len(groups) == 1
    (cluster_sg, group), = groups
    assert group == efa_sg and cluster_sg.startswith("sg-") and cluster_sg != efa_sg
    pg = inputs(prod.one("aws:ec2/placementGroup:PlacementGroup", f"{CLUSTER}-h100-efa"))
    assert lt["placement"] == {"groupName": pg["name"]}
    # No subnet in a managed node group's launch template.
    assert all("subnetId" not in i for i in interfaces)


def test_a_pool_without_fabric_keeps_the_plain_launch_template(prod):
    lt = inputs(prod.one("aws:ec2/launchTemplate:LaunchTemplate", f"{CLUSTER}-l4infer"))
    assert "networkInterfaces" not in lt and "placement" not in lt
    assert not [r for r in prod.by_type("aws:ec2/placementGroup:PlacementGroup") if "l4infer" in r.name]


def test_the_efa_pool_lives_in_one_subnet_and_others_in_all(prod):
    h100 = inputs(prod.one("aws:eks/nodeGroup:NodeGroup", f"{CLUSTER}-h100"))
    l4 = inputs(prod.one("aws:eks/nodeGroup:NodeGroup", f"{CLUSTER}-l4infer"))
    assert len(h100["subnetIds"]) == 1 and len(l4["subnetIds"]) == 3
    assert h100["subnetIds"][0] in l4["subnetIds"]
    assert h100["labels"][conventions.FABRIC_LABEL] == "efa"
    assert conventions.FABRIC_LABEL not in l4["labels"]


def test_security_group_rules_and_placement_group_come_before_the_node_group(prod):
    group = prod.one("aws:eks/nodeGroup:NodeGroup", f"{CLUSTER}-h100")
    lt = prod.one("aws:ec2/launchTemplate:LaunchTemplate", f"{CLUSTER}-h100")
    before = {
        prod.one("aws:ec2/securityGroup:SecurityGroup", f"{CLUSTER}-h100-efa").urn,
        prod.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", f"{CLUSTER}-h100-efa-self-in").urn,
        prod.one("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", f"{CLUSTER}-h100-efa-self-out").urn,
        prod.one("aws:ec2/placementGroup:PlacementGroup", f"{CLUSTER}-h100-efa").urn,
    }
    assert before <= set(group.dependencies)
    assert lt.urn in group.dependencies


def test_autoscaler_template_advertises_the_efa_interfaces(prod):
    # Cluster Autoscaler scales an empty group up for a pod only if the template offers what
    # the pod requests: the EFA interfaces too.
    fabric = catalog.cloud("aws").fabric("p5.48xlarge")
    tag = inputs(prod.one("aws:autoscaling/tag:Tag", f"{CLUSTER}-h100-resources-vpc-amazonaws-com-efa"))
    assert tag["tag"]["key"] == f"k8s.io/cluster-autoscaler/node-template/resources/{EFA_RESOURCE}"
    assert tag["tag"]["value"] == str(fabric.nics)


def test_device_plugin_pinned_on_fabric_nodes_tolerating_the_gpu_taint(prod):
    release = prod.one("kubernetes:helm.sh/v3:Release", f"{CLUSTER}-efa-device-plugin")
    values = inputs(release)
    chart = catalog.CHARTS["aws-efa-k8s-device-plugin"]
    assert (values["chart"], values["version"], values["repositoryOpts"]["repo"]) == (chart.name, chart.version, chart.repo)
    assert values["namespace"] == "kube-system"
    assert values["values"]["nodeSelector"] == {conventions.FABRIC_LABEL: "efa"}
    assert conventions.GPU_TAINT.toleration() in values["values"]["tolerations"]
    # It waits for the system pool like the rest of the platform, not for the GPU pool.
    system = prod.one("aws:eks/nodeGroup:NodeGroup", f"{CLUSTER}-system").urn
    assert system in release.dependencies


def test_no_efa_resources_without_a_fabric_pool():
    plan = plan_for({**MINIMAL, "gpuPools": [{"name": "h100", "instanceType": "p5.48xlarge", "interconnect": "none"}]})
    assert not plan.by_type("aws:ec2/placementGroup:PlacementGroup")
    assert not [r for r in plan.by_type("kubernetes:helm.sh/v3:Release") if "efa" in r.name]
    group = inputs(plan.one("aws:eks/nodeGroup:NodeGroup", plan.outputs["clusterName"] + "-h100"))
    assert len(group["subnetIds"]) == 3 and conventions.FABRIC_LABEL not in group["labels"]


@pytest.mark.parametrize("itype", sorted(catalog.cloud("aws").fabrics))
def test_interface_layout_per_type(itype):
    nics = catalog.cloud("aws").fabric(itype).nics
    layout = efa_network_interfaces(nics, ["sg-a", "sg-b"])
    assert [(i["network_card_index"], i["interface_type"]) for i in layout] == [(0, "efa")] + [(c, "efa-only") for c in range(1, nics)]

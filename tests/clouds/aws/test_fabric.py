"""EKS EFA (components/clouds/aws/fabric.py) on the plan: the pool's security group, placement
group, launch template interfaces, one subnet, the device plugin, and their order. Both paths:
a managed node group (prod-aws-dr's h100, Cluster Autoscaler) and a Karpenter pool (prod-aws's
h100, reserved then on-demand), whose EC2NodeClass carries the same facts.

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
- aws/karpenter-provider-aws v1.14.1: pkg/apis/v1/ec2nodeclass.go (networkInterfaces with
  types `interface` / `efa-only`, the primary at card 0 device 0 an `interface`, at most one
  efa-only per card; placementGroupSelector by name or id; subnet and security group terms by
  id), pkg/providers/launchtemplate/launchtemplate.go generateNetworkInterfaces (every
  interface gets every selected security group), website/content/en/v1.14/concepts/
  nodeclasses.md (spec.networkInterfaces, spec.placementGroupSelector).
"""

from __future__ import annotations

import pytest

from components import catalog, conventions
from components.clouds.aws.fabric import EFA_RESOURCE, efa_network_interfaces, karpenter_network_interfaces
from tests.clouds.aws import karpenter_crds
from tests.conftest import inputs, plan_for, plan_for_stack

MINIMAL = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": True}}
CLUSTER = "ml-prod-aws-dr"  # the node group path
KARPENTER = "ml-prod-aws"  # the Karpenter path
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
NODECLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


@pytest.fixture(scope="module")
def prod():
    """prod-aws-dr: its h100 (p5.48xlarge, no capacity chain) keeps a managed node group."""
    return plan_for_stack("prod-aws-dr")


@pytest.fixture(scope="module")
def kprod():
    """prod-aws: its h100 is on Karpenter."""
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


# --- The Karpenter path (prod-aws h100) -------------------------------------------------------


def efa_group_id(plan, cluster: str, pool: str = "h100") -> str:
    return inputs(plan.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", f"{cluster}-{pool}-efa-self-in"))["securityGroupId"]


def test_karpenter_pool_gets_the_self_referencing_group_and_placement_group(kprod):
    assert not [g for g in kprod.by_type("aws:eks/nodeGroup:NodeGroup") if g.name.endswith("-h100")]
    sg = efa_group_id(kprod, KARPENTER)
    for kind in ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"):
        (rule,) = [inputs(r) for r in kprod.by_type(kind) if r.name.startswith(f"{KARPENTER}-h100-efa-self-")]
        assert (rule["ipProtocol"], rule["securityGroupId"], rule["referencedSecurityGroupId"]) == ("-1", sg, sg)
    assert inputs(kprod.one("aws:ec2/placementGroup:PlacementGroup", f"{KARPENTER}-h100-efa"))["strategy"] == "cluster"


def test_karpenter_nodeclass_one_subnet_efa_group_interfaces_and_placement_group(kprod):
    fabric = catalog.cloud("aws").fabric("p5.48xlarge")
    spec = inputs(kprod.one(NODECLASS, f"{KARPENTER}-h100-nodeclass"))["spec"]
    # One subnet, by id: the first of the private subnets the other pools span.
    l4 = inputs(kprod.one("aws:eks/nodeGroup:NodeGroup", f"{KARPENTER}-l4infer"))
    assert spec["subnetSelectorTerms"] == [{"id": l4["subnetIds"][0]}] and len(l4["subnetIds"]) == 3
    # The cluster security group (EKS's, which the nodes need to join) and the EFA group, by id.
    cluster_sg, efa_sg = (t["id"] for t in spec["securityGroupSelectorTerms"])
    assert efa_sg == efa_group_id(kprod, KARPENTER) and cluster_sg.startswith("sg-") and cluster_sg != efa_sg
    # Karpenter's layout: the node's ENA at card 0 device 0, one efa-only interface per card
    # (card 0 at device 1): as many EFA devices as the type has cards, and one IP per node.
    layout = spec["networkInterfaces"]
    assert layout[0] == {"networkCardIndex": 0, "deviceIndex": 0, "interfaceType": "interface"}
    efa = [i for i in layout if i["interfaceType"] == "efa-only"]
    assert len(efa) == len(layout) - 1 == fabric.nics == 32
    assert sorted(i["networkCardIndex"] for i in efa) == list(range(fabric.nics))
    pg = inputs(kprod.one("aws:ec2/placementGroup:PlacementGroup", f"{KARPENTER}-h100-efa"))
    assert spec["placementGroupSelector"] == {"name": pg["name"]}
    assert karpenter_crds.errors(inputs(kprod.one(NODECLASS, f"{KARPENTER}-h100-nodeclass"))) == []


def test_karpenter_nodeclass_waits_for_the_group_its_rules_and_the_placement_group(kprod):
    node_class = kprod.one(NODECLASS, f"{KARPENTER}-h100-nodeclass")
    before = {
        kprod.one("aws:ec2/securityGroup:SecurityGroup", f"{KARPENTER}-h100-efa").urn,
        kprod.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", f"{KARPENTER}-h100-efa-self-in").urn,
        kprod.one("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", f"{KARPENTER}-h100-efa-self-out").urn,
        kprod.one("aws:ec2/placementGroup:PlacementGroup", f"{KARPENTER}-h100-efa").urn,
    }
    assert before <= set(node_class.dependencies)
    assert node_class.urn in kprod.one(NODEPOOL, f"{KARPENTER}-h100-nodepool").dependencies


def test_karpenter_nodes_carry_the_fabric_label_the_device_plugin_selects(kprod):
    labels = inputs(kprod.one(NODEPOOL, f"{KARPENTER}-h100-nodepool"))["spec"]["template"]["metadata"]["labels"]
    release = inputs(kprod.one("kubernetes:helm.sh/v3:Release", f"{KARPENTER}-efa-device-plugin"))
    assert release["values"]["nodeSelector"] == {conventions.FABRIC_LABEL: labels[conventions.FABRIC_LABEL]} == {conventions.FABRIC_LABEL: "efa"}
    assert conventions.GPU_TAINT.toleration() in release["values"]["tolerations"]
    # The NodePool lets Karpenter start EFA nodes: its type has EFA, and its limits count nodes
    # and GPUs only (no vpc.amazonaws.com/efa limit to run into).
    spec = inputs(kprod.one(NODEPOOL, f"{KARPENTER}-h100-nodepool"))["spec"]
    (types,) = [r["values"] for r in spec["template"]["spec"]["requirements"] if r["key"] == "node.kubernetes.io/instance-type"]
    assert types and all(catalog.cloud("aws").fabric(t) is not None for t in types)
    assert set(spec["limits"]) == {"nodes", conventions.GPU_RESOURCE}
    # l4infer (g6, no fabric) stays a plain node group.
    assert conventions.FABRIC_LABEL not in inputs(kprod.one("aws:eks/nodeGroup:NodeGroup", f"{KARPENTER}-l4infer"))["labels"]


@pytest.fixture(scope="module")
def block():
    """Two Karpenter EFA pools: `train` starts with a Capacity Block, `burst` runs spot then
    on-demand with the stack's reason."""
    return plan_for({**MINIMAL, "environment": "dev", "gpuPools": [
        {"name": "train", "instanceType": "p5.48xlarge", "maxNodes": 2,
         "capacity": [{"reserved": {"id": "cr-0123456789abcdef0", "capacityBlock": True}}, "onDemand"]},
        {"name": "burst", "instanceType": "p5.48xlarge", "maxNodes": 2, "capacity": ["spot", "onDemand"],
         "interconnectSpotReason": "checkpoints every 10 minutes"},
    ]})


def test_a_capacity_block_pool_gets_no_placement_group(block):
    # EC2 places a Capacity Block's instances itself (issue 21: "not with Capacity Blocks").
    cluster = block.outputs["clusterName"]
    # Only burst, which has no block, gets one.
    assert [p.name for p in block.by_type("aws:ec2/placementGroup:PlacementGroup")] == [f"{cluster}-burst-efa"]
    spec = inputs(block.one(NODECLASS, f"{cluster}-train-nodeclass"))["spec"]
    assert "placementGroupSelector" not in spec
    assert spec["capacityReservationSelectorTerms"] == [{"id": "cr-0123456789abcdef0"}]
    # The rest of the fabric stays: the EFA group with its rules, the layout, one subnet.
    assert [t["id"] for t in spec["securityGroupSelectorTerms"]][1] == efa_group_id(block, cluster, "train")
    assert len(spec["subnetSelectorTerms"]) == 1 and spec["networkInterfaces"]
    assert karpenter_crds.errors(inputs(block.one(NODECLASS, f"{cluster}-train-nodeclass"))) == []


def test_a_karpenter_pools_spot_reason_rides_on_its_nodepool(block):
    cluster = block.outputs["clusterName"]
    meta = inputs(block.one(NODEPOOL, f"{cluster}-burst-nodepool"))["metadata"]
    assert meta["annotations"] == {"ml-clusters/interconnect-spot-reason": "checkpoints every 10 minutes"}
    assert "annotations" not in inputs(block.one(NODEPOOL, f"{cluster}-train-nodepool"))["metadata"]
    burst = inputs(block.one(NODECLASS, f"{cluster}-burst-nodeclass"))["spec"]
    assert burst["placementGroupSelector"] == {"name": f"{cluster}-burst-efa"}


@pytest.mark.parametrize("itype", sorted(catalog.cloud("aws").fabrics))
def test_karpenter_interface_layout_per_type(itype):
    nics = catalog.cloud("aws").fabric(itype).nics
    layout = karpenter_network_interfaces(nics)
    assert [(i["networkCardIndex"], i["deviceIndex"], i["interfaceType"]) for i in layout] == (
        [(0, 0, "interface"), (0, 1, "efa-only")] + [(c, 0, "efa-only") for c in range(1, nics)])
    # The CRD's rules hold for every type's layout.
    node_class = {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": {"name": "p"},
                  "spec": {"role": "r", "amiSelectorTerms": [{"alias": "al2023@latest"}], "securityGroupSelectorTerms": [{"id": "sg-1"}],
                           "subnetSelectorTerms": [{"id": "subnet-1"}], "networkInterfaces": layout}}
    assert karpenter_crds.errors(node_class) == []

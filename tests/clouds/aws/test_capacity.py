"""EKS capacity (components/clouds/aws/capacity.py): Karpenter for the pools whose provisioner is
`karpenter`, on the plan of prod-aws (its h100 pool: reserved first, then on-demand).

Upstream facts, aws/karpenter-provider-aws v1.14.1 (chart files at the release commit
1d927085, CRDs at the tag v1.14.1):
- charts/karpenter/values.yaml: settings.clusterName (required by templates/deployment.yaml),
  settings.interruptionQueue, settings.featureGates.reservedCapacity, serviceAccount.name,
  nodeSelector, tolerations; the chart's crds/ are installed once by Helm, never upgraded,
  which is why the CRDs come from charts/karpenter-crd.
- website/content/en/v1.14/reference/cloudformation.md: the node role's policies, the
  controller's permissions and their scoping, the queue (300 s retention, SSE), its policy
  (EventBridge may send, no request without TLS) and the five rules' event patterns.
- website/content/en/v1.14/concepts/nodepools.md: reserved, then spot, then on-demand;
  limits.nodes; concepts/disruption.md: WhenEmpty, expireAfter is forceful, do-not-disrupt.
- pkg/apis/crds/karpenter.sh_nodepools.yaml and karpenter.k8s.aws_ec2nodeclasses.yaml: the
  fields each kind declares (tests/clouds/aws/karpenter_crds.py).
"""

from __future__ import annotations

import json

import pytest

from components import catalog, conventions
from components.clouds.aws import capacity, coldstart
from components.config import GpuPool
from tests.clouds.aws import karpenter_crds
from tests.conftest import inputs, plan_for_stack

RELEASE = "kubernetes:helm.sh/v3:Release"
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
NODECLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
# The placeholder reservation prod-aws names (stacks/Pulumi.prod-aws.yaml).
PROD_RESERVATION = "cr-00000000000000000"


@pytest.fixture(scope="module")
def prod():
    return plan_for_stack("prod-aws")


def one(plan, type_, name):
    return plan.one(type_, f"{plan.outputs['clusterName']}-{name}")


def test_a_karpenter_pool_has_a_nodepool_and_no_node_group(prod):
    groups = {r.name for r in prod.by_type("aws:eks/nodeGroup:NodeGroup")}
    assert "ml-prod-aws-h100" not in groups  # Karpenter's pool
    assert "ml-prod-aws-l4infer" in groups  # minNodes 1: stays on its node group
    assert [inputs(r)["metadata"]["name"] for r in prod.by_type(NODEPOOL)] == ["h100"]
    assert [inputs(r)["metadata"]["name"] for r in prod.by_type(NODECLASS)] == ["h100"]
    # Nor do Cluster Autoscaler's scale-from-zero tags exist for it.
    assert not [r for r in prod.by_type("aws:autoscaling/tag:Tag") if r.name.startswith("ml-prod-aws-h100-")]


def test_the_charts_are_the_pinned_ones_from_the_registry(prod):
    crds, controller = inputs(one(prod, RELEASE, "karpenter-crd")), inputs(one(prod, RELEASE, "karpenter"))
    for release, key in ((crds, "karpenter-crd"), (controller, "karpenter")):
        chart = catalog.CHARTS[key]
        assert release["chart"] == f"oci://public.ecr.aws/karpenter/{key}" == f"{chart.repo}/{chart.name}"
        assert release["version"] == chart.version == "1.14.1"
        assert release["namespace"] == "kube-system"
    assert controller["skipCrds"] is True and not crds.get("skipCrds")


def test_the_controller_runs_on_the_system_pool_with_the_queue_and_reserved_capacity(prod):
    values = inputs(one(prod, RELEASE, "karpenter"))["values"]
    assert values["nodeSelector"] == conventions.system_pool_labels()
    assert values["tolerations"] == [conventions.SYSTEM_TOLERATION]
    assert values["serviceAccount"] == {"create": True, "name": capacity.SERVICE_ACCOUNT}
    settings = values["settings"]
    assert settings["clusterName"] == prod.outputs["clusterName"]
    queue = inputs(one(prod, "aws:sqs/queue:Queue", "karpenter"))
    assert settings["interruptionQueue"] == queue["name"] == f"{prod.outputs['clusterName']}-karpenter"
    # reservedCapacity set explicitly; nodeRepair on (tests/clouds/aws/test_health.py).
    assert settings["featureGates"] == {"reservedCapacity": True, "nodeRepair": True}


def test_pod_identity_binds_the_controller_role_to_its_service_account(prod):
    assoc = inputs(one(prod, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "karpenter"))
    assert (assoc["namespace"], assoc["serviceAccount"]) == ("kube-system", capacity.SERVICE_ACCOUNT)
    role = inputs(one(prod, "aws:iam/role:Role", "karpenter"))
    trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"} and set(trust["Action"]) == {"sts:AssumeRole", "sts:TagSession"}


def policy_statements() -> dict[str, dict]:
    doc = json.loads(capacity.controller_policy("ml-x", "us-east-1", "210987654321", "aws",
                                                "arn:aws:iam::210987654321:role/node", "arn:aws:sqs:us-east-1:210987654321:q"))
    return {s["Sid"]: s for s in doc["Statement"]}


def test_the_controller_policy_is_scoped_to_this_cluster_region_and_account():
    s = policy_statements()
    owned = {"aws:RequestTag/kubernetes.io/cluster/ml-x": "owned", "aws:RequestTag/eks:eks-cluster-name": "ml-x"}
    # Launches create only resources tagged for this cluster and a NodePool ...
    assert s["CreateOwnedResources"]["Condition"]["StringEquals"] == owned
    assert s["CreateOwnedResources"]["Condition"]["StringLike"] == {"aws:RequestTag/karpenter.sh/nodepool": "*"}
    assert all(r.startswith("arn:aws:ec2:us-east-1:*:") for r in s["CreateOwnedResources"]["Resource"])
    # ... and terminate only what is tagged so.
    assert s["DeleteOwnInstancesAndTemplates"]["Condition"]["StringEquals"] == {"aws:ResourceTag/kubernetes.io/cluster/ml-x": "owned"}
    # PassRole only of the node role, to EC2.
    assert s["PassNodeRole"]["Resource"] == "arn:aws:iam::210987654321:role/node"
    # Instance profiles only for this cluster and region; the queue only ours; reads only in the region.
    assert s["CreateOwnInstanceProfiles"]["Condition"]["StringEquals"]["aws:RequestTag/topology.kubernetes.io/region"] == "us-east-1"
    assert s["ReadInterruptionQueue"]["Resource"] == "arn:aws:sqs:us-east-1:210987654321:q"
    assert s["DescribeInRegion"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    assert "ec2:DescribeCapacityReservations" in s["DescribeInRegion"]["Action"]  # reserved capacity needs it
    assert s["DescribeCluster"]["Resource"] == "arn:aws:eks:us-east-1:210987654321:cluster/ml-x"
    # Nothing else takes "*" but the reads IAM cannot scope.
    unscoped = sorted(sid for sid, st in s.items() if st["Resource"] == "*" and "Condition" not in st)
    assert unscoped == ["ListInstanceProfiles", "ReadPrices"]


def test_the_plan_feeds_the_policy_the_node_role_and_the_queue(prod):
    policy = one(prod, "aws:iam/rolePolicy:RolePolicy", "karpenter")
    urns = {r.name: r.urn for r in prod.resources if r.name in ("ml-prod-aws-karpenter-node", "ml-prod-aws-karpenter")}
    assert urns["ml-prod-aws-karpenter-node"] in policy.dependencies  # PassRole of that role
    assert one(prod, "aws:sqs/queue:Queue", "karpenter").urn in policy.dependencies


def test_karpenter_nodes_join_with_their_own_role_and_access_entry(prod):
    attached = sorted(inputs(r)["policyArn"].rsplit("/", 1)[-1] for r in prod.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                      if r.name.startswith("ml-prod-aws-karpenter-node-"))
    assert attached == sorted(capacity.NODE_POLICIES)
    entry = one(prod, "aws:eks/accessEntry:AccessEntry", "karpenter-node")
    assert inputs(entry)["type"] == "EC2_LINUX"
    # The entry waits for the role's policies, as the node groups do.
    grants = {r.urn for r in prod.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if r.name.startswith("ml-prod-aws-karpenter-node-")}
    assert grants <= set(entry.dependencies)


def test_the_interruption_queue_its_policy_and_rules(prod):
    queue = inputs(one(prod, "aws:sqs/queue:Queue", "karpenter"))
    assert queue["messageRetentionSeconds"] == 300 and queue["sqsManagedSseEnabled"] is True
    doc = json.loads(capacity.queue_policy("arn:aws:sqs:us-east-1:210987654321:q"))
    send, deny = doc["Statement"]
    assert send["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]} and send["Action"] == "sqs:SendMessage"
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    patterns = sorted((json.loads(inputs(r)["eventPattern"])["source"][0], json.loads(inputs(r)["eventPattern"])["detail-type"][0])
                      for r in prod.by_type(RULE))
    # reference/cloudformation.md "Rules" (v1.14): the five event kinds Karpenter reads.
    assert patterns == sorted([
        ("aws.health", "AWS Health Event"),
        ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
        ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
        ("aws.ec2", "EC2 Instance State-change Notification"),
        ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
    ])
    queue_urn = one(prod, "aws:sqs/queue:Queue", "karpenter").urn
    targets = prod.by_type(TARGET)
    assert len(targets) == 5 and all(queue_urn in t.dependencies for t in targets)


def test_order_iam_and_queue_then_crds_then_controller_then_classes_then_pools(prod):
    release, crds = one(prod, RELEASE, "karpenter"), one(prod, RELEASE, "karpenter-crd")
    before_controller = {
        crds.urn,
        one(prod, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "karpenter").urn,
        one(prod, "aws:iam/rolePolicy:RolePolicy", "karpenter").urn,
        one(prod, "aws:sqs/queuePolicy:QueuePolicy", "karpenter").urn,
        *(t.urn for t in prod.by_type(TARGET)),
        one(prod, "aws:eks/nodeGroup:NodeGroup", "system").urn,
    }
    assert before_controller <= set(release.dependencies)
    assert one(prod, "aws:eks/nodeGroup:NodeGroup", "system").urn in crds.dependencies
    node_class, node_pool = one(prod, NODECLASS, "h100-nodeclass"), one(prod, NODEPOOL, "h100-nodepool")
    assert {release.urn, one(prod, "aws:eks/accessEntry:AccessEntry", "karpenter-node").urn} <= set(node_class.dependencies)
    assert {release.urn, node_class.urn} <= set(node_pool.dependencies)


def test_the_nodepool_follows_the_chain_with_our_taint_labels_and_limits(prod):
    spec = inputs(one(prod, NODEPOOL, "h100-nodepool"))["spec"]
    pool = GpuPool.model_validate({"name": "h100", "instanceType": "p5.48xlarge", "maxNodes": 4,
                                   "capacity": [{"reserved": {"id": PROD_RESERVATION}}, "onDemand"]})
    itype = catalog.cloud("aws").instance_types["p5.48xlarge"]
    template = spec["template"]
    assert template["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    # p5.48xlarge has EFA (catalog): its nodes carry the fabric label the EFA device plugin selects.
    assert catalog.cloud("aws").fabric("p5.48xlarge") is not None
    assert template["metadata"]["labels"] == {**conventions.gpu_pool_labels(pool, "aws", cloud_manages_device_plugin=False),
                                              conventions.FABRIC_LABEL: "efa"}
    assert template["metadata"]["labels"][conventions.SPOT_LABEL] == "false"
    assert template["spec"]["requirements"] == [
        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["p5.48xlarge"]},
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["reserved", "on-demand"]},
    ]
    assert template["spec"]["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "h100"}
    assert spec["limits"] == {"nodes": "4", "nvidia.com/gpu": str(4 * itype.gpus)}


def test_the_nodepool_never_moves_a_running_job(prod):
    spec = inputs(one(prod, NODEPOOL, "h100-nodepool"))["spec"]
    assert spec["disruption"] == {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "10m", "budgets": [{"nodes": "1"}]}
    assert spec["template"]["spec"]["expireAfter"] == "Never"
    # A set terminationGracePeriod would let drift override do-not-disrupt (concepts/disruption.md).
    assert "terminationGracePeriod" not in spec["template"]["spec"]


def test_the_nodeclass_selects_the_reservation_subnets_and_ami_release(prod):
    node_class = one(prod, NODECLASS, "h100-nodeclass")
    spec = inputs(node_class)["spec"]
    assert spec["capacityReservationSelectorTerms"] == [{"id": PROD_RESERVATION}]
    assert spec["role"] == inputs(one(prod, "aws:iam/role:Role", "karpenter-node")).get("name", spec["role"])
    private = [r.urn for r in prod.by_type("aws:ec2/subnet:Subnet") if "-private-" in r.name]
    assert len(private) == 3 and set(private) <= set(node_class.dependencies)
    # An EFA pool: one of the private subnets, by id (tests/clouds/aws/test_fabric.py); a pool
    # without a fabric selects all of them (test_a_pool_without_fabric_selects_every_private_subnet).
    l4 = inputs(prod.one("aws:eks/nodeGroup:NodeGroup", f"{prod.outputs['clusterName']}-l4infer"))
    assert [t["id"] for t in spec["subnetSelectorTerms"]] == l4["subnetIds"][:1]
    assert spec["amiSelectorTerms"] == [{"alias": spec["amiSelectorTerms"][0]["alias"]}]
    assert spec["amiSelectorTerms"][0]["alias"].startswith("al2023@v")
    assert spec["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    # With parallel image pull's throughput and IOPS (on by default; tests/clouds/aws/test_coldstart.py).
    assert spec["blockDeviceMappings"] == [{"deviceName": "/dev/xvda", "ebs": {
        "volumeSize": "500Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True, **coldstart.root_volume_ebs()}}]


def test_the_ami_alias_is_the_node_groups_release():
    # The SSM parameter the node groups read holds e.g. 1.35.3-20260827.
    assert capacity.ami_alias("1.35.3-20260827") == "al2023@v20260827"


@pytest.mark.parametrize("chain, types, spot_label", [
    (["spot", "onDemand"], ["spot", "on-demand"], None),
    (["spot"], ["spot"], "true"),
    ([{"reserved": {"name": "h100-block"}}, "spot", "onDemand"], ["reserved", "spot", "on-demand"], None),
    ([{"reserved": {"id": "cr-0123456789abcdef0", "capacityBlock": True}}, "onDemand"], ["reserved", "on-demand"], "false"),
])
def test_every_chain_form_becomes_capacity_types_in_order(chain, types, spot_label):
    pool = GpuPool.model_validate({"name": "p", "instanceType": "p5.48xlarge", "maxNodes": 2, "capacity": chain})
    spec = capacity.node_pool_spec(pool, "p")
    assert spec["template"]["spec"]["requirements"][1] == {"key": "karpenter.sh/capacity-type", "operator": "In", "values": types}
    assert spec["template"]["metadata"]["labels"].get(conventions.SPOT_LABEL) == spot_label


def test_a_reservation_by_name_selects_its_name_tag_and_by_id_its_id():
    pool = GpuPool.model_validate({"name": "p", "instanceType": "p5.48xlarge", "capacity": [
        {"reserved": {"id": "cr-0123456789abcdef0"}}, {"reserved": {"name": "h100-block"}}, "onDemand"]})
    assert capacity.reservation_terms(pool.capacity_chain()) == [{"id": "cr-0123456789abcdef0"}, {"tags": {"Name": "h100-block"}}]
    plain = GpuPool.model_validate({"name": "p", "instanceType": "p5.48xlarge", "capacity": ["spot", "onDemand"]})
    spec = capacity.node_class_spec(plain, "role", ["subnet-1"], "sg-1", "1.35.3-20260827", {})
    assert "capacityReservationSelectorTerms" not in spec


def test_a_pool_without_fabric_selects_every_private_subnet_and_the_cluster_group():
    plain = GpuPool.model_validate({"name": "l4", "instanceType": "g6.2xlarge", "maxNodes": 2, "capacity": ["spot", "onDemand"]})
    assert plain.fabric("aws") is None
    spec = capacity.node_class_spec(plain, "role", ["subnet-1", "subnet-2", "subnet-3"], "sg-1", "1.35.3-20260827", {})
    assert spec["subnetSelectorTerms"] == [{"id": "subnet-1"}, {"id": "subnet-2"}, {"id": "subnet-3"}]
    assert spec["securityGroupSelectorTerms"] == [{"id": "sg-1"}]
    assert "networkInterfaces" not in spec and "placementGroupSelector" not in spec
    assert conventions.FABRIC_LABEL not in capacity.node_labels(plain)


@pytest.mark.parametrize("kind", [NODEPOOL, NODECLASS])
def test_the_custom_resources_declare_only_fields_of_the_pinned_crds(prod, kind):
    for resource in prod.by_type(kind):
        assert karpenter_crds.errors(inputs(resource)) == []


def test_the_crd_table_catches_a_field_the_crd_does_not_declare():
    bad = {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "x"},
           "spec": {"template": {"spec": {"nodeClassRef": {"group": "g", "kind": "k", "name": "n"}, "requirements": [],
                                          "ttlSecondsAfterEmpty": 30}}}}
    assert karpenter_crds.errors(bad) == ["spec.template.spec: unknown field 'ttlSecondsAfterEmpty'"]
    missing = {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": {"name": "x"}, "spec": {"role": "r"}}
    assert karpenter_crds.errors(missing) == [
        "spec: required field 'amiSelectorTerms' is missing", "spec: required field 'securityGroupSelectorTerms' is missing",
        "spec: required field 'subnetSelectorTerms' is missing"]
    # The CRD's rules on networkInterfaces: the primary is an `interface`, no `efa` type, one
    # efa-only per card; placementGroupSelector names one of name / id.
    layout = {**missing, "spec": {"role": "r", "amiSelectorTerms": [{"alias": "al2023@latest"}], "securityGroupSelectorTerms": [{"id": "sg-1"}],
                                  "subnetSelectorTerms": [{"id": "subnet-1"}], "placementGroupSelector": {"name": "pg", "id": "pg-1"},
                                  "networkInterfaces": [{"networkCardIndex": 0, "deviceIndex": 0, "interfaceType": "efa"},
                                                        {"networkCardIndex": 1, "deviceIndex": 0, "interfaceType": "efa-only"},
                                                        {"networkCardIndex": 1, "deviceIndex": 1, "interfaceType": "efa-only"}]}}
    assert karpenter_crds.errors(layout) == [
        "spec.networkInterfaces: duplicate networkCardIndex and deviceIndex pairs, or two efa devices on a card",
        "spec.networkInterfaces: must include a primary interface with interfaceType='interface'",
        "spec.networkInterfaces[0].interfaceType: 'efa' is not one of ['efa-only', 'interface']",
        "spec.placementGroupSelector: exactly one of ['name', 'id']"]


def test_training_pods_carry_do_not_disrupt(prod):
    runtimes = [inputs(r) for r in prod.resources if r.type == "kubernetes:trainer.kubeflow.org/v1alpha1:ClusterTrainingRuntime"]
    assert runtimes
    for runtime in runtimes:
        for job in runtime["spec"]["template"]["spec"]["replicatedJobs"]:
            annotations = job["template"]["spec"]["template"]["metadata"]["annotations"]
            assert annotations == {conventions.DO_NOT_DISRUPT_ANNOTATION: "true"}


def test_the_handle_carries_each_pools_chain_and_provisioner():
    """What the platform and the preview read (components/handle.py GpuPoolFacts): MlCluster
    sets each pool's provisioner from the config on every cloud; the chain is the pool's."""
    from components.cluster import MlCluster, MlClusterArgs
    from components.config import load, raw_from_pulumi
    from preview import engine
    from tests.platform.harness import run

    values, _ = engine.read_stack_config("prod-aws")
    cfg = load(raw_from_pulumi(values)[0])
    captured = {}

    def build():
        captured["handle"] = MlCluster("ml-prod-aws", MlClusterArgs(cfg, "prod-aws")).handle

    run(build, stack="prod-aws")
    facts = {f.pool.name: f for f in captured["handle"].gpu_pools}
    assert {n: f.provisioner for n, f in facts.items()} == {"h100": "karpenter", "l4infer": "cluster-autoscaler"}
    assert [t.label() for t in facts["h100"].capacity] == [f"reserved {PROD_RESERVATION}", "on-demand"]
    assert [t.label() for t in facts["l4infer"].capacity] == ["on-demand"]
    assert facts["h100"].node_labels == capacity.node_labels(facts["h100"].pool)

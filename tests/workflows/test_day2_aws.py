"""The EKS day-2 change matrix on the plan (tests/workflows/day2.py classifies).

Facts, each with its source: hashicorp/terraform-provider-aws (the provider pulumi-aws 7.x
bridges), read at main as stored:
- internal/service/eks/node_group.go resourceNodeGroup: ami_type, capacity_type, disk_size,
  instance_types, launch_template.id/name, node_group_name(_prefix), node_role_arn,
  subnet_ids, remote_access are ForceNew; labels, scaling_config, taint, update_config are
  sent with UpdateNodegroupConfig; launch_template.version, release_version, version with
  UpdateNodegroupVersion (a rolling replacement of the nodes, max_unavailable at a time).
- internal/service/eks/cluster.go resourceCluster: name, role_arn,
  access_config.bootstrap_cluster_creator_admin_permissions, bootstrap_self_managed_addons,
  kubernetes_network_config.service_ipv4_cidr/ip_family are ForceNew; version, vpc_config
  (endpoint access, public_access_cidrs, subnet_ids), logging, deletion_protection update in
  place.
- internal/service/ec2/ec2_launch_template.go: changing block_device_mappings writes a new
  template version (in place); the node group then rolls to it (launch_template.version).
- internal/service/kms/key.go: policy updates in place (PutKeyPolicy).
"""

from __future__ import annotations

import json

import pytest

from preview import engine
from tests.conftest import config_errors, plan_for, plan_for_stack
from tests.clouds.aws.test_coldstart import prod_aws_without_parallel_pull
from tests.workflows.day2 import (
    Fact, assert_replace_is_clash_free, assert_warm_nodes_toggle_only_their_objects, by_name, classify, plan_stack_changed, preview_change,
)

TF_NG = "terraform-provider-aws internal/service/eks/node_group.go"
TF_EKS = "terraform-provider-aws internal/service/eks/cluster.go"
TF_LT = "terraform-provider-aws internal/service/ec2/ec2_launch_template.go"
TF_KMS = "terraform-provider-aws internal/service/kms/key.go"
NG = "aws:eks/nodeGroup:NodeGroup"
EKS = "aws:eks/cluster:Cluster"
LT = "aws:ec2/launchTemplate:LaunchTemplate"

FACTS = [
    Fact(NG, "amiType", "replace", TF_NG + " ami_type ForceNew"),
    Fact(NG, "capacityType", "replace", TF_NG + " capacity_type ForceNew"),
    Fact(NG, "diskSize", "replace", TF_NG + " disk_size ForceNew"),
    Fact(NG, "instanceTypes", "replace", TF_NG + " instance_types ForceNew"),
    Fact(NG, "nodeGroupNamePrefix", "replace", TF_NG + " node_group_name_prefix ForceNew"),
    Fact(NG, "nodeRoleArn", "replace", TF_NG + " node_role_arn ForceNew"),
    Fact(NG, "subnetIds", "replace", TF_NG + " subnet_ids ForceNew"),
    Fact(NG, "launchTemplate.id", "replace", TF_NG + " launch_template.id ForceNew"),
    Fact(NG, "labels", "update", TF_NG + " UpdateNodegroupConfig"),
    Fact(NG, "nodeRepairConfig", "update", TF_NG + " UpdateNodegroupConfig (resourceNodeGroupUpdate: node_repair_config)"),
    Fact(NG, "taints", "update", TF_NG + " UpdateNodegroupConfig"),
    Fact(NG, "scalingConfig", "update", TF_NG + " UpdateNodegroupConfig"),
    Fact(NG, "version", "update", TF_NG + " UpdateNodegroupVersion (rolling)"),
    Fact(NG, "releaseVersion", "update", TF_NG + " UpdateNodegroupVersion (rolling)"),
    Fact(NG, "launchTemplate.version", "update", TF_NG + " UpdateNodegroupVersion (rolling)"),
    Fact(EKS, "name", "replace", TF_EKS + " name ForceNew"),
    Fact(EKS, "roleArn", "replace", TF_EKS + " role_arn ForceNew"),
    Fact(EKS, "accessConfig.bootstrapClusterCreatorAdminPermissions", "replace", TF_EKS + " ForceNew"),
    Fact(EKS, "bootstrapSelfManagedAddons", "replace", TF_EKS + " ForceNew"),
    Fact(EKS, "kubernetesNetworkConfig.serviceIpv4Cidr", "replace", TF_EKS + " ForceNew"),
    Fact(EKS, "version", "update", TF_EKS + " UpdateClusterVersion"),
    Fact(EKS, "vpcConfig", "update", TF_EKS + " UpdateClusterConfig"),
    Fact(LT, "blockDeviceMappings", "update", TF_LT + " new template version"),
    Fact(LT, "userData", "update", TF_LT + " new template version"),
    Fact("aws:kms/key:Key", "policy", "update", TF_KMS + " PutKeyPolicy"),
]
# Node groups take a name prefix; the provider appends a unique suffix to each new group, so a
# replacement creates the new group first and deletes the old one after (no clash, capacity kept).
GENERATED_NAMES = {NG: TF_NG + " node_group_name_prefix + unique suffix"}
STATEFUL = {
    "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "aws:kms/key:Key", "aws:efs/fileSystem:FileSystem",
    "aws:ecr/repository:Repository", EKS, "aws:ec2/vpc:Vpc",
}

BASE = {"cloud": "aws", "region": "us-east-1", "network": {"privateApi": False, "apiAllowedCidrs": ["203.0.113.0/24"]}}
L4 = {"name": "l4", "instanceType": "g6.xlarge", "minNodes": 0, "maxNodes": 4, "diskGb": 150}
A100 = {"name": "a100", "instanceType": "p4d.24xlarge", "minNodes": 0, "maxNodes": 1, "sharing": {"mig": {"profile": "1g.5gb"}}}
CPU = {"name": "cpu", "instanceType": "m7i.xlarge", "minNodes": 0, "maxNodes": 3}


def stack(**overrides):
    return {**BASE, "gpuPools": [L4, A100], "cpuPools": [CPU], **overrides}


@pytest.fixture(scope="module")
def before():
    return plan_for(stack())


def change(before, after_raw):
    return preview_change(before, after_raw, FACTS, STATEFUL)


def only(outcomes, type_):
    return {n: o for n, o in outcomes.items() if o.type == type_}


@pytest.mark.parametrize("l4_change, field", [
    ({"instanceType": "g6.2xlarge"}, "instanceTypes"),
    ({"instanceType": None, "gpu": "l4", "gpusPerNode": 4}, "instanceTypes"),  # needs -> another type
    ({"spot": True}, "capacityType"),
])
def test_pool_changes_eks_cannot_make_in_place_replace_the_group_under_a_new_name(before, l4_change, field):
    pool = {k: v for k, v in {**L4, **l4_change}.items() if v is not None}
    outcomes = change(before, stack(gpuPools=[pool, A100]))
    group = outcomes["ml-test-l4"]
    assert field in group.paths
    assert_replace_is_clash_free(group, GENERATED_NAMES)
    # Nothing else is replaced: the other pools and the cluster stay.
    assert [o.name for o in outcomes.values() if o.action == "replace"] == ["ml-test-l4"]


def test_disk_size_writes_a_new_launch_template_version_and_rolls_the_group(before):
    outcomes = change(before, stack(gpuPools=[{**L4, "diskGb": 300}, A100]))
    template = only(outcomes, LT)
    assert [o.action for o in template.values()] == ["update"]
    assert all(p.startswith("blockDeviceMappings") for p in next(iter(template.values())).paths)
    assert "ml-test-l4" not in outcomes or outcomes["ml-test-l4"].action == "update"


def test_min_max_change_is_an_in_place_scaling_update(before):
    outcomes = change(before, stack(gpuPools=[{**L4, "minNodes": 1, "maxNodes": 8}, A100]))
    group = outcomes["ml-test-l4"]
    assert group.action == "update" and set(group.paths) == {"scalingConfig.minSize", "scalingConfig.maxSize", "scalingConfig.desiredSize"}
    # desiredSize differs only in the program; the engine keeps the recorded (refreshed) one:
    # tests/workflows/test_day2_sizes.py.


def test_turning_on_time_slicing_updates_labels_and_autoscaler_tags_in_place(before):
    outcomes = change(before, stack(gpuPools=[{**L4, "sharing": {"timeSlicing": {"replicas": 4}}}, A100]))
    assert outcomes["ml-test-l4"].action == "update"
    assert all(p.startswith("labels") for p in outcomes["ml-test-l4"].paths)
    assert all(o.action in ("update", "create", "delete") for o in outcomes.values())
    assert not [o for o in outcomes.values() if o.action == "replace"]


def test_changing_the_mig_profile_relabels_the_group_in_place(before):
    outcomes = change(before, stack(gpuPools=[L4, {**A100, "sharing": {"mig": {"profile": "3g.20gb"}}}]))
    group = outcomes["ml-test-a100"]
    assert group.action == "update" and all(p.startswith("labels") for p in group.paths)


def test_kubernetes_version_bump_upgrades_in_place(before):
    outcomes = change(before, stack(kubernetesVersion="1.34"))
    assert outcomes["ml-test-eks"].action == "update" and outcomes["ml-test-eks"].paths == ("version",)
    groups = only(outcomes, NG)
    assert set(groups) == {"ml-test-system", "ml-test-l4", "ml-test-a100", "ml-test-cpu"}
    assert all(o.action == "update" and set(o.paths) == {"version", "releaseVersion"} for o in groups.values())


@pytest.mark.parametrize("network", [
    {"privateApi": False, "apiAllowedCidrs": ["198.51.100.0/24"]},
    {"privateApi": True, "apiAllowedCidrs": []},
])
def test_api_access_and_cidrs_update_the_cluster_in_place(before, network):
    outcomes = change(before, stack(network=network))
    cluster = outcomes["ml-test-eks"]
    assert cluster.action == "update" and all(p.startswith("vpcConfig") for p in cluster.paths)


def test_adding_an_admin_creates_an_access_entry_and_updates_key_policies(before):
    outcomes = classify(before, plan_for(stack(aws={"adminPrincipalArns": ["arn:aws:iam::123456789012:role/platform-admins"]})), FACTS)
    created = {o.type for o in outcomes.values() if o.action == "create"}
    assert created == {"aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"}
    keys = [o for o in outcomes.values() if o.type == "aws:kms/key:Key"]
    assert keys and all(o.action == "update" and o.paths == ("policy",) for o in keys)
    assert {o.action for o in outcomes.values()} == {"create", "update"}


def test_dr_off_on_prod_deletes_only_protected_replicas_which_the_engine_refuses():
    """Turning DR off on prod-aws would delete the replica buckets and key; they are protected
    in prod (pulumi refuses to delete a protected resource), so the data stays."""
    before = plan_stack_changed("prod-aws")
    after = plan_stack_changed("prod-aws", drop=["dr"])
    outcomes = classify(before, after, FACTS)
    gone = [o for o in outcomes.values() if o.action == "delete" and o.type in STATEFUL]
    assert gone, "DR off removes the replicas"
    protected = {r.urn for r in before.resources if r.protect}
    assert all(urn in protected for urn, o in outcomes.items() if o in gone)


def test_impossible_pool_edit_is_refused_at_config_time_with_one_line():
    problems = config_errors(stack(gpuPools=[{**L4, "minNodes": 5, "maxNodes": 2}, A100]))
    assert len(problems) == 1 and problems[0].startswith("gpuPools[0]")


def test_turning_gpu_repair_off_deletes_only_its_own_objects():
    """platform.gpuHealth.enabled false on prod-aws (kured on by default with GPU pools,
    components/platform/health.py): kured's namespace, RBAC, DaemonSet and PodMonitor go, and
    nothing else changes, cloud or Kubernetes."""
    before = plan_for_stack("prod-aws")
    platform = json.loads(engine.read_stack_config("prod-aws")[0].get("ml-clusters:platform", "{}"))
    after = plan_stack_changed("prod-aws", {"platform": {**platform, "gpuHealth": {"enabled": False}}})
    outcomes = classify(before, after, FACTS)
    changed = {o.name: o.action for o in outcomes.values()}
    assert changed and set(changed.values()) == {"delete"}, changed
    assert all("-health-" in name for name in changed), changed


def test_turning_a_pools_fabric_off_replaces_only_its_group_and_drops_its_efa_resources(before):
    """p4d.24xlarge has EFA (catalog), so the `a100` pool of the base stack has it by default
    (one subnet, the EFA security group and placement group). `interconnect: none` moves the
    group to every subnet: subnet_ids is ForceNew (TF_NG), so the group is replaced, clash-free
    under a new generated name; its launch template writes a new version without the EFA
    interfaces (TF_LT: every change is a new version); the group's EFA resources go."""
    outcomes = change(before, stack(gpuPools=[L4, {**A100, "interconnect": "none"}]))
    group = outcomes["ml-test-a100"]
    assert group.action == "replace" and "subnetIds" in group.paths
    assert_replace_is_clash_free(group, GENERATED_NAMES)
    assert [o.name for o in outcomes.values() if o.action == "replace"] == ["ml-test-a100"]
    deleted = {o.name for o in outcomes.values() if o.action == "delete"}
    assert {"ml-test-a100-efa", "ml-test-a100-efa-self-in", "ml-test-a100-efa-self-out", "ml-test-efa-device-plugin"} <= deleted
    # Nothing of the L4 pool changes.
    assert not [o for o in outcomes.values() if o.name.startswith("ml-test-l4") and o.action != "same"]


def test_a_chain_moves_one_pool_to_karpenter_and_leaves_the_rest(before):
    """gpuPools[].capacity with a fallback puts that pool on Karpenter (provisioner auto,
    docs/config.md#capacity): its node group and scale-from-zero tags go, Karpenter and the
    pool's NodePool come; no other resource is replaced or deleted, and the cluster is not
    touched. (Karpenter v1.14.1 facts: tests/clouds/aws/test_capacity.py.)"""
    outcomes = change(before, stack(gpuPools=[{**L4, "capacity": ["spot", "onDemand"]}, A100]))
    gone = sorted(o.name for o in outcomes.values() if o.action == "delete")
    assert "ml-test-l4" in gone and all(n == "ml-test-l4" or n.startswith("ml-test-l4-") for n in gone)
    assert not [o for o in outcomes.values() if o.action == "replace"]
    created = {(o.type, o.name) for o in outcomes.values() if o.action == "create"}
    assert ("kubernetes:karpenter.sh/v1:NodePool", "ml-test-l4-nodepool") in created
    assert ("kubernetes:helm.sh/v3:Release", "ml-test-karpenter") in created
    assert not [o for o in outcomes.values() if o.type == EKS or o.name == "ml-test-a100"]


def test_spot_true_and_capacity_spot_are_the_same_plan(before):
    """`spot: true` is short for `capacity: [spot]`: either spelling gives the same node group."""
    spelled = change(before, stack(gpuPools=[{**L4, "capacity": ["spot"]}, A100]))
    short = change(before, stack(gpuPools=[{**L4, "spot": True}, A100]))
    assert {n: (o.action, o.paths) for n, o in spelled.items()} == {n: (o.action, o.paths) for n, o in short.items()}
    assert spelled["ml-test-l4"].action == "replace"  # ON_DEMAND -> SPOT, as the matrix above says


def test_warm_nodes_add_remove_and_resize_only_their_kubernetes_objects():
    """gpuPools[].warmNodes on prod-aws (h100 on Karpenter, l4infer on a node group with Cluster
    Autoscaler): the warm nodes are placeholder pods (components/platform/warm.py), so turning
    them off deletes only the placeholders, their namespace, fence and priority class; turning
    them on creates only those; a new count updates only that pool's Deployment's replicas
    (pulumi-kubernetes updates a Deployment's spec in place: no replaceOnChanges on it). No node
    group, Karpenter NodePool (its limits stay maxNodes) or anything else changes."""
    with_warm, pools = assert_warm_nodes_toggle_only_their_objects("prod-aws", FACTS, {"h100": 1, "l4infer": 1})
    resized = plan_stack_changed("prod-aws", {"gpuPools": [{**pools[0], "warmNodes": 2}, {**pools[1], "warmNodes": 0}]})
    changed = {o.name: (o.action, o.paths) for o in classify(with_warm, resized, FACTS).values()}
    assert changed == {"ml-prod-aws-warm-h100": ("update", ("spec.replicas",)),
                       "ml-prod-aws-warm-l4infer": ("delete", ())}


def test_parallel_image_pull_off_rolls_gpu_nodes_and_replaces_no_group():
    """`aws.parallelImagePull: false` on prod-aws (on by default; components/clouds/aws/coldstart.py):
    the GPU node group's launch template writes a new version without the user data and the
    volume's throughput/IOPS (TF_LT), the group rolls to it (launchTemplate.version,
    UpdateNodegroupVersion); the Karpenter pool's EC2NodeClass is patched in place (userData and
    blockDeviceMappings; Karpenter replaces drifted nodes, v1.14 concepts/disruption.md Drift).
    Nothing is replaced, created or deleted; CPU and system pools do not change."""
    outcomes = by_name(classify(plan_for_stack("prod-aws"), prod_aws_without_parallel_pull(), FACTS))
    cluster = plan_for_stack("prod-aws").outputs["clusterName"]
    assert {o.action for o in outcomes.values()} == {"update"}, outcomes
    templates = {n: o for n, o in outcomes.items() if o.type == LT}
    assert set(templates) == {f"{cluster}-l4infer"}
    assert {p.split(".")[0].split("[")[0] for p in templates[f"{cluster}-l4infer"].paths} == {"userData", "blockDeviceMappings"}
    node_class = outcomes[f"{cluster}-h100-nodeclass"]
    assert {p.split(".")[1] for p in node_class.paths} == {"userData", "blockDeviceMappings"}
    # Under mocks the template's latest version stays "1", so the group itself shows no change;
    # live, its launchTemplate.version moves and EKS rolls it (FACTS: an update, never a replace).
    assert not [o for o in outcomes.values() if o.type == NG and o.action == "replace"]
    assert set(outcomes) <= {f"{cluster}-l4infer", f"{cluster}-h100-nodeclass"}

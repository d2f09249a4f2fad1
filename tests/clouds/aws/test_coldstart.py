"""Parallel image pull on EKS GPU pools (components/clouds/aws/coldstart.py), on the reference
stacks' cached plans and on prod-aws with `aws.parallelImagePull: false` (the one changed config
of this module; tests/workflows/test_day2_aws.py classifies the same plan).

Upstream facts (awslabs/amazon-eks-ami v20260724): nodeadm/doc/examples.md "Enabling fast image
pull (experimental)" (the NodeConfig `spec.featureGates.FastImagePull: true`, at least 600 MiB/s
of root-volume throughput) and "Merging multiple configuration objects" (MIME parts of type
`application/node.eks.aws` are NodeConfigs, merged); nodeadm/internal/containerd/config.go
UseSOCISnapshotter (>= 4 vCPUs and >= 7 GiB, else the gate is ignored). Karpenter v1.14.1
website/content/en/docs/concepts/nodeclasses.md spec.userData (AL2023 takes a NodeConfig) and
pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml (ebs throughput 125-1000, gp3 iops
3000-16000). pulumi-aws 7.51.1 ec2.LaunchTemplate `user_data` is base64-encoded.
"""

from __future__ import annotations

import base64
import email
import json
import re
from pathlib import Path

import pytest
import yaml

from components import catalog
from components.clouds.aws import coldstart
from preview import engine
from tests.conftest import inputs, plan_for_stack
from tests.workflows.day2 import plan_stack_changed

DOCS = Path(__file__).resolve().parents[3] / "docs"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
NG = "aws:eks/nodeGroup:NodeGroup"
NODECLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
GATE = {"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig", "spec": {"featureGates": {"FastImagePull": True}}}
# Stack -> (GPU pools on node groups, GPU pools on Karpenter, CPU and system pools).
STACKS = {
    "prod-aws": (["l4infer"], ["h100"], ["system", "cpu"]),
    "prod-aws-dr": (["h100", "l4infer"], [], ["system", "cpu"]),
    "dev-aws": (["l4"], [], ["system", "cpu"]),
    "portable": (["infer", "train"], [], ["system", "web"]),
}


def prod_aws_without_parallel_pull() -> engine.Plan:
    """prod-aws with `aws.parallelImagePull: false` (its other aws settings kept)."""
    aws = json.loads(engine.read_stack_config("prod-aws")[0]["ml-clusters:aws"])
    return plan_stack_changed("prod-aws", {"aws": {**aws, "parallelImagePull": False}})


def one(plan: engine.Plan, type_: str, name: str) -> engine.PlannedResource:
    (found,) = [r for r in plan.resources if r.type == type_ and r.name == name]
    return found


def node_configs_of_mime(user_data_b64: str) -> list[dict]:
    """A launch template's user data as nodeadm reads it: base64 -> MIME -> NodeConfig parts."""
    text = base64.b64decode(user_data_b64, validate=True).decode()
    message = email.message_from_string(text)
    assert message.is_multipart() and message.get_content_type() == "multipart/mixed"
    parts = [p for p in message.walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in parts] == ["application/node.eks.aws"]
    return [d for p in parts for d in yaml.safe_load_all(p.get_payload()) if d]


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_gpu_node_groups_boot_with_the_gate_and_a_600_mibps_root_volume(stack):
    plan = plan_for_stack(stack)
    cluster = plan.outputs["clusterName"]
    groups, _, others = STACKS[stack]
    for pool in groups:
        template, group = one(plan, LT, f"{cluster}-{pool}"), one(plan, NG, f"{cluster}-{pool}")
        lt = inputs(template)
        assert node_configs_of_mime(lt["userData"]) == [GATE], pool
        (volume,) = lt["blockDeviceMappings"]
        assert volume["deviceName"] == "/dev/xvda" and volume["ebs"]["volumeType"] == "gp3"
        assert (volume["ebs"]["throughput"], volume["ebs"]["iops"]) == (600, 3000), pool
        # The group runs the template it depends on (the preview finds the user data that way).
        assert template.urn in group.dependencies and inputs(group)["launchTemplate"]["id"]
    for pool in others:  # CPU and system pools keep the AMI's default puller and gp3's baseline
        lt = inputs(one(plan, LT, f"{cluster}-{pool}"))
        assert "userData" not in lt, pool
        assert not {"throughput", "iops"} & set(lt["blockDeviceMappings"][0]["ebs"]), pool


def test_a_karpenter_pools_node_class_carries_the_node_config_and_volume():
    """prod-aws h100 is on Karpenter: its EC2NodeClass `userData` is the NodeConfig itself
    (Karpenter puts its own generated NodeConfig before it); the NodePool uses that class."""
    plan = plan_for_stack("prod-aws")
    cluster = plan.outputs["clusterName"]
    node_class = one(plan, NODECLASS, f"{cluster}-h100-nodeclass")
    spec = inputs(node_class)["spec"]
    assert list(yaml.safe_load_all(spec["userData"])) == [GATE]
    (volume,) = spec["blockDeviceMappings"]
    assert (volume["ebs"]["throughput"], volume["ebs"]["iops"]) == (600, 3000)
    pool = one(plan, NODEPOOL, f"{cluster}-h100-nodepool")
    assert inputs(pool)["spec"]["template"]["spec"]["nodeClassRef"]["name"] == inputs(node_class)["metadata"]["name"]
    assert node_class.urn in pool.dependencies


def test_the_values_are_within_what_gp3_and_the_crd_accept():
    # nodeadm's doc: at least 600 MiB/s; gp3 (and the CRD): throughput 125-1000 MiB/s, IOPS
    # 3000-16000, and at most 0.25 MiB/s per provisioned IOPS.
    ebs = coldstart.root_volume_ebs()
    assert 600 <= ebs["throughput"] <= 1000 and 3000 <= ebs["iops"] <= 16000
    assert ebs["throughput"] <= ebs["iops"] / 4


def test_parallel_image_pull_off_leaves_every_pool_as_before():
    off = prod_aws_without_parallel_pull()
    cluster = off.outputs["clusterName"]
    for template in [r for r in off.resources if r.type == LT]:
        lt = inputs(template)
        assert "userData" not in lt, template.name
        assert not {"throughput", "iops"} & set(lt["blockDeviceMappings"][0]["ebs"]), template.name
    spec = inputs(one(off, NODECLASS, f"{cluster}-h100-nodeclass"))["spec"]
    assert "userData" not in spec and not {"throughput", "iops"} & set(spec["blockDeviceMappings"][0]["ebs"])


def test_every_aws_gpu_type_is_large_enough_for_nodeadm_to_use_the_gate():
    """nodeadm ignores the gate below 4 vCPUs or 7 GiB (config.go UseSOCISnapshotter); every GPU
    type the catalog lists is at or above it, so no pool needs refusing. A smaller type added to
    the catalog fails here, and then needs a config check."""
    gpu_types = {n: t for n, t in catalog.cloud("aws").instance_types.items() if t.gpu}
    assert gpu_types
    small = [n for n, t in gpu_types.items() if not coldstart.usable(t.vcpus, t.memory_gb)]
    assert small == []
    assert not coldstart.usable(coldstart.MIN_VCPUS - 1, 64) and not coldstart.usable(64, coldstart.MIN_MEMORY_GIB - 1)


def test_the_docs_state_the_volume_cost_the_module_computes():
    text = (DOCS / "aws.md").read_text(encoding="utf-8")
    section = text[text.index("## GPU cold start"):text.index("**What `pulumi up` on AWS needs**")]
    extra = coldstart.ROOT_VOLUME_THROUGHPUT_MIBPS - coldstart.GP3_INCLUDED_THROUGHPUT_MIBPS
    assert f"extra {extra} MiB/s costs ${coldstart.GP3_USD_PER_MIBPS_MONTH:.3f} per MiB/s-month" in " ".join(section.split())
    assert f"${coldstart.monthly_usd_per_node():.2f} per GPU node-month" in " ".join(section.split())
    assert re.search(rf"\b{coldstart.ROOT_VOLUME_THROUGHPUT_MIBPS} MiB/s and {coldstart.ROOT_VOLUME_IOPS:,} IOPS", section)
    assert "aws.parallelImagePull: false" in section

"""The preview's parallel image pull (preview/image_pull.py, timings.PARALLEL_PULL_INPUTS): read
from the user data each EKS GPU pool's nodes boot with in the plan, and its figure derived from
the catalog (the measured ratio in timings.PARALLEL_PULL_MEASURED_MS, source
aws-samples/karpenter-blueprints blueprints/soci-snapshotter/README.md "Results").

nodeadm's reading of user data (awslabs/amazon-eks-ami v20260724 nodeadm/doc/examples.md,
"Merging multiple configuration objects"): MIME parts of type `application/node.eks.aws` are
NodeConfigs, merged in order, the later value winning.
"""

from __future__ import annotations

import base64
import json

import pytest

from components.catalog import prices, timings
from components.catalog.prices import HOURS_PER_MONTH
from components.clouds.aws import coldstart
from components.config import load
from components.config.read import raw_from_pulumi
from preview import cost, engine, image_pull, ready
from tests.clouds.aws.test_coldstart import prod_aws_without_parallel_pull
from tests.conftest import plan_for_stack

AWS_STACKS = {"prod-aws": ["h100", "l4infer"], "prod-aws-dr": ["h100", "l4infer"], "dev-aws": ["l4"], "portable": ["infer", "train"]}


def whole_pull() -> int:
    return timings.IMAGE_SIZE_GB[timings.COLD_START_IMAGE].seconds * 1000 // timings.PULL_MB_PER_SECOND.seconds


def parallel_pull() -> int:
    default_ms, parallel_ms = timings.PARALLEL_PULL_MEASURED_MS
    return whole_pull() * parallel_ms // default_ms


def part(parts, name: str) -> int:
    (seconds,) = [s for n, s, _ in parts if n == name]
    return seconds


def pull_part(start: ready.ColdStart) -> tuple[str, int, str]:
    (part,) = [p for p in start.parts if p[0] == "image pull"]
    return part


@pytest.mark.parametrize("stack", sorted(AWS_STACKS))
def test_each_eks_gpu_pool_pulls_in_parallel_read_from_its_own_user_data(stack):
    plan = plan_for_stack(stack)
    found = ready.estimate(plan, AWS_STACKS[stack]).cold_starts
    assert [c.pool for c in found] == AWS_STACKS[stack]
    for c in found:
        (pool,) = [r for r in plan.resources if r.type in timings.PARALLEL_PULL_INPUTS and ready.pool_of(r, [c.pool]) == c.pool]
        assert image_pull.parallel_pull(pool, plan.resources), c.pool
        _, seconds, source = pull_part(c)
        assert seconds == parallel_pull() < whole_pull()
        assert "karpenter-blueprints" in source and "59.813s" in source and "1m52.33s" in source
        assert not c.streaming  # the whole image still arrives first: not a lazy pull
        assert c.image_pull == "parallel" and c.to_json()["imagePull"] == "parallel"
        # Only the pull (and, where the stack streams weights, the model load) is shorter.
        load_saving = part(c.before, "model load") - part(c.parts, "model load")
        assert c.before_seconds - c.seconds == whole_pull() - parallel_pull() + load_saving


def test_with_the_switch_off_the_preview_counts_the_whole_pull():
    """prod-aws with `aws.parallelImagePull: false`: both pools (a Karpenter one and a node
    group) are back to the whole pull, and their estimate is the `before` of the default."""
    off = prod_aws_without_parallel_pull()
    found = ready.estimate(off, AWS_STACKS["prod-aws"]).cold_starts
    default = {c.pool: c for c in ready.estimate(plan_for_stack("prod-aws"), AWS_STACKS["prod-aws"]).cold_starts}
    assert [c.pool for c in found] == AWS_STACKS["prod-aws"]
    for c in found:
        assert pull_part(c)[1] == whole_pull() and c.image_pull == "whole"
        # Every part but the model load (streamed or not by the serving runtime, not the nodes)
        # is the default's `before` again.
        assert {n: s for n, s, _ in c.parts if n != "model load"} == {n: s for n, s, _ in c.before if n != "model load"}
        assert c.before_seconds == default[c.pool].before_seconds
    assert not [r for r in off.resources if r.type in timings.PARALLEL_PULL_INPUTS and image_pull.parallel_pull(r, off.resources)]


def mime(*parts: tuple[str, str]) -> str:
    body = "".join(f"--B\nContent-Type: {kind}\n\n{text}\n" for kind, text in parts)
    return f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n{body}--B--\n'


NODECONFIG = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  featureGates:\n    FastImagePull: {}\n"
SHELL = ("text/x-shellscript", "#!/bin/bash\necho FastImagePull: true\n")


@pytest.mark.parametrize("user_data, on", [
    (coldstart.launch_template_user_data(), True),  # what a launch template holds (base64 MIME)
    (coldstart.node_class_user_data(), True),  # what an EC2NodeClass holds (a NodeConfig)
    (mime(("application/node.eks.aws", NODECONFIG.format("true"))), True),  # MIME, not encoded
    (base64.b64encode(NODECONFIG.format("true").encode()).decode(), True),  # a base64 NodeConfig
    (mime(("application/node.eks.aws", NODECONFIG.format("true")), ("application/node.eks.aws", NODECONFIG.format("false"))), False),  # later wins
    (mime(("application/node.eks.aws", NODECONFIG.format("false")), ("application/node.eks.aws", NODECONFIG.format("true"))), True),
    (mime(SHELL), False),  # a script mentioning the gate is not a NodeConfig
    (NODECONFIG.format("false"), False),
    (NODECONFIG.replace("FastImagePull", "InstanceIdNodeName").format("true"), False),
    (NODECONFIG.replace("kind: NodeConfig", "kind: Other").format("true"), False),
    ("not: [yaml", False),
    (None, False),
])
def test_the_gate_is_read_as_nodeadm_merges_it(user_data, on):
    assert image_pull.gate_on(user_data) is on


def test_only_the_user_data_the_pool_depends_on_counts():
    """A node group's own launch template decides, not another pool's: prod-aws's CPU group
    depends on a template without user data, while GPU templates in the same plan have it."""
    plan = plan_for_stack("prod-aws")
    cluster = plan.outputs["clusterName"]
    (cpu,) = [r for r in plan.resources if r.type == "aws:eks/nodeGroup:NodeGroup" and r.name == f"{cluster}-cpu"]
    assert not image_pull.parallel_pull(cpu, plan.resources)
    assert any(image_pull.gate_on(r.inputs.get("userData")) for r in plan.resources if r.type == "aws:ec2/launchTemplate:LaunchTemplate")


@pytest.mark.parametrize("stack, off", [("prod-aws", False), ("prod-aws", True), ("dev-aws", False), ("prod-gcp", False)])
def test_the_cost_table_prices_the_extra_throughput_per_gpu_node(stack, off):
    """gp3 throughput above the included 125 MiB/s, from the catalog's price: a row per EKS GPU
    pool, its minimum counting the warm nodes that run beside it; none with the switch off or
    on another cloud."""
    values = dict(engine.read_stack_config(stack)[0])
    if off:
        values["ml-clusters:aws"] = engine.config_string({**json.loads(values["ml-clusters:aws"]), "parallelImagePull": False})
    cfg = load(raw_from_pulumi(values)[0])
    plan = prod_aws_without_parallel_pull() if off else plan_for_stack(stack)
    lines = {line.item: line for line in cost.stack_cost(cfg, plan).lines}
    rows = {p.name: lines.get(image_pull.volume_throughput_item(p.name)) for p in cfg.gpu_pools}
    if off or cfg.cloud != "aws":
        assert rows and all(row is None for row in rows.values())
        return
    gp3 = prices.SERVICE_PRICES["aws"]["block-storage-throughput"]
    hourly = gp3.usd * (coldstart.ROOT_VOLUME_THROUGHPUT_MIBPS - 125) / HOURS_PER_MONTH
    for pool in cfg.gpu_pools:
        row = rows[pool.name]
        assert (row.usd_per_hour_min, row.usd_per_hour_max) == (
            round(hourly * (pool.min_nodes + pool.warm_nodes), 4), round(hourly * pool.max_nodes, 4)), pool.name
        assert row.source == gp3.source

"""The per-pool GPU cold start in the preview (preview/ready.py cold_starts), on the reference
stacks' cached plans: every figure is derived from components/catalog/timings.py here, never
copied, and the lazy pull is read from the pool's own input in the plan.

Upstream facts: pulumi-gcp 10.2.0 container.NodePool `node_config.gcfs_config.enabled` turns on
image streaming (components/clouds/gcp/coldstart.py); the streamed pull time is the Google Cloud
blog's (2021-11-03, "Introducing GKE image streaming"); pulumi-azure-native 3.29.0's AgentPool
(containerservice API 2025-09-01) has no artifact-streaming field, so no lazy pull to count. EKS
GPU pools pull in parallel (nodeadm's `FastImagePull`, awslabs/amazon-eks-ami v20260724
nodeadm/doc/examples.md): a whole pull, faster (tests/preview/test_parallel_pull.py).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from components.catalog import timings
from components.config import load
from components.config.read import raw_from_pulumi
from preview import engine, model_load, ready
from preview.__main__ import main
from tests.conftest import inputs, plan_for_stack

PAGE = Path(__file__).resolve().parents[2] / "docs" / "preview.md"
STACKS = {"prod-aws": ("h100", "l4infer"), "prod-gcp": ("h100", "h200", "l4infer"), "prod-azure": ("h100", "t4infer"),
          "staging-gcp": ("l4", "a100"), "dev-aws": ("l4",)}


def starts(stack: str) -> list[ready.ColdStart]:
    return ready.estimate(plan_for_stack(stack), STACKS[stack]).cold_starts


def expected_parts(cloud: str, streaming: bool, weights_streamed: bool = False, parallel: bool = False) -> dict[str, int]:
    image = timings.IMAGE_SIZE_GB[timings.COLD_START_IMAGE].seconds  # GB
    pull = timings.STREAMED_PULL_SECONDS.seconds if streaming else image * 1000 // timings.PULL_MB_PER_SECOND.seconds
    if parallel and not streaming:  # the whole pull scaled by the measured ratio
        pull = pull * timings.PARALLEL_PULL_MEASURED_MS[1] // timings.PARALLEL_PULL_MEASURED_MS[0]
    rate = timings.STREAMED_MODEL_LOAD_MB_PER_SECOND[cloud] if weights_streamed else timings.MODEL_LOAD_MB_PER_SECOND
    return {
        "node boot": timings.GPU_NODE_BOOT[cloud].seconds,
        "driver ready": timings.GPU_DRIVER_READY[cloud].seconds,
        "image pull": pull,
        "model load": timings.REFERENCE_MODEL_GB.seconds * 1000 // rate.seconds,
    }


def has_streaming_runtime(plan: engine.Plan) -> bool:
    """The plan holds the streamed-load runtime with vLLM's streamer argument (read here
    independently of preview/model_load.py)."""
    type_, name, argument = timings.MODEL_STREAMING_RUNTIME
    return any(inputs(r)["metadata"]["name"] == name and argument in inputs(r)["spec"]["containers"][0]["args"]
               for r in plan.by_type(type_))


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_each_gpu_pool_has_its_parts_from_the_catalog(stack):
    found = starts(stack)
    weights = has_streaming_runtime(plan_for_stack(stack))
    assert [c.pool for c in found] == list(STACKS[stack])
    for c in found:
        # EKS GPU pools pull in parallel by default (tests/preview/test_parallel_pull.py reads it from the plan).
        assert {name: s for name, s, _ in c.parts} == expected_parts(c.cloud, c.streaming, weights, c.cloud == "aws"), c.pool
        assert {name: s for name, s, _ in c.before} == expected_parts(c.cloud, False), c.pool
        assert all(source for _, _, source in c.parts)  # every part names where its figure comes from


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_streaming_is_read_from_the_pools_input_in_the_plan(stack):
    plan = plan_for_stack(stack)
    for c in starts(stack):
        (pool,) = [r for r in plan.resources if r.type in timings.NODE_POOL_CLOUDS and ready.pool_of(r, [c.pool]) == c.pool]
        path = timings.IMAGE_STREAMING_INPUTS.get(pool.type)
        value = inputs(pool)
        for key in (path or "-").split("."):
            value = value.get(key) if isinstance(value, dict) else None
        assert c.streaming == (value is True), c.pool
        # GKE GPU pools stream images; no other cloud's pool has a lazy pull this round.
        assert c.streaming == (c.cloud == "gcp"), c.pool


def test_a_karpenter_pool_is_estimated_from_its_nodepool():
    """prod-aws's h100 is on Karpenter (no node group): its NodePool (named `<cluster>-h100-nodepool`,
    metadata.name h100) is the pool's resource; the same EKS AMI boots, so the AWS figures hold."""
    plan = plan_for_stack("prod-aws")
    (nodepool,) = [r for r in plan.resources if r.type == "kubernetes:karpenter.sh/v1:NodePool" and inputs(r)["metadata"]["name"] == "h100"]
    assert timings.NODE_POOL_CLOUDS[nodepool.type] == "aws"
    assert not [r for r in plan.resources if r.type == "aws:eks/nodeGroup:NodeGroup" and r.name.endswith("-h100")]
    (h100,) = [c for c in starts("prod-aws") if c.pool == "h100"]
    assert (h100.cloud, h100.streaming) == ("aws", False)
    assert ready.pool_of(nodepool, ["h100", "l4infer"]) == "h100"


def test_streaming_saves_the_whole_pull_less_the_streamed_start():
    for stack in ("prod-gcp", "staging-gcp"):
        for c in starts(stack):
            whole = timings.IMAGE_SIZE_GB[timings.COLD_START_IMAGE].seconds * 1000 // timings.PULL_MB_PER_SECOND.seconds
            load = dict((n, s) for n, s, _ in c.before)["model load"] - dict((n, s) for n, s, _ in c.parts)["model load"]
            assert c.before_seconds - c.seconds == whole - timings.STREAMED_PULL_SECONDS.seconds + load


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_the_streamed_model_load_is_read_from_the_plan_and_names_its_source(stack):
    """The model load is streamed exactly where the stack builds the streaming runtime (KServe
    on and a model store: prod-aws, prod-azure, staging-gcp; not dev-aws or prod-gcp, which run no
    KServe), at the cloud's rate; the source names the streamer's benchmark, and says
    "estimate" where no figure is published for that store (GCS, Azure Blob)."""
    plan = plan_for_stack(stack)
    cfg = load(raw_from_pulumi(engine.read_stack_config(stack)[0])[0])
    weights = has_streaming_runtime(plan)
    assert weights == model_load.weights_streamed(plan.resources)
    assert weights == (cfg.platform.workloads.serving.enabled and cfg.cloud in timings.STREAMED_MODEL_LOAD_MB_PER_SECOND)
    for c in starts(stack):
        (_, seconds, source), (_, before, before_source) = c.parts[-1], c.before[-1]
        assert before == timings.REFERENCE_MODEL_GB.seconds * 1000 // timings.MODEL_LOAD_MB_PER_SECOND.seconds
        assert "one stream" in before_source and "Run:ai" not in before_source
        if weights:
            rate = timings.STREAMED_MODEL_LOAD_MB_PER_SECOND[c.cloud]
            assert seconds == timings.REFERENCE_MODEL_GB.seconds * 1000 // rate.seconds < before
            assert "Run:ai Model Streamer" in source and "benchmarks.md @ 0.15.7" in source
            assert source.count(timings.ESTIMATE) == (c.cloud != "aws")
        else:
            assert (seconds, source) == (before, before_source)


def test_a_runtime_without_the_streamer_argument_is_not_the_fast_path():
    plan = plan_for_stack("prod-aws")
    type_, _, argument = timings.MODEL_STREAMING_RUNTIME
    (runtime,) = plan.by_type(type_)
    assert model_load.weights_streamed([runtime])
    body = copy.deepcopy(runtime.inputs)
    body["spec"]["containers"][0]["args"].remove(argument)
    assert not model_load.weights_streamed([dataclasses.replace(runtime, inputs=body)])
    renamed = copy.deepcopy(runtime.inputs)
    renamed["metadata"]["name"] = "kserve-vllmserver"
    assert not model_load.weights_streamed([dataclasses.replace(runtime, inputs=renamed)])
    # Without it, every pool's model load is the one-stream figure again.
    others = [r for r in plan.resources if r.urn != runtime.urn]
    for c in ready.cold_starts(others, STACKS["prod-aws"]):
        assert [p for p in c.parts if p[0] == "model load"] == [p for p in c.before if p[0] == "model load"]


def table_rows() -> list[tuple[list[str], list[str], str, str, str, str, str]]:
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("<!-- section:cold-start -->"):text.index("<!-- /section:cold-start -->")]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0] not in ("stacks",) and not cells[0].startswith("---"):
            rows.append(([x.strip() for x in cells[0].split(",")], [x.strip() for x in cells[1].split(",")], *cells[2:]))
    return rows


def test_docs_table_is_each_reference_pools_estimate_and_the_half_target_derived_from_the_catalog():
    """docs/preview.md states, per reference stack and GPU pool, its warm nodes, the estimate
    before (from zero, whole pulls), from zero with the lazy pulls this program turns on, and the
    first pod's wait with the stack's warm nodes, and whether the issue's target (the first pod's
    wait <= before / 2) is met. Every figure here is computed from the catalog through the preview."""
    rows = table_rows()
    covered = set()
    for stacks, pools, warm, before, after, first, share in rows:
        for stack in stacks:
            found = [c for c in ready.estimate(plan_for_stack(stack), pools).cold_starts if str(c.warm_nodes) == warm]
            for c in found:
                assert (ready.minutes(c.before_seconds), ready.minutes(c.seconds), ready.minutes(c.first_seconds)) == \
                    (before, after, first), (stack, c.pool)
                assert share == f"{round(100 * c.first_seconds / c.before_seconds)}%", (stack, c.pool)
                covered.add((stack, c.pool))
            assert found, (stack, pools, warm)
    # Every GPU pool of every stack with a cloud backend is in the table.
    for stack in engine.available_stacks():
        values, _ = engine.read_stack_config(stack)
        raw, _ = raw_from_pulumi(values)
        cfg = load(raw)
        if cfg.cloud != "existing":
            assert {(stack, p.name) for p in cfg.gpu_pools} <= covered, stack
    # The page's verdict on the target follows from the rows: met for the first pod on every
    # pool with warm nodes, not met on the pools without.
    text = " ".join(PAGE.read_text(encoding="utf-8").split())
    warm_rows = [r for r in rows if r[2] != "0"]
    cold_rows = [r for r in rows if r[2] == "0"]
    assert warm_rows and all(2 * seconds(r[5]) <= seconds(r[3]) for r in warm_rows)
    assert ("is met for the first pod on every pool with warm nodes" in text) == all(2 * seconds(r[5]) <= seconds(r[3]) for r in warm_rows)
    assert ("It is not met for pods beyond the warm nodes, nor on the pools that keep none" in text) == \
        any(2 * seconds(r[5]) > seconds(r[3]) for r in cold_rows)


def test_a_warm_pools_first_pod_waits_only_for_the_model_load():
    """On the prod stacks' warm pools: node boot, driver ready and image pull 0 (timings.WARM_NODE_PARTS),
    the model load as from zero; the warm nodes are the stack file's; a pool without keeps its from-zero wait."""
    for stack in ("prod-aws", "prod-gcp", "prod-azure"):
        cfg = load(raw_from_pulumi(engine.read_stack_config(stack)[0])[0])
        warm = {p.name: p.warm_nodes for p in cfg.gpu_pools}
        found = ready.estimate(plan_for_stack(stack), list(warm)).cold_starts
        assert {c.pool: c.warm_nodes for c in found} == warm and any(warm.values())
        weights = has_streaming_runtime(plan_for_stack(stack))  # a warm node's model load streams too
        for c in found:
            zero = expected_parts(c.cloud, c.streaming, weights, c.cloud == "aws")  # EKS: parallel pull
            first = {name: s for name, s, _ in c.first_parts}
            if c.warm_nodes:
                assert first == {**zero, "node boot": 0, "driver ready": 0, "image pull": 0}, (stack, c.pool)
                assert c.first_seconds == zero["model load"]
                assert all(source for _, _, source in c.first_parts)
            else:
                assert first == zero and c.first_seconds == c.seconds
            # Pods beyond the warm nodes: the whole cold start, as before.
            assert {name: s for name, s, _ in c.parts} == zero


def seconds(text: str) -> int:
    minutes_, secs = text.split(":")
    return int(minutes_) * 60 + int(secs)


def test_preview_prints_and_writes_the_cold_start(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["prod-gcp", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "GPU cold start" in text and timings.REFERENCE_MODEL in text
    doc = json.loads(out.read_text())["timeToReady"]["coldStart"]
    assert [d["pool"] for d in doc] == list(STACKS["prod-gcp"])
    for d, c in zip(doc, starts("prod-gcp"), strict=True):
        assert d["seconds"] == c.seconds and d["secondsWithoutStreaming"] == c.before_seconds and d["imageStreaming"] is True
        assert d["imagePull"] == c.image_pull == "streamed"  # GKE pools stream, they do not pull in parallel
        assert [p["part"] for p in d["parts"]] == ["node boot", "driver ready", "image pull", "model load"]
        assert all(p["source"] for p in d["parts"])
        assert (d["warmNodes"], d["firstPodSeconds"]) == (c.warm_nodes, c.first_seconds)
        assert [(p["part"], p["seconds"]) for p in d["firstPodParts"]] == [(n, s) for n, s, _ in c.first_parts]
    assert "first pod" in text and "warm nodes" in text


def test_a_tpu_pool_has_no_gpu_cold_start_and_still_gates_nothing():
    """staging-gcp's v5e TPU slice: the preview passes it as a pool the platform must not wait
    for, but its cold start is not a GPU pod's (vLLM on a GPU), so it gets no row."""
    cfg = load(raw_from_pulumi(engine.read_stack_config("staging-gcp")[0])[0])
    tpus = [p.name for p in cfg.tpu_pools]
    assert tpus == ["v5e"]
    ttr = ready.estimate(plan_for_stack("staging-gcp"), [p.name for p in cfg.gpu_pools], tpus)
    assert [c.pool for c in ttr.cold_starts] == [p.name for p in cfg.gpu_pools]
    # Still a pool nothing may wait for: the path and the waits are what they were when the
    # TPU pool was passed among the GPU pools.
    as_gpu = ready.estimate(plan_for_stack("staging-gcp"), [p.name for p in cfg.gpu_pools] + tpus)
    assert ttr.seconds == as_gpu.seconds and ttr.serializations == as_gpu.serializations
    assert "v5e" in [c.pool for c in as_gpu.cold_starts]  # what the preview printed before

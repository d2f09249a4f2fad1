"""The preview engine's shortcuts change how fast the plan is recorded, never what it records."""

from __future__ import annotations

import gc
import json

import pytest
import yaml

from preview import engine
from preview.bench import large_stack


def _plan_text(plan: engine.Plan) -> str:
    return json.dumps(
        [[r.urn, r.type, r.parent, r.custom, r.protect, r.provider, list(r.dependencies), engine.redact(r.inputs)] for r in plan.resources]
        + [engine.redact(plan.outputs)],
        sort_keys=True,
    )


# prod-aws is compared inside the large stack below (its own pools are kept there).
@pytest.mark.parametrize("stack", ["prod-azure", "staging-gcp", "local"])
def test_shortcuts_record_the_same_plan_as_the_sdk(stack):
    values, secret_keys = engine.read_stack_config(stack)
    fast = engine.run_program(stack, values, secret_keys, shortcuts=True)
    sdk = engine.run_program(stack, values, secret_keys, shortcuts=False)
    assert fast.resources and _plan_text(fast) == _plan_text(sdk)


def test_shortcuts_keep_the_dependencies_of_a_large_stack(tmp_path):
    # The benchmark's stack (prod-aws with generated pools and teams), keeping prod-aws's own
    # GPU pools too (Karpenter, EFA), so prod-aws's every kind of resource is compared here.
    doc = large_stack(pools=6, namespaces=6)
    own = yaml.safe_load((engine.ROOT_DIR / "stacks" / "Pulumi.prod-aws.yaml").read_text())["config"]["ml-clusters:gpuPools"]
    doc["config"]["ml-clusters:gpuPools"] = own + doc["config"]["ml-clusters:gpuPools"]
    path = tmp_path / "Pulumi.bench.yaml"
    path.write_text(yaml.safe_dump(doc))
    values, secret_keys = engine.read_stack_config(str(path))
    fast = engine.run_program("bench", values, secret_keys, shortcuts=True)
    sdk = engine.run_program("bench", values, secret_keys, shortcuts=False)
    assert len(fast.resources) > 150
    assert fast.by_type("kubernetes:karpenter.sh/v1:NodePool") and fast.by_type("aws:ec2/placementGroup:PlacementGroup")
    assert _plan_text(fast) == _plan_text(sdk)


def test_a_dependency_cycle_is_still_refused():
    # The SDK refuses an edge that closes a cycle (pulumi/runtime/resource_cycle_breaker.py);
    # the preview's faster check must give the same answer.
    class Node:
        pass

    a, b, c = Node(), Node(), Node()
    engine._DEPENDED_ON.clear()
    assert engine._declare_dependency(a, b) and engine._declare_dependency(b, c)
    assert not engine._declare_dependency(c, a)
    assert engine._declare_dependency(a, c)
    engine._DEPENDED_ON.clear()


def test_the_unknowns_walk_gives_the_sdks_answers_and_leaves_no_cycle():
    """engine._contains_unknowns stands in for pulumi's rpc.contains_unknowns during an
    evaluation: the same answer for every shape, and no garbage only the collector can free."""
    from pulumi.output import UNKNOWN as unknown
    from pulumi.runtime import rpc

    shared = {"a": [1, 2]}
    values = [
        None, 1, "x", unknown, [], {}, [1, [2, [3, unknown]]], {"a": {"b": [unknown]}}, {"a": {"b": [1]}},
        [shared, shared], {"k": shared, "u": [shared, {"v": unknown}]}, ("tuple", unknown), {unknown},
    ]
    for value in values:
        assert engine._contains_unknowns(value) == rpc.contains_unknowns(value), value
    # Only the youngest generation: what these calls leave (a full collection would walk the
    # whole test process).
    gc.collect(0)
    gc.disable()
    try:
        for value in values:
            engine._contains_unknowns(value)
        assert gc.collect(0) == 0
        for value in values:
            rpc.contains_unknowns(value)
        assert gc.collect(0) > 0  # the SDK's own walk leaves a cycle per call (why the engine swaps it)
    finally:
        gc.enable()

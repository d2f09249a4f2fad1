"""The day-2 classifier: preview a stack before and after one change and say, per resource,
what the provider would do, from one table of provider facts per cloud.

A fact is (resource type, input path, effect, source). `replace` means the provider or the
cloud cannot change that input in place (a Terraform ForceNew field, an azure-native
replacement rule, a field AKS refuses in place). Any other changed input is an in-place
update. A resource's own `replaceOnChanges` option also forces a replace, as the engine does
(pulumi/pulumi pkg/resource/deploy/step_generator.go: replaceOnChanges paths that differ turn
an update into a replace).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from preview import engine
from tests.conftest import inputs


@dataclass(frozen=True)
class Fact:
    type: str
    path: str  # an input path in the engine's (camelCase) names; a prefix matches its children
    effect: str  # "replace" or "update"
    source: str


@dataclass
class Outcome:
    name: str
    type: str
    action: str  # create | delete | update | replace | same
    paths: tuple[str, ...] = ()
    delete_before_replace: bool = False
    replaced_by: tuple[str, ...] = field(default_factory=tuple)  # the facts or options that force it


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, child in value.items():
            out.update(_leaves(child, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: value}


def changed_paths(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    """Leaf paths whose value differs (lists compare whole; a secret or unknown compares by value)."""
    old, new = _leaves(before), _leaves(after)
    return tuple(sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p)))


def _covers(path: str, changed: str) -> bool:
    return changed == path or changed.startswith(path + ".") or path.startswith(changed + ".")


def classify_one(before: Optional[engine.PlannedResource], after: Optional[engine.PlannedResource], facts: Iterable[Fact]) -> Outcome:
    res = after or before
    assert res is not None
    if before is None:
        return Outcome(res.name, res.type, "create")
    if after is None:
        return Outcome(res.name, res.type, "delete")
    paths = changed_paths(inputs(before), inputs(after))
    if not paths:
        return Outcome(res.name, res.type, "same")
    forced = [f"fact {f.path} ({f.source})" for f in facts if f.type == res.type and f.effect == "replace" and any(_covers(f.path, p) for p in paths)]
    forced += [f"replaceOnChanges {p}" for p in after.replace_on_changes if any(_covers(p, c) for c in paths)]
    action = "replace" if forced else "update"
    return Outcome(res.name, res.type, action, paths, after.delete_before_replace, tuple(forced))


def classify(before: engine.Plan, after: engine.Plan, facts: Iterable[Fact]) -> dict[str, Outcome]:
    """Every custom resource whose plan differs, by URN."""
    facts = list(facts)
    old = {r.urn: r for r in before.resources if r.custom}
    new = {r.urn: r for r in after.resources if r.custom}
    out = {}
    for urn in sorted(set(old) | set(new)):
        outcome = classify_one(old.get(urn), new.get(urn), facts)
        if outcome.action != "same":
            out[urn] = outcome
    return out


def by_name(outcomes: dict[str, Outcome]) -> dict[str, Outcome]:
    return {o.name: o for o in outcomes.values()}


def assert_no_stateful_replaced(outcomes: dict[str, Outcome], stateful: set[str]) -> None:
    bad = [o.name for o in outcomes.values() if o.type in stateful and o.action in ("replace", "delete")]
    assert not bad, f"stateful resources replaced or deleted: {bad}"


def plan_stack_changed(stack: str, set_keys: Optional[dict[str, Any]] = None, drop: Iterable[str] = ()) -> engine.Plan:
    """Preview a stack file with some of its keys (without the project prefix) changed or
    removed; secrets stay secrets, as Pulumi hands them over."""
    values, secret_keys = engine.read_stack_config(stack)
    for key in drop:
        values.pop(f"{engine.PROJECT}:{key}", None)
    for key, value in (set_keys or {}).items():
        values[f"{engine.PROJECT}:{key}"] = engine.config_string(value)
    return engine.run_program(stack, values, secret_keys)


def assert_replace_is_clash_free(outcome: Outcome, generated_names: dict[str, str], name_paths: Optional[dict[str, str]] = None) -> None:
    """A replaced resource either goes first (delete-before-replace), or its new copy gets a new
    physical name: the provider generates one per copy (`generated_names`: type -> why), or
    the program changed its name input (`name_paths`: type -> input path)."""
    assert outcome.action == "replace", outcome
    renamed = (name_paths or {}).get(outcome.type) in outcome.paths
    assert outcome.delete_before_replace or outcome.type in generated_names or renamed, (
        f"{outcome.name}: replaced with the same physical name and no delete-before-replace")


def preview_change(before: engine.Plan, after_raw: dict[str, Any], facts: Iterable[Fact], stateful: set[str]) -> dict[str, Outcome]:
    """Preview `after_raw`, classify it against `before`, check nothing stateful is replaced or
    deleted, and return the outcomes by resource name."""
    from tests.conftest import plan_for

    outcomes = classify(before, plan_for(after_raw), facts)
    assert_no_stateful_replaced(outcomes, stateful)
    return by_name(outcomes)


# What gpuPools[].warmNodes makes (components/platform/warm.py): the placeholders' namespace,
# its fence, their priority class and one Deployment per warm pool.
WARM_KINDS = {"kubernetes:core/v1:Namespace", "kubernetes:networking.k8s.io/v1:NetworkPolicy",
              "kubernetes:scheduling.k8s.io/v1:PriorityClass", "kubernetes:apps/v1:Deployment"}


def assert_warm_nodes_toggle_only_their_objects(stack: str, facts: list[Fact], warm: dict[str, int]) -> tuple[engine.Plan, list[dict]]:
    """Turn a stack's warm nodes off and on again: off deletes only the WARM_KINDS objects (a
    Deployment per pool in `warm`, the stack's pool -> warmNodes, which the stack file must say),
    on creates exactly them, and nothing else (no node pool, NodePool or agent pool) changes.
    Returns the stack's plan and its GPU pools as written."""
    import json

    from tests.conftest import plan_for_stack

    pools = json.loads(engine.read_stack_config(stack)[0][f"{engine.PROJECT}:gpuPools"])
    assert {p["name"]: p.get("warmNodes", 0) for p in pools} == warm
    with_warm = plan_for_stack(stack)
    cold = plan_stack_changed(stack, {"gpuPools": [{k: v for k, v in p.items() if k != "warmNodes"} for p in pools]})
    off, on = classify(with_warm, cold, facts), classify(cold, with_warm, facts)
    assert {o.action for o in off.values()} == {"delete"} and {o.action for o in on.values()} == {"create"}
    assert {o.type for o in off.values()} == WARM_KINDS
    assert sorted(o.name for o in off.values()) == sorted(o.name for o in on.values())
    assert sorted(o.name for o in off.values() if o.type == "kubernetes:apps/v1:Deployment") == \
        sorted(f"ml-{stack}-warm-{pool}" for pool, n in warm.items() if n)
    return with_warm, pools

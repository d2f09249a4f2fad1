"""Run the policy pack in-process over planned resources (the offline preview, tests, CI).

    from policies import offline
    violations = offline.evaluate(plan.resources, "prod")
    print(offline.format_text(violations))
    plan_json["policy"] = offline.report(violations, "prod")
    sys.exit(offline.exit_code(violations))

`resources` are objects with `urn, type, name, parent, custom, inputs, protect, provider`
(preview.engine.PlannedResource): the same rules the CrossGuard pack runs, with the same
per-environment config file, exemptions and enforcement levels. A JSON dump of such
resources can be checked from the command line:

    python -m policies.offline plan.json                 # environment from the plan's outputs
    python -m policies.offline --environment prod resources.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

try:  # repo root on sys.path (tests, preview) or policies/ itself
    from .configfile import PolicyConfigError, load_for
    from .rules import BY_ID, RULES, Rule
    from .rules.base import Resource, normalize, run_resource_rule, run_stack_rule
except ImportError:  # pragma: no cover - exercised only with policies/ as the sys.path root
    from configfile import PolicyConfigError, load_for  # type: ignore[no-redef]
    from rules import BY_ID, RULES, Rule  # type: ignore[no-redef]
    from rules.base import Resource, normalize, run_resource_rule, run_stack_rule  # type: ignore[no-redef]

LEVEL_ORDER = {"mandatory": 0, "advisory": 1}
UNKNOWN_MARKER = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown-string sentinel
STACK_TYPE = "pulumi:pulumi:Stack"

__all__ = ["PolicyConfigError", "Violation", "evaluate", "exit_code", "format_text", "report"]


@dataclass(frozen=True)
class Violation:
    policy: str  # the policy id, e.g. "eks-private-endpoint"
    level: str  # "mandatory" | "advisory"
    urn: str
    type: str
    name: str
    message: str
    fix: str  # one line: what to change

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    def sort_key(self) -> tuple:
        return (LEVEL_ORDER.get(self.level, 9), self.policy, self.urn, self.message)


def _view(resource: Any) -> Resource:
    return Resource(
        urn=str(resource.urn),
        type=str(resource.type),
        name=str(resource.name),
        props=normalize(dict(resource.inputs or {})),
        protect=bool(getattr(resource, "protect", False)),
        parent=getattr(resource, "parent", None) or None,
    )


def _stack_identity(views: Sequence[Resource]) -> tuple[str, str]:
    """(urn, name) of the stack the resources belong to, for findings about the stack as a whole."""
    for view in views:
        parts = view.urn.split("::")
        if len(parts) >= 4 and parts[0].startswith("urn:pulumi:"):
            stack, project = parts[0][len("urn:pulumi:") :], parts[1]
            return f"{parts[0]}::{project}::{STACK_TYPE}::{project}-{stack}", f"{project}-{stack}"
    return "", "(stack)"


def _level(configured: str) -> Optional[str]:
    """The level a violation is reported at; None when the policy is off. A stack has
    nothing to remediate offline, so remediate counts as mandatory (as under the CLI)."""
    if configured == "disabled":
        return None
    return "mandatory" if configured in ("mandatory", "remediate") else "advisory"


def evaluate(resources: Iterable[Any], environment: str, config_file: Optional[str] = None) -> list[Violation]:
    """Every violation of the pack for `resources` in `environment` (dev|staging|prod),
    configured by `config_file` or policies/config/<environment>.json, sorted: mandatory
    first, then by policy id, URN and message. Raises PolicyConfigError for a bad config."""
    config = load_for(environment, config_file)
    views = [_view(r) for r in resources]
    stack_urn, stack_name = _stack_identity(views)
    out: list[Violation] = []
    for rule in RULES:
        settings = config.settings(rule, environment)
        level = _level(settings.level)
        if level is None:
            continue
        if rule.kind == "stack":
            outcome = run_stack_rule(rule, views, settings.config)
            for f in outcome.findings:
                target = f.resource
                out.append(
                    Violation(
                        policy=rule.id,
                        level=level,
                        urn=target.urn if target else stack_urn,
                        type=target.type if target else STACK_TYPE,
                        name=target.name if target else stack_name,
                        message=f.message,
                        fix=f.fix or rule.fix,
                    )
                )
            continue
        for view in views:
            if view.type not in rule.types:
                continue
            outcome = run_resource_rule(rule, view, settings.config)
            out.extend(
                Violation(policy=rule.id, level=level, urn=view.urn, type=view.type, name=view.name, message=f.message, fix=f.fix or rule.fix)
                for f in outcome.findings
            )
    return sorted(set(out), key=Violation.sort_key)


def exit_code(violations: Sequence[Violation]) -> int:
    """1 when any violation is mandatory, else 0."""
    return 1 if any(v.level == "mandatory" for v in violations) else 0


def counts(violations: Sequence[Violation]) -> dict[str, int]:
    return {level: sum(1 for v in violations if v.level == level) for level in ("mandatory", "advisory")}


def report(violations: Sequence[Violation], environment: str, config_file: Optional[str] = None) -> dict[str, Any]:
    """The `policy` block of the JSON plan."""
    source = config_file if config_file is not None else f"policies/config/{environment}.json"
    return {
        "pack": "ml-clusters",
        "environment": environment,
        "config": str(source),
        "counts": counts(violations),
        "passed": exit_code(violations) == 0,
        "violations": [v.to_json() for v in violations],
    }


def _rule(policy_id: str) -> Optional[Rule]:
    return BY_ID.get(policy_id)


def format_text(violations: Sequence[Violation]) -> str:
    """Violations grouped by level, each with its resource and the fix; last line the verdict."""
    lines: list[str] = []
    for level in ("mandatory", "advisory"):
        group = [v for v in violations if v.level == level]
        if not group:
            continue
        lines.append(f"{level.upper()} ({len(group)})")
        for v in group:
            rule = _rule(v.policy)
            severity = f" {rule.severity}" if rule else ""
            lines.append(f"  [{v.policy}]{severity}  {v.type}  {v.name}")
            lines.append(f"      {v.message}")
            lines.append(f"      fix: {v.fix}")
    n = counts(violations)
    if n["mandatory"]:
        lines.append(f"Policy: FAILED, {n['mandatory']} mandatory and {n['advisory']} advisory violation(s).")
    elif n["advisory"]:
        lines.append(f"Policy: passed with {n['advisory']} advisory violation(s).")
    else:
        lines.append("Policy: passed, no violations.")
    return "\n".join(lines)


@dataclass(frozen=True)
class _JsonResource:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    protect: bool = False
    parent: Optional[str] = None
    custom: bool = True
    provider: str = ""


# How the preview's JSON plan shows values it cannot print; a rule cannot judge them either.
REDACTED = ("[secret]", "[unknown]")


def _unredact(value: Any) -> Any:
    if isinstance(value, str) and value in REDACTED:
        return UNKNOWN_MARKER
    if isinstance(value, dict):
        return {k: _unredact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unredact(v) for v in value]
    return value


def load_resources(path: str | Path) -> list[_JsonResource]:
    """Resources from a JSON file: a list of {urn, type, name, inputs, protect, parent?}
    or an object holding that list under "resources" (the preview's --json plan). Values
    redacted as "[secret]" or "[unknown]" are read as unknown. A row without `protect`
    counts as unprotected."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = data.get("resources", []) if isinstance(data, dict) else data
    return [
        _JsonResource(
            urn=r["urn"],
            type=r["type"],
            name=r["name"],
            inputs=_unredact(r.get("inputs") or {}),
            protect=bool(r.get("protect", False)),
            parent=r.get("parent"),
        )
        for r in rows
    ]


ENVIRONMENT_NAMES = ("dev", "staging", "prod")


def plan_environment(path: str | Path) -> Optional[str]:
    """The environment a preview plan was made for (its `environment` stack output), if any."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    env = (data.get("outputs") or {}).get("environment") if isinstance(data, dict) else None
    return env if env in ENVIRONMENT_NAMES else None


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policies.offline", description="Check planned resources against the ml-clusters policy pack.")
    parser.add_argument("resources", help="JSON file: a list of resources, or an object with a 'resources' list")
    parser.add_argument("--environment", "-e", choices=ENVIRONMENT_NAMES,
                        help="dev, staging or prod (default: the plan's `environment` output, as the preview's --json writes it)")
    parser.add_argument("--config", help="policy config file (default: policies/config/<environment>.json)")
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of text")
    args = parser.parse_args(argv)
    if args.environment is None:
        args.environment = plan_environment(args.resources)
        if args.environment is None:
            print(f"{args.resources}: no `environment` output in the plan; pass --environment dev|staging|prod", file=sys.stderr)
            return 2
    try:
        violations = evaluate(load_resources(args.resources), args.environment, args.config)
    except PolicyConfigError as err:
        print("\n".join(err.problems), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report(violations, args.environment, args.config), indent=2, sort_keys=True))
    else:
        print(format_text(violations))
    return exit_code(violations)


if __name__ == "__main__":
    sys.exit(main())

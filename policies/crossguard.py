"""The registry's rules as pulumi-policy `Policy` objects, for the CrossGuard pack.

`build_policies()` wraps every rule of `policies.rules` in a `ResourceValidationPolicy` or
`StackValidationPolicy` with its id, description, severity, default enforcement level and
config schema. The wrappers read the props proxy into plain data (an unknown value becomes
UNKNOWN instead of raising), then call the same `run_resource_rule` / `run_stack_rule` the
offline runner calls; "not applicable" outcomes (environment, exemption, unknown value) go
back to the engine through `args.not_applicable()`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

try:  # repo root on sys.path (tests) or policies/ itself (the Pulumi CLI)
    from .rules import RULES, Rule
    from .rules.base import UNKNOWN, Finding, Resource, normalize, run_resource_rule, run_stack_rule
except ImportError:  # pragma: no cover - exercised only under the CLI
    from rules import RULES, Rule  # type: ignore[no-redef]
    from rules.base import UNKNOWN, Finding, Resource, normalize, run_resource_rule, run_stack_rule  # type: ignore[no-redef]

PACK_NAME = "ml-clusters"


def plain(value: Any) -> Any:
    """Copy pulumi-policy's props proxy into plain dicts and lists. Reading an unknown
    value through the proxy raises UnknownValueError; here it becomes UNKNOWN, so one
    unknown field makes only the rules that read it inapplicable."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            try:
                out[str(key)] = plain(value[key])
            except UnknownValueError:
                out[str(key)] = UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        seq: list[Any] = []
        for i in range(len(value)):
            try:
                seq.append(plain(value[i]))
            except UnknownValueError:
                seq.append(UNKNOWN)
        return seq
    return value


def _props(value: Any) -> dict[str, Any]:
    return normalize(plain(value)) if value is not None else {}


def _text(finding: Finding, rule: Rule) -> str:
    return f"{finding.message}\nFix: {finding.fix or rule.fix}"


def _resource_validator(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    types = frozenset(rule.types)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in types:
            return
        opts = args.opts
        resource = Resource(
            urn=args.urn,
            type=args.resource_type,
            name=args.name,
            props=_props(args.props),
            protect=bool(getattr(opts, "protect", False)),
            parent=getattr(opts, "parent", None),
        )
        outcome = run_resource_rule(rule, resource, rule.resolve_config(args.get_config()))
        if outcome.not_applicable:
            args.not_applicable(outcome.not_applicable)
        for finding in outcome.findings:
            report_violation(_text(finding, rule), None)

    validate.__name__ = f"validate_{rule.id.replace('-', '_')}"
    return validate


def _stack_validator(rule: Rule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            Resource(
                urn=r.urn,
                type=r.resource_type,
                name=r.name,
                props=_props(r.props),
                protect=bool(getattr(r.opts, "protect", False)),
                parent=r.parent.urn if r.parent is not None else getattr(r.opts, "parent", None),
            )
            for r in args.resources
        ]
        outcome = run_stack_rule(rule, resources, rule.resolve_config(args.get_config()))
        if outcome.not_applicable:
            args.not_applicable(outcome.not_applicable)
        for finding in outcome.findings:
            report_violation(_text(finding, rule), finding.resource.urn if finding.resource else None)

    validate.__name__ = f"validate_{rule.id.replace('-', '_')}"
    return validate


def to_policy(rule: Rule) -> Policy:
    common: dict[str, Any] = dict(
        name=rule.id,
        description=rule.description,
        enforcement_level=EnforcementLevel(rule.level),
        config_schema=PolicyConfigSchema(properties=rule.config_schema()),
        display_name=rule.title,
        severity=Severity(rule.severity),
        tags=[rule.domain],
        remediation_steps=rule.fix,
    )
    if rule.kind == "stack":
        return StackValidationPolicy(validate=_stack_validator(rule), **common)
    return ResourceValidationPolicy(validate=_resource_validator(rule), **common)


def build_policies(rules: Optional[Sequence[Rule]] = None) -> list[Policy]:
    """One pulumi-policy Policy per rule, in registry order."""
    return [to_policy(rule) for rule in (RULES if rules is None else rules)]

"""What every rule is made of, and the one place that runs a rule.

A rule is a plain function decorated with `@resource_rule(...)` or `@stack_rule(...)`.
The decorator records its metadata (id, description, severity, default level, fix, the
per-policy config it accepts) on the function as `fn.rule` and leaves the function itself
untouched, so tests can call it directly.

Rules see resources as `Resource` views: inputs in the engine's camelCase names, secrets
unwrapped and values unknown at preview replaced by `UNKNOWN`. Rules read inputs through
`get()` / `items()` / `is_set()`; reading an unknown value raises `UnknownValue`, which
`run_resource_rule` and `run_stack_rule` turn into "not applicable" instead of a crash.
`present()` is the one exception, for "must be set" checks: a value that will exist but is
not known yet (a KMS key ARN at preview) counts as present, because presence is all they ask.

Nothing here imports Pulumi: the CrossGuard adapter (`policies/crossguard.py`) and the
offline runner (`policies/offline.py`) both call `run_resource_rule` / `run_stack_rule`.
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
SEVERITIES = ("low", "medium", "high", "critical")
ENVIRONMENTS = ("dev", "staging", "prod")
POLICY_ID_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")

# The engine's markers for values unknown at preview (sdk/go/common/resource/plugin/rpc.go).
UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string (also the Python SDK's rpc.UNKNOWN)
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


class _Unknown:
    """A value the engine does not know yet (an output of a resource still to be created)."""

    _instance: Optional["_Unknown"] = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()


class UnknownValue(Exception):
    """Raised by the accessors when a rule reads a value unknown at preview."""

    def __init__(self, path: str):
        super().__init__(path)
        self.path = path


def normalize(value: Any) -> Any:
    """Plain JSON-like data for rules: secrets unwrapped, unknown markers as UNKNOWN,
    whole floats (the wire format of every number) as ints."""
    if isinstance(value, str):
        return UNKNOWN if value in UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return normalize(value.get("value"))
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --- Reading inputs ------------------------------------------------------------------------

Path = Union[str, Sequence[Union[str, int]]]


def _parts(path: Path) -> list[Union[str, int]]:
    if isinstance(path, str):
        return [int(p) if p.isdigit() else p for p in path.split(".")] if path else []
    return list(path)


def get(obj: Any, path: Path, default: Any = None) -> Any:
    """The value at `path` ("a.b.0.c" or a list of keys), `default` when absent or null.
    Raises UnknownValue when the value, or anything on the way to it, is unknown."""
    cur = obj
    walked: list[str] = []
    for part in _parts(path):
        if cur is UNKNOWN:
            raise UnknownValue(".".join(walked) or "<root>")
        if isinstance(cur, Mapping) and isinstance(part, str):
            if part not in cur:
                return default
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int):
            if part >= len(cur):
                return default
            cur = cur[part]
        else:
            return default
        walked.append(str(part))
    if cur is UNKNOWN:
        raise UnknownValue(".".join(walked) or "<root>")
    return default if cur is None else cur


def items(obj: Any, path: Path) -> list[Any]:
    """The list at `path`; [] when absent. A single object where the engine allows one
    (e.g. pulumi-aws 7 made `encryptionConfig` an object) is returned as a one-item list."""
    value = get(obj, path)
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def present(obj: Any, path: Path) -> bool:
    """Whether `path` holds a non-empty value. An unknown value counts as present."""
    try:
        value = get(obj, path)
    except UnknownValue:
        return True
    return value not in (None, "", [], {})


def is_set(obj: Any, path: Path) -> bool:
    """Whether `path` holds a non-empty value; raises UnknownValue when it is unknown.
    For "must not be set" checks, where an unknown value cannot be judged."""
    return get(obj, path) not in (None, "", [], {})


def flag(value: Any) -> Optional[bool]:
    """A boolean input as True/False; the AWS provider spells some as "true"/"false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def show(value: Any) -> str:
    """A value as a message shows it."""
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- Resources and findings ------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """What a rule sees of one resource."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    protect: bool = False
    parent: Optional[str] = None


@dataclass(frozen=True)
class Finding:
    """One violation. `fix` defaults to the rule's fix; `resource` names the resource at
    fault for stack rules (None: the stack as a whole)."""

    message: str
    fix: Optional[str] = None
    resource: Optional[Resource] = None


@dataclass(frozen=True)
class Context:
    """A rule's view of its configuration: the rule's config properties with defaults filled in."""

    config: Mapping[str, Any]

    @property
    def environment(self) -> Optional[str]:
        return self.config.get("environment")


ResourceCheck = Callable[[Resource, Context], Iterable[Union[Finding, str]]]
StackCheck = Callable[[Sequence[Resource], Context], Iterable[Finding]]


# --- Rule metadata ---------------------------------------------------------------------------

EXEMPTIONS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "Resources this policy does not apply to, each with the documented reason.",
    "items": {
        "type": "object",
        "properties": {
            "resource": {"type": "string", "minLength": 1, "description": "Resource name, or a URN suffix such as aws:eks/cluster:Cluster::ml-prod."},
            "reason": {"type": "string", "minLength": 10, "description": "Why the exemption is acceptable; shown in reviews."},
        },
        "required": ["resource", "reason"],
        "additionalProperties": False,
    },
    "default": [],
}

ENVIRONMENT_SCHEMA: dict[str, Any] = {
    "type": "string",
    "enum": list(ENVIRONMENTS),
    "description": "The environment of the stack under check; each config file in policies/config sets it.",
    # Strict by default: a run without a config file is judged as prod.
    "default": "prod",
}

_order = itertools.count()


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    description: str
    severity: str
    level: str  # default enforcement level
    fix: str
    domain: str
    kind: str  # "resource" or "stack"
    check: Callable[..., Any]
    types: tuple[str, ...] = ()  # resource rules: the engine type tokens checked
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Environments the rule applies in; None: all. A rule that reads the environment
    # (environments set, or uses_environment) gets the `environment` config property.
    environments: Optional[tuple[str, ...]] = None
    uses_environment: bool = False
    order: int = 0

    @property
    def environment_aware(self) -> bool:
        return self.environments is not None or self.uses_environment

    def config_schema(self) -> dict[str, dict[str, Any]]:
        """JSON-schema properties of this policy's config (enforcementLevel aside)."""
        props: dict[str, dict[str, Any]] = {k: dict(v) for k, v in self.config.items()}
        if self.environment_aware:
            props["environment"] = dict(ENVIRONMENT_SCHEMA)
        props["exemptions"] = dict(EXEMPTIONS_SCHEMA)
        return props

    def defaults(self) -> dict[str, Any]:
        return {k: copy.deepcopy(v["default"]) for k, v in self.config_schema().items() if "default" in v}

    def resolve_config(self, given: Optional[Mapping[str, Any]]) -> dict[str, Any]:
        """Defaults overlaid with `given` (what a config file or the CLI passed)."""
        out = self.defaults()
        out.update(normalize(dict(given or {})))
        return out


def _validate_meta(rule: Rule) -> None:
    problems = []
    if not POLICY_ID_RE.match(rule.id):
        problems.append(f"id {rule.id!r} is not a policy name (lowercase words joined by hyphens)")
    if rule.severity not in SEVERITIES:
        problems.append(f"severity {rule.severity!r} is not one of {SEVERITIES}")
    if rule.level not in ("advisory", "mandatory"):
        problems.append(f"default level {rule.level!r} must be advisory or mandatory")
    if rule.environments is not None and not set(rule.environments) <= set(ENVIRONMENTS):
        problems.append(f"environments {rule.environments!r} must be among {ENVIRONMENTS}")
    if rule.kind == "resource" and not rule.types:
        problems.append("a resource rule must name the resource types it checks")
    for text, what in ((rule.description, "description"), (rule.fix, "fix"), (rule.title, "title")):
        if not text or "\n" in text:
            problems.append(f"{what} must be one non-empty line")
    for key, schema in rule.config.items():
        if "default" not in schema or "description" not in schema:
            problems.append(f"config property {key!r} needs a default and a description")
    if problems:
        raise ValueError(f"rule {rule.id}: " + "; ".join(problems))


def _make_decorator(kind: str, **meta: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        types = meta.pop("types", ())
        rule = Rule(
            kind=kind,
            check=fn,
            types=tuple(types),
            order=next(_order),
            **meta,
        )
        _validate_meta(rule)
        fn.rule = rule  # type: ignore[attr-defined]
        return fn

    return decorate


def resource_rule(
    *,
    id: str,
    title: str,
    domain: str,
    types: Sequence[str],
    description: str,
    severity: str,
    level: str,
    fix: str,
    config: Optional[Mapping[str, Mapping[str, Any]]] = None,
    environments: Optional[Sequence[str]] = None,
    uses_environment: bool = False,
) -> Callable[[ResourceCheck], ResourceCheck]:
    return _make_decorator(
        "resource",
        id=id,
        title=title,
        domain=domain,
        types=types,
        description=description,
        severity=severity,
        level=level,
        fix=fix,
        config=dict(config or {}),
        environments=tuple(environments) if environments is not None else None,
        uses_environment=uses_environment,
    )


def stack_rule(
    *,
    id: str,
    title: str,
    domain: str,
    description: str,
    severity: str,
    level: str,
    fix: str,
    config: Optional[Mapping[str, Mapping[str, Any]]] = None,
    environments: Optional[Sequence[str]] = None,
    uses_environment: bool = False,
    types: Sequence[str] = (),
) -> Callable[[StackCheck], StackCheck]:
    return _make_decorator(
        "stack",
        id=id,
        title=title,
        domain=domain,
        types=types,
        description=description,
        severity=severity,
        level=level,
        fix=fix,
        config=dict(config or {}),
        environments=tuple(environments) if environments is not None else None,
        uses_environment=uses_environment,
    )


# --- Running a rule -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    findings: tuple[Finding, ...] = ()
    # Why the rule did not apply (environment, exemption, unknown value), or None.
    not_applicable: Optional[str] = None


def exemption_for(config: Mapping[str, Any], urn: str, name: str) -> Optional[str]:
    """The reason of the first exemption in `config` matching the resource, or None.
    An exemption's `resource` matches the resource's name, its whole URN, or a URN suffix
    that starts at a type or name boundary ("aws:eks/cluster:Cluster::ml-prod")."""
    for entry in config.get("exemptions") or []:
        target = str(entry.get("resource", ""))
        if not target:
            continue
        if target == name or target == urn or urn.endswith("::" + target) or urn.endswith("$" + target):
            return str(entry.get("reason", ""))
    return None


def _environment_gate(rule: Rule, config: Mapping[str, Any]) -> Optional[str]:
    if rule.environments is None:
        return None
    env = config.get("environment")
    if env not in rule.environments:
        return f"applies only in {', '.join(rule.environments)}; this stack's environment is {env}"
    return None


def _as_finding(item: Union[Finding, str]) -> Finding:
    return item if isinstance(item, Finding) else Finding(message=str(item))


def run_resource_rule(rule: Rule, resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """Run a resource rule on one resource with its resolved config."""
    if resource.type not in rule.types:
        return Outcome()
    gate = _environment_gate(rule, config)
    if gate:
        return Outcome(not_applicable=gate)
    reason = exemption_for(config, resource.urn, resource.name)
    if reason is not None:
        return Outcome(not_applicable=f"exempted by the policy config: {reason}")
    try:
        findings = tuple(_as_finding(f) for f in rule.check(resource, Context(config)))
    except UnknownValue as unknown:
        return Outcome(not_applicable=f"{unknown.path} is unknown until the resource exists; checked at the next preview")
    return Outcome(findings=findings)


def run_stack_rule(rule: Rule, resources: Sequence[Resource], config: Mapping[str, Any]) -> Outcome:
    """Run a stack rule over every resource; findings on exempted resources are dropped."""
    gate = _environment_gate(rule, config)
    if gate:
        return Outcome(not_applicable=gate)
    try:
        found = [_as_finding(f) for f in rule.check(resources, Context(config))]
    except UnknownValue as unknown:
        return Outcome(not_applicable=f"{unknown.path} is unknown until the resource exists; checked at the next preview")
    kept = tuple(f for f in found if f.resource is None or exemption_for(config, f.resource.urn, f.resource.name) is None)
    return Outcome(findings=kept)

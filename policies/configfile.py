"""Reading a policy config file the way `pulumi preview --policy-pack-config FILE` does.

The format is Pulumi's: a JSON object whose keys are policy ids (or "all"), each value
either an enforcement level string or an object with an optional `enforcementLevel` and
the policy's config properties:

    {
      "all": "mandatory",
      "eks-private-endpoint": "advisory",
      "gpu-max-gpus-per-stack": {"enforcementLevel": "mandatory", "maxGpus": 16},
      "prod-protect-stateful-resources": {
        "environment": "prod",
        "exemptions": [{"resource": "scratch-bucket", "reason": "rebuilt nightly from the dataset registry"}]
      }
    }

Offline this module is stricter than the CLI: unknown policy ids and unknown properties
are errors (the CLI ignores them), so a typo cannot silently switch a rule off.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

try:  # policies/ on sys.path (the Pulumi CLI) or the repo root (tests, preview)
    from .rules import BY_ID, ENVIRONMENTS, LEVELS, Rule
except ImportError:  # pragma: no cover - exercised only under the CLI
    from rules import BY_ID, ENVIRONMENTS, LEVELS, Rule  # type: ignore[no-redef]

CONFIG_DIR = Path(__file__).resolve().parent / "config"


class PolicyConfigError(ValueError):
    """A policy config file is invalid; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def config_path(environment: str) -> Path:
    return CONFIG_DIR / f"{environment}.json"


# --- A JSON-schema subset (the keywords the rules' config schemas use) ---------------------

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def validate(value: Any, schema: Mapping[str, Any], path: str) -> list[str]:
    """Problems of `value` against `schema`: type, enum, minimum/maximum, minLength,
    pattern, items, properties, required and additionalProperties."""
    kind = schema.get("type")
    if kind is not None and not _TYPES[kind](value):
        return [f"{path}: {json.dumps(value)} is not of type {kind}"]
    out: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {json.dumps(value)} is not allowed; allowed: {', '.join(map(str, schema['enum']))}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{path}: {json.dumps(value)} is shorter than {schema['minLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{path}: {json.dumps(value)} does not match {schema['pattern']}")
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{path}: {value} is less than the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{path}: {value} is more than the maximum {schema['maximum']}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += validate(item, schema["items"], f"{path}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                out.append(f"{path}.{key}: required property is missing")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                out += validate(item, props[key], f"{path}.{key}")
            elif extra is False:
                hint = difflib.get_close_matches(key, list(props), n=1)
                maybe = f" (did you mean {hint[0]}?)" if hint else ""
                out.append(f"{path}.{key}: unknown property{maybe}; allowed: {', '.join(sorted(props)) or 'none'}")
            elif isinstance(extra, dict):
                out += validate(item, extra, f"{path}.{key}")
    return out


# --- The file -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicySettings:
    """What one rule runs with: its effective level and its resolved config."""

    level: str
    config: Mapping[str, Any]


@dataclass
class PackConfig:
    source: str
    all_level: Optional[str] = None
    levels: dict[str, str] = field(default_factory=dict)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)

    def settings(self, rule: Rule, environment: Optional[str] = None) -> PolicySettings:
        """The rule's level (file, then "all", then the rule's default) and its config
        (defaults, then the file). `environment`, when given, fills the `environment`
        property of rules that read it and the file does not set."""
        given = dict(self.properties.get(rule.id, {}))
        if rule.environment_aware and environment is not None:
            given.setdefault("environment", environment)
        level = self.levels.get(rule.id) or self.all_level or rule.level
        return PolicySettings(level=level, config=rule.resolve_config(given))

    def check_environment(self, environment: str) -> None:
        """Refuse a file written for another environment (e.g. dev.json on a prod stack)."""
        problems = []
        for rule_id, props in sorted(self.properties.items()):
            stated = props.get("environment")
            if stated is not None and stated != environment:
                problems.append(
                    f"{self.source}: {rule_id}.environment is {stated!r} but the stack's environment is {environment!r}; "
                    f"use policies/config/{environment}.json or fix the value"
                )
        if problems:
            raise PolicyConfigError(problems)


def parse(data: Any, source: str = "<config>") -> PackConfig:
    """Parse and validate a policy config document; raises PolicyConfigError."""
    if not isinstance(data, dict):
        raise PolicyConfigError([f"{source}: expected a JSON object of policy ids"])
    config = PackConfig(source=source)
    problems: list[str] = []
    for key, value in data.items():
        where = f"{source}: {key}"
        if key == "all":
            if isinstance(value, dict) and set(value) == {"enforcementLevel"}:
                value = value["enforcementLevel"]
            if value not in LEVELS:
                problems.append(f"{where}: {json.dumps(value)} is not an enforcement level; allowed: {', '.join(LEVELS)}")
            else:
                config.all_level = value
            continue
        rule = BY_ID.get(key)
        if rule is None:
            hint = difflib.get_close_matches(key, list(BY_ID), n=1)
            maybe = f" (did you mean {hint[0]}?)" if hint else ""
            problems.append(f"{where}: unknown policy{maybe}")
            continue
        if isinstance(value, str):
            value = {"enforcementLevel": value}
        if not isinstance(value, dict):
            problems.append(f"{where}: {json.dumps(value)} must be an enforcement level or an object")
            continue
        props = dict(value)
        level = props.pop("enforcementLevel", None)
        if level is not None:
            if level not in LEVELS:
                problems.append(f"{where}.enforcementLevel: {json.dumps(level)} is not allowed; allowed: {', '.join(LEVELS)}")
            else:
                config.levels[key] = level
        schema = {"type": "object", "properties": rule.config_schema(), "additionalProperties": False}
        problems += validate(props, schema, where)
        if props:
            config.properties[key] = props
    if problems:
        raise PolicyConfigError(problems)
    return config


def load(path: str | Path) -> PackConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise PolicyConfigError([f"{path}: cannot read the policy config ({err.strerror})"]) from err
    if not text.strip():
        return PackConfig(source=str(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise PolicyConfigError([f"{path}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}"]) from err
    return parse(data, str(path))


def load_for(environment: str, config_file: str | Path | None = None) -> PackConfig:
    """The config a stack of `environment` runs with: `config_file`, or
    policies/config/<environment>.json."""
    if environment not in ENVIRONMENTS:
        raise PolicyConfigError([f"environment {environment!r} is not one of {', '.join(ENVIRONMENTS)}"])
    config = load(config_file if config_file is not None else config_path(environment))
    config.check_environment(environment)
    return config

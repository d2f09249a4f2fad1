"""A stack's config as Pulumi hands it over, validated into the model in one pass.

A stack file says `ml-clusters:<key>: value`. `load()` validates all of it before a
single resource is registered and reports every problem at once, one line each:
`<key path>: <bad value> <what is wrong>; <what is allowed>`.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pulumi
from pydantic import ValidationError

from .checks import config_warnings, partial_semantic_problems, semantic_problems
from .checks.access import azure_tenant_problems
from .checks.alerts import plain_secret_problems
from .checks.placeholders import placeholder_problems, placeholder_warnings
from .errors import ConfigError, format_validation_error
from .fields import field_by_alias, is_structured
from .model import PROJECT, StackConfig
from .resolve import resolve_config


def raw_from_pulumi(values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Turn Pulumi's flat config (`ml-clusters:key` -> string) into the model's dict.

    Pulumi hands every value over as a string; structured keys hold JSON. Keys of other
    namespaces (provider settings like `aws:region`) are not ours and are left alone.
    """
    raw: dict[str, Any] = {}
    problems: list[str] = []
    prefix = PROJECT + ":"
    for full_key in sorted(values):
        if not full_key.startswith(prefix):
            continue
        key, value = full_key[len(prefix) :], values[full_key]
        if value == "":
            continue  # Pulumi.yaml declares optional scalars with an empty default: unset
        field = field_by_alias(StackConfig, key)
        if field is not None and is_structured(field.annotation) and isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                problems.append(f"{key}: {value!r} is not a structured value; write it as a YAML mapping or list")
                continue
        raw[key] = value
    # The GCP project may come from the provider's own config (`gcp:project`), so a stack
    # can move between clouds by changing `cloud` alone. An explicit gcp.project wins.
    project = values.get("gcp:project")
    if raw.get("cloud") == "gcp" and isinstance(project, str) and project:
        block = raw.get("gcp", {})
        if isinstance(block, dict) and "project" not in block:
            raw["gcp"] = {**block, "project": project}
    return raw, problems


def pulumi_config_values() -> dict[str, Any]:
    """Every config value the engine gave this program (explicit config wins over env)."""
    merged = dict(pulumi.runtime.config.get_config_env())
    merged.update(pulumi.runtime.config.CONFIG.get())
    return merged


# The offline preview (preview/engine.py) runs this same program under Pulumi's mock engine
# and says so here; everything else is a real deployment (`pulumi preview` / `pulumi up`).
_offline_preview = [False]


def mark_offline_preview() -> None:
    """Called by the offline preview: placeholders in a prod stack then stay warnings."""
    _offline_preview[0] = True


def load_from_pulumi() -> StackConfig:
    values = pulumi_config_values()
    raw, problems = raw_from_pulumi(values)
    prefix = PROJECT + ":"
    secrets = {k[len(prefix):] for k in values if k.startswith(prefix) and pulumi.runtime.config.is_config_secret(k)}
    real = not _offline_preview[0]
    cfg = load(raw, problems + azure_tenant_problems(raw, values.get("azure-native:tenantId")), secrets, real_deployment=real)
    for warning in config_warnings(cfg) + placeholder_warnings(cfg, raw, secrets, real):
        pulumi.log.warn(warning)
    return cfg


def load(
    raw: dict[str, Any], problems: Optional[list[str]] = None, secret_keys: Optional[set[str]] = None, real_deployment: bool = False
) -> StackConfig:
    """Validate `raw` (the stack's keys without the project prefix); raise ConfigError
    listing every problem found. `secret_keys`: the keys Pulumi holds as secrets (None:
    not known, e.g. a config built in code; the plain-text check is then skipped). The
    result is resolved: a place in `region` is the cloud's region and every pool has a
    concrete instance type (see `resolve_config`). `real_deployment`: a prod stack's
    documentation placeholders are errors (checks/placeholders.py)."""
    problems = list(problems or [])
    if secret_keys is not None:
        problems.extend(plain_secret_problems(raw, secret_keys))
    cfg: Optional[StackConfig] = None
    err: Optional[ValidationError] = None
    try:
        cfg = StackConfig.model_validate(raw)
    except ValidationError as error:
        err = error
        problems.extend(format_validation_error(err))
    if cfg is not None:
        problems.extend(semantic_problems(cfg))
        problems.extend(placeholder_problems(cfg, raw, secret_keys or set(), real_deployment))
    else:
        problems.extend(partial_semantic_problems(raw, err))
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    assert cfg is not None
    return resolve_config(cfg)

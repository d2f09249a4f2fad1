"""ConfigError, and pydantic's findings as one line each: key path, bad value, what is allowed."""

from __future__ import annotations

import difflib
import json
import typing
from typing import Any, Literal, Optional

import pulumi
from pydantic import ValidationError

from .fields import field_by_alias, model_at, unwrap


class ConfigError(pulumi.RunError):
    """Stack config is invalid. `str()` is one line per problem; Pulumi prints it without a traceback."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, sort_keys=True, default=str)


def _allowed_literals(loc: tuple[Any, ...]) -> Optional[list[str]]:
    while loc and isinstance(loc[-1], int):
        loc = loc[:-1]  # an item of a list of literals: the list's field says what is allowed
    parent = model_at(loc[:-1])
    if parent is None or not loc or isinstance(loc[-1], int):
        return None
    field = field_by_alias(parent, str(loc[-1]))
    ann = unwrap(field.annotation) if field else None
    if typing.get_origin(ann) is Literal:
        return [str(a) for a in typing.get_args(ann)]
    return None


def format_validation_error(err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        # Pydantic reports a Literal inside Optional once per branch; keep the useful one.
        loc = tuple(p for p in loc if p not in ("literal['aws','gcp','azure','existing']",))
        path, kind, value = _path(loc), e["type"], e.get("input")
        if kind == "extra_forbidden":
            parent = model_at(loc[:-1])
            allowed = sorted(f.alias or n for n, f in parent.model_fields.items()) if parent else []
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            maybe = f" (did you mean {hint[0]}?)" if hint else ""
            lines.append(f"{path}: unknown key{maybe}; allowed keys: {', '.join(allowed)}")
        elif kind == "missing":
            lines.append(f"{path}: required key is missing")
        elif kind == "literal_error":
            allowed = _allowed_literals(loc) or []
            lines.append(f"{path}: {_show(value)} is not allowed; allowed: {', '.join(allowed)}")
        elif kind in ("greater_than_equal", "less_than_equal"):
            bound = e["ctx"].get("ge", e["ctx"].get("le"))
            word = "less than" if kind == "greater_than_equal" else "more than"
            lines.append(f"{path}: {_show(value)} is {word} the allowed {'minimum' if kind == 'greater_than_equal' else 'maximum'} {bound}")
        elif kind == "string_pattern_mismatch":
            lines.append(f"{path}: {_show(value)} is not valid; it must match {e['ctx']['pattern']}")
        elif kind == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
            # YAML reads an unquoted 16 or 1.5 as a number; the key takes a string.
            lines.append(f'{path}: {_show(value)} is a number, a string is expected; quote it: "{value}"')
        else:
            lines.append(f"{path}: {_show(value)} is not valid; {e['msg'][0].lower()}{e['msg'][1:]}")
    return lines

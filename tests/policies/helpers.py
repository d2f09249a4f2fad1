"""Synthetic planned resources and dotted-path patches for the policy pack's tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Optional

PROJECT = "ml-clusters"
STACK = "test"
DELETE = object()  # patch() value that removes the key
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's marker for an unknown value


@dataclass
class FakeResource:
    """The shape of preview.engine.PlannedResource that policies.offline.evaluate reads."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    parent: Optional[str] = None
    custom: bool = True
    protect: bool = False
    provider: str = ""


def urn_for(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::mlclusters:index:MlCluster${type_}::{name}"


def res(type_: str, inputs: dict[str, Any], name: str = "r", protect: bool = False) -> FakeResource:
    return FakeResource(urn=urn_for(type_, name), type=type_, name=name, inputs=copy.deepcopy(inputs), protect=protect)


def patch(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `base` with dotted keys set (DELETE removes them). A key holding dots
    of its own (a label) is written as a tuple path."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        parts = list(key) if isinstance(key, tuple) else key.split(".")
        cur = out
        for part in parts[:-1]:
            if isinstance(cur, list):
                cur = cur[int(part)]
            else:
                cur = cur.setdefault(part, {})
        last = parts[-1]
        if isinstance(cur, list):
            cur[int(last)] = value
        elif value is DELETE:
            cur.pop(last, None)
        else:
            cur[last] = value
    return out

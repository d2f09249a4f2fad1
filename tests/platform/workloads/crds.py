"""Validate custom resources against the openAPIV3Schema of their CRD at the pinned version
(tests/data/crds, see its README for the sources), as strictly as `kubectl apply
--validate=strict`: a field the schema does not declare is an error, unless the schema
preserves unknown fields there."""

from __future__ import annotations

import copy
import functools
import gzip
import json
from pathlib import Path
from typing import Any

import jsonschema

DATA = Path(__file__).resolve().parents[2] / "data" / "crds"


def known(api_version: str, kind: str) -> bool:
    """Whether the schema of this kind is stored (a workload-layer custom resource)."""
    if not api_version or "/" not in api_version:
        return False
    group, version = api_version.split("/")
    return (DATA / f"{group}_{version}_{kind}.json.gz").is_file()


@functools.cache
def crd(api_version: str, kind: str) -> dict[str, Any]:
    group, version = api_version.split("/")
    path = DATA / f"{group}_{version}_{kind}.json.gz"
    return json.loads(gzip.decompress(path.read_bytes()))


def _strict(schema: Any) -> Any:
    """The schema with `additionalProperties: false` wherever it lists properties and does
    not allow others, and Kubernetes' int-or-string marker spelt as JSON Schema."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: v if k in ("enum", "required", "default", "example", "description") else _strict(v) for k, v in schema.items()}
    if "properties" in schema:
        out["properties"] = {name: _strict(s) for name, s in schema["properties"].items()}
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


@functools.cache
def _validator(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    schema = _strict(copy.deepcopy(crd(api_version, kind)["openAPIV3Schema"]))
    # metadata is checked by the API server as ObjectMeta, not by the CRD schema.
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def errors(obj: dict[str, Any]) -> list[str]:
    """Every schema error of `obj` (apiVersion, kind, metadata, spec), as `path: message`."""
    validator = _validator(obj["apiVersion"], obj["kind"])
    found = []
    for err in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in err.absolute_path) or "<root>"
        found.append(f"{where}: {err.message}")
    return found

"""docs/config.md, the config reference, generated from the config model so it cannot drift.

`python -m components.config_reference` rewrites its generated section; a test checks it."""

from __future__ import annotations

import json
import sys
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .config.fields import unwrap
from .config.model import StackConfig

PAGE = Path(__file__).resolve().parent.parent / "docs" / "config.md"
START, END = "<!-- section:config -->", "<!-- /section:config -->"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is Literal:
        return "string"
    if origin in (typing.Union, __import__("types").UnionType):
        return _type_name(args[0])
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[-1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return {str: "string", int: "integer", bool: "boolean", float: "number"}.get(annotation, str(annotation))


def _allowed(field: FieldInfo) -> str:
    ann = unwrap(field.annotation)
    if typing.get_origin(ann) is Literal:
        return ", ".join(f"`{a}`" for a in typing.get_args(ann))
    low = high = pattern = None
    for meta in field.metadata:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
        pattern = getattr(meta, "pattern", pattern)
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"{low} or more"
    if high is not None:
        return f"up to {high}"
    if pattern:
        return f"matches `{pattern}`"
    return ""


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "see below"
        return f"`{json.dumps(value)}`"
    if field.default is None or field.default is PydanticUndefined:
        return "unset"
    return f"`{json.dumps(field.default) if not isinstance(field.default, str) else field.default}`"


def rows(model: type[BaseModel] = StackConfig, prefix: str = "") -> list[tuple[str, str, str, str, str]]:
    out = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        ann = field.annotation
        inner = unwrap(ann)
        is_list = typing.get_origin(typing.get_args(ann)[0] if typing.get_origin(ann) in (typing.Union,) else ann) is list
        out.append((key, _type_name(ann), _default(field), _allowed(field), (field.description or "").replace("\n", " ")))
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            out.extend(rows(inner, f"{key}[]." if is_list else f"{key}."))
    return out


def catalog_rows() -> list[str]:
    from . import catalog

    lines = [
        "",
        "GPU types in the catalog (`gpuPools[].instanceType`, or picked from `gpu`/`gpusPerNode`), with the on-demand price the cost estimate and the pick use:",
        "",
        "| cloud | type | GPU | GPUs | GPU memory | vCPUs | memory GB | arch | USD/h | price region, date | regions |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for cloud, cat in sorted(catalog.CLOUDS.items()):
        for name, t in sorted(cat.instance_types.items(), key=lambda kv: (kv[1].gpu is None, kv[1].usd_per_hour)):
            if t.gpu is None:
                continue
            gpu = catalog.gpu_model(t.gpu)
            regions = ", ".join(cat.regions_offering(name))
            lines.append(
                f"| {cloud} | `{name}` | {gpu.name} | {t.gpus} | {gpu.memory_gb} GB | {t.vcpus} | {t.memory_gb:g} | {t.arch} "
                f"| {t.usd_per_hour:g} | {cat.price_region}, {cat.price_date} | {regions} |"
            )
    lines += fabric_rows()
    lines += ["", "System pool types (`systemPool.instanceType`): " + "; ".join(
        f"{cloud}: " + ", ".join(f"`{n}`" for n, t in sorted(cat.instance_types.items()) if t.gpu is None)
        for cloud, cat in sorted(catalog.CLOUDS.items())
    ) + ".", "", "Regions: " + "; ".join(
        f"{cloud}: " + ", ".join(sorted(cat.regions)) for cloud, cat in sorted(catalog.CLOUDS.items())
    ) + ".", "", "Places (`region` on any cloud): " + "; ".join(
        f"{place}: " + ", ".join(f"{cloud} {region}" for cloud, region in sorted(by_cloud.items()))
        for place, by_cloud in catalog.PLACES.items()
    ) + ".", "", f"Kubernetes versions: {', '.join(catalog.KUBERNETES_VERSIONS)}."]
    return lines


def fabric_rows() -> list[str]:
    """The catalog's GPU fabrics (`gpuPools[].interconnect: auto` gives a pool its type's)."""
    from . import catalog

    lines = [
        "",
        "GPU fabrics in the catalog (`gpuPools[].interconnect`; every GPU type not listed has none). "
        "Expected bus bandwidth: nccl-tests all_reduce_perf over 2 nodes, large messages; the NCCL "
        "acceptance job passes at 80% of it:",
        "",
        "| cloud | type | fabric | kind | NICs per node | line rate Gbit/s | expected busbw GB/s | source | bus bandwidth source |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for cloud, cat in sorted(catalog.CLOUDS.items()):
        for name, f in sorted(cat.fabrics.items()):
            lines.append(
                f"| {cloud} | `{name}` | {f.name} | `{f.kind}` | {f.nics} | {f.line_rate_gbps:,} | {f.expected_busbw_gbs:g} "
                f"| {f.source} | {f.busbw_source} |"
            )
    return lines


def render() -> str:
    lines = [
        "Every key lives under the project namespace in a stack file (`ml-clusters:<key>`); unknown keys are errors.",
        "Generated from `components/config/model.py` and the catalog by `python -m components.config_reference`.",
        "",
        "| key | type | default | allowed | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, type_, default, allowed, description in rows():
        cells = [f"`{key}`", type_, default, allowed, description]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines + catalog_rows())


def write_page(path: Path = PAGE) -> bool:
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{render()}\n{END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


if __name__ == "__main__":
    changed = write_page()
    print(f"{PAGE.relative_to(PAGE.parent.parent)}: config reference " + ("updated" if changed else "already current"))
    sys.exit(0)

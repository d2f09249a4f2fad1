"""Walking the config model by the keys a stack file spells (camelCase aliases)."""

from __future__ import annotations

import types
import typing
from typing import Any, Optional

from pydantic import BaseModel

from .model import StackConfig


def unwrap(annotation: Any) -> Any:
    """Optional[X] -> X; list[X] -> X; dict[str, X] -> X."""
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        elif origin in (list, dict):
            annotation = typing.get_args(annotation)[-1]
        else:
            return annotation


def is_structured(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(is_structured(a) for a in typing.get_args(annotation) if a is not type(None))
    return origin in (list, dict) or (isinstance(annotation, type) and issubclass(annotation, BaseModel))


def field_by_alias(model: type[BaseModel], alias: str) -> Any:
    for field in model.model_fields.values():
        if field.alias == alias:
            return field
    return None


def model_at(loc: tuple[Any, ...]) -> Optional[type[BaseModel]]:
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = field_by_alias(model, str(part))
        if field is None:
            return None
        model = unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None

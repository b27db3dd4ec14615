"""Strict numbers in API bodies: `"impact": "2"`, `2.0` and `true` are 422s, not an impact of 2.

Only the API-facing models are strict. The domain models stay lax, because the workflow decodes
stored histories with them and a history must replay as it ran.
"""

from __future__ import annotations

import copy
import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, Strict, create_model
from pydantic.fields import FieldInfo

ModelT = TypeVar("ModelT", bound=BaseModel)


def is_integer(annotation: Any) -> bool:
    """`int`, or an optional or union of it (never `bool`, which is a subclass)."""
    if annotation is int:
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return is_integer(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(is_integer(arg) for arg in typing.get_args(annotation))
    return False


def strict_field(info: FieldInfo) -> FieldInfo:
    """The same field; strict when it holds an integer."""
    if not is_integer(info.annotation):
        return info
    strict = copy.copy(info)
    strict.metadata = [*info.metadata, Strict()]
    return strict


def strict_numbers(model: type[ModelT]) -> type[ModelT]:
    """`model` under the same name, with its integer fields strict."""
    fields: dict[str, Any] = {
        name: (info.annotation, strict_field(info))
        for name, info in model.model_fields.items()
        if is_integer(info.annotation)
    }
    strict = create_model(model.__name__, __base__=model, __doc__=model.__doc__, **fields)
    return strict

"""Query strings read by one pydantic validation, documented from the same model (ADR 0068).

FastAPI reads each declared query parameter on its own, and works out again on every request
what kind of field it is (sequence or not, its aliases, whether it is a model): ~6 µs a
parameter on this project's 2-core machine, ~0.15 ms for the 25 parameters of a span listing
and ~2.5 times that right after a pause, when little of it is in the CPU's caches. The hot
routes (the span listing, its exports, metrics and segments) read their query string through a
`QueryParams` model instead: the values are gathered by name in one pass and validated in one
call, and the route documents the model's fields with ``openapi_extra=Model.openapi()``.

A value the model refuses is a `RequestValidationError` located at ``("query", name)``, as
FastAPI's own, so it becomes the same problem+json 400 naming the parameter. As FastAPI does,
a repeated scalar parameter takes its last value and parameters the model does not know are
ignored.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any, Self

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError


class QueryParams(BaseModel):
    """A route's query parameters; subclasses declare them as fields (``Field`` gives the
    bounds and the description, the default makes a parameter optional)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_request(cls, request: Request) -> Self:
        """The request's query string as this model (a 400 naming the parameter otherwise)."""
        given = request.query_params
        repeated = _repeated(cls)
        data: dict[str, Any] = {}
        for key in given.keys():  # noqa: SIM118 - a multi-dict: keys() once, values by kind
            if key in repeated:
                data[key] = given.getlist(key)
            elif key in cls.model_fields:
                data[key] = given[key]
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None

    @classmethod
    def openapi(cls) -> dict[str, Any]:
        """``openapi_extra`` of a route reading this model: one query parameter per field."""
        return {"parameters": _parameters(cls)}


@functools.cache
def _repeated(model: type[QueryParams]) -> frozenset[str]:
    """The model's sequence fields: parameters that may repeat (``kind=a&kind=b``)."""
    return frozenset(name for name, f in model.model_fields.items() if _is_sequence(f.annotation))


def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_sequence(a) for a in typing.get_args(annotation) if a is not type(None))
    return origin in (list, tuple)


@functools.cache
def _parameters(model: type[QueryParams]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    if "$defs" in schema:
        raise TypeError(f"{model.__name__}: query parameters must have inline schemas")
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        description = prop.get("description")  # on the parameter and its schema, as FastAPI
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
        }
        if description:
            param["description"] = description
        out.append(param)
    return out

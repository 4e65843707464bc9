"""OTLP attribute values to plain Python, and lenient coercion of attribute values.

Conversion rules (OTLP ``AnyValue`` → JSON-able Python): strings, ints, doubles and bools stay
as they are; ``array_value`` becomes a list, ``kvlist_value`` a dict, ``bytes_value`` a base64
string, and an empty value ``None``. This runs once per attribute on the ingest hot path, so
the scalar case is a set lookup and one ``getattr``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

SCALAR_FIELDS = frozenset(("string_value", "int_value", "double_value", "bool_value"))


def any_value_to_py(value: AnyValue) -> Any:
    """Convert one OTLP ``AnyValue`` to a JSON-able Python value."""
    which = value.WhichOneof("value")
    if which in SCALAR_FIELDS:
        return getattr(value, which)
    if which is None:
        return None
    if which == "array_value":
        return [any_value_to_py(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value_to_py(kv.value) for kv in value.kvlist_value.values}
    return base64.b64encode(value.bytes_value).decode("ascii")


def key_values_to_dict(items: Iterable[KeyValue]) -> dict[str, Any]:
    """Convert a repeated OTLP ``KeyValue`` to a dict (a later duplicate key wins)."""
    out: dict[str, Any] = {}
    for kv in items:
        value = kv.value
        which = value.WhichOneof("value")
        out[kv.key] = getattr(value, which) if which in SCALAR_FIELDS else any_value_to_py(value)
    return out


def as_str(value: Any) -> str | None:
    """Return ``value`` as a string; numbers are formatted, ``None`` and containers give None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def as_int(value: Any) -> int | None:
    """Return ``value`` as an int when it is an integral number or a decimal string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_float(value: Any) -> float | None:
    """Return ``value`` as a float when it is a number or a numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # past 1.8e308: infinite, refused where it would be stored
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def first_present(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """Return the value of the first of ``keys`` that ``attrs`` holds (not None), else None."""
    for key in keys:
        value = attrs.get(key)
        if value is not None:
            return value
    return None

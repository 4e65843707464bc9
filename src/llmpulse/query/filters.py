"""Span filters as users type them (``attr=key:value``, ``kind=llm``), parsed once.

The REST routes and the UI forms both read filters through these functions, so the same text
selects the same spans on a page and in the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.spans import SpanKind, StatusCode
from llmpulse.store.api import AttrEquals

E = TypeVar("E", SpanKind, StatusCode)


def as_utc(t: datetime | None) -> datetime | None:
    """Naive times are taken as UTC."""
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def parse_attr(raw: str, path: str) -> AttrEquals:
    """One ``key:value`` filter; spaces around the key and the value are dropped.

    Raises:
        InvalidInput: no ``:`` or an empty key; the error names ``path``.
    """
    key, sep, value = raw.partition(":")
    if not sep or not key.strip():
        raise InvalidInput(
            f"attr filter {raw!r} is not key:value",
            [FieldError(path, f"{raw!r} is not key:value, e.g. metadata.region:eu-west")],
        )
    return AttrEquals(key.strip(), value.strip())


def parse_attrs(values: Sequence[str]) -> tuple[AttrEquals, ...]:
    """Every ``attr`` value, in order (paths ``attr[i]``)."""
    return tuple(parse_attr(raw, f"attr[{i}]") for i, raw in enumerate(values))


def parse_enum(kind: type[E], raw: str, path: str) -> E:
    """A span kind or status by name, any case.

    Raises:
        InvalidInput: not one of the names; the error names ``path`` and lists them.
    """
    try:
        return kind(raw.upper())
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        msg = f"{raw!r} is not one of {allowed}"
        raise InvalidInput(f"{path} {msg}", [FieldError(path, msg)]) from None

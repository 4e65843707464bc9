"""Span pages encoded straight from the store's rows (ADR 0040).

`plain_row` turns one row of the span columns (`EventStore.list_span_rows`) into the plain
data of `SpanOut` that `span_to_dict(*clip_span(row_to_span(row)))` gives, without building
the `Span`, its messages, documents and events, or the clipped copy: 100 spans of a few kB
cost ~2 ms that way, about as much as the statement that reads their page. Only rows that
certainly need no clipping take this path: every text at most `MAX_CHARS` characters, every
JSON value (a dict, or a list of at most `MAX_ITEMS` messages, documents or events) at most
`MAX_CHARS` bytes as JSON, so no string or nested value inside it can be longer; any other
row is decoded and clipped as before (`plain_rows`). The tests compare both paths' bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from llmpulse.clock import to_unix_us
from llmpulse.domain.spans import SpanKind, StatusCode, latency_ms
from llmpulse.query.clip import MAX_CHARS, MAX_ITEMS, clip_span
from llmpulse.server.routes.models import span_to_dict
from llmpulse.store.events.codec import row_to_span
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES

_I = {name: i for i, name in enumerate(SPAN_COLUMN_NAMES)}
_TEXTS = tuple(
    _I[n]
    for n in (
        "name", "status_message", "model", "provider", "session_id", "user_id", "environment",
        "version", "prediction_id", "input_value", "output_value", "exception_type",
        "exception_message",
    )
)  # fmt: skip
_KINDS = frozenset(k.value for k in SpanKind)
_STATUSES = frozenset(s.value for s in StatusCode)
(P, TR, SP, PA, NA, KI, ST, EN, SC, SM, MO, PR, PT, CT, TT, CO, SE, US, EV, VE, PI, HS, IV,
 OV, ET, EM, IM, OM, DO, EVS, ME, AT, RA, TG) = (
    _I[n] for n in (
        "project", "trace_id", "span_id", "parent_span_id", "name", "kind", "start_time",
        "end_time", "status_code", "status_message", "model", "provider", "prompt_tokens",
        "completion_tokens", "total_tokens", "cost_usd", "session_id", "user_id",
        "environment", "version", "prediction_id", "http_status", "input_value",
        "output_value", "exception_type", "exception_message", "input_messages",
        "output_messages", "documents", "events", "metadata", "attributes",
        "resource_attributes", "tags",
    )
)  # fmt: skip


class _Clip(Exception):
    """The row may need clipping: encode it the long way."""


def plain_rows(rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The plain data of `SpanOut` for each row (see module)."""
    out = []
    for row in rows:
        try:
            out.append(plain_row(row))
        except _Clip:
            out.append(span_to_dict(*clip_span(row_to_span(row))))
    return out


def _dict(text: str | None) -> Any:
    """A dict column as `orjson.Fragment` of its JSON (what serializing the parsed dict
    writes), or {}."""
    value = orjson.loads(text) if text else None
    if not value:
        return {}
    encoded = orjson.dumps(value)
    if not isinstance(value, dict) or len(encoded) > MAX_CHARS:
        raise _Clip
    return orjson.Fragment(encoded)


def _items(text: str | None) -> list[dict[str, Any]]:
    if not text:
        return []
    items = orjson.loads(text)
    if not items:
        return []
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise _Clip
    if len(orjson.dumps(items)) > MAX_CHARS or not all(isinstance(d, dict) for d in items):
        raise _Clip
    return items


def _messages(text: str | None) -> list[dict[str, Any]]:
    return [
        {
            "role": d.get("role", ""),
            "content": _text(d.get("content", "")),
            "tool_calls": list(d.get("tool_calls") or ()),
        }
        for d in _items(text)
    ]


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        raise _Clip  # the long way decides (and fails as it did)
    return value


def _documents(text: str | None) -> list[dict[str, Any]]:
    return [
        {
            "id": d.get("id"),
            "content": _text(d.get("content", "")),
            "score": d.get("score"),
            "metadata": d.get("metadata"),
        }
        for d in _items(text)
    ]


def _events(text: str | None) -> list[dict[str, Any]]:
    return [
        {
            "name": d.get("name", ""),
            "time": _utc(datetime.fromisoformat(d["time"])),
            "attributes": d.get("attributes") or {},
        }
        for d in _items(text)
    ]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def plain_row(r: tuple[Any, ...]) -> dict[str, Any]:
    """`span_to_dict(*clip_span(row_to_span(r)))` for a row that needs no clipping.

    Raises:
        _Clip: the row may need clipping (or does not decode as a span): take the long way.
    """
    for i in _TEXTS:
        v = r[i]
        if v is not None and len(v) > MAX_CHARS:
            raise _Clip
    if r[KI] not in _KINDS or r[SC] not in _STATUSES:
        raise _Clip
    start, end = _utc(r[ST]), _utc(r[EN])
    return {
        "project": r[P],
        "trace_id": r[TR],
        "span_id": r[SP],
        "parent_span_id": r[PA],
        "name": r[NA],
        "kind": r[KI],
        "start_time": start,
        "end_time": end,
        "latency_ms": latency_ms(to_unix_us(start), to_unix_us(end)),
        "status_code": r[SC],
        "status_message": r[SM],
        "model": r[MO],
        "provider": r[PR],
        "prompt_tokens": r[PT],
        "completion_tokens": r[CT],
        "total_tokens": r[TT],
        "cost_usd": r[CO],
        "session_id": r[SE],
        "user_id": r[US],
        "environment": r[EV],
        "version": r[VE],
        "prediction_id": r[PI],
        "http_status": r[HS],
        "input_value": r[IV],
        "output_value": r[OV],
        "input_messages": _messages(r[IM]),
        "output_messages": _messages(r[OM]),
        "documents": _documents(r[DO]),
        "exception_type": r[ET],
        "exception_message": r[EM],
        "events": _events(r[EVS]),
        "metadata": _dict(r[ME]),
        "tags": list(r[TG] or ()),
        "attributes": _dict(r[AT]),
        "resource_attributes": _dict(r[RA]),
        "truncated": [],
    }

"""Spans with huge values clipped for listings and pages, and the way back to the full value.

A span may carry a 20 MB attribute (a whole document as ``input.value``, a base64 image in
metadata). Listings (``GET /api/v1/projects/{project}/spans``, ``GET /api/v1/traces/{id}``)
and UI pages show `clip_span`'s copy instead: every string longer than `MAX_CHARS` is cut
there (with ``…`` appended), every nested value whose JSON is longer is replaced by the
start of that JSON, and lists longer than `MAX_ITEMS` keep their first items. Each cut is a
`Clipped` naming the field (and the attribute key or the item index) that `full_value`
returns in full: ``GET /api/v1/spans/{span_id}/value?field=…&key=…`` serves it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from llmpulse.domain.errors import InvalidInput, NotFound
from llmpulse.domain.spans import Message, RetrievedDocument, Span, SpanEvent

MAX_CHARS = 10_000
"""Longest string (or nested value, as JSON) shown whole in a listing or a page."""
MAX_ITEMS = 200
"""Most messages, documents or events shown in a listing or a page."""

_TEXT_FIELDS = (
    "name", "status_message", "model", "provider", "session_id", "user_id", "environment",
    "version", "prediction_id", "input_value", "output_value", "exception_type",
    "exception_message",
)  # fmt: skip
_DICT_FIELDS = ("metadata", "attributes", "resource_attributes")
_LIST_FIELDS = ("input_messages", "output_messages", "documents", "events")
FIELDS = _TEXT_FIELDS + _DICT_FIELDS + _LIST_FIELDS
"""The span fields `full_value` serves."""


@dataclass(frozen=True, slots=True)
class Clipped:
    """One value shown cut: the field, and the attribute key or item index inside it."""

    field: str
    key: str | None = None

    def url(self, span_id: str) -> str:
        """The REST route that returns the full value."""
        url = f"/api/v1/spans/{span_id}/value?field={self.field}"
        return url if self.key is None else f"{url}&key={quote(self.key, safe='')}"


def _cut(text: str) -> str:
    return text[:MAX_CHARS] + "…"


def _json_len_over(value: Any) -> str | None:
    """The value's JSON cut to `MAX_CHARS` when it is longer, else None."""
    if not isinstance(value, dict | list | tuple) or not value:
        return None
    text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    return _cut(text) if len(text) > MAX_CHARS else None


def _clip_any(value: Any) -> tuple[Any, bool]:
    if isinstance(value, str):
        return (_cut(value), True) if len(value) > MAX_CHARS else (value, False)
    shown = _json_len_over(value)
    return (shown, True) if shown is not None else (value, False)


def _clip_dict(name: str, values: dict[str, Any], out: list[Clipped]) -> dict[str, Any]:
    clipped: dict[str, Any] = {}
    for key, value in values.items():
        shown, cut = _clip_any(value)
        clipped[key] = shown
        if cut:
            out.append(Clipped(name, key))
    return clipped


def _clip_item(item: Any) -> tuple[Any, bool]:
    """One message, document or event with its long parts cut."""
    changes: dict[str, Any] = {}
    if isinstance(item, Message | RetrievedDocument) and len(item.content) > MAX_CHARS:
        changes["content"] = _cut(item.content)
    nested = {
        Message: "tool_calls", RetrievedDocument: "metadata", SpanEvent: "attributes"
    }[type(item)]  # fmt: skip
    if _json_len_over(getattr(item, nested)) is not None:
        changes[nested] = () if nested == "tool_calls" else {}
    return (dataclasses.replace(item, **changes), True) if changes else (item, False)


def _clip_list(name: str, items: tuple[Any, ...], out: list[Clipped]) -> tuple[Any, ...]:
    shown = []
    for i, item in enumerate(items[:MAX_ITEMS]):
        clipped, cut = _clip_item(item)
        shown.append(clipped)
        if cut:
            out.append(Clipped(name, str(i)))
    if len(items) > MAX_ITEMS:
        out.append(Clipped(name))
    return tuple(shown)


def clip_span(span: Span) -> tuple[Span, tuple[Clipped, ...]]:
    """A copy of ``span`` fit for a listing or a page, and what was cut (nothing: the span)."""
    out: list[Clipped] = []
    changes: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = getattr(span, name)
        if value is not None and len(value) > MAX_CHARS:
            changes[name] = _cut(value)
            out.append(Clipped(name))
    for name in _DICT_FIELDS:
        before = len(out)
        shown = _clip_dict(name, getattr(span, name), out)
        if len(out) > before:
            changes[name] = shown
    for name in _LIST_FIELDS:
        before = len(out)
        items = getattr(span, name)
        shown_items = _clip_list(name, items, out)
        if len(out) > before:
            changes[name] = shown_items
    if not out:
        return span, ()
    return dataclasses.replace(span, **changes), tuple(out)


def full_value(span: Span, field: str, key: str | None) -> Any:
    """The full value of one field of ``span`` (an attribute by key, an item by index).

    Raises:
        InvalidInput: ``field`` is not one of `FIELDS`, or ``key`` is not an index of a list.
        NotFound: the span has no such attribute key or item.
    """
    if field not in FIELDS:
        raise InvalidInput(f"field must be one of {', '.join(FIELDS)}, got {field!r}")
    value = getattr(span, field)
    if key is None:
        return _plain(value)
    if field in _DICT_FIELDS:
        if key not in value:
            raise NotFound(f"span {span.span_id} has no {field} key {key!r}")
        return value[key]
    if field in _LIST_FIELDS:
        if not key.isdigit():
            raise InvalidInput(f"key of {field} must be an item index, got {key!r}")
        if int(key) >= len(value):
            raise NotFound(f"span {span.span_id} has no {field} item {key}")
        return _plain(value[int(key)])
    raise InvalidInput(f"field {field} takes no key")


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value

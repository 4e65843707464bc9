"""Logical span queries to SQL text plus bound parameters, through a small `Dialect`.

User text never enters SQL text: values, JSON paths and patterns are all bound parameters;
attribute keys are validated (`columns.resolve_attribute_key`) before they become a path.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from llmpulse.clock import from_unix_us, to_unix_us
from llmpulse.domain.cohorts import Condition
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import SpanId
from llmpulse.store.api import AttrEquals, SpanQuery
from llmpulse.store.events.columns import canonical_key, json_path, resolve_attribute_key
from llmpulse.store.events.layout import METADATA_KV_COLUMN, SEARCH_TEXT_COLUMN, metadata_pair

MAX_LIMIT = 1000


class Dialect(Protocol):
    """A `Dialect` supplies the engine-specific SQL fragments the compiler needs."""

    name: str

    def json_string(self, column: str) -> str:
        """Fragment: the JSON text of ``column`` at the path bound to one ``?``, as a string."""
        ...

    def contains(self, column: str) -> str:
        """Fragment: ``column`` contains the substring bound to one ``?`` (case-sensitive)."""
        ...

    def list_contains(self, column: str) -> str:
        """Fragment: the list ``column`` holds the value bound to one ``?``."""
        ...

    def ilike(self, column: str) -> str:
        """Fragment: ``column`` matches the pattern bound to one ``?``, any case, ``\\`` escape."""
        ...

    def search(self, column: str) -> str:
        """Fragment: the lower-cased ``column`` holds the text bound to one ``?``, any case."""
        ...


@dataclass(slots=True)
class Where:
    """A conjunction of SQL predicates and their parameters, in order."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        """Add one predicate with its parameters."""
        self.clauses.append(clause)
        self.params.extend(params)

    def add_in(self, column: str, values: tuple[str, ...]) -> None:
        """Add ``column IN (...)`` for a non-empty tuple of values."""
        if values:
            self.add(f"{column} IN ({', '.join('?' * len(values))})", *values)

    def sql(self) -> str:
        """The conjunction as SQL text (``TRUE`` when empty)."""
        return " AND ".join(self.clauses) if self.clauses else "TRUE"


def to_naive_utc(t: datetime) -> datetime:
    """An aware instant as the naive UTC value the engines store.

    Raises:
        InvalidInput: ``t`` has no timezone.
    """
    if t.tzinfo is None:
        raise InvalidInput("times must be timezone-aware", [FieldError("time", "naive")])
    return t.astimezone(UTC).replace(tzinfo=None)


def encode_cursor(start_time: datetime, span_id: str) -> str:
    """The opaque cursor after the row (``start_time`` naive UTC, ``span_id``)."""
    micros = to_unix_us(start_time.replace(tzinfo=UTC))
    raw = orjson.dumps([micros, span_id])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, SpanId]:
    """Read a cursor made by `encode_cursor`.

    Raises:
        InvalidInput: the cursor was not made by this store.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        micros, span_id = orjson.loads(raw)
        if not isinstance(micros, int) or not isinstance(span_id, str):
            raise TypeError(cursor)
        return from_unix_us(micros).replace(tzinfo=None), SpanId(span_id)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError, OverflowError) as e:
        raise InvalidInput("cursor is not valid", [FieldError("cursor", str(e))]) from e


def _json_prefilter_value(value: str) -> bool:
    """Whether ``value`` appears verbatim in the stored JSON text whenever the key equals it.

    True for strings JSON does not escape and for integers; floats are left to the exact test
    because their text form may differ between writer and reader.
    """
    if any(ch in value for ch in '"\\') or any(ord(ch) < 0x20 for ch in value):
        return False
    try:
        float(value)
    except ValueError:
        return True
    return value.lstrip("-").isdigit()


def _add_attribute(where: Where, i: int, cond: AttrEquals, d: Dialect) -> None:
    ref = resolve_attribute_key(cond.key, f"attributes[{i}].key")
    if ref.is_tag:
        where.add(d.list_contains(ref.column), cond.value)
    elif ref.json_key is None:
        where.add(f"{ref.column} = ?", cond.value)
    elif ref.column == "metadata":
        # The promoted pairs answer exactly what the JSON test would (see `layout`).
        where.add(d.list_contains(METADATA_KV_COLUMN), metadata_pair(ref.json_key, cond.value))
    else:
        if _json_prefilter_value(cond.value):
            # A cheap substring scan first: it rejects most rows before any JSON is parsed.
            where.add(d.contains(ref.column), cond.value)
        where.add(f"{d.json_string(ref.column)} = ?", json_path(ref.json_key), cond.value)


def escape_like(text: str) -> str:
    """Escape ``%``, ``_`` and the escape character itself for a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


GROUP_COLUMNS = frozenset(
    {"model", "kind", "name", "status_code", "provider", "environment", "version"}
    | {"session_id", "user_id", "prediction_id", "http_status"}
)


def key_expr(key: str, path: str, d: Dialect, params: list[Any]) -> str:
    """SQL text of one span key as a string: typed column or JSON value (path bound).

    Raises:
        InvalidInput: the key is not valid, or is the tags list.
    """
    key = canonical_key(key)
    if key in GROUP_COLUMNS:
        return f"CAST(spans.{key} AS VARCHAR)"
    ref = resolve_attribute_key(key, path)
    if ref.is_tag:
        raise InvalidInput("tag is a list, not a key", [FieldError(path, "use a single key")])
    if ref.json_key is None:
        return f"spans.{ref.column}"
    params.append(json_path(ref.json_key))
    return d.json_string(f"spans.{ref.column}")


def condition_sql(conditions: tuple[Condition, ...], d: Dialect) -> tuple[str, list[Any]]:
    """A conjunction of cohort conditions (``!=``/``not in`` also match a missing key)."""
    parts: list[str] = []
    params: list[Any] = []
    for i, c in enumerate(conditions):
        pairs = _metadata_condition(c, f"conditions[{i}].key", d, params)
        if pairs is not None:
            parts.append(pairs)
            continue
        key_params: list[Any] = []
        expr = key_expr(c.key, f"conditions[{i}].key", d, key_params)
        marks = ", ".join("?" * len(c.values))
        if c.op == "=":
            parts.append(f"{expr} = ?")
        elif c.op == "!=":
            parts.append(f"{expr} IS DISTINCT FROM ?")
        elif c.op == "in":
            parts.append(f"{expr} IN ({marks})")
        else:
            parts.append(f"({expr} IS NULL OR {expr} NOT IN ({marks}))")
            params.extend(key_params)  # the key expression appears twice
        params.extend(key_params)
        params.extend(c.values)
    return " AND ".join(parts) or "TRUE", params


def _metadata_condition(c: Condition, path: str, d: Dialect, params: list[Any]) -> str | None:
    """A condition on a metadata key as a test of the promoted ``metadata_kv`` pairs, or None
    for other keys.

    The pairs answer exactly what the JSON value would (see `layout`, ADR 0011) without
    parsing JSON per span: 20 SLOs scoped by tier or region over 1M spans went from 17 s to
    under a second. A span without metadata has NULL pairs, which count as "no such key", so
    ``!=`` and ``not in`` match it as they match any span that lacks the key.
    """
    key = canonical_key(c.key)
    if key in GROUP_COLUMNS:
        return None
    ref = resolve_attribute_key(key, path)
    if ref.column != "metadata" or ref.json_key is None:
        return None
    tests = []
    for v in c.values:  # list_contains per value: list_has_any was 7x slower here
        params.append(metadata_pair(ref.json_key, v))
        tests.append(d.list_contains(f"spans.{METADATA_KV_COLUMN}"))
    test = f"COALESCE({' OR '.join(tests)}, FALSE)"
    return test if c.op in ("=", "in") else f"NOT {test}"


def compile_filters(q: SpanQuery, d: Dialect) -> Where:
    """Every filter of ``q`` except the cursor, as one conjunction.

    Raises:
        InvalidInput: a key, a time or the limit is not acceptable.
    """
    if not 1 <= q.limit <= MAX_LIMIT:
        raise InvalidInput("limit out of range", [FieldError("limit", f"1..{MAX_LIMIT}")])
    where = Where()
    where.add("project = ?", q.project)
    if q.time.start is not None:
        where.add("start_time >= ?", to_naive_utc(q.time.start))
    if q.time.end is not None:
        where.add("start_time < ?", to_naive_utc(q.time.end))
    where.add_in("kind", tuple(str(k) for k in q.kinds))
    if q.status is not None:
        where.add("status_code = ?", str(q.status))
    where.add_in("model", q.models)
    where.add_in("name", q.names)
    for i, cond in enumerate(q.attributes):
        _add_attribute(where, i, cond, d)
    if q.text:
        # One scan of the derived, lower-cased search text (layout.SEARCH_TEXT_SQL, ADR 0025).
        where.add(d.search(SEARCH_TEXT_COLUMN), q.text)
    if q.trace_id is not None:
        where.add("trace_id = ?", q.trace_id)
    if q.root_only:
        where.add("parent_span_id IS NULL")
    if q.conditions:
        sql, params = condition_sql(q.conditions, d)
        where.add(f"({sql})", *params)
    return where


def add_cursor(where: Where, cursor: str | None) -> None:
    """Restrict ``where`` to rows strictly after the cursor in (start_time, span_id) DESC."""
    if cursor is None:
        return
    start, span_id = decode_cursor(cursor)
    where.add("(start_time < ? OR (start_time = ? AND span_id < ?))", start, start, span_id)

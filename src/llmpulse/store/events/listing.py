"""Span listing sorted by time, latency, tokens or cost, with keyset cursors and range filters.

The cursor names the sort it was made for and the last row's (sort value, span id); the next
page holds the rows strictly after it in that order, so rows that arrive between pages never
shift or repeat the pages already read. Spans without tokens or cost sort as -1 (after every
priced span when descending).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.store.api import SPAN_FIELDS, SpanQuery, TraceTotals
from llmpulse.store.events import summary_row
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.compiler import Where
from llmpulse.store.events.layout import PREVIEW_CHARS, SEARCH_TEXT_COLUMN

Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

_NULL_AS: dict[str, tuple[str, float | int]] = {
    "tokens": ("total_tokens", -1),
    "cost": ("cost_usd", -1.0),
}
"""Sorts whose value is a column with NULL read as a number below every real one (-1): a
descending page's values are read from the column itself, NULLs last, and bounded by it.
DuckDB skips the row groups whose zone map lies below the running N-th value only for a
plain column (the newest 101 costs of 10M spans: 45 ms through the ``coalesce``, 11 ms)."""

SORTS: dict[str, str] = {
    "time": "epoch_us(start_time)",
    "latency": "latency_ms",
    **{key: f"coalesce({column}, {null!r})" for key, (column, null) in _NULL_AS.items()},
}
"""Sort key → SQL expression of its value."""

COST_DECIMAL = "CASE WHEN abs(cost_usd) < 1e20 THEN cost_usd::DECIMAL(38, 12) END"
"""A span's cost as the exact decimal the trace totals add; NULL from 1e20 dollars on, so a
sum of fewer than a million spans stays inside ``DECIMAL(38, 12)`` (1e26)."""
TRACE_COST_SQL = (
    f"coalesce(CASE WHEN count_if(cost_usd IS NOT NULL AND {COST_DECIMAL} IS NULL) > 0 "
    f"THEN fsum(cost_usd) ELSE sum({COST_DECIMAL})::DOUBLE END, 0.0)"
)
"""A trace's cost total (an aggregate over its spans): the exact sum of the costs rounded to
12 decimals, as a double, so it depends on no row order and equals the total that ranks a
trace (`trace_sort`, `trace_sums`); a compensated double sum when a cost is 1e20 or more."""

RANGE_COLUMNS: dict[str, str] = {
    "latency": "latency_ms",
    "tokens": "total_tokens",
    "cost": "cost_usd",
}
"""Range filter key → the column it bounds."""


_COLUMNS = {
    "full": ", ".join(SPAN_COLUMN_NAMES),
    "summary": f"{summary_row.COLUMN} AS {summary_row.MARK}",
}


def span_columns(q: SpanQuery) -> str:
    """The select list of ``q``'s span rows: the span columns in order; with ``fields``
    ``summary``, the summary row's one column (ADR 0057), which the query runner expands to
    the span columns, the bulky ones left out and the input as its preview (ADR 0045).
    Summary rows of a search end in one more column, ``search_text`` (`excerpted`).

    Raises:
        InvalidInput: ``q.fields`` is not one of `SPAN_FIELDS`.
    """
    columns = _COLUMNS.get(q.fields)
    if columns is None:
        raise InvalidInput(
            f"unknown fields {q.fields!r}",
            [FieldError("fields", f"one of: {', '.join(SPAN_FIELDS)}")],
        )
    return f"{columns}, {SEARCH_TEXT_COLUMN}" if excerpted(q) else columns


def excerpted(q: SpanQuery) -> bool:
    """Whether ``q``'s rows carry where each matched (summary rows of a search, ADR 0051):
    they end in ``search_text``, the excerpt of a search narrowed by the index
    (`search_scan.scoped`) or the whole text of a plain scan, which the page cuts."""
    return bool(q.text) and q.fields == "summary"


_INPUT = SPAN_COLUMN_NAMES.index("input_value")
_WHITESPACE = re.compile(r"[ \t\n\r\f]+")


def summary_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Summary rows as a listing answers them: the stored preview (`PREVIEW_CHARS` + 1
    characters) cut to `PREVIEW_CHARS` on one line, whitespace runs made one space, ending in
    "…" when cut, as `query.clip` marks a cut value."""
    out = []
    for row in rows:
        text = row[_INPUT]
        if text is not None:
            line = _WHITESPACE.sub(" ", text[:PREVIEW_CHARS])
            text = line + "…" if len(text) > PREVIEW_CHARS else line
            row = (*row[:_INPUT], text, *row[_INPUT + 1 :])
        out.append(row)
    return out


def check_sort(q: SpanQuery) -> str:
    """The SQL value expression of ``q.sort``.

    Raises:
        InvalidInput: the sort key is unknown.
    """
    expr = SORTS.get(q.sort)
    if expr is None:
        raise InvalidInput(
            f"unknown sort {q.sort!r}", [FieldError("sort", f"one of: {', '.join(SORTS)}")]
        )
    return expr


def add_ranges(where: Where, q: SpanQuery) -> None:
    """Restrict ``where`` to ``q.ranges`` (inclusive bounds).

    Raises:
        InvalidInput: a range key is unknown or its bounds are crossed.
    """
    for r in q.ranges:
        column = RANGE_COLUMNS.get(r.key)
        if column is None:
            raise InvalidInput(
                f"unknown range {r.key!r}",
                [FieldError(r.key, f"one of: {', '.join(RANGE_COLUMNS)}")],
            )
        if r.low is not None and r.high is not None and r.low > r.high:
            raise InvalidInput(
                f"{r.key} range is empty", [FieldError(r.key, f"min {r.low} > max {r.high}")]
            )
        if r.low is not None:
            where.add(f"{column} >= ?", r.low)
        if r.high is not None:
            where.add(f"{column} <= ?", r.high)


_BIG_INT = re.compile(r"-?[0-9]{1,40}")
"""An integer sort value a cursor carries as text (past 64 bits)."""


def encode_sorted_cursor(q: SpanQuery, value: float | int, span_id: str) -> str:
    """The opaque cursor after a row of value ``value`` and id ``span_id`` in ``q``'s order."""
    carried: float | int | str = value
    if isinstance(value, int) and not -(2**63) <= value < 2**64:  # past what JSON ints hold
        carried = str(value)  # (a trace's tokens, summed as HUGEINT)
    raw = orjson.dumps([q.sort, q.descending, carried, span_id])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_sorted_cursor(q: SpanQuery) -> tuple[float | int, str] | None:
    """The (sort value, span id) of the row ``q.cursor`` names; None without a cursor.

    Raises:
        InvalidInput: the cursor is not valid or was made for another sort.
    """
    if q.cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(q.cursor + "=" * (-len(q.cursor) % 4))
        sort, descending, value, span_id = orjson.loads(raw)
        if isinstance(value, str) and _BIG_INT.fullmatch(value):
            value = int(value)
        if not isinstance(value, int | float) or not isinstance(span_id, str):
            raise TypeError(q.cursor)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as e:
        raise InvalidInput("cursor is not valid", [FieldError("cursor", str(e))]) from e
    if sort != q.sort or descending != q.descending:
        raise InvalidInput(
            "cursor was made for another sort",
            [FieldError("cursor", f"made for sort={sort} descending={descending}")],
        )
    return value, span_id


def add_sorted_cursor(where: Where, q: SpanQuery, expr: str) -> None:
    """Restrict ``where`` to rows strictly after ``q.cursor`` in ``q``'s order.

    Raises:
        InvalidInput: the cursor is not valid or was made for another sort.
    """
    after = decode_sorted_cursor(q)
    if after is None:
        return
    value, span_id = after
    op = "<" if q.descending else ">"
    where.add(f"({expr} {op} ? OR ({expr} = ? AND span_id {op} ?))", value, value, span_id)


def order_by(q: SpanQuery, expr: str) -> str:
    """The ORDER BY clause of ``q``'s order, span id breaking ties."""
    direction = "DESC" if q.descending else "ASC"
    return f"ORDER BY {expr} {direction}, span_id {direction}"


def trace_totals(
    query: Query, trace_ids: Sequence[str], within: tuple[datetime, datetime] | None = None
) -> dict[str, TraceTotals]:
    """Per trace: (total tokens, cost, error count, span count, first start to last end).

    ``within`` bounds the start times of every span of the traces (naive UTC, ``[lo, hi)``),
    when the caller knows such bounds (`trace_slots`)."""
    if not trace_ids:
        return {}
    ids = sorted(set(trace_ids))
    marks = ", ".join("?" * len(ids))
    time_sql = "" if within is None else " AND start_time >= ? AND start_time < ?"
    rows = query(
        f"SELECT trace_id, coalesce(sum(total_tokens), 0), {TRACE_COST_SQL}, "
        "count_if(status_code = 'ERROR'), count(*), "
        "(epoch_us(max(end_time)) - epoch_us(min(start_time))) / 1000.0 "
        f"FROM spans WHERE trace_id IN ({marks}){time_sql} GROUP BY trace_id",
        [*ids, *(within or ())],
    )
    return {
        str(r[0]): TraceTotals(int(r[1]), float(r[2]), int(r[3]), int(r[4]), float(r[5]))
        for r in rows
    }


def newest_first(q: SpanQuery) -> bool:
    """Whether ``q`` asks for the store's native order (newest first, time cursors)."""
    return q.sort == "time" and q.descending


def sorted_rows(
    query: Query, q: SpanQuery, where: Where, columns: str
) -> tuple[list[tuple[Any, ...]], str | None]:
    """One page of span rows of ``q`` in its sort order, and the cursor after it.

    Args:
        query: runs SQL with parameters on the store.
        q: the listing; its ``sort``, ``descending``, ``cursor`` and ``limit`` apply.
        where: the compiled filters of ``q`` (ranges and cursor are added here).
        columns: the span columns to select, in order.

    Raises:
        InvalidInput: the sort, a range or the cursor is not acceptable.
    """
    expr = check_sort(q)
    add_ranges(where, q)
    add_sorted_cursor(where, q, expr)
    sql = f"SELECT {columns}, {expr} AS sort_value, span_id AS sort_id FROM spans WHERE "
    page = f"{order_by(q, expr)} LIMIT ?"
    rows: list[tuple[Any, ...]] = []
    # A search's filter is the costly part of its scan: a second scan for the bound would
    # cost more than the span ids it saves.
    values = [] if q.text else _page_values(query, q, where, expr)
    if values:
        op = ">=" if q.descending else "<="
        bounded = expr
        plain = _NULL_AS.get(q.sort) if q.descending else None
        if plain is not None and values[-1] > plain[1]:
            bounded = plain[0]  # above the NULLs' value the column bounds the same rows
        rows = query(
            f"{sql}{where.sql()} AND {bounded} {op} ? {page}",
            [*where.params, values[-1], q.limit + 1],
        )
    if q.text or len(rows) < len(values):  # a search, or rows deleted since: ask in full
        rows = query(f"{sql}{where.sql()} {page}", [*where.params, q.limit + 1])
    next_cursor = None
    if len(rows) > q.limit:
        rows = rows[: q.limit]
        next_cursor = encode_sorted_cursor(q, rows[-1][-2], rows[-1][-1])
    return [r[:-2] for r in rows], next_cursor


def _page_values(query: Query, q: SpanQuery, where: Where, expr: str) -> list[Any]:
    """The sort values of the page's rows and the next one (``limit + 1`` at most, in ``q``'s
    order), read with no span id (ADR 0045).

    A top-N over the sort value alone reads one numeric column; ordering by (value, span id)
    as the page must reads every matching span's id too, which cost most of the ~40 ms of a
    narrow sorted page at 1M spans. With the page restricted to values at or past the last of
    these, the ids are read only for those rows. The bounded page holds at least as many rows
    as values were read unless rows were deleted in between (then it is asked in full), and
    every row the bound leaves out sorts after each row it returns. When fewer than
    ``limit + 1`` rows match, the bound keeps them all, so the page needs no third scan.

    A descending page of a `_NULL_AS` sort reads the column, NULLs last, as the NULLs'
    value: the expression's values when none is below the NULLs' value. Values below it
    come before the NULLs there and can move the last value either way; a bound too low
    only keeps more rows, one too high keeps fewer rows than values were read, and the page
    is then asked in full, as after a delete."""
    plain = _NULL_AS.get(q.sort) if q.descending else None
    if plain is not None:
        column, null = plain
        rows = query(
            f"SELECT {column} FROM spans WHERE {where.sql()} "
            f"ORDER BY {column} DESC NULLS LAST LIMIT ?",
            [*where.params, q.limit + 1],
        )
        return [null if r[0] is None else r[0] for r in rows]
    direction = "DESC" if q.descending else "ASC"
    rows = query(
        f"SELECT {expr} FROM spans WHERE {where.sql()} ORDER BY {expr} {direction} LIMIT ?",
        [*where.params, q.limit + 1],
    )
    return [r[0] for r in rows]


def count_rows(query: Query, q: SpanQuery, where: Where, at_most: int | None = None) -> int:
    """How many spans match ``q``'s filters and ranges (cursor and limit ignored); with
    ``at_most``, the scan stops there (a search's count is bounded, ADR 0038)."""
    check_sort(q)
    add_ranges(where, q)
    rows = f"SELECT 1 FROM spans WHERE {where.sql()}"
    if at_most is not None:
        rows += f" LIMIT {int(at_most)}"
    ((n,),) = query(f"SELECT count(*) FROM ({rows})", list(where.params))
    return int(n)

"""Traces sorted by their totals: one root row per trace, ordered by the whole trace's cost,
tokens or latency (issue 12, item 1).

``trace_cost``, ``trace_tokens`` and ``trace_latency`` list the root spans that match the
view's filters, each valued by its trace: the sum of ``cost_usd`` (`listing.TRACE_COST_SQL`:
summed as DECIMAL, so the value does not depend on the order DuckDB adds rows in, a cursor
compares equal, and the root row's total shows the same number), the sum
of ``total_tokens``, and the time from the trace's first start to its last end (microseconds,
shown in ms). The cursor is the last row's (value, root span id), as for the span sorts
(`listing`): traces that arrive between pages never shift or repeat the pages already read.
A trace whose spans are still arriving can change its value between pages; it then shows
where its new total puts it.

A view with no filter but its time range is ranked from the traces' totals kept behind
ingest (`trace_sums`, ADR 0046) and only its page's root rows are read (`fetch_roots`); the
roots of traces with several roots that may join the page are read from the spans
(`join_several`, ADR 0073).
Any other view is ranked from the spans with the root rows' ids alone (`ranked_roots`) and
its page's rows read the same way (ADR 0048); `sorted_roots` answers a search's view, and
any page whose rows changed between the two reads.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from llmpulse.clock import from_unix_us
from llmpulse.store.api import SpanQuery
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.compiler import Where
from llmpulse.store.events.duckdb_open import CATALOG
from llmpulse.store.events.listing import (
    TRACE_COST_SQL,
    Query,
    add_sorted_cursor,
    encode_sorted_cursor,
)
from llmpulse.store.events.trace_sums import HEX_SPAN, Candidate, Plan, Ranked

SORTS: dict[str, str] = {  # the keys are `store.api.TRACE_SORTS`
    "trace_cost": "t.cost",
    "trace_tokens": "t.tokens",
    "trace_latency": "t.latency_us",
}
"""Sort key → SQL of the trace's value (over the ``totals`` relation ``t``)."""


def is_trace_sort(q: SpanQuery) -> bool:
    """Whether ``q`` sorts traces by their totals."""
    return q.sort in SORTS


def roots_query(q: SpanQuery) -> SpanQuery:
    """``q`` as the filters of the root rows (one per trace)."""
    return replace(q, root_only=True)


def sorted_roots(
    query: Query, q: SpanQuery, where: Where, columns: str
) -> tuple[list[tuple[Any, ...]], str | None]:
    """One page of root rows of ``q`` ordered by their trace's value, and the next cursor.

    Args:
        query: runs SQL with parameters (``spans`` may be restricted to a search's candidate
            blocks; the totals read the whole table).
        q: the listing; ``sort`` is one of `SORTS`.
        where: the compiled filters of the root rows (``root_only`` set, ranges added).
        columns: the select list of the span rows (`listing.span_columns`).

    Raises:
        InvalidInput: the cursor is not valid or was made for another sort.
    """
    sql, params = _ranked_sql(q, where, "*", columns)
    rows = query(sql, params)
    next_cursor = None
    if len(rows) > q.limit:
        rows = rows[: q.limit]
        next_cursor = encode_sorted_cursor(q, rows[-1][-2], rows[-1][-1])
    return [r[:-2] for r in rows], next_cursor


def ranked_roots(query: Query, q: SpanQuery, where: Where) -> list[Candidate]:
    """`sorted_roots`' ranking with the root rows' ids and start alone: the page's traces
    (``limit + 1`` at most, in its order) for `fetch_roots` to read (ADR 0048). The root
    rows' other columns never flow through the join and the top-N: a full-row page of
    traces by total cost read every root row of the window whole (~2 s at 1M spans).

    Raises:
        InvalidInput: the cursor is not valid or was made for another sort.
    """
    sql, params = _ranked_sql(
        q, where, "trace_id, span_id, start_time", "epoch_us(start_time), trace_id"
    )
    rows = query(sql, params)
    return [Candidate(int(us), trace, span, value) for us, trace, value, span in rows]


def _ranked_sql(q: SpanQuery, where: Where, source: str, select: str) -> tuple[str, list[Any]]:
    """SQL of the root rows of ``q`` valued by their trace and ranked: ``select`` (over the
    root rows' ``source`` columns), then the sort value and the span id; and its
    parameters."""
    after = Where()
    add_sorted_cursor(after, q, "sort_value")
    direction = "DESC" if q.descending else "ASC"
    sql = (
        f"WITH r AS (SELECT {source} FROM spans WHERE {where.sql()}), "
        "t AS (SELECT trace_id, coalesce(sum(total_tokens), 0) AS tokens, "
        f"{TRACE_COST_SQL} AS cost, "
        "epoch_us(max(end_time)) - epoch_us(min(start_time)) AS latency_us "
        f"FROM {CATALOG}.main.spans WHERE project = ? AND trace_id IN (SELECT trace_id FROM r) "
        "GROUP BY trace_id), "
        f"v AS (SELECT r.*, {SORTS[q.sort]} AS sort_value FROM r JOIN t USING (trace_id)) "
        f"SELECT {select}, sort_value, span_id FROM v WHERE {after.sql()} "
        f"ORDER BY sort_value {direction}, span_id {direction} LIMIT ?"
    )
    return sql, [*where.params, q.project, *after.params, q.limit + 1]


LOCATED_PER_ROOT = 10
"""`fetch_roots` reads at most this many rows per root of the page: the spans that start when
a root does (its children, other projects' spans); past it (spans imported with one start
time, say) the spans answer the page whole rather than read every one of them."""

_PROJECT = SPAN_COLUMN_NAMES.index("project")
_PARENT = SPAN_COLUMN_NAMES.index("parent_span_id")
_TRACE = SPAN_COLUMN_NAMES.index("trace_id")
_SPAN = SPAN_COLUMN_NAMES.index("span_id")


def fetch_roots(
    query: Query,
    q: SpanQuery,
    found: list[Candidate],
    columns: str,
    located: dict[tuple[str, str], int] | None = None,
) -> tuple[list[tuple[Any, ...]], str | None] | None:
    """The root rows of the traces `trace_sums.page` or `ranked_roots` put on ``q``'s page, in
    its order, and the next cursor; None when the spans do not hold exactly those roots any
    more (a root was deleted or another came since: the spans answer the page then).

    Two reads (ADR 0046): the row ids of the spans that start when the roots do
    (``start_time`` is the table's sort key; only that column is read, of the row groups
    whose zone maps hold one of the starts), then those rows by
    row id, of which the roots are kept. Read by row id, only the row groups holding the rows
    are decoded: 100 full rows take ~400 ms instead of ~1.7 s filtered by start time and
    trace id (1M spans). The rows are checked by their content, not their row ids (a
    compaction renumbers rows between the reads). ``located``: the row ids of the roots by
    (trace id, span id), read before (`passing_roots`): the first read is skipped."""
    shown = found[: q.limit]
    after = None
    if len(found) > q.limit:
        after = encode_sorted_cursor(q, shown[-1].value, shown[-1].span_id)
    if not shown:
        return [], after
    if located is not None:
        ids = [located[(c.trace_id, c.span_id)] for c in shown]
    else:
        found_rows = _at_starts(query, shown, "rowid")
        if found_rows is None:  # many spans start with the roots
            return None
        ids = [r[0] for r in found_rows]
    rows = query(f"SELECT {columns} FROM spans WHERE rowid = ANY(?::BIGINT[])", [ids])
    wanted = {(c.trace_id, c.span_id) for c in shown}
    traces = {c.trace_id for c in shown}
    by_key: dict[tuple[str, str], tuple[Any, ...]] = {}
    for r in rows:
        if r[_PROJECT] != q.project or r[_PARENT] is not None or r[_TRACE] not in traces:
            continue
        key = (r[_TRACE], r[_SPAN])
        if key not in wanted:  # a second root of a trace on the page
            return None
        by_key.setdefault(key, r)  # (a copy of a span stored twice is dropped)
    if len(by_key) != len(wanted):  # a root gone
        return None
    keys = dict.fromkeys((c.trace_id, c.span_id) for c in shown)  # a copy ranked twice: once
    return [by_key[k] for k in keys], after


def passing_roots(
    query: Query, found: list[Candidate], where: Where
) -> tuple[list[Candidate], dict[tuple[str, str], int]] | None:
    """The ranked traces ``found`` whose root rows pass ``where`` (the compiled filters of the
    root rows, ranges added), in their order, and the row ids of those roots (ADR 0052).
    The roots are located by their start times as in `fetch_roots` and filtered in the same
    read; a root gone since it was ranked does not pass. None when more than
    `LOCATED_PER_ROOT` passing roots a ranked trace start with them (spans imported with
    one start time, say): the spans answer the page then."""
    if not found:
        return [], {}
    rows = _at_starts(query, found, "trace_id, span_id, rowid", where)
    if rows is None:
        return None
    located = {(r[0], r[1]): int(r[2]) for r in rows}
    return [c for c in found if (c.trace_id, c.span_id) in located], located


def _at_starts(
    query: Query, found: list[Candidate], select: str, where: Where | None = None
) -> list[tuple[Any, ...]] | None:
    """``select`` of the spans that start when the traces ``found`` have their roots start
    (and pass ``where``); None past `LOCATED_PER_ROOT` of them per trace. One parameter per
    start: DuckDB prunes the row groups whose start times hold none of them (10M spans: 95
    of 798 read, 7 ms); `= ANY(list)` read every row group."""
    starts = sorted({_naive(c.root_us) for c in found})
    most = LOCATED_PER_ROOT * len(found)
    also = "" if where is None else f" AND {where.sql()}"
    rows = query(
        f"SELECT {select} FROM spans WHERE start_time IN ({', '.join('?' * len(starts))})"
        f"{also} LIMIT ?",
        [*starts, *([] if where is None else where.params), most + 1],
    )
    return None if len(rows) > most else rows


RANGES_MOST = 16
"""`join_several` reads the roots of this many traces at most in one statement, each within
its own roots' starts (one `OR`); more are read in several statements (DuckDB's plan of an
`OR` of 256 ranges took ~220 ms, and grows with the square of their number)."""

JOINED_MOST = 4096
"""`join_several` reads at most this many roots of the traces with several roots; past it (a
trace whose every span is a root, say) the spans answer the page."""


def join_several(query: Query, p: Plan, ranked: Ranked, where: Where) -> list[Candidate] | None:
    """The page of `trace_sums.page`'s ``ranked`` answer for ``p``: its traces with one root
    and the roots of its traces with several that pass ``where`` (the compiled filters of the
    view's root rows, ranges added: read from the spans) past its cursor, in the page's
    order, ``limit + 1`` at most. None when a span of those traces is stored twice as a
    root, a root's id is not hex, or they have more than `JOINED_MOST` such roots (the spans
    answer the page then)."""
    if not ranked.several:
        return ranked.found
    value = {s.trace_id: s.value for s in ranked.several}
    rows: list[tuple[Any, ...]] = []
    for at in range(0, len(ranked.several), RANGES_MOST):
        part = ranked.several[at : at + RANGES_MOST]
        # Each trace between its first and last roots' starts: DuckDB skips the row groups
        # outside every range (3 traces at 10M spans: 2 ms; one range over them all: 49).
        within = " OR ".join(["(start_time BETWEEN ? AND ? AND trace_id = ?)"] * len(part))
        bounds = [
            x for s in part for x in (_naive(s.first_root_us), _naive(s.last_root_us), s.trace_id)
        ]
        rows += query(
            f"SELECT epoch_us(start_time), trace_id, span_id FROM spans WHERE {where.sql()} "
            f"AND ({within}) LIMIT ?",
            [*where.params, *bounds, JOINED_MOST + 1 - len(rows)],
        )
        if len(rows) > JOINED_MOST:
            return None
    joined: dict[tuple[str, str], Candidate] = {}
    for us, trace, span in rows:
        if (trace, span) in joined or not HEX_SPAN.fullmatch(span):
            return None
        joined[(trace, span)] = Candidate(int(us), trace, span, value[trace])
    page = [*ranked.found, *(c for c in joined.values() if _past(c, p))]
    page.sort(key=lambda c: (c.value, int(c.span_id, 16)), reverse=p.descending)
    return page[: p.limit + 1]


def _past(c: Candidate, p: Plan) -> bool:
    """Whether ``c`` comes after ``p``'s cursor in its order (True without a cursor)."""
    if p.after is None:
        return True
    key, after = (c.value, int(c.span_id, 16)), p.after
    return key < after if p.descending else key > after


def _naive(us: int) -> datetime:
    """Unix microseconds as the naive UTC timestamp the spans store."""
    return from_unix_us(us).replace(tzinfo=None)

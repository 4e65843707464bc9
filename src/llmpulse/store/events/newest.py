"""Newest-first listings bounded by the per-slot counts of the summaries (ADR 0037).

The newest ``limit + 1`` spans before ``end`` lie in the newest slots that hold at least
``limit + 1`` spans before ``end``: when the whole slots ``s* … slot(end) - 1`` (the slots
that end before ``end`` does) hold that many spans of the project (span sketch) or with the
metadata pair (pair sketch), every one of the newest ``limit + 1`` starts at or after the
start of slot ``s*``. The listing then gets ``start_time >= start of s*``, and the zone maps
of the time-ordered file skip the row groups before it instead of DuckDB's top-N reading the
older ones' start times (and, for a metadata filter, their pairs) until its heap fills.

The page checks itself (ADR 0044): when the bounded listing returns ``limit + 1`` rows, they
are the newest ``limit + 1`` before ``end``, whatever the counts were (every span it left out
starts before the bound, so before every row it returned; see `full`). Counts that are too
low (the batches waiting in the summaries' backlog, ADR 0039, are left out) only move the
bound earlier; counts that are too high (a delete between the count and the listing, copies
of a retried span) can leave the bounded page short, and a short page is
asked again without the bound. So the listing needs no guarded read, and a commit running
beside it (every few hundred milliseconds under a steady stream) no longer sends it to the
plain query over the whole table.
"""

from __future__ import annotations

from dataclasses import replace

from llmpulse.store.api import SpanQuery, TimeRange
from llmpulse.store.events import sketch
from llmpulse.store.events.compiler import MAX_LIMIT
from llmpulse.store.events.layout import pair_of
from llmpulse.store.events.sketch import Counted


def bound_sql(q: SpanQuery, counted: Counted) -> tuple[str, list[object]] | None:
    """SQL giving the slot ``s*`` of the module docstring for ``q`` (no row: no bound), or
    None when ``q`` has filters the summaries do not count (or a cursor)."""
    if not _newest_with_attributes(q):
        return None  # a cursor, ranges or filters other than one metadata pair
    params: list[object] = [q.project]
    table, cond = sketch.TABLE, ""
    if q.attributes:
        pair = sketch.metadata_pair_of(q.project, q.attributes, counted)
        if pair is None:
            return None
        table, cond = sketch.PAIR_TABLE, " AND pair = ?"
        params.append(pair)
    if q.time.end is not None:
        cond += " AND slot < ?"
        params.append(sketch.slot_of(q.time.end))
    params.append(q.limit + 1)
    sql = (
        "SELECT slot FROM (SELECT slot, sum(sum(n)) OVER (ORDER BY slot DESC) AS c "
        f"FROM {table} WHERE project = ?{cond} GROUP BY slot) WHERE c >= ? "
        "ORDER BY slot DESC LIMIT 1"
    )
    return sql, params


def held_pairs(q: SpanQuery) -> tuple[str, ...] | None:
    """The ``metadata_kv`` pairs a newest-first page of ``q`` from held rows
    (`recent_rows`, ADR 0067) must hold: () with no filter, one per ``metadata.<key>``
    filter (each is ``list_contains(metadata_kv, pair)`` in SQL); None for any other filter,
    a cursor, another order or a limit the statement refuses (it says why)."""
    if q.fields != "full" or not 1 <= q.limit <= MAX_LIMIT or not _newest_with_attributes(q):
        return None
    pairs = [pair_of(cond, f"attributes[{i}].key") for i, cond in enumerate(q.attributes)]
    return None if None in pairs else tuple(p for p in pairs if p is not None)


def _newest_with_attributes(q: SpanQuery) -> bool:
    """Whether ``q`` is a newest-first page with no filter but its time range and
    attributes (no cursor, ranges, search or other filter)."""
    return (
        q.sort == "time"
        and q.descending
        and (replace(q, time=TimeRange(), attributes=(), limit=100) == SpanQuery(q.project))
    )


def full(rows: list[tuple[object, ...]], limit: int) -> bool:
    """Whether a bounded listing's ``rows`` are the answer: ``limit + 1`` rows (the page and
    the one that says a next page exists) that start at or after the bound are the newest
    ``limit + 1`` before ``end``, because every row the bound left out starts earlier than
    each of them. Fewer rows may be short of rows before the bound."""
    return len(rows) > limit

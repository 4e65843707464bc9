"""Every trace's totals, kept behind ingest: traces sorted by them without their spans (ADRs
0046, 0049).

A traces table sorted by a trace's cost, tokens or latency (`trace_sort`) ranks the root
rows by sums over every span of their traces; from the spans that reads the trace id, cost,
tokens and times of every span of the project and groups them (~135 ms of a ~265 ms page at
1M spans). ``trace_sums`` holds one row per (project, trace): how many root spans it has,
the root's span id and start, the total tokens and cost (``DECIMAL(38, 12)``, so a total does
not depend on the order rows are added in and equals the spans' sum exactly), its first
start and last end, its errors and spans. It is kept as the other summaries are
(`summaries`: built behind the open, committed batches merged in behind ingest (an update of
the traces already there, an insert of the others; no index, whose deletes held the writer's
lock ~0.8 µs a row in a recount), recounted after a delete; ADR 0039), but in a database of
its own (`CATALOG`): a file beside the events, compressed and paged by DuckDB's buffer pool,
so it holds every trace (3.3M traces at 10M spans: 83 MB; ADR 0049). The file is derived:
kept by a clean close when it provably holds every stored span and used by the next open
(`kept_totals`, ADR 0074), else removed and built behind the open; a compaction's new
connection attaches it as it is. Ids are kept as integers (a trace id's 32 hex digits as
``UHUGEINT``, a span id's 16 as ``UBIGINT``); their order is the hex strings' order.

A page of a plain view (project and time range, no other filter) is then a top-N over these
rows (`page`), and the page's root rows are read from the spans (`trace_sort.fetch_roots`);
a root row's totals are a lookup (`totals`). Traces this cannot answer exactly are counted in
``odd`` (an id that is not lowercase hex of its length, kept under trace key 0; a cost no
``DECIMAL`` holds); a project with any of them is answered from the spans, as is a view
with any other filter. A trace with several roots (``roots`` > 1) has right totals but
not its roots' ids and starts: `page` ranks the others and names those that may join the
page (`Several`), whose roots the spans give (`trace_sort.join_several`, ADR 0073).
"""

from __future__ import annotations

import decimal
import hashlib
import logging
import math
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from llmpulse.clock import to_unix_us
from llmpulse.store.api import SpanQuery, TraceTotals
from llmpulse.store.events.compiler import MAX_LIMIT, to_naive_utc
from llmpulse.store.events.duckdb_open import quote, transaction, wal_path
from llmpulse.store.events.listing import COST_DECIMAL, decode_sorted_cursor
from llmpulse.store.events.sketch import PENDING

log = logging.getLogger(__name__)

CATALOG = "sums"
"""The database that holds the table: a file beside the events (`file_of`), so that past a
few hundred thousand traces it is compressed and paged like any stored table (ADR 0049)."""
TABLE = f"{CATALOG}.main.trace_sums"
_BATCH = "llmpulse_trace_sums_batch"
_SPAN_HEX = "[0-9a-f]{16}"
"""A span id the table keeps as an integer: 16 lowercase hex digits (SQL and Python)."""
_TRACE_HEX = "[0-9a-f]{32}"
"""A trace id the table keeps as an integer: 32 lowercase hex digits (SQL and Python)."""
HEX_SPAN = re.compile(_SPAN_HEX)
_HEX_TRACE = re.compile(_TRACE_HEX)

_COLUMNS = (
    "project VARCHAR NOT NULL, tid UHUGEINT NOT NULL, roots UINTEGER NOT NULL, root_sid UBIGINT, "
    "root_us BIGINT, tokens HUGEINT NOT NULL, cost DECIMAL(38, 12) NOT NULL, first_us BIGINT, "
    "last_us BIGINT, errors UINTEGER NOT NULL, spans UINTEGER NOT NULL, odd UINTEGER NOT NULL, "
    "last_root_us BIGINT, tkey UBIGINT NOT NULL, cost_v DOUBLE NOT NULL, root_status VARCHAR"
)
"""The table's columns. ``tkey`` is the trace key's low 64 bits: a lookup of a page's traces
scans it (8 bytes a trace) before the 16-byte key (7 ms instead of 16 at 3.3M traces).
``cost_v`` is ``cost`` as the double a page is ranked by (casting the decimal of every trace
of a window cost 15 ms of a 47 ms ranking at 3.3M traces). ``root_status`` is the root span's
status code (the least of them when a trace has several roots, whose roots the spans give,
each with its own status, ADR 0073): a view filtered on the status ranks from the table
alone (ADR 0053)."""


def _hex(key: str, digits: int) -> str:
    """SQL of integer key ``key`` as the spans store the id (lowercase hex, ``digits`` long).
    Keys leave DuckDB as this text, never as integers: DuckDB turns a ``UHUGEINT`` into a
    Python int or a decimal string at ~70 µs a value (7 ms for a page of 100), its hex in
    well under a microsecond."""
    return f"lpad(lower(hex({key})), {digits}, '0')"


_TID_HEX = _hex("tid", 32)
"""SQL of a row's trace id as it is stored in the spans."""
_SID_HEX = _hex("root_sid", 16)
"""SQL of the root's span id as the spans store it."""
_TRACE_OK = f"coalesce(regexp_full_match(trace_id, '{_TRACE_HEX}'), false)"
_ROOT = "parent_span_id IS NULL"
_COST = COST_DECIMAL
_TID = f"CASE WHEN {_TRACE_OK} THEN ('0x' || trace_id)::UHUGEINT ELSE 0::UHUGEINT END"
_LOW64_INT = (1 << 64) - 1
_LOW64 = f"{_LOW64_INT}::UHUGEINT"
_PARTS = (
    f"SELECT * EXCLUDE (root_status), (tid & {_LOW64})::UBIGINT AS tkey, "
    "cost::DOUBLE AS cost_v, root_status "
    f"FROM (SELECT project, {_TID} AS tid, "
    f"count(*) FILTER (WHERE {_ROOT})::UINTEGER AS roots, "
    f"min(CASE WHEN regexp_full_match(span_id, '{_SPAN_HEX}') "
    f"THEN ('0x' || span_id)::UBIGINT END) FILTER (WHERE {_ROOT}) AS root_sid, "
    f"min(epoch_us(start_time)) FILTER (WHERE {_ROOT}) AS root_us, "
    f"min(status_code) FILTER (WHERE {_ROOT}) AS root_status, "
    "coalesce(sum(total_tokens), 0)::HUGEINT AS tokens, "
    f"coalesce(sum({_COST}), 0)::DECIMAL(38, 12) AS cost, "
    "min(epoch_us(start_time)) AS first_us, max(epoch_us(end_time)) AS last_us, "
    "count_if(status_code = 'ERROR')::UINTEGER AS errors, count(*)::UINTEGER AS spans, "
    f"count(*) FILTER (WHERE NOT {_TRACE_OK} OR ({_ROOT} AND NOT coalesce("
    f"regexp_full_match(span_id, '{_SPAN_HEX}'), false)) "
    f"OR (cost_usd IS NOT NULL AND {_COST} IS NULL))::UINTEGER AS odd, "
    f"max(epoch_us(start_time)) FILTER (WHERE {_ROOT}) AS last_root_us "
    "FROM {source} GROUP BY project, tid)"
)


def _parts(source: str) -> str:
    """SQL of one row per (project, trace) of the spans in relation ``source``."""
    return _PARTS.replace("{source}", source)


_MERGED = (
    "project, tid, sum(roots)::UINTEGER, min(root_sid), min(root_us), sum(tokens)::HUGEINT, "
    "sum(cost)::DECIMAL(38, 12), min(first_us), max(last_us), sum(errors)::UINTEGER, "
    "sum(spans)::UINTEGER, sum(odd)::UINTEGER, max(last_root_us), min(tkey), "
    "sum(cost)::DECIMAL(38, 12)::DOUBLE, "
    "min(root_status)"
)
"""The select list of rows of one trace merged into one (grouped by project, tid)."""

_MERGE_UPDATE = (
    f"UPDATE {TABLE} AS t SET roots = t.roots + b.roots, "
    "root_sid = least(t.root_sid, b.root_sid), "
    "root_us = least(t.root_us, b.root_us), "
    "root_status = least(t.root_status, b.root_status), "
    "tokens = t.tokens + b.tokens, cost = t.cost + b.cost, "
    "cost_v = (t.cost + b.cost)::DOUBLE, "
    "first_us = least(t.first_us, b.first_us), "
    "last_us = greatest(t.last_us, b.last_us), "
    "errors = t.errors + b.errors, spans = t.spans + b.spans, "
    "last_root_us = greatest(t.last_root_us, b.last_root_us), "
    "odd = t.odd + b.odd FROM ({parts}) AS b "
    "WHERE t.project = b.project AND t.tid = b.tid"
)
"""`merge`'s update of the traces already there by a batch's rows (``{parts}``)."""
_MERGE_INSERT = (
    f"INSERT INTO {TABLE} SELECT * FROM ({{parts}}) AS b WHERE NOT EXISTS "
    f"(SELECT 1 FROM {TABLE} AS t WHERE t.project = b.project AND t.tid = b.tid)"
)
"""`merge`'s insert of a batch's other traces."""
SHAPE = hashlib.sha256(
    "\n".join((_COLUMNS, _PARTS, _MERGED, _MERGE_UPDATE, _MERGE_INSERT)).encode()
).hexdigest()[:16]
"""The table's definition, as a kept file records it (ADR 0074): a file built or merged by
code with other columns or sums is built again."""

VALUES: dict[str, str] = {  # the keys are `trace_sort.SORTS`' keys
    "trace_cost": "cost_v",
    "trace_tokens": "tokens",
    "trace_latency": "last_us - first_us",
}
"""Sort key → SQL of the trace's value, as `trace_sort` computes it from the spans."""


def file_of(events: Path) -> Path:
    """The file that holds the table of the event database ``events``."""
    return events.with_name(events.name + ".sums")


def attach(con: duckdb.DuckDBPyConnection, events: Path | None, *, fresh: bool) -> None:
    """ATTACH the table's database as `CATALOG`: in memory for an in-memory store, else the
    file beside ``events``. ``fresh``: remove what an earlier process left there first (the
    table is then built behind the open; `kept_totals.reopen` keeps a file a clean close
    stamped, and a compaction's new connection keeps it as it is)."""
    if events is None:
        con.execute(f"ATTACH ':memory:' AS {CATALOG}")
        return
    if fresh:
        remove(events)
    try:
        con.execute(f"ATTACH '{quote(str(file_of(events)))}' AS {CATALOG}")
    except duckdb.Error:
        if not fresh:
            raise
        # No room for a new file (a full disk): the store must still open, so that reads
        # work and space can be freed; the table lives in memory until the next open.
        remove(events)
        log.warning("no room for %s: the traces' totals are kept in memory", file_of(events))
        con.execute(f"ATTACH ':memory:' AS {CATALOG}")


def remove(events: Path) -> None:
    """Delete the table's file of the event database ``events`` and its log."""
    for path in (file_of(events), wal_path(file_of(events))):
        path.unlink(missing_ok=True)


def build(con: duckdb.DuckDBPyConnection) -> None:
    """Create the table and fill it from the stored spans that ``con`` reads (a cursor whose
    transaction writes no other database: one DuckDB transaction writes one database)."""
    con.execute(f"DROP TABLE IF EXISTS {TABLE}")
    con.execute(f"CREATE TABLE {TABLE} ({_COLUMNS})")
    # In order of the traces' first start, as ingest appends them: a round's update then
    # finds its (recent) traces in the last row groups (3,000 spans updating traces
    # scattered over 3.3M rows took 350-540 ms, in these 33 ms), and the file is 40 MB, not
    # 95.
    con.execute(f"INSERT INTO {TABLE} {_parts('spans')} ORDER BY first_us")


def add(
    con: duckdb.DuckDBPyConnection,
    batch: pa.Table,
    committing: AbstractContextManager[object] | None = None,
) -> None:
    """Merge a committed batch of spans (Arrow, the span columns) into the table: the totals
    of its traces already there grow, its other traces get a row (one transaction: one
    write of the file's log). ``committing`` is entered around the transaction's COMMIT
    alone: readers of the table see it change only then (ADR 0055)."""
    with transaction(con, committing):
        merge(con, batch)


def staged(cur: duckdb.DuckDBPyConnection, batch: pa.Table) -> None:
    """`add`'s statements in a transaction begun on ``cur`` (a cursor of its own) and left
    open: no reader sees them, so none waits for them, until the caller commits it (ADR
    0070). The caller also rolls it back when this or anything after it fails."""
    cur.execute("BEGIN TRANSACTION")
    merge(cur, batch)


def merge(con: duckdb.DuckDBPyConnection, batch: pa.Table) -> None:
    """The statements of `add`, in the caller's transaction."""
    con.register(_BATCH, batch)
    try:
        parts = _parts(_BATCH)
        con.execute(_MERGE_UPDATE.replace("{parts}", parts))
        con.execute(_MERGE_INSERT.replace("{parts}", parts))
    finally:
        con.unregister(_BATCH)


def rebuild_project(con: duckdb.DuckDBPyConnection, project: str) -> None:
    """Sum one project's traces again from its stored spans (after spans were deleted; under
    the store's write lock)."""
    source = "(SELECT * FROM spans WHERE project = ?)"
    with transaction(con):
        con.execute(f"DELETE FROM {TABLE} WHERE project = ?", [project])
        con.execute(f"INSERT INTO {TABLE} {_parts(source)}", [project])


@dataclass(frozen=True, slots=True)
class Plan:
    """What `page` asks: one page of a plain trace-sorted view."""

    project: str
    value: str  # SQL of the sort value over a `trace_sums` row
    descending: bool
    start_us: int | None
    end_us: int | None
    after: tuple[float | int, int] | None  # the cursor's (value, root span id)
    limit: int
    status: str | None = None  # the root's status code a view keeps (ADR 0053)


def plan(q: SpanQuery, *, filtered: bool = False) -> Plan | None:
    """The page `page` answers for ``q``: a trace sort with no filter but the time range and
    the root's status (ADR 0053); None for any other view (the spans answer it). With
    ``filtered``, the ranking of a trace sort whose other filters (not a search) pick the
    roots, those filters left out but the status: the caller ranks only the traces whose
    roots pass them (`page`'s ``roots``, ADR 0052); None for any other view.

    Raises:
        InvalidInput: the cursor is not valid or was made for another sort; a time bound has
            no timezone.
    """
    value = VALUES.get(q.sort)
    if value is None or _filtered(q) is not filtered or not 1 <= q.limit <= MAX_LIMIT:
        return None  # (the spans' path refuses a limit out of range)
    if q.text:
        return None  # a search: its candidate blocks answer (ADR 0038)
    after = None
    cursor = decode_sorted_cursor(q)
    if cursor is not None:
        if not HEX_SPAN.fullmatch(cursor[1]):
            return None
        after = (cursor[0], int(cursor[1], 16))
    status = None if q.status is None else str(q.status)
    return Plan(
        q.project, value, q.descending, _us(q.time.start), _us(q.time.end), after, q.limit, status
    )


def _filtered(q: SpanQuery) -> bool:
    """Whether ``q`` filters on anything but its time range and the root's status (root rows
    only is implied)."""
    return bool(
        q.kinds
        or q.models
        or q.names
        or q.attributes
        or q.text
        or q.trace_id is not None
        or q.conditions
        or q.ranges
    )


def _us(t: Any) -> int | None:
    return None if t is None else to_unix_us(to_naive_utc(t).replace(tzinfo=UTC))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A trace on the page: its root's start and ids, and its sort value."""

    root_us: int
    trace_id: str
    span_id: str
    value: Any


@dataclass(frozen=True, slots=True)
class Several:
    """A trace with several roots that may join a page: its id, its sort value, and the starts
    of its first and last roots (every root of it starts between them)."""

    trace_id: str
    value: Any
    first_root_us: int
    last_root_us: int


@dataclass(frozen=True, slots=True)
class Ranked:
    """`page`'s answer: the page's traces with one root (``limit + 1`` at most, in order),
    and the traces with several roots that may join it (`trace_sort.join_several`)."""

    found: list[Candidate]
    several: list[Several]


def page(
    cur: duckdb.DuckDBPyConnection,
    pending: pa.Table | None,
    p: Plan,
    roots: tuple[str, list[Any]] | None = None,
) -> Ranked | None:
    """The page's traces with one root (``limit + 1`` at most, in the page's order), from
    the table and the backlog's spans (``pending``, committed spans the table lacks), and
    those with several roots that may join it; None when the project holds a trace the table
    does not answer (see the module), or too many with several roots. ``roots``: SQL
    selecting the ``trace_id`` of the root rows that pass a view's filters, and its
    parameters; only those traces are ranked and named (ADR 0052)."""
    sources, params = _merged(p.project, pending is not None)
    if pending is not None:
        cur.register(PENDING, pending)
    try:
        odd, several = cur.execute(
            f"WITH m AS ({sources}) SELECT count(*) FILTER (WHERE odd > 0), "
            "count(*) FILTER (WHERE roots > 1) FROM m WHERE odd > 0 OR roots > 1",
            params,
        ).fetchall()[0]
        if odd:
            return None
        where, args = ["roots = 1"], list(params)
        if p.start_us is not None:
            where.append("root_us >= ?")
            args.append(p.start_us)
        if p.end_us is not None:
            where.append("root_us < ?")
            args.append(p.end_us)
        if p.status is not None:
            where.append("root_status = ?")
            args.append(p.status)
        op, direction = ("<", "DESC") if p.descending else (">", "ASC")
        if p.after is not None:
            where.append(f"(v {op} ? OR (v = ? AND root_sid {op} ?))")
            args += [p.after[0], p.after[0], p.after[1]]
        if roots is not None:  # every trace id of the project is hex (no odd trace above)
            where.append(_PASSING.format(roots[0]))
            args += roots[1]
        # The top-N carries a stored row's row id, not its 16-byte key (18 ms instead of 32
        # at 3.3M traces); the page's keys are then read by row id and made hex (in the
        # top-N's select list DuckDB made every row's key hex: 700 ms at 3.3M traces).
        order = f"ORDER BY v {direction}, root_sid {direction}"
        rows = cur.execute(
            f"WITH m AS ({sources}), "
            f"r AS (SELECT roots, root_us, root_status, rid, mtid, root_sid, tid, "
            f"{p.value} AS v FROM m), "
            f"top AS MATERIALIZED (SELECT root_us, rid, mtid, root_sid, v FROM r "
            f"WHERE {' AND '.join(where)} {order} LIMIT ?), "
            f"ids AS (SELECT rowid AS rid, tid FROM {TABLE} WHERE rowid IN (SELECT rid FROM top)) "
            f"SELECT root_us, {_hex('coalesce(mtid, tid)', 32)}, {_SID_HEX}, v "
            f"FROM top LEFT JOIN ids USING (rid) {order}",
            [*args, p.limit + 1],
        ).fetchall()
        found = [Candidate(int(r[0]), r[1], r[2], r[3]) for r in rows]
        joining = _several(cur, sources, params, p, found, roots) if several else []
    finally:
        if pending is not None:
            cur.unregister(PENDING)
    return None if joining is None else Ranked(found, joining)


_PASSING = "tid IN (SELECT TRY_CAST('0x' || trace_id AS UHUGEINT) FROM ({}))"
"""SQL: the trace is one of those whose root rows a view's filters pass (`page`'s ``roots``,
a statement with ``trace_id`` in its select list)."""

SEVERAL_MOST = 256
"""`page` names at most this many traces with several roots that may join a page; past it
the spans answer the page."""


def _several(
    cur: duckdb.DuckDBPyConnection,
    sources: str,
    params: list[Any],
    p: Plan,
    found: list[Candidate],
    roots: tuple[str, list[Any]] | None,
) -> list[Several] | None:
    """The traces with several roots (`sources`' rows, their parameters ``params``) whose
    value may put a root of theirs on ``p``'s page beside the ranked traces ``found``: a
    first root before the window's end and a last one not before its start, a value not
    before the cursor's, and, when ``found``
    fills the page, not past its last value (ties kept: the span ids order them); with
    ``roots`` (`page`'s), a root that passes the view's filters. None past `SEVERAL_MOST` of
    them."""
    where, args = ["roots > 1"], list(params)
    if p.end_us is not None:  # (no root of a trace starts before its first)
        where.append("root_us < ?")
        args.append(p.end_us)
    if p.start_us is not None:  # (nor after its last)
        where.append("last_root_us >= ?")
        args.append(p.start_us)
    first, last = ("<=", ">=") if p.descending else (">=", "<=")
    if p.after is not None:
        where.append(f"v {first} ?")
        args.append(p.after[0])
    if len(found) > p.limit:
        where.append(f"v {last} ?")
        args.append(found[-1].value)
    if roots is not None:
        where.append(_PASSING.format(roots[0]))
        args += roots[1]
    rows = cur.execute(
        f"WITH m AS ({sources}) SELECT {_hex('coalesce(mtid, tid)', 32)}, v, root_us, "
        "last_root_us "
        f"FROM (SELECT *, {p.value} AS v FROM m) WHERE {' AND '.join(where)} LIMIT ?",
        [*args, SEVERAL_MOST + 1],
    ).fetchall()
    if len(rows) > SEVERAL_MOST:
        return None
    return [Several(r[0], r[1], int(r[2]), int(r[3])) for r in rows]


def _merged(project: str, pending: bool) -> tuple[str, list[Any]]:
    """SQL of the project's rows (with ``pending``, merged with the backlog's spans, read as
    `sketch.PENDING`) and its parameters. A stored row has its row id as ``rid``, a merged
    one its key as ``mtid``."""
    stored = "SELECT *, rowid AS rid, NULL::UHUGEINT AS mtid"
    if not pending:
        return f"{stored} FROM {TABLE} WHERE project = ?", [project]
    parts = _parts(f"(SELECT * FROM {PENDING} WHERE project = ?)")
    keys = "(SELECT tid FROM p)"
    sql = (
        f"WITH p AS ({parts}) "
        f"{stored} FROM {TABLE} WHERE project = ? AND tid NOT IN {keys} "
        f"UNION ALL SELECT {_MERGED}, NULL::BIGINT, tid FROM (SELECT * FROM {TABLE} "
        "WHERE project = ? "
        f"AND tid IN {keys} UNION ALL SELECT * FROM p) GROUP BY project, tid"
    )
    return sql, [project, project, project]


def totals(
    cur: duckdb.DuckDBPyConnection, pending: pa.Table | None, trace_ids: Sequence[str]
) -> dict[str, TraceTotals] | None:
    """`listing.trace_totals` of ``trace_ids`` (any project) from the table and the backlog's
    spans (``pending``); None when an id is not lowercase hex or a trace is odd (the spans
    answer then)."""
    if not all(_HEX_TRACE.fullmatch(t) for t in trace_ids):
        return None
    lone = lone_totals(cur, pending, trace_ids)
    return lone if lone is not None else grouped_totals(cur, pending, trace_ids)


def grouped_totals(
    cur: duckdb.DuckDBPyConnection, pending: pa.Table | None, trace_ids: Sequence[str]
) -> dict[str, TraceTotals] | None:
    """`totals` in one grouped statement over the traces' rows and the backlog's spans,
    whatever their number of rows (ids checked by the caller)."""
    keys = "(SELECT ('0x' || unnest(?::VARCHAR[]))::UHUGEINT)"
    low = f"(SELECT (('0x' || unnest(?::VARCHAR[]))::UHUGEINT & {_LOW64})::UBIGINT)"
    rows_sql = f"SELECT * FROM {TABLE} WHERE tkey IN {low} AND tid IN {keys}"
    params: list[Any] = [list(trace_ids), list(trace_ids)]
    if pending is not None:
        parts = _parts(f"(SELECT * FROM {PENDING} WHERE trace_id IN (SELECT unnest(?::VARCHAR[])))")
        rows_sql += f" UNION ALL {parts}"
        params.append(list(trace_ids))
        cur.register(PENDING, pending)
    try:
        rows = cur.execute(
            f"SELECT {_TID_HEX}, sum(tokens), sum(cost)::DOUBLE, sum(errors), sum(spans), "
            f"(max(last_us) - min(first_us)) / 1000.0, sum(odd) FROM ({rows_sql}) GROUP BY tid",
            params,
        ).fetchall()
    finally:
        if pending is not None:
            cur.unregister(PENDING)
    if any(r[6] for r in rows):
        return None
    return _totals_of(rows)


def _totals_of(rows: list[tuple[Any, ...]]) -> dict[str, TraceTotals]:
    """Rows of (trace id, tokens, cost, errors, spans, latency ms, odd) as totals by trace."""
    return {
        r[0]: TraceTotals(int(r[1]), float(r[2]), int(r[3]), int(r[4]), float(r[5])) for r in rows
    }


def lone_totals(
    cur: duckdb.DuckDBPyConnection, pending: pa.Table | None, trace_ids: Sequence[str]
) -> dict[str, TraceTotals] | None:
    """`totals` when each trace has one stored row at most (one project): the rows read as
    they are (the keys' low halves inline, no grouping: ~2 ms for a page's 33 roots where
    the grouped statement took ~6, ADR 0058), and the backlog's spans of those traces
    (``pending``) added here, not in SQL. Right after a load the newest page's traces are in
    the backlog, where the grouped statement took 12-15 ms for 33 roots beside 9,900 waiting
    spans (registering the backlog and scanning it as a table cost ~3 ms alone); this takes
    ~3 (ADR 0062).

    A backlog span's cost is the decimal DuckDB makes of it (`cost_decimal`), the sums are
    exact decimals, and a total the backlog added to becomes a float once (correctly
    rounded; DuckDB's cast of the same sum may differ in the last bit). A trace without
    backlog spans has DuckDB's cast of its stored cost. None when a trace has several
    stored rows or is odd (the grouped statement, or the spans, answer)."""
    asked = set(trace_ids)
    wanted = sorted(asked)
    lows = ", ".join(str(int(t, 16) & _LOW64_INT) for t in wanted)
    sums: dict[str, list[Any]] = {}
    for tid, tokens, cost, as_float, errors, spans, first, last, odd in cur.execute(
        f"SELECT {_TID_HEX}, tokens, cost, cost::DOUBLE, errors, spans, first_us, last_us, "
        f"odd FROM {TABLE} WHERE tkey IN ({lows})"
    ).fetchall():
        if tid not in asked:  # the low halves of two keys may agree
            continue
        if odd or tid in sums:  # odd, or two projects hold the trace
            return None
        sums[tid] = [tokens, cost, errors, spans, first, last, as_float]
    if pending is not None and not _add_backlog(sums, pending, wanted):
        return None
    return {
        tid: TraceTotals(
            int(t[0]),
            t[6] if t[6] is not None else float(t[1]),
            int(t[2]),
            int(t[3]),
            (t[5] - t[4]) / 1000.0,
        )
        for tid, t in sums.items()
    }


def _add_backlog(sums: dict[str, list[Any]], pending: pa.Table, wanted: list[str]) -> bool:
    """Add the backlog's spans of the ``wanted`` traces to ``sums`` (`lone_totals`' rows; a
    trace they add to loses its stored float); False when one of them is odd (`_PARTS`)."""
    mine = pending.select(_PENDING_READ).filter(
        pc.is_in(pending["trace_id"], value_set=pa.array(wanted, pa.string()))
    )
    times = [mine.column(c).cast(pa.int64()).to_pylist() for c in ("start_time", "end_time")]
    with decimal.localcontext(prec=60):  # a DECIMAL(38, 12) sum and its carries stay exact
        for i, (tid, sid, parent, tokens, cost, status) in enumerate(
            zip(*(mine.column(c).to_pylist() for c in _PENDING_READ[:6]), strict=True)
        ):
            exact = Decimal(0) if cost is None else cost_decimal(cost)
            if exact is None or (parent is None and not HEX_SPAN.fullmatch(sid or "")):
                return False
            first, last = times[0][i], times[1][i]
            t = sums.setdefault(tid, [0, Decimal(0), 0, 0, first, last, None])
            t[0] += tokens or 0
            t[1] += exact
            t[2] += status == "ERROR"
            t[3] += 1
            t[4], t[5], t[6] = min(t[4], first), max(t[5], last), None
    return True


_PENDING_READ = [
    "trace_id",
    "span_id",
    "parent_span_id",
    "total_tokens",
    "cost_usd",
    "status_code",
    "start_time",
    "end_time",
]
"""The backlog's columns a trace's totals read."""


def cost_decimal(cost: float) -> Decimal | None:
    """``cost_usd``'s `COST_DECIMAL` as DuckDB computes it: None from 1e20 on (and for NaN),
    else the double times 10^12 rounded half away from zero (DuckDB's double to DECIMAL
    cast), as a decimal of 12 places. A test holds it to DuckDB's own cast."""
    if not abs(cost) < 1e20:
        return None
    scaled = abs(cost * 1e12)
    units = math.floor(scaled)
    if scaled - units >= 0.5:  # exact: a double minus its floor is a double
        units += 1
    return Decimal(f"{'-' if cost < 0 else ''}{int(units)}e-12")

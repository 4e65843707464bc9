"""Which 10-minute slots hold spans of a trace: a bound for per-trace totals (ADR 0035).

A traces-table page shows, on each root span, sums over every span of its trace
(`listing.trace_totals`). Trace ids are random, so no zone map narrows ``trace_id IN (…)``:
the plain query reads the ``trace_id`` column of every stored span. ``trace_slots`` holds,
for every committed span, the pair (hash of its trace id, its start-time slot), in the write
connection's in-memory catalog beside the span sketch, and is kept as the sketch is (built
behind the open, committed batches' pairs added behind ingest, carried over by a
compaction; ADR 0039).

The slots of the pairs whose hash is one of the asked traces' hashes bound the start times
of every span of those traces: a hash collision only adds slots, and a deleted span leaves
its pair behind, which only widens the bound, so the bounded query is exact whenever the
table and the backlog of batches not added yet (`bounds_sql`) hold every committed span's pair
(`SketchGuard`). Pairs are not deduplicated across
batches (no index to keep on the append path); a trace adds a pair per batch and slot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from llmpulse.store.events.sketch import PENDING, SLOT_SQL, slot_start

TABLE = "memory.main.trace_slots"
_PAIRS_SQL = f"SELECT DISTINCT hash(trace_id) AS h, {SLOT_SQL} AS slot FROM "


def build(con: duckdb.DuckDBPyConnection, rows: pa.Table | None = None) -> None:
    """Create the table and fill it from the stored spans (or with ``rows`` exported by
    `summaries.export`)."""
    con.execute(f"DROP TABLE IF EXISTS {TABLE}")
    con.execute(f"CREATE TABLE {TABLE} (h UBIGINT NOT NULL, slot BIGINT NOT NULL)")
    if rows is None:
        con.execute(f"INSERT INTO {TABLE} {_PAIRS_SQL} spans")
    else:
        con.from_arrow(rows).insert_into(TABLE)


def add(con: duckdb.DuckDBPyConnection, batch: pa.Table) -> None:
    """Add the pairs of a committed batch of spans (Arrow, the span columns)."""
    trace_batch = batch  # noqa: F841 - DuckDB's replacement scan reads it by name
    con.execute(f"INSERT INTO {TABLE} {_PAIRS_SQL} trace_batch")


def bounds_sql(pending: bool = False) -> str:
    """SQL of the first and last slot holding spans of the traces in list parameter 1 (and
    2, the same list); with ``pending``, also of the backlog's spans (`sketch.PENDING`,
    committed spans the table does not hold yet, ADR 0039)."""
    table = f"SELECT slot FROM {TABLE} WHERE h IN (SELECT hash(unnest(?::VARCHAR[])))"
    if pending:
        table += (
            f" UNION ALL SELECT {SLOT_SQL} AS slot FROM {PENDING} "
            "WHERE list_contains(?::VARCHAR[], trace_id)"
        )
    else:
        table += " AND ? IS NOT NULL"  # the second parameter, unused
    return f"SELECT min(slot), max(slot) FROM ({table})"


def time_bounds(row: tuple[Any, ...]) -> tuple[datetime, datetime] | None:
    """``[start, end)`` of the slots in a `bounds_sql` row; None when no slot holds them."""
    lo, hi = row
    if lo is None or hi is None:
        return None
    return slot_start(int(lo)), slot_start(int(hi) + 1)

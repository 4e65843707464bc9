"""The in-memory summaries of the stored spans, kept together (ADRs 0021, 0035, 0036, 0046).

The span sketch (`sketch`), the trace slots (`trace_slots`) and the pair sketch
(`pair_sketch`) live in the write connection's in-memory catalog, the traces' totals
(`trace_sums`) in a database of their own beside the events (ADR 0049), the sketch's spans'
starts and bins (`edge_spans`, ADR 0066) in numpy. All are built from
the stored spans behind the open, committed batches added behind ingest, many at once (under
the writer's lock and inside `SketchGuard.changing`; `summary_upkeep`, ADR 0039), and
recounted after a delete. A compaction carries the in-memory ones over (`export`); the new
connection attaches the traces' totals' file as it is.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from llmpulse.store.events import pair_sketch, sketch, trace_slots, trace_sums
from llmpulse.store.events.edge_spans import EdgeSpans
from llmpulse.store.events.pair_sketch import PairKeys, PairsOfText


@dataclass(frozen=True, slots=True)
class Exported:
    """Every summary's rows, to carry over to a new connection on the same spans."""

    sketch: pa.Table
    trace_slots: pa.Table
    pairs: pa.Table


def build(
    con: duckdb.DuckDBPyConnection,
    keys: PairKeys,
    rows: Exported | None = None,
    edges: EdgeSpans | None = None,
) -> None:
    """Create the in-memory summaries from the stored spans (or from ``rows`` exported on
    them: ``edges`` then already hold their spans); `trace_sums.build` is the other
    database's, on a transaction of its own."""
    sketch.build(con, None if rows is None else rows.sketch)
    if edges is not None and rows is None:
        edges.build(con)
    trace_slots.build(con, None if rows is None else rows.trace_slots)
    if rows is None:
        pair_sketch.build(con, keys)
    else:
        pair_sketch.restore(con, rows.pairs)


def export(con: duckdb.DuckDBPyConnection) -> Exported:
    """Every in-memory summary's rows (see `build`)."""
    return Exported(
        _rows(con, sketch.TABLE), _rows(con, trace_slots.TABLE), _rows(con, pair_sketch.TABLE)
    )


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> pa.Table:
    return con.sql(f"SELECT * FROM {table}").to_arrow_table()


def add(
    con: duckdb.DuckDBPyConnection,
    keys: PairKeys,
    texts: PairsOfText,
    batch: pa.Table,
    totals_commit: AbstractContextManager[object] | None = None,
    edges: EdgeSpans | None = None,
    sums: duckdb.DuckDBPyConnection | None = None,
) -> None:
    """Add a committed batch of spans (Arrow, the logical span columns) to every summary
    (``totals_commit``: entered around the COMMIT of the traces' totals, `trace_sums.add`;
    ``sums``: a cursor whose open transaction already merged the batch into the traces'
    totals, `trace_sums.staged`, committed here instead)."""
    sketch.add(con, batch)
    if edges is not None:
        edges.add(batch)
    trace_slots.add(con, batch)
    pair_sketch.add(con, keys, texts, batch)
    if sums is None:
        trace_sums.add(con, batch, totals_commit)
        return
    with totals_commit if totals_commit is not None else nullcontext():
        sums.execute("COMMIT")


def rebuild_project(
    con: duckdb.DuckDBPyConnection, keys: PairKeys, project: str, edges: EdgeSpans | None = None
) -> None:
    """Recount one project after some of its spans were deleted (under the write lock).

    The trace slots stay: a deleted span's pair only widens a bound (see `trace_slots`)."""
    sketch.rebuild_project(con, project)
    if edges is not None:
        edges.rebuild_project(con, project)
    pair_sketch.rebuild_project(con, keys, project)
    trace_sums.rebuild_project(con, project)

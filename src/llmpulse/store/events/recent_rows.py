"""The newest page of a project's spans from rows held in memory, checked by an exact count
(ADR 0067).

A plain newest-first page (the spans view with no filter, the REST default) read its ~100
rows with one statement: 7-10 ms at 1M spans on a 2-core machine after an idle moment,
most of it DuckDB decompressing the 2,048-row zstd vectors of the bulky text columns that
hold the rows. `RecentRows` keeps, per project, a few thousand stored spans as Arrow rows:
the newest by start when the summaries are built behind the open, then every committed
batch (the oldest batches dropped past `KEEP_SPANS`). Any subset of the stored spans would
do, because a page is answered from them only when they are provably all of its rows:

- the kept spans' starts (`edge_spans`, of the sketch) and the summaries' backlog give the
  start ``t`` of the ``limit + 1``-th newest span before the page's end, and how many stored
  spans start in ``[t, end)`` (or in the page's whole range when it holds fewer);
- when the held rows of the project in that range are exactly that many, they are those
  spans (held rows are stored rows, and a count equal to the stored count leaves none out),
  and the page is their newest ``limit + 1``, ordered as the statement orders them.

Both counts are taken at one quiet moment of `SketchGuard.read` (no commit, apply or delete
in flight, and none begun before the answer is kept): a commit holds its batch here inside
the same change as its queueing, and a delete forgets the project's rows inside its own.
Anything else (filters, a cursor, summary rows, counts that differ) reads the statement.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from llmpulse.clock import to_unix_us
from llmpulse.store.events.arrow_numpy import arrow_column, codes
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.edge_spans import Chunk, EdgeState, backlog_chunk

I64 = npt.NDArray[np.int64]
Rows = list[tuple[Any, ...]]

KEEP_SPANS = 4096
"""Rows held per project (at most one batch more); a page deeper than this reads SQL."""
KEEP_BYTES = 16 * 1024 * 1024
"""... and at most this many bytes of Arrow buffers per project ..."""
TOTAL_BYTES = 128 * 1024 * 1024
"""... and of every project's together: past it, the projects that committed least
recently hold none."""
_MAX_TABLES = 64
"""A project's tables are joined into one past this many (a stream of tiny batches)."""
_START = SPAN_COLUMN_NAMES.index("start_time")
_SPAN_ID = SPAN_COLUMN_NAMES.index("span_id")


class RecentRows:
    """Per project, stored spans' full rows (`SPAN_COLUMN_NAMES`) as Arrow tables."""

    def __init__(self) -> None:
        """Nothing held until `fill` or a commit."""
        self._lock = threading.Lock()
        self._held: dict[str, tuple[pa.Table, ...]] = {}
        self._schema: pa.Schema | None = None

    def fill(self, table: pa.Table) -> None:
        """Hold ``table`` (stored rows read from a snapshot that the commits held since do
        not overlap) before the rows already held."""
        with self._lock:
            self._schema = table.schema
            try:
                held = {n: tuple(t.cast(table.schema) for t in ts) for n, ts in self._held.items()}
            except (pa.ArrowException, TypeError, ValueError):
                held = {}
            for name, rows in _by_project(table).items():
                held[name] = _trimmed((rows, *held.get(name, ())))
            self._held = held

    def clear(self) -> None:
        """Hold nothing (the summaries' build pins its snapshot: `fill` follows)."""
        with self._lock:
            self._held = {}

    def committed(self, batch: pa.Table) -> None:
        """Hold a batch just committed (under the writer's lock, inside the commit's change)."""
        with self._lock:
            try:
                kept = batch.select(list(SPAN_COLUMN_NAMES))
                if self._schema is not None and kept.schema != self._schema:
                    kept = kept.cast(self._schema)
                parts = _by_project(kept)
            except (pa.ArrowException, KeyError, TypeError, ValueError):
                self._held.clear()  # rows it cannot hold: none held, the statement reads
                return
            for name, rows in parts.items():
                tables = _trimmed((*self._held.pop(name, ()), rows))  # (now the newest)
                if len(tables) > _MAX_TABLES:
                    tables = (pa.concat_tables(tables).combine_chunks(),)
                self._held[name] = tables
            total = sum(t.nbytes for ts in self._held.values() for t in ts)
            for name in list(self._held):  # least recently committed first
                if total <= TOTAL_BYTES:
                    break
                total -= sum(t.nbytes for t in self._held.pop(name))

    def forget(self, project: str) -> None:
        """Hold none of the project's rows (its spans are being deleted)."""
        with self._lock:
            self._held.pop(project, None)

    def page(
        self,
        project: str,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        edges: EdgeState,
        backlog: pa.Table | None,
    ) -> Rows | None:
        """Up to ``limit`` rows of the project's spans that start in ``[start, end)``, newest
        first (start time, then span id, descending), when the held rows hold every one of
        them (see the module); None otherwise. ``edges`` and ``backlog``: the sketch's spans
        and the summaries' backlog of this quiet moment."""
        held = self._held.get(project)
        if not held:
            return None
        chunks = list(edges.projects.get(project, ()))
        pending = None if backlog is None else backlog_chunk(backlog, project)
        if pending is not None:
            chunks.append(pending)
        lo = None if start is None else to_unix_us(start)
        hi = None if end is None else to_unix_us(end)
        bound, stored = _bound(chunks, lo, hi, limit)
        starts = [_starts(t) for t in held]
        inside = [_in(s, bound, hi) for s in starts]
        if sum(int(np.count_nonzero(m)) for m in inside) != stored:
            return None
        picked = (
            pa.concat_tables(
                [t.filter(pa.array(m)) for t, m in zip(held, inside, strict=True) if m.any()]
            )
            if stored
            else None
        )
        if picked is None:
            return []
        rows = list(zip(*(c.to_pylist() for c in picked.columns), strict=True))
        rows.sort(key=lambda r: (r[_START], r[_SPAN_ID]), reverse=True)
        return rows[:limit]


def fill_from(cur: duckdb.DuckDBPyConnection, recent: RecentRows) -> None:
    """Hold each project's newest `KEEP_SPANS` stored spans, read on ``cur`` (the summaries'
    build, on the snapshot it pinned when it cleared what `RecentRows` held)."""
    projects = [r[0] for r in cur.execute("SELECT DISTINCT project FROM spans").fetchall()]
    sql = (
        f"SELECT {', '.join(SPAN_COLUMN_NAMES)} FROM spans WHERE project = ? "
        "ORDER BY start_time DESC LIMIT ?"
    )
    for project in projects:
        recent.fill(cur.sql(sql, params=[project, KEEP_SPANS]).to_arrow_table())


def _bound(chunks: Sequence[Chunk], lo: int | None, hi: int | None, limit: int) -> tuple[int, int]:
    """The start ``t`` from which the newest ``limit`` spans in ``[lo, hi)`` lie in
    ``[t, hi)`` (``lo``, or the first start, when the range holds fewer), and how many of the
    chunks' spans start in ``[t, hi)``."""
    ends = [
        len(c) if hi is None else int(np.searchsorted(c.start, hi, side="left")) for c in chunks
    ]
    tails = [c.start[max(0, k - limit) : k] for c, k in zip(chunks, ends, strict=True)]
    near = np.concatenate(tails) if tails else np.zeros(0, dtype=np.int64)
    if lo is not None:
        near = near[near >= lo]
    if len(near) >= limit:
        t = int(np.partition(near, len(near) - limit)[len(near) - limit])
    else:
        t = lo if lo is not None else np.iinfo(np.int64).min
    counted = sum(
        k - int(np.searchsorted(c.start, t, side="left")) for c, k in zip(chunks, ends, strict=True)
    )
    return t, counted


def _starts(table: pa.Table) -> I64:
    us, _ = arrow_column(pc.cast(table.column(_START), pa.int64()))
    return us.astype(np.int64, copy=False)


def _in(starts: I64, lo: int, hi: int | None) -> npt.NDArray[np.bool_]:
    keep = starts >= lo
    return keep if hi is None else keep & (starts < hi)


def _by_project(table: pa.Table) -> dict[str, pa.Table]:
    """The table's rows per project; a table of one project as it is (a commit's batch
    usually is: no copy on the ingest path)."""
    index, known, names = codes(table.column("project"))
    if len(names) == 1 and bool(known.all()):
        return {names[0]: table}
    out = {}
    for i, name in enumerate(names):
        rows = np.flatnonzero((index == i) & known)
        if len(rows):
            out[name] = table.take(pa.array(rows))
    return out


def _trimmed(tables: tuple[pa.Table, ...]) -> tuple[pa.Table, ...]:
    """``tables`` without their oldest while the rest hold `KEEP_SPANS` rows and
    `KEEP_BYTES` bytes' worth, or more rows than that."""
    rows = sum(t.num_rows for t in tables)
    size = sum(t.nbytes for t in tables)
    out = list(tables)
    while len(out) > 1 and (rows - out[0].num_rows >= KEEP_SPANS or size > KEEP_BYTES):
        rows -= out[0].num_rows
        size -= out.pop(0).nbytes
    return tuple(out)

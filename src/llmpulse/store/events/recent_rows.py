"""The newest page of a project's spans from rows held in memory, checked by an exact count
(ADR 0067).

A plain newest-first page (the spans view with no filter, the REST default) read its ~100
rows with one statement: 7-10 ms at 1M spans on a 2-core machine after an idle moment,
most of it DuckDB decompressing the 2,048-row zstd vectors of the bulky text columns that
hold the rows. `RecentRows` keeps, per project, a few thousand stored spans as Arrow rows:
the newest by start when the summaries are built behind the open, then every committed
batch (the oldest batches dropped past `KEEP_SPANS`). Any subset of the stored spans would
do, because a page is answered from them only when they are provably all of its rows:

- ``t`` is the start of the ``limit + 1``-th newest held row the page wants (in its range,
  and for a page filtered by ``metadata.<key>`` values, whose stored ``metadata_kv`` pairs
  hold each; ADR 0068), or the range's start when fewer are held;
- the kept spans' starts (`edge_spans`, of the sketch) and the summaries' backlog give how
  many stored spans start in ``[t, end)``; when the held rows of the project there are
  exactly that many, they are those spans (held rows are stored rows, and a count equal to
  the stored count leaves none out), so every stored row the page wants from ``t`` on is
  held, and the page is the newest ``limit + 1`` of them, ordered as the statement orders
  them.

Both counts are taken at one quiet moment of `SketchGuard.read` (no commit, apply or delete
in flight, and none begun before the answer is kept): a commit holds its batch here inside
the same change as its queueing, and a delete forgets the project's rows inside its own.
Anything else (other filters, a cursor, summary rows, counts that differ, a metadata filter
over held rows that came without their pairs) reads the statement.
"""

from __future__ import annotations

import logging
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
from llmpulse.store.events.edge_spans import EdgeState, backlog_chunk
from llmpulse.store.events.layout import METADATA_KV_COLUMN

log = logging.getLogger(__name__)

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
_ROW = list(SPAN_COLUMN_NAMES)
_WITH_PAIRS = [*SPAN_COLUMN_NAMES, METADATA_KV_COLUMN]
"""A held table's columns: the row's, then the stored ``metadata_kv`` pairs when the rows
came with them (a batch whose pairs SQL derives holds none: metadata pages then read SQL)."""


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
                held = {
                    n: tuple(t.cast(_schema_for(table.schema, t)) for t in ts)
                    for n, ts in self._held.items()
                }
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
                kept = batch.select(_columns_of(batch))
                if self._schema is not None:
                    target = _schema_for(self._schema, kept)
                    kept = kept if kept.schema == target else kept.cast(target)
                parts = _by_project(kept)
            except (pa.ArrowException, KeyError, TypeError, ValueError):
                self._held.clear()  # rows it cannot hold: none held, the statement reads
                return
            for name, rows in parts.items():
                tables = _trimmed((*self._held.pop(name, ()), rows))  # (now the newest)
                if len(tables) > _MAX_TABLES:
                    tables = (_joined(tables),)
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
        pairs: Sequence[str] = (),
    ) -> Rows | None:
        """Up to ``limit`` rows of the project's spans that start in ``[start, end)`` (and
        whose ``metadata_kv`` holds every one of ``pairs``), newest first (start time, then
        span id, descending), when the held rows hold every one of them (see the module);
        None otherwise. ``edges`` and ``backlog``: the sketch's spans and the summaries'
        backlog of this quiet moment."""
        held = self._held.get(project)
        if not held or (pairs and any(METADATA_KV_COLUMN not in t.column_names for t in held)):
            return None
        chunks = list(edges.projects.get(project, ()))
        pending = None if backlog is None else backlog_chunk(backlog, project)
        if pending is not None:
            chunks.append(pending)
        lo = None if start is None else to_unix_us(start)
        hi = None if end is None else to_unix_us(end)
        starts = [_starts(t) for t in held]
        wanted = [_in(s, lo, hi) & _holding(t, pairs) for s, t in zip(starts, held, strict=True)]
        found = np.concatenate([s[w] for s, w in zip(starts, wanted, strict=True)])
        if len(found) >= limit:  # from the limit-th newest wanted row on, if all are held
            bound = int(np.partition(found, len(found) - limit)[len(found) - limit])
        else:  # fewer in the whole range: all of it must be held
            bound = lo if lo is not None else int(np.iinfo(np.int64).min)
        stored = sum(_count(c.start, bound, hi) for c in chunks)
        if sum(int(np.count_nonzero(_in(s, bound, hi))) for s in starts) != stored:
            return None
        picked = [
            t.filter(pa.array(w & (s >= bound))).select(_ROW)
            for t, s, w in zip(held, starts, wanted, strict=True)
            if w.any()
        ]
        if not picked:
            return []
        table = pa.concat_tables(picked)
        rows = list(zip(*(c.to_pylist() for c in table.columns), strict=True))
        rows.sort(key=lambda r: (r[_START], r[_SPAN_ID]), reverse=True)
        return rows[:limit]


def fill_from(cur: duckdb.DuckDBPyConnection, recent: RecentRows) -> None:
    """Hold each project's newest `KEEP_SPANS` stored spans (within `KEEP_BYTES`), read on
    ``cur`` (the summaries' build, on the snapshot it pinned when it cleared what
    `RecentRows` held).

    The newest rows are picked by a top-N over start times and row ids alone, then read by
    row id `_FILL_ROWS` at a time: a top-N over the full rows holds every one of them in
    DuckDB's buffer pool at once (32 MB for 4,096 spans of 8 kB), which a store opened with
    a small memory limit shares with the queries running meanwhile."""
    projects = [r[0] for r in cur.execute("SELECT DISTINCT project FROM spans").fetchall()]
    newest = "SELECT rowid FROM spans WHERE project = ? ORDER BY start_time DESC LIMIT ?"
    columns = ", ".join(_WITH_PAIRS)
    for project in projects:
        try:
            ids = [int(r[0]) for r in cur.execute(newest, [project, KEEP_SPANS]).fetchall()]
            parts, size = [], 0
            for i in range(0, len(ids), _FILL_ROWS):
                chunk = ", ".join(str(r) for r in ids[i : i + _FILL_ROWS])
                sql = f"SELECT {columns} FROM spans WHERE rowid IN ({chunk})"
                parts.append(cur.sql(sql).to_arrow_table())
                size += parts[-1].nbytes
                if size > KEEP_BYTES:  # the newest first: the rest would be trimmed
                    break
        except duckdb.OutOfMemoryException:  # held rows are optional: the summaries are not
            log.warning("holding no rows of %s in memory: the store's memory limit", project)
            continue
        if parts:
            recent.fill(pa.concat_tables(parts))


_FILL_ROWS = 256
"""Rows `fill_from` reads at once."""


def _count(starts: I64, lo: int, hi: int | None) -> int:
    """How many of the ascending ``starts`` (a chunk's) lie in ``[lo, hi)``."""
    stop = len(starts) if hi is None else int(np.searchsorted(starts, hi, side="left"))
    return max(0, stop - int(np.searchsorted(starts, lo, side="left")))


def _starts(table: pa.Table) -> I64:
    us, _ = arrow_column(pc.cast(table.column(_START), pa.int64()))
    return us.astype(np.int64, copy=False)


def _in(starts: I64, lo: int | None, hi: int | None) -> npt.NDArray[np.bool_]:
    keep = np.ones(len(starts), dtype=np.bool_) if lo is None else starts >= lo
    return keep if hi is None else keep & (starts < hi)


def _holding(table: pa.Table, pairs: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Which rows' ``metadata_kv`` holds every one of ``pairs`` (SQL's ``list_contains``:
    a NULL list holds none)."""
    keep = np.ones(table.num_rows, dtype=np.bool_)
    if not pairs:
        return keep
    kv = table.column(METADATA_KV_COLUMN).combine_chunks()
    offsets = kv.offsets.to_numpy()  # into `values`, whatever a NULL list's slot spans
    parents = np.repeat(np.arange(len(kv)), np.diff(offsets))
    values = kv.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    valid = kv.is_valid().to_numpy(zero_copy_only=False)
    for pair in pairs:
        hit = pc.fill_null(pc.equal(values, pair), False).to_numpy(zero_copy_only=False)
        has = np.zeros(table.num_rows, dtype=np.bool_)
        has[parents[hit]] = True
        keep &= has & valid
    return keep


def _columns_of(batch: pa.Table) -> list[str]:
    """The held columns of a committed batch (`_WITH_PAIRS` when it brought the pairs)."""
    return _WITH_PAIRS if METADATA_KV_COLUMN in batch.column_names else _ROW


def _schema_for(schema: pa.Schema, table: pa.Table) -> pa.Schema:
    """``schema`` (of the held rows) for ``table``'s columns (with or without the pairs)."""
    return pa.schema(
        [
            schema.field(n) if n in schema.names else table.schema.field(n)
            for n in table.column_names
        ]
    )


def _joined(tables: Sequence[pa.Table]) -> pa.Table:
    """One table of ``tables`` (the pairs kept only when every one has them)."""
    cols = _WITH_PAIRS if all(METADATA_KV_COLUMN in t.column_names for t in tables) else _ROW
    return pa.concat_tables([t.select(cols) for t in tables]).combine_chunks()


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

"""Retried spans are stored once: the rows of a batch that are copies of stored spans are dropped.

OTLP exporters retry a request after a timeout or a 503 (and after a server restart), so the
same span can arrive twice; counting both copies would double counts, costs, tokens and
errors. A copy has the same ``project``, ``trace_id``, ``span_id`` and ``start_time`` (a retry
re-sends the span as it was). Copies are removed on the append path, under the store's write
lock, so every read (metrics, segments, exports, trace views) sees each span once without
paying for it at query time (ADR 0014):

* copies inside one batch (two retries merged into one group commit) keep the first row;
* copies of stored spans are found with one semi join of the batch's keys against the spans
  whose ``start_time`` is one of the batch's start times; the start-time condition lets DuckDB
  skip every row group whose zonemap lies outside the batch's time range, so new traffic only
  reads the newest row groups. Rows that start after every stored span skip the lookup
  (`RetryFilter` remembers the newest start time stored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

KEY_COLUMNS = ("project", "trace_id", "span_id", "start_time")
_INCOMING = "llmpulse_incoming_keys"
_ROW = "llmpulse_row"
_STORED_COPIES = (
    f"SELECT i.{_ROW} FROM {_INCOMING} i SEMI JOIN "
    "(SELECT project, trace_id, span_id, start_time FROM spans WHERE start_time BETWEEN ? AND ?) s "
    "ON s.project = i.project AND s.trace_id = i.trace_id AND s.span_id = i.span_id "
    "AND s.start_time = i.start_time"
)


class RetryFilter:
    """Drops the rows of a batch that are copies of stored spans or of earlier rows.

    It remembers the newest ``start_time`` stored (read once when the store opens, then
    raised by every batch): a row that starts later than every stored span cannot be a copy of
    one, so only older rows are looked up. In-order traffic mostly skips the lookup; a batch
    with older rows (a retry, a long root span exported after its children) pays one semi
    join, bounded by those rows' start times.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        """Read the newest stored start time from the store's write connection."""
        (newest,) = con.execute("SELECT max(start_time) FROM spans").fetchall()[0]
        self._newest: datetime | None = newest

    def new_spans(self, con: duckdb.DuckDBPyConnection, batch: pa.Table) -> pa.Table:
        """The rows of ``batch`` that are not already stored nor repeated earlier in it.

        Call it and insert the result under the same write lock, so that no other append can
        slip in between the check and the insert. The newest start time is raised before the
        insert: if the insert then fails, later batches only look up more than they need.
        """
        keys = batch.select(list(KEY_COLUMNS))
        keep = _first_of_each(keys)
        older = _not_newer_than(keys, self._newest)
        stored = _stored_rows(con, keys, older) if older is not None else []
        newest = pc.max(keys["start_time"]).as_py()
        if newest is not None and (self._newest is None or newest > self._newest):
            self._newest = newest
        if stored:
            rows = pa.array(range(batch.num_rows), pa.int64())
            keep = pc.and_(keep, pc.invert(pc.is_in(rows, pa.array(stored, pa.int64()))))
        if pc.all(keep).as_py():
            return batch
        return batch.filter(keep)


def _not_newer_than(keys: pa.Table, newest: datetime | None) -> pa.Array | None:
    """Row numbers of the batch that start no later than ``newest`` (None if there are none)."""
    if newest is None:
        return None
    starts = keys["start_time"]
    mask = pc.less_equal(starts, pa.scalar(newest, type=starts.type))
    if not pc.any(mask).as_py():
        return None
    return pc.indices_nonzero(mask)


def _first_of_each(keys: pa.Table) -> pa.ChunkedArray | pa.Array:
    """True for the first row of each span identity in the batch."""
    n = keys.num_rows
    if pc.count_distinct(keys["span_id"]).as_py() == n:  # the usual case: no repeats at all
        return pa.array(np.ones(n, dtype=np.bool_))  # not from a list: no pandas probe
    indexed = keys.append_column(_ROW, pa.array(np.arange(n, dtype=np.int64)))
    firsts = indexed.group_by(list(KEY_COLUMNS), use_threads=False).aggregate([(_ROW, "min")])
    return pc.is_in(pa.array(np.arange(n, dtype=np.int64)), firsts[f"{_ROW}_min"])


def _stored_rows(con: duckdb.DuckDBPyConnection, keys: pa.Table, rows: pa.Array) -> list[int]:
    """Those of ``rows`` (row numbers of the batch) whose span is already stored."""
    incoming = keys.take(rows).append_column(_ROW, rows.cast(pa.int64()))
    bounds = pc.min_max(incoming["start_time"]).as_py()
    con.register(_INCOMING, incoming)
    try:
        found: list[tuple[Any, ...]] = con.execute(
            _STORED_COPIES, [bounds["min"], bounds["max"]]
        ).fetchall()
    finally:
        con.unregister(_INCOMING)
    return [int(r[0]) for r in found]

"""A thread's first read takes a spare cursor instead of waiting for the writer's lock.

After a bulk load the writer's lock is busy with index rounds, the summaries' upkeep and the
idle checkpoint; a query on a thread without a cursor waited behind them (up to ~150 ms per
thread at 30k spans) only to create its cursor.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from contract.store_factories import make_span
from llmpulse.domain.ids import ProjectName
from llmpulse.store.api import SpanQuery
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.duckdb_engine import SPARE_CURSORS


def _first_reads_in_new_threads(store: DuckDBEventStore, n: int) -> list[int | None]:
    """Counts read by ``n`` new threads, each its first read; None for a thread that did not
    finish within 30 s."""
    counts: list[int | None] = [None] * n

    def read(i: int) -> None:
        counts[i] = store.count_spans(SpanQuery(ProjectName("default")))

    threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return counts


def test_first_reads_of_new_threads_do_not_wait_for_the_writers_lock(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        store.append_spans([make_span(i) for i in range(50)])
        with store._write_lock:  # a long write: an index round, a checkpoint
            counts = _first_reads_in_new_threads(store, SPARE_CURSORS)
        assert counts == [50] * SPARE_CURSORS
        # The next write makes spares again; past them a new thread waits for the lock.
        store.append_spans([make_span(i) for i in range(50, 60)])
        assert _first_reads_in_new_threads(store, SPARE_CURSORS + 2) == [60] * (SPARE_CURSORS + 2)
    finally:
        store.close()


def test_spares_of_an_old_generation_are_not_used(tmp_path: Path) -> None:
    """A re-attach or a compaction's swap closes every cursor: spares made before it are
    dropped, and reads after it see the rows."""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        store.append_spans([make_span(i) for i in range(30)])
        store.compact()
        assert _first_reads_in_new_threads(store, 2) == [30, 30]
    finally:
        store.close()


def test_a_read_whose_cursor_a_reattach_closed_is_asked_again(tmp_path: Path) -> None:
    """A re-attach on another thread (the writer's failed checkpoint on a full disk) closes
    every reader cursor, also one a query is reading with: that read is asked again on a new
    cursor instead of failing (it surfaced as a 500 on a span listing). A read that fails
    without a re-attach still fails."""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        store.append_spans([make_span(i) for i in range(30)])
        closed: list[int] = []

        def reattached_meanwhile(cur: duckdb.DuckDBPyConnection) -> list[tuple[int]]:
            if not closed:  # what `_reattach` does to the other threads' cursors
                with store._write_lock:
                    for c in store._cursors:
                        c.close()
                    store._cursors.clear()
                    store._spares.clear()
                    store._generation += 1
                closed.append(1)
            return cur.execute("SELECT count(*) FROM spans").fetchall()

        assert store._read(reattached_meanwhile) == [(30,)]
        assert closed == [1]

        def broken(cur: duckdb.DuckDBPyConnection) -> object:
            return cur.execute("SELECT * FROM no_such_table").fetchall()

        with pytest.raises(duckdb.CatalogException):
            store._read(broken)
    finally:
        store.close()

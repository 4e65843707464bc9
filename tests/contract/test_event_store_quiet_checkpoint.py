"""A bulk load's write-ahead log is checkpointed when ingest and queries are quiet (ADR 0041).

Before, the next commit after a load (the search indexer's first round, or the next ingest
request) carried the load's checkpoint, in the middle of the first queries or of an ingest
acknowledgement. The store's `QueryActivity` holds a query "in flight" here; the outcome is
read from the log's size and the checkpoint counter, never from timings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from store_factories import make_span

from llmpulse.domain.ids import ProjectName
from llmpulse.store.activity import QueryActivity
from llmpulse.store.api import SpanQuery
from llmpulse.store.events.compaction import file_size
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.duckdb_open import wal_path
from llmpulse.store.events.quiet_checkpoint import SETTLE_S

MIB = 1 << 20


def _wait_for(what: Callable[[], bool], deadline_s: float = 60.0) -> None:
    """Poll ``what`` until it holds (a deadline against hanging, not a timing check)."""
    pause = threading.Event()
    for _ in range(int(deadline_s / 0.01)):
        if what():
            return
        pause.wait(0.01)
    raise AssertionError("condition not reached")


def _load(store: DuckDBEventStore, n: int, first: int = 0) -> None:
    text = "lorem ipsum dolor sit amet " * 80
    spans = [replace(make_span(i), input_value=f"{i} {text}") for i in range(first, first + n)]
    assert store.append_spans(spans) == n


def test_the_load_is_checkpointed_once_queries_pause(tmp_path: Path) -> None:
    db = tmp_path / "events.duckdb"
    activity = QueryActivity()
    store = DuckDBEventStore(db, activity=activity, quiet_checkpoint_bytes=MIB)
    try:
        activity.begin()  # a query runs from before the load until after it settled
        _load(store, 2_000)
        assert file_size(wal_path(db)) >= MIB
        threading.Event().wait(3 * SETTLE_S)
        assert store.quiet_checkpoint.runs == 0  # not while the query runs
        assert file_size(wal_path(db)) >= MIB
        activity.end()
        _wait_for(lambda: store.quiet_checkpoint.runs == 1)
        assert file_size(wal_path(db)) < MIB  # folded into the file
        assert store.count_spans(SpanQuery(project=ProjectName("default"))) == 2_000
        _load(store, 10, first=2_000)  # a small commit after it: nothing more to do
        threading.Event().wait(3 * SETTLE_S)
        assert store.quiet_checkpoint.runs == 1
    finally:
        store.close()
    reopened = DuckDBEventStore(db)
    try:
        assert reopened.count_spans(SpanQuery(project=ProjectName("default"))) == 2_010
    finally:
        reopened.close()


def test_a_small_log_is_left_to_duckdb(tmp_path: Path) -> None:
    db = tmp_path / "events.duckdb"
    store = DuckDBEventStore(db, activity=QueryActivity())
    try:
        _load(store, 200)  # far below the default threshold
        threading.Event().wait(3 * SETTLE_S)
        assert store.quiet_checkpoint.runs == 0
        assert file_size(wal_path(db)) > 0
    finally:
        store.close()

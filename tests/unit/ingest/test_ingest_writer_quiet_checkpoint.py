"""The writer's idle checkpoint waits while queries run (ADR 0041).

A bulk load leaves its rows in DuckDB's write-ahead log, and the idle checkpoint that folds
them into the file takes seconds of both cores: it used to start two seconds after the last
commit, whatever else ran, so it fell in the middle of the first queries after the load.
A query is held "in flight" in the writer's `QueryActivity`; the outcome is read from the
writer's counters and the log's size, never from timings.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from llmpulse.clock import SystemClock
from llmpulse.ingest.openinference import request_rows
from llmpulse.ingest.writer import SpanWriter
from llmpulse.store.activity import QueryActivity
from llmpulse.store.events.codec import rows_to_arrow
from llmpulse.store.events.compaction import file_size
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.duckdb_open import wal_path
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run
from support.otlp import make_request, make_span


def test_the_idle_checkpoint_waits_for_running_queries(tmp_path: Path) -> None:
    db = tmp_path / "events.duckdb"
    activity = QueryActivity()
    events = DuckDBEventStore(db, activity=activity, search_index=False)
    state = SqlStateStore("sqlite://")

    async def scenario() -> None:
        writer = SpanWriter(events, state, SystemClock(), idle_checkpoint_s=0.05, activity=activity)
        await writer.start()
        spans = [make_span(f"s{i}", attrs={"input.value": "x" * 500}) for i in range(300)]
        rows = request_rows(make_request(spans, "p"), None).rows
        activity.begin()  # a query runs from before the commit until after it went idle
        await writer.submit_table(rows_to_arrow(rows), ["p"], [])
        for _ in range(2_000):  # the idle period passes; the checkpoint is put off
            if writer.stats.checkpoints_deferred >= 3:
                break
            await asyncio.sleep(0.01)
        assert writer.stats.checkpoints_deferred >= 3
        assert writer.stats.checkpoints == 0
        assert file_size(wal_path(db)) > 0  # the rows are still only in the log
        activity.end()
        for _ in range(2_000):  # quiet again: it runs
            if writer.stats.checkpoints:
                break
            await asyncio.sleep(0.01)
        assert writer.stats.checkpoints == 1
        assert file_size(wal_path(db)) == 0
        await writer.stop()

    try:
        run(scenario())
        assert events.stats().num_spans == 300
    finally:
        events.close()
        state.close()

"""The writer acknowledges journaled spans, loads them later and replays them after a crash."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from ingest_payloads import rag_trace, request

from llmpulse.clock import ManualClock
from llmpulse.domain.ids import ProjectName
from llmpulse.ingest.decode_pool import columnarize_rows
from llmpulse.ingest.enrich import CostEnricher
from llmpulse.ingest.openinference import request_rows
from llmpulse.ingest.pricing import PriceBook
from llmpulse.ingest.writer import SpanWriter
from llmpulse.store.api import SpanQuery
from llmpulse.store.datadir import DataDir, open_stores
from llmpulse.store.journal import Journal


def spans_table(seed: int) -> pa.Table:
    batch = request_rows(request(rag_trace(seed), {"service.name": "shop"}), None)
    decoded = columnarize_rows(batch, CostEnricher(PriceBook([])))
    assert decoded.table is not None
    table = decoded.table
    ids = pa.array([f"{seed:08x}{i:08x}" for i in range(table.num_rows)])  # distinct per seed
    return table.set_column(table.schema.get_field_index("span_id"), "span_id", ids)


def stored(data: Path) -> int:
    events, state = open_stores(data)
    try:
        return len(events.list_spans(SpanQuery(project=ProjectName("shop"), limit=100)).items)
    finally:
        events.close()
        state.close()


async def run_writer(data: Path, tables: list[pa.Table], *, load_delay_s: float) -> tuple[int, int]:
    """Submit ``tables`` through a writer; return (spans in the store before sync, after)."""
    events, state = open_stores(data)
    journal = Journal(DataDir(data).journal_path)
    clock = ManualClock(datetime(2025, 1, 1, tzinfo=UTC))
    writer = SpanWriter(events, state, clock, journal=journal, load_delay_s=load_delay_s)
    await writer.start()
    try:
        for t in tables:
            await writer.submit_table(t, ["shop"])
        q = SpanQuery(project=ProjectName("shop"), limit=100)
        before = len(await asyncio.to_thread(lambda: events.list_spans(q).items))
        await writer.sync()
        after = len(await asyncio.to_thread(lambda: events.list_spans(q).items))
    finally:
        await writer.stop()
        journal.close()
        events.close()
        state.close()
    return before, after


def test_writer_acknowledges_before_loading_and_sync_makes_spans_readable(tmp_path: Path) -> None:
    before, after = asyncio.run(
        run_writer(tmp_path, [spans_table(1), spans_table(2)], load_delay_s=60)
    )
    assert (before, after) == (0, 6)
    assert stored(tmp_path) == 6
    assert list(DataDir(tmp_path).journal_path.glob("*.journal")) == []


def test_writer_replays_acknowledged_spans_the_store_lacks_when_started(tmp_path: Path) -> None:
    # What a crash leaves: records in the journal that never reached the event store.
    with Journal(DataDir(tmp_path).journal_path) as journal:
        journal.append([spans_table(1), spans_table(2)])
    assert stored(tmp_path) == 0
    before, after = asyncio.run(run_writer(tmp_path, [spans_table(3)], load_delay_s=60))
    assert (before, after) == (6, 9)
    # Started again, nothing is replayed twice.
    asyncio.run(run_writer(tmp_path, [], load_delay_s=60))
    assert stored(tmp_path) == 9

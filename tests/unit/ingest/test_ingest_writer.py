"""The writer: its data version moves after every commit attempt, failed ones included; its
commit durations go into cumulative histogram buckets for /metrics."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contract.store_factories import make_rag_span
from llmpulse.clock import SystemClock
from llmpulse.domain.errors import Unavailable
from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.domain.spans import Annotation
from llmpulse.ingest.commit_latency import LatencyHistogram
from llmpulse.ingest.decode_pool import DecodedBatch, DecodePool
from llmpulse.ingest.isolate import Unstorable
from llmpulse.ingest.openinference import request_rows
from llmpulse.ingest.price_config import PriceConfig
from llmpulse.ingest.service import IngestService
from llmpulse.ingest.writer import SpanWriter
from llmpulse.store.events.codec import rows_to_arrow
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run
from support.otlp import make_request, make_span


class AnnotationsFail(DuckDBEventStore):
    """A real in-memory event store whose annotation append fails (a full disk, say) after
    the spans of the same commit are written."""

    def append_annotations(self, annotations: Sequence[Annotation]) -> int:
        raise OSError("no space left on device")


def _annotation(span_id: str) -> Annotation:
    return Annotation(
        id="a1", project=ProjectName("p"), span_id=SpanId(span_id), prediction_id=None,
        name="quality", annotator_kind="HUMAN", created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip


def test_a_commit_that_fails_after_writing_spans_still_moves_the_data_version() -> None:
    events, state = AnnotationsFail(None), SqlStateStore("sqlite://")
    rows = request_rows(make_request([make_span("s")], "p"), None).rows
    table = rows_to_arrow(rows)

    async def scenario() -> tuple[int, int]:
        writer = SpanWriter(events, state, SystemClock())
        await writer.start()
        before = writer.data_version
        with pytest.raises(Unavailable):
            await writer.submit_table(table, ["p"], [_annotation(rows[0][2])])
        after = writer.data_version
        await writer.stop()
        return before, after

    before, after = run(scenario())
    assert after > before  # cached answers from before this commit are not served again
    assert [p.name for p in state.list_projects()] == ["p"]
    assert [s.num_spans for s in events.project_stats()] == [1]
    events.close()
    state.close()


class HoldsFirstCommit(DuckDBEventStore):
    """A real in-memory store whose first span insert waits for the test, so that the
    requests sent meanwhile share the next group commit."""

    def __init__(self) -> None:
        super().__init__(None)
        self.release = threading.Event()
        self.first = True

    def append_columns(self, table: object) -> int:
        if self.first:
            self.first = False
            self.release.wait(10)
        return super().append_columns(table)


def _deep(depth: int) -> dict[str, object]:
    value: dict[str, object] = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_one_unstorable_annotation_fails_only_its_own_request_in_a_group_commit() -> None:
    events, state = HoldsFirstCommit(), SqlStateStore("sqlite://")
    first = rows_to_arrow(request_rows(make_request([make_span("s0")], "p"), None).rows)
    rows = request_rows(make_request([make_span("s1")], "p"), None).rows
    good = _annotation(rows[0][2])
    bad = dataclasses.replace(good, id="bad", metadata=_deep(300))

    async def scenario() -> list[BaseException | None]:
        writer = SpanWriter(events, state, SystemClock())
        await writer.start()
        held = asyncio.ensure_future(writer.submit_table(first, ["p"]))
        await asyncio.sleep(0.2)  # the writer thread is inside the first commit now
        group = [
            asyncio.ensure_future(writer.submit_table(rows_to_arrow(rows), ["p"])),
            asyncio.ensure_future(writer.submit_table(None, [], [bad])),
            asyncio.ensure_future(writer.submit_table(None, [], [good])),
        ]
        await asyncio.sleep(0.2)
        events.release.set()
        await held
        results = await asyncio.gather(*group, return_exceptions=True)
        await writer.stop()
        assert writer.stats.commits == 2  # the three requests shared one commit
        return [r if isinstance(r, BaseException) else None for r in results]

    spans_ok, bad_result, good_ok = run(scenario())
    assert spans_ok is None
    assert isinstance(bad_result, Unavailable)
    assert good_ok is None
    assert [s.num_spans for s in events.project_stats()] == [2]
    stored = events.list_annotations([SpanId(rows[0][2])])
    assert [a.id for a in stored] == ["a1"]


def _fragment(events: DuckDBEventStore) -> None:
    """Stream 60 commits of 300 RAG spans with a checkpoint after each: free blocks remain."""
    for n in range(0, 60 * 300, 300):
        events.append_spans([make_rag_span(n + k) for k in range(300)])
        events.checkpoint()


def test_writer_starts_a_compaction_after_an_idle_checkpoint_once_blocks_are_free(
    tmp_path: Path,
) -> None:
    events = DuckDBEventStore(
        tmp_path / "events.duckdb",
        compact_free_ratio=0.05,
        compact_min_bytes=0,
        compact_slack_row_groups=0,  # this test is about the trigger, not the slack
    )
    state = SqlStateStore("sqlite://")

    async def scenario() -> tuple[int, float, int]:
        writer = SpanWriter(events, state, SystemClock(), idle_checkpoint_s=0.05)
        await writer.start()
        at_start = writer.stats.compactions  # an empty store: nothing to compact
        await asyncio.to_thread(_fragment, events)  # earlier streaming, beside the writer
        fragmented = events.free_space().free_ratio
        spans = [make_span("last", attrs={"input.value": "x"})]
        rows = request_rows(make_request(spans, "p"), None).rows
        await writer.submit_table(rows_to_arrow(rows), ["p"], [])
        for _ in range(100):  # idle: the writer checkpoints, then starts a compaction
            await asyncio.sleep(0.05)
            if writer.stats.compactions:
                break
        await writer.stop()
        return at_start, fragmented, writer.stats.compactions

    at_start, fragmented, compactions = run(scenario())
    thread = events._compact_thread
    assert thread is not None, (at_start, fragmented, compactions, events.free_space())
    thread.join(60)
    assert at_start == 0
    assert fragmented > 0.05
    assert compactions == 1
    assert events.free_space().free_blocks == 0
    assert events.stats().num_spans == 60 * 300 + 1
    events.close()
    state.close()


def test_commit_latency_histogram_is_cumulative() -> None:
    h = LatencyHistogram(bounds=(0.01, 0.1))
    for s in (0.005, 0.05, 0.05, 2.0):
        h.observe(s)
    buckets, total, n = h.snapshot()
    assert buckets == [(0.01, 1), (0.1, 3), (float("inf"), 4)]
    assert total == pytest.approx(2.105)
    assert n == 4


def test_a_commit_lasting_exactly_a_bound_is_counted_in_that_bound() -> None:
    # Prometheus buckets are "less than or equal" (le): 0.01 s belongs to le="0.01".
    h = LatencyHistogram(bounds=(0.01, 0.1))
    h.observe(0.01)
    h.observe(0.1)
    assert h.snapshot()[0] == [(0.01, 1), (0.1, 2), (float("inf"), 2)]


def test_a_failing_commit_listener_neither_fails_the_committed_request_nor_stops_the_others() -> (
    None
):
    events, state = DuckDBEventStore(None), SqlStateStore("sqlite://")
    seen: list[DecodedBatch] = []

    def broken(batch: DecodedBatch) -> None:
        raise RuntimeError("a listener's bug")

    async def store() -> tuple[Unstorable, ...]:
        writer = SpanWriter(events, state, SystemClock())
        await writer.start()
        ingest = IngestService(
            writer, PriceConfig(state), DecodePool(0), events, SystemClock(), max_body_bytes=1 << 20
        )
        ingest.committed += [broken, seen.append]
        try:
            return await ingest.store([make_rag_span(0)])
        finally:
            await writer.stop()

    # The spans are durable once committed: a listener failing after that must not turn the
    # request into an error (the client would retry and store them twice).
    assert run(store()) == ()
    assert events.stats().num_spans == 1
    assert len(seen) == 1

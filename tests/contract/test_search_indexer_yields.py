"""The background search indexer yields to queries (ADR 0041) and results stay exact.

A query is held "in flight" in the store's `QueryActivity` (as a running HTTP request or
store read marks it); the indexer must wait between its slices while it runs, resume when it
ends, and every search must list and count the same spans as the plain scan throughout.
Nothing here times anything: what the indexer did is read from its counters.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from store_factories import T0, make_span, span_id

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import Span
from llmpulse.store.activity import QueryActivity
from llmpulse.store.api import SpanQuery
from llmpulse.store.events.duckdb import DuckDBEventStore

P = ProjectName("default")
WORDS = [f"w{k:03d}" for k in range(400)]


def _wait_for(what: Callable[[], bool], deadline_s: float = 60.0) -> None:
    """Poll ``what`` until it holds (a deadline against hanging, not a timing check)."""
    pause = threading.Event()
    for _ in range(int(deadline_s / 0.005)):
        if what():
            return
        pause.wait(0.005)
    raise AssertionError("condition not reached")


def _spans(blocks: int, per_block: int) -> list[Span]:
    """``per_block`` spans (~1 kB of text each) in each of ``blocks`` five-minute blocks; the
    second span of the second block holds the rare word."""
    out = []
    for b in range(blocks):
        for k in range(per_block):
            n = b * per_block + k
            start = T0 + timedelta(minutes=5 * b, milliseconds=k)
            text = " ".join(WORDS[(n * 7 + j) % len(WORDS)] for j in range(150))
            if (b, k) == (1, 1):
                text += " zqxrare"
            s = make_span(n, start_time=start, end_time=start + timedelta(milliseconds=5))
            out.append(replace(s, input_value=text, output_value=f"answer {n}"))
    return out


def _search(store: DuckDBEventStore, text: str) -> tuple[list[str], int]:
    q = SpanQuery(project=P, text=text, limit=1000)
    return [s.span_id for s in store.list_spans(q).items], store.count_spans(q)


def _agree(store: DuckDBEventStore, text: str) -> tuple[list[str], int]:
    """The index and the plain scan give the same page and count; returns them."""
    with_index = _search(store, text)
    store.search_index.enabled = False
    plain = _search(store, text)
    store.search_index.enabled = True
    assert with_index == plain, text
    return with_index


@pytest.fixture
def activity() -> QueryActivity:
    return QueryActivity()


def test_the_indexer_waits_while_a_query_runs_and_resumes_after(
    tmp_path: Path, activity: QueryActivity
) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb", activity=activity)
    try:
        stats = store.search_index.stats
        activity.begin()  # a query in flight before the spans settle
        store.append_spans(_spans(blocks=40, per_block=3))
        _wait_for(lambda: stats.yields >= 1)
        # It stopped before its first round could write anything (a round is several
        # slices; while the query runs it does at most one per hold).
        assert stats.rounds == 0
        assert store.search_index.pending() == 40
        # Searches meanwhile scan the dirty blocks: exact, and the rare span is found.
        ids, n = _agree(store, "zqxrare")
        assert (ids, n) == ([span_id(3 + 1)], 1)
        assert _agree(store, "w001")[1] > 0
        activity.end()
        _wait_for(lambda: store.search_index.pending() == 0)
        assert stats.rounds >= 1
        assert _agree(store, "zqxrare") == ([span_id(3 + 1)], 1)
    finally:
        store.close()


def test_a_query_arriving_mid_build_waits_for_one_slice_not_the_build(
    tmp_path: Path, activity: QueryActivity
) -> None:
    per_block = 1024  # a slice per block: 12 blocks, one block a part (`READ_SPANS`)
    store = DuckDBEventStore(tmp_path / "events.duckdb", activity=activity)
    try:
        stats = store.search_index.stats
        spans = _spans(blocks=12, per_block=per_block)
        store.append_spans(spans)
        _wait_for(lambda: stats.slices >= 2)  # the build is under way (one round of ~26)
        activity.begin()
        at_arrival = stats.slices
        assert stats.rounds == 0  # still building
        _wait_for(lambda: stats.yields >= 1)
        # The slice running when the query came finished; the next one waits.
        assert stats.slices <= at_arrival + 1
        assert stats.rounds == 0
        assert store.search_index.pending() == 12
        assert _agree(store, "zqxrare") == ([span_id(per_block + 1)], 1)
        activity.end()
        _wait_for(lambda: store.search_index.pending() == 0)
        assert stats.rounds >= 1
        assert stats.slices >= 2 * 12  # it worked in slices: a read and a tally per block
        assert _agree(store, "zqxrare") == ([span_id(per_block + 1)], 1)
    finally:
        store.close()


def test_a_store_read_is_query_activity(tmp_path: Path, activity: QueryActivity) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb", activity=activity)
    try:
        store.search_index.stop()
        before = activity.started
        store.list_spans(SpanQuery(project=P))
        assert activity.started > before
        assert activity.inflight == 0
        store.append_spans(_spans(blocks=2, per_block=2))
        before = activity.started
        store.search_index.drain()  # the indexer's own reads do not hold it back
        assert activity.started == before
    finally:
        store.close()


def test_quiet_waits_for_the_last_query_and_a_stop() -> None:
    activity = QueryActivity()
    stop = threading.Event()
    assert activity.quiet(0.0)
    activity.begin()
    assert not activity.quiet(0.0)
    assert not activity.wait_quiet(0.0, 0.01, stop)  # still running: times out
    stop.set()
    assert not activity.wait_quiet(0.0, 60.0, stop)  # a stop ends the wait
    activity.end()
    assert activity.wait_quiet(0.0, 60.0, threading.Event())
    assert not activity.quiet(3600.0)  # one ended just now


def test_a_round_larger_than_duckdb_memory_is_indexed(tmp_path: Path) -> None:
    """A round used to aggregate its blocks' whole text in one DuckDB query (48 blocks of a
    busy hour: ~170k spans, 270 MB at 1M benchmark spans): past the memory limit it failed,
    and over HTTP the store ran out of memory during a load. It now reads ~2,000 spans at a
    time: here 24 blocks of 800 spans with 2 kB of text each (~38 MB) under a 32 MB limit,
    which the old round could not index."""
    store = DuckDBEventStore(tmp_path / "events.duckdb", memory_limit="32MB")
    try:
        store.search_index.stop()
        spans = _spans(blocks=24, per_block=800)
        filler = " lorem" * 300
        store.append_spans([replace(s, output_value=f"{s.output_value}{filler}") for s in spans])
        store.search_index.drain()
        assert store.search_index.pending() == 0
        assert store._query("SELECT sum(spans) FROM search_blocks") == [(24 * 800,)]
        assert _agree(store, "zqxrare") == ([span_id(800 + 1)], 1)
    finally:
        store.close()

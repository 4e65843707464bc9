"""Readers of memory alone answer from a round's kept moment (ADR 0071), exactly.

A round of the summaries' upkeep moves the backlog's spans into the summaries. While its
change is in flight, and after it until the sketch's copy is taken again, the event loop's
in-memory metric and newest page used to decline (the request then went to a worker
thread and waited for the round, 5-20 ms at 10M spans). They now read the moment the round
kept before its change. These tests fail if such an answer is not given, if it differs from
the statement's on the same committed spans, or if a moment that a later commit retired
still answers.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from store_factories import sketch_statement, stored_in_commits, timed_span

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span
from llmpulse.store.api import SpanFilter, SpanQuery, TimeRange
from llmpulse.store.events import sketch, trace_slots
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.summary_upkeep import Moment
from llmpulse.store.metric_api import MetricQuery

P = ProjectName("kept")
T0 = datetime(2026, 11, 2, 5, 4, 33, 250_001, tzinfo=UTC)
COUNT, P50, P99 = (parse_metric(m, "m") for m in ("count", "latency_ms:p50", "latency_ms:p99"))


def _spans(n: int, seed: int, offset: int = 0) -> list[Span]:
    rng = random.Random(seed)
    return [
        timed_span(
            i + offset,
            P if i % 5 else ProjectName("neighbour"),
            T0 + timedelta(microseconds=rng.randrange(5 * 3600 * 10**6)),
            rng.lognormvariate(5, 1.5),
            root=i % 3 == 0,
        )
        for i in range(n)
    ]


def _metric_queries() -> list[MetricQuery]:
    edge = T0 + timedelta(minutes=41, seconds=7)  # inside a slot: the edge spans count
    out = [
        MetricQuery(P, (COUNT,), TimeRange(), bucket=timedelta(hours=1)),
        MetricQuery(P, (P50, P99), TimeRange(edge, None), where=SpanFilter(root_only=True)),
        MetricQuery(P, (COUNT, P99), TimeRange(None, edge + timedelta(hours=2))),
    ]
    return [replace(q, approximate=True) for q in out]


def _answers(store: DuckDBEventStore, qs: list[MetricQuery], page: SpanQuery) -> list[Any]:
    """The in-memory answers, reading nothing from the store."""

    def no_reads(*args: object, **kwargs: object) -> None:
        raise AssertionError("read the store")

    with pytest.MonkeyPatch.context() as m:
        m.setattr(store, "_read", no_reads)
        m.setattr(store, "_numpy", no_reads)
        m.setattr(store, "_query", no_reads)
        return [*(store.metric_in_memory(q) for q in qs), store.list_span_rows_in_memory(page)]


@contextmanager
def _round_held(store: DuckDBEventStore) -> Iterator[None]:
    """A round of the store's upkeep on a thread of its own, held inside its change (after
    `sketch.add`, in `trace_slots.add`) while the block runs."""
    inside, release = threading.Event(), threading.Event()
    real = trace_slots.add

    def held_add(con: Any, batch: Any) -> None:
        inside.set()
        assert release.wait(10)
        real(con, batch)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(trace_slots, "add", held_add)
        worker = threading.Thread(target=store.summary_upkeep.catch_up)
        worker.start()
        try:
            assert inside.wait(10)
            yield
        finally:
            release.set()
            worker.join(10)


def test_a_round_in_flight_and_its_stale_copy_answer_from_the_kept_moment(held: None) -> None:
    s: DuckDBEventStore = stored_in_commits(_spans(2000, seed=1), 250)
    try:
        qs, page = _metric_queries(), SpanQuery(P, limit=50)
        for q in qs:
            s.metric(q)  # takes the copy
        s.append_spans(_spans(600, seed=2, offset=10_000))  # the backlog the round applies
        want = [*(sketch_statement(s, q) for q in qs), s.list_span_rows(page)]
        assert _answers(s, qs, page) == want  # (live, at a quiet moment)
        with _round_held(s):
            assert s.sketch_guard.read(lambda: 1, memory=True, wait=False) is None  # busy
            assert _answers(s, qs, page) == want
        assert s.summary_upkeep.pending() is None
        assert not s._sketch_copy.is_current(P)  # (`catch_up` does not take it again)
        assert _answers(s, qs, page) == want
        s.append_spans(_spans(300, seed=3, offset=20_000))  # retires the moment
        assert [s.metric_in_memory(q) for q in qs] == [None] * len(qs)  # the copy is stale
        for q in qs:
            s.metric(q)  # takes it again
        assert _answers(s, qs, page) == [
            *(sketch_statement(s, q) for q in qs),
            s.list_span_rows(page),
        ]
    finally:
        s.close()


def test_the_thread_retires_the_moment_once_the_copy_is_taken_again() -> None:
    """After a round the upkeep's thread takes the copies again and keeps no moment: the
    old backlog and edge spans are not held on to until the next round."""
    s: DuckDBEventStore = stored_in_commits(_spans(1000, seed=4), 250)
    try:
        q = _metric_queries()[0]
        s.metric(q)
        rounds = s.summary_upkeep.applied_rounds
        s.append_spans(_spans(300, seed=5, offset=30_000))
        for _ in range(200):  # the thread applies it after `PAUSE_S`
            if s.summary_upkeep.applied_rounds > rounds and s._sketch_copy.is_current(P):
                break
            threading.Event().wait(0.02)
        assert s.summary_upkeep.applied_rounds > rounds
        for _ in range(100):
            if s.sketch_guard._kept is None:
                break
            threading.Event().wait(0.02)
        assert s.sketch_guard._kept is None
        assert s.metric_in_memory(q) == sketch_statement(s, q)
    finally:
        s.close()


def test_a_copy_read_during_a_round_is_not_kept_under_the_version_before_it(held: None) -> None:
    """A worker thread's first pinned attempt reads the sketch as it is, not in a snapshot:
    if a round changed the sketch meanwhile, the copy it read must not be kept under the
    version it pinned, which is the kept moment's: a reader of that moment would add the
    backlog's spans to a copy that holds them already."""
    s: DuckDBEventStore = stored_in_commits(_spans(2000, seed=6), 250)
    try:
        q = _metric_queries()[0]
        s.append_spans(_spans(600, seed=7, offset=40_000))
        want = sketch_statement(s, q)
        version = s.sketch_guard.sketch_version  # what a pinned attempt pins before the round
        s._sketch_copy._projects.clear()  # no copy held: the attempt loads one
        with _round_held(s):
            kept = s.sketch_guard.kept
            assert isinstance(kept, Moment)
            assert kept.version == version
            p = sketch.plan(q, s.pair_keys.counted)
            assert p is not None
            s._sketch_copy.frame(s._numpy, q, p, version, kept.pending, kept.edges)
            answer = s.metric_in_memory(q)
            assert answer is None or answer == want
        answer = s.metric_in_memory(q)
        assert answer is None or answer == want
        s.metric(q)
        assert s.metric_in_memory(q) == want
    finally:
        s.close()

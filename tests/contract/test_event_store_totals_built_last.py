"""The traces' totals are built last; the other summaries answer meanwhile (ADR 0072).

At 10M spans the build behind the open took 6.4 s, 3.9 of them the traces' totals, and every
query read the spans until all of it was done (80-950 ms a query). Now the in-memory
summaries and the held rows are opened to readers as soon as they are built, and only the
totals' readers wait for the round that ends the build. These tests fail if the others
still wait, if any answer given meanwhile differs from the statements' on the same
committed spans (spans committed during the build included), or if the totals are read from
their table before it holds every committed span.
"""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from store_factories import sketch_statement, stored_in_commits, timed_span, trace_id

from llmpulse.domain.ids import ProjectName, TraceId
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span
from llmpulse.store.api import SpanFilter, SpanQuery, TimeRange
from llmpulse.store.events import listing, trace_sums
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.metric_api import MetricQuery

P = ProjectName("built")
T0 = datetime(2026, 11, 2, 5, 4, 33, 250_001, tzinfo=UTC)
COUNT, P99 = (parse_metric(m, "m") for m in ("count", "latency_ms:p99"))


def _spans(n: int, seed: int, offset: int = 0) -> list[Span]:
    """Traces of three spans (a root and two children) over ~5 hours."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        start = T0 + timedelta(microseconds=rng.randrange(5 * 3600 * 10**6))
        span = timed_span(i + offset, P, start, rng.lognormvariate(5, 1.5), root=i % 3 == 0)
        out.append(replace(span, trace_id=trace_id((i + offset) // 3)))
    return out


def test_the_other_summaries_answer_while_the_traces_totals_are_built(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    stored_in_commits(_spans(1800, seed=1), 300, path).close()
    trace_sums.remove(path)  # (no totals kept from the close: the open builds them, ADR 0074)
    building, release = threading.Event(), threading.Event()
    real = trace_sums.build

    def held_build(cur: Any) -> None:
        building.set()
        assert release.wait(20)
        real(cur)

    qs = [
        MetricQuery(P, (COUNT,), TimeRange(), bucket=timedelta(hours=1), approximate=True),
        MetricQuery(
            P,
            (COUNT, P99),
            TimeRange(T0 + timedelta(minutes=33, seconds=5), None),
            where=SpanFilter(root_only=True),
            approximate=True,
        ),
    ]
    page = SpanQuery(P, limit=40)
    later = _spans(600, seed=2, offset=30_000)
    ids = sorted({TraceId(str(x.trace_id)) for x in _spans(90, seed=1)[::7] + later[::11]})
    with pytest.MonkeyPatch.context() as m:
        m.setattr(trace_sums, "build", held_build)
        s = DuckDBEventStore(path)
        assert building.wait(20)
    try:
        assert s.sketch_guard.usable  # opened before the totals are built
        s.append_spans(later)  # committed while the totals are built
        for q in qs:
            summarized = s.metrics_summarized
            assert s.metric(q) == sketch_statement(s, q)
            assert s.metrics_summarized == summarized + 1  # from the sketch, not the spans
            assert s.metric_in_memory(q) == sketch_statement(s, q)
        held = s.list_span_rows_in_memory(page)
        assert held is not None
        assert held == s.list_span_rows(page)
        summed = s.trace_totals_summed
        assert s.trace_totals(ids) == listing.trace_totals(s._query, ids)
        assert s.trace_totals_summed == summed  # not from the table being built
        assert not s.summary_upkeep._built.is_set()
    finally:
        release.set()
    try:
        assert s.summary_upkeep.wait_built()
        assert s.summary_upkeep.pending() is None  # the build's round applied `later`
        summed = s.trace_totals_summed
        assert s.trace_totals(ids) == listing.trace_totals(s._query, ids)
        assert s.trace_totals_summed == summed + 1  # now from the totals
        for q in qs:
            assert s.metric(q) == sketch_statement(s, q)
    finally:
        s.close()


def test_a_failed_totals_build_leaves_every_answer_to_the_spans(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    stored_in_commits(_spans(900, seed=3), 300, path).close()
    trace_sums.remove(path)  # (no totals kept from the close: the open builds them)

    def failing(cur: Any) -> None:
        raise RuntimeError("the totals' build failed")

    with pytest.MonkeyPatch.context() as m:
        m.setattr(trace_sums, "build", failing)
        s = DuckDBEventStore(path)
        built = s.summary_upkeep.wait_built()
    try:
        assert not built
        assert s.sketch_guard.spoiled
        q = MetricQuery(P, (COUNT,), TimeRange(), bucket=timedelta(hours=1))
        summarized = s.metrics_summarized
        s.metric(q)
        assert s.metrics_summarized == summarized
        assert s.metric_in_memory(q) is None
    finally:
        s.close()

"""EventStore contract: counts and approximate latency quantiles from the span sketch (ADR 0021).

Counts must equal the counts of the stored spans exactly, over windows whose edges fall
anywhere inside a 10-minute slot, in buckets or not, root spans or all; approximate quantiles
must be within 1 % of numpy's (linear interpolation, `quantile_cont`'s definition) on planted
latencies, and exact quantiles must stay exact.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
from store_factories import make_span

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span
from llmpulse.store.api import EventStore, SpanFilter, TimeRange
from llmpulse.store.events import sketch
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.metric_api import MetricQuery

P = ProjectName("sketchy")
T0 = datetime(2026, 11, 1, 0, 3, 17, tzinfo=UTC)  # not on a slot edge
COUNT, P50, P99 = (parse_metric(m, "m") for m in ("count", "latency_ms:p50", "latency_ms:p99"))
ALPHA = 0.01


def _spans(n: int, seed: int = 5) -> list[Span]:
    """Spans over ~6 hours, a third of them roots, lognormal latencies (a few zero), and a
    second project that must never be counted."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        start = T0 + timedelta(seconds=rng.uniform(0, 6 * 3600))
        latency = 0.0 if i % 97 == 0 else rng.lognormvariate(6, 1.2)
        out.append(
            replace(
                make_span(i),
                project=P if i % 11 else ProjectName("other"),
                parent_span_id=None if i % 3 == 0 else f"{i - 1:016x}",
                start_time=start,
                end_time=start + timedelta(microseconds=round(latency * 1000)),
            )
        )
    return out


def _numpy(spans: list[Span], lo: datetime, hi: datetime, root: bool) -> np.ndarray:
    return np.array(
        [
            s.latency_ms
            for s in spans
            if s.project == P and lo <= s.start_time < hi and (s.parent_span_id is None or not root)
        ]
    )


@pytest.fixture
def loaded(event_store: EventStore) -> tuple[EventStore, list[Span]]:
    spans = _spans(3000)
    for i in range(0, len(spans), 250):  # several commits: the sketch adds them up
        event_store.append_spans(spans[i : i + 250])
    return event_store, spans


def _windows(seed: int) -> list[tuple[datetime, datetime]]:
    rng = random.Random(seed)
    out = [(T0, T0 + timedelta(hours=7)), (T0 + timedelta(minutes=1), T0 + timedelta(minutes=4))]
    out.append((T0 + timedelta(days=1), T0 + timedelta(days=2)))  # no span: no row
    for _ in range(12):
        a = T0 + timedelta(seconds=rng.uniform(-600, 4 * 3600))
        out.append((a, a + timedelta(seconds=rng.uniform(1, 3 * 3600))))
    return out


@pytest.mark.parametrize("root", [False, True])
def test_window_counts_equal_the_stored_spans(
    loaded: tuple[EventStore, list[Span]], root: bool
) -> None:
    store, spans = loaded
    for lo, hi in _windows(1):
        q = MetricQuery(P, (COUNT,), TimeRange(lo, hi), where=SpanFilter(root_only=root))
        assert sketch.plan(q) is not None  # the sketch answers it
        if lo > T0 + timedelta(hours=12):  # open-ended too
            assert store.metric(replace(q, time=TimeRange(lo, None))).rows == []
        rows = store.metric(q).rows
        expected = len(_numpy(spans, lo, hi, root))
        assert [r.n for r in rows] == ([expected] if expected else [])
        assert [r.values for r in rows] == ([(float(expected),)] if expected else [])


def test_hourly_and_ten_minute_counts_equal_the_stored_spans(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, spans = loaded
    lo, hi = T0 - timedelta(minutes=7), T0 + timedelta(hours=5, seconds=41)
    for width in (timedelta(minutes=10), timedelta(hours=1)):
        q = MetricQuery(P, (COUNT,), TimeRange(lo, hi), bucket=width)
        assert sketch.plan(q) is not None
        got = {r.bucket: r.n for r in store.metric(q).rows}
        expected: dict[datetime, int] = {}
        for s in spans:
            if s.project == P and lo <= s.start_time < hi:
                b = datetime.fromtimestamp(
                    s.start_time.timestamp() // width.total_seconds() * width.total_seconds(),
                    tz=UTC,
                )
                expected[b] = expected.get(b, 0) + 1
        assert got == expected


def test_approximate_quantiles_are_within_one_percent_of_numpy(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    store, spans = loaded
    for lo, hi in _windows(2):
        values = _numpy(spans, lo, hi, True)
        q = MetricQuery(
            P, (P50, P99), TimeRange(lo, hi), where=SpanFilter(root_only=True), approximate=True
        )
        assert sketch.plan(q) is not None
        rows = store.metric(q).rows
        if not len(values):
            assert rows == []
            continue
        (row,) = rows
        assert row.n == len(values)
        for got, qv in zip(row.values, (0.5, 0.99), strict=True):
            want = float(np.quantile(values, qv))
            assert got is not None
            assert abs(got - want) <= ALPHA * want + 1e-9, (lo, hi, qv, got, want)


def test_exact_quantiles_do_not_use_the_sketch(loaded: tuple[EventStore, list[Span]]) -> None:
    store, spans = loaded
    lo, hi = T0, T0 + timedelta(hours=3, seconds=5)
    q = MetricQuery(P, (P50, P99), TimeRange(lo, hi), where=SpanFilter(root_only=True))
    assert sketch.plan(q) is None
    (row,) = store.metric(q).rows
    values = _numpy(spans, lo, hi, True)
    assert row.values == pytest.approx([np.quantile(values, 0.5), np.quantile(values, 0.99)])


def test_other_filters_and_groups_do_not_use_the_sketch() -> None:
    window = TimeRange(T0, T0 + timedelta(hours=1))
    for q in (
        MetricQuery(P, (COUNT,), window, group_by=("model",)),
        MetricQuery(P, (COUNT,), window, where=SpanFilter(models=("m",))),
        MetricQuery(P, (COUNT,), window, bucket=timedelta(minutes=5)),
        MetricQuery(P, (COUNT,), window, bucket=timedelta(minutes=10), slide=3),
        MetricQuery(P, (parse_metric("latency_ms:mean", "m"),), window, approximate=True),
        MetricQuery(P, (parse_metric("cost_usd:p50", "m"),), window, approximate=True),
    ):
        assert sketch.plan(q) is None


def test_sliding_window_counts_are_the_spans_of_each_window(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    """A monitor's sliding windows (``slide``) are never answered as plain slots."""
    store, spans = loaded
    width, slide = timedelta(minutes=10), 3
    lo, hi = T0 - timedelta(minutes=3), T0 + timedelta(hours=3, minutes=3)
    q = MetricQuery(P, (COUNT,), TimeRange(lo, hi), bucket=width, slide=slide)
    rows = store.metric(q).rows
    assert rows
    for r in rows:
        assert r.bucket is not None
        start, end = r.bucket + width - slide * width, r.bucket + width
        assert r.n == sum(1 for s in spans if s.project == P and start <= s.start_time < end)


def _hourly(store: EventStore, lo: datetime, hi: datetime) -> dict[datetime | None, int]:
    q = MetricQuery(P, (COUNT,), TimeRange(lo, hi), bucket=timedelta(hours=1))
    return {r.bucket: r.n for r in store.metric(q).rows}


def test_the_sketch_survives_reopen_and_compaction(tmp_path: Path) -> None:
    """The sketch lives in memory: rebuilt from the spans at open, carried over a swap."""
    path = tmp_path / "events.duckdb"
    spans = _spans(1200, seed=9)
    lo, hi = T0 + timedelta(seconds=33), T0 + timedelta(hours=5)
    store = DuckDBEventStore(path)
    store.append_spans(spans[:600])
    store.close()
    store = DuckDBEventStore(path)
    try:
        store.append_spans(spans[600:])
        before = _hourly(store, lo, hi)
        assert sum(before.values()) == len(_numpy(spans, lo, hi, False))
        assert store.compact() is not None
        assert _hourly(store, lo, hi) == before
        store.append_spans(_spans(1, seed=10))  # appends after the swap still count
        assert sum(_hourly(store, T0, T0 + timedelta(days=1)).values()) == len(
            _numpy(spans + _spans(1, seed=10), T0, T0 + timedelta(days=1), False)
        )
    finally:
        store.close()
    store = DuckDBEventStore(path)
    try:
        assert _hourly(store, lo, hi) == before
    finally:
        store.close()


def test_counts_never_come_from_a_sketch_that_lags_the_spans(
    loaded: tuple[EventStore, list[Span]],
) -> None:
    """Between a commit and the sketch's update (or during a delete) counts come from the
    spans: an acknowledged span is counted at once (seqlock on the sketch)."""
    store, spans = loaded
    assert isinstance(store, DuckDBEventStore)
    q = MetricQuery(P, (COUNT,), TimeRange(T0 - timedelta(hours=1), T0 + timedelta(hours=8)))
    exact = sum(1 for s in spans if s.project == P)
    assert store.metric(q).rows[0].n == exact
    store.catch_up()  # the sketch holds every committed span, none waits in its backlog
    with store.sketch_guard.changing():  # a change the sketch does not hold yet
        store._con.execute(f"DELETE FROM {sketch.TABLE}")  # the lagging sketch: empty
        assert store.metric(q).rows[0].n == exact
    # Once the change is over the sketch answers again (here the emptied one: no rows).
    assert not store.metric(q).rows or store.metric(q).rows[0].n != exact


def test_counts_come_from_the_spans_after_the_sketch_failed_to_follow_a_commit(
    loaded: tuple[EventStore, list[Span]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spans were committed but adding them to the sketch (behind ingest, ADR 0039)
    failed: the sketch lags for good, so counts (and approximate quantiles) must come from
    the spans, not from it."""
    store, spans = loaded
    assert isinstance(store, DuckDBEventStore)
    q = MetricQuery(P, (COUNT,), TimeRange(T0 - timedelta(hours=1), T0 + timedelta(hours=8)))
    more = [s for s in _spans(600, seed=11) if s.project == P]

    def failing_add(con: object, batch: object) -> None:
        raise duckdb.OutOfMemoryException("could not allocate the sketch's rows")

    monkeypatch.setattr(sketch, "add", failing_add)
    store.append_spans(more)  # acknowledged: the sketch adds it later, and fails to
    with contextlib.suppress(duckdb.OutOfMemoryException):  # here or on the upkeep's thread
        store.catch_up()
    assert store.sketch_guard.spoiled
    monkeypatch.undo()
    exact = sum(1 for s in spans if s.project == P) + len(more)
    assert store.metric(q).rows[0].n == exact
    store.append_spans(_spans(2, seed=12)[1:])  # a later commit does not revive the sketch
    assert store.metric(q).rows[0].n == exact + 1

"""The engine's cold start (ADR 0032): a fresh engine reads each plan's history in one query
and reaches exactly the evaluations of an engine that has been running, at every instant."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.domain.metrics import parse_metric
from llmpulse.monitors.engine import Engine
from llmpulse.monitors.filters import span_filter
from llmpulse.monitors.history import PlanKey, points
from llmpulse.monitors.judge import Point, Segment
from llmpulse.store.metric_api import MetricFrame, MetricRow
from support.aio import run
from support.monitor_data import (
    END,
    PROJECT,
    CountingReader,
    Plant,
    by_series,
    monitor,
    store_with,
    traffic,
)

H = timedelta(hours=1)
MIN = timedelta(minutes=1)
PLANT = Plant(END - 3 * H, END - 2 * H, region="eu", latency=3.0)


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingReader]:
    store = store_with(tmp_path_factory.mktemp("events"), traffic(12, 12, (PLANT,)))
    yield CountingReader(store)
    store.close()


MONITORS = [
    monitor("p95-region", "latency_ms:p95", segment_by="metadata.region"),
    monitor("p99-region", "latency_ms:p99", segment_by="metadata.region"),
    monitor("errors-region", "error:rate", segment_by="metadata.region"),
    monitor("count-region", "count", segment_by="metadata.region"),
    monitor("p95", "latency_ms:p95"),
    monitor("errors", "error:rate"),
    monitor("p50-llm", "latency_ms:p50", filters=["kind=llm"]),
]
PLANS = 3  # region-segmented, unsegmented, kind=llm
EU: Segment = (("metadata.region", "eu"),)
US: Segment = (("metadata.region", "us"),)
QUIET = {("p95-region", US), ("errors", ())} | {
    (name, seg) for name in ("errors-region", "count-region") for seg in (EU, US)
}


def test_a_cold_engine_agrees_with_a_running_one_at_every_instant(
    reader: CountingReader,
) -> None:
    warm = Engine(reader)
    start, end = PLANT.start - 25 * MIN, PLANT.end + 15 * MIN
    run(warm.evaluate(MONITORS, start - MIN))
    t, instants, breached = start, 0, 0
    while t <= end:
        running = by_series(run(warm.evaluate(MONITORS, t)).evaluations)
        reader.queries = 0
        report = run(Engine(reader).evaluate(MONITORS, t))
        # Cold: one history query and one window query per plan, never per monitor.
        assert report.plans == PLANS
        assert report.queries == reader.queries == 2 * PLANS
        cold = by_series(report.evaluations)
        assert cold == running, t
        # Every series: eu and us for the four segmented monitors, one for the others.
        assert len(cold) == 4 * 2 + 3
        breached += sum(e.outcome.value == "breached" for e in cold.values())
        fired = {s for s, e in cold.items() if e.outcome.value == "breached"}
        # The verdicts compared are the right ones: the planted eu latency incident is
        # breached throughout, nothing breaches before it, and the clean us segment's p95,
        # the error rates and the counts (nothing planted) never do.
        if t < PLANT.start:
            assert not fired, t
        elif t < PLANT.end:
            assert ("p95-region", EU) in fired, t
        assert not fired & QUIET, t
        instants += 1
        t += 7 * MIN
    assert instants == 15
    assert breached > 0  # the planted incident is among what was compared


def test_history_points_take_count_from_spans_and_values_with_their_support() -> None:
    key = PlanKey(PROJECT, span_filter([]), "metadata.region", timedelta(minutes=10))
    metrics = (parse_metric("count"), parse_metric("latency_ms:p95"))
    t0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    t1 = t0 + timedelta(minutes=10)
    frame = MetricFrame(
        ("count", "latency_ms:p95"),
        ("metadata.region",),
        [
            MetricRow(t0, ("eu",), 40, (40.0, 210.0), (40, 38)),
            MetricRow(t0, (None,), 5, (5.0, 99.0), (5, 5)),  # spans without the key: no series
            MetricRow(t1, ("eu",), 12, (12.0, None), (12, 0)),
        ],
    )
    eu = (("metadata.region", "eu"),)
    assert points(key, frame, metrics) == {
        (eu, "count"): [Point(t0, 40.0, 40), Point(t1, 12.0, 12)],
        (eu, "latency_ms:p95"): [Point(t0, 210.0, 38), Point(t1, None, 0)],
    }

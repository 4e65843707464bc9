"""The engine with ``read_many`` (ADR 0033): a cycle's queries of every plan in one call to the
store, and exactly the evaluations of the engine that asks them plan by plan."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from llmpulse.domain.metrics import parse_metric
from llmpulse.monitors.engine import Engine
from llmpulse.monitors.filters import span_filter
from llmpulse.monitors.history import PlanKey, points, tracks
from llmpulse.monitors.judge import Segment, baseline_series, baseline_track
from llmpulse.store.metric_api import MetricColumns, MetricFrame, MetricRow
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
PLANT = Plant(END - 3 * H, END - 2 * H, region="eu", latency=3.0, errors=0.4)


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingReader]:
    store = store_with(tmp_path_factory.mktemp("events"), traffic(12, 12, (PLANT,)))
    yield CountingReader(store)
    store.close()


MONITORS = [
    monitor("p95-region", "latency_ms:p95", segment_by="metadata.region"),
    monitor("p99-region", "latency_ms:p99", segment_by="metadata.region"),
    monitor("errors-region", "error:rate", segment_by="metadata.region", min_samples=20),
    monitor("count-region", "count", segment_by="metadata.region"),
    monitor("p95", "latency_ms:p95"),
    monitor("errors", "error:rate"),
    monitor("p50-llm", "latency_ms:p50", filters=["kind=llm"]),
    monitor("p90-eu-5m", "latency_ms:p90", filters=["attr=metadata.region:eu"], window="5m"),
    monitor("mean", "latency_ms:mean"),  # its plan is not batchable: the store asks it alone
]
PLANS = 4  # region-segmented, unsegmented (with the mean), kind=llm, eu with 5-minute windows
EU: Segment = (("metadata.region", "eu"),)
US: Segment = (("metadata.region", "us"),)
# Nothing planted: the clean us segment's p95 and error rate, and the counts.
QUIET = {("p95-region", US), ("errors-region", US), ("count-region", US), ("count-region", EU)}


def test_a_cold_batched_engine_agrees_with_one_running_plan_by_plan(
    reader: CountingReader,
) -> None:
    running = Engine(reader)
    start, end = PLANT.start - 25 * MIN, PLANT.end + 15 * MIN
    run(running.evaluate(MONITORS, start - MIN))
    t, instants, fired_eu = start, 0, 0
    while t <= end:
        want = by_series(run(running.evaluate(MONITORS, t)).evaluations)
        reader.queries = reader.batches = 0
        report = run(Engine(reader, read_many=reader.many).evaluate(MONITORS, t))
        # Cold: every plan's history and window in one call to the store.
        assert report.plans == PLANS
        assert report.reads == reader.batches == 1
        assert report.queries == reader.queries == 2 * PLANS
        got = by_series(report.evaluations)
        assert got == want, t
        fired = {s for s, e in got.items() if e.outcome.value == "breached"}
        if t < PLANT.start:
            assert not fired, t
        elif t < PLANT.end:
            assert {("p95-region", EU), ("errors-region", EU)} <= fired, t
        assert not fired & QUIET, t
        fired_eu += len(fired)
        instants += 1
        t += 7 * MIN
    assert instants == 15
    assert fired_eu > 0


def test_a_warm_batched_engine_asks_once_a_minute_and_agrees_minute_by_minute(
    reader: CountingReader,
) -> None:
    plain, batched = Engine(reader), Engine(reader, read_many=reader.many)
    t = PLANT.start - 12 * MIN
    for _ in range(25):
        want = by_series(run(plain.evaluate(MONITORS, t)).evaluations)
        reader.batches = 0
        report = run(batched.evaluate(MONITORS, t))
        assert reader.batches == report.reads == 1
        assert by_series(report.evaluations) == want, t
        t += MIN


def test_a_failing_batch_is_asked_plan_by_plan_and_fails_only_its_plan(
    reader: CountingReader,
) -> None:
    at = PLANT.start + 5 * MIN
    want = by_series(run(Engine(reader).evaluate(MONITORS, at)).evaluations)
    reader.fail = lambda q: q.where.kinds != ()  # the kind=llm plan's queries fail
    try:
        report = run(Engine(reader, read_many=reader.many).evaluate(MONITORS, at))
    finally:
        reader.fail = lambda q: False
    got = by_series(report.evaluations)
    assert report.reads == report.queries  # the batch failed: asked one by one
    assert got[("p50-llm", ())].outcome.value == "error"
    assert {k: v for k, v in got.items() if k[0] != "p50-llm"} == {
        k: v for k, v in want.items() if k[0] != "p50-llm"
    }


def test_a_track_gives_the_detector_the_series_that_points_give() -> None:
    key = PlanKey(PROJECT, span_filter([]), "metadata.region", timedelta(minutes=10))
    metrics = tuple(parse_metric(m) for m in ("count", "error:rate", "latency_ms:p95"))
    t0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    rows = [
        MetricRow(t0 + i * 10 * MIN, (region,), n, (float(n), rate, p95), (n, n, sup))
        for i, (region, n, rate, p95, sup) in enumerate(
            [
                ("eu", 40, 0.025, 210.5, 40),
                ("us", 7, 3 / 7, None, 0),  # no latency value: NaN, support 0
                (None, 5, 0.2, 99.0, 5),  # spans without the key: no series
                ("eu", 13, 0.5 / 13, 180.25, 12),  # a rate whose bad count rounds
                ("eu", 3, 0.0, 95.125, 3),
            ]
        )
    ]
    frame = MetricFrame(tuple(m.name for m in metrics), ("metadata.region",), rows)
    by_points = points(key, frame, metrics)
    by_tracks = tracks(key, MetricColumns.of(frame), metrics)
    assert by_points.keys() == by_tracks.keys()
    assert len(by_points) == 6  # eu and us, three metrics each
    for (seg, name), pts in by_points.items():
        proportion = name == "error:rate"
        want = baseline_series(pts, proportion)
        got = baseline_track(by_tracks[(seg, name)], proportion)
        for field in ("values", "start_s", "bad", "total"):
            a, b = getattr(got, field), getattr(want, field)
            assert (a is None) == (b is None), field
            if a is not None:
                np.testing.assert_array_equal(a, b, err_msg=f"{seg} {name} {field}")

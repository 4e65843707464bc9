"""The one-pass engine: queries per plan, not per monitor or segment; incremental history;
the same verdicts as the backtest at the same instant."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from llmpulse.monitors.backtest import backtest
from llmpulse.monitors.engine import Engine
from llmpulse.monitors.evaluation import Outcome
from llmpulse.monitors.judge import prepare
from llmpulse.monitors.spec import MonitorSpec
from support.aio import run
from support.monitor_data import END, CountingReader, Plant, monitor, store_with, traffic

H = timedelta(hours=1)
MIN = timedelta(minutes=1)
PLANT = Plant(END - 3 * H, END - 2 * H, region="eu", latency=3.0)


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingReader]:
    store = store_with(tmp_path_factory.mktemp("events"), traffic(12, 12, (PLANT,)))
    yield CountingReader(store)
    store.close()


def test_monitors_sharing_filters_segment_and_window_share_two_queries(
    reader: CountingReader,
) -> None:
    monitors = [
        monitor(f"m{i}", metric, segment_by="metadata.region", severity=sev)
        for i, (metric, sev) in enumerate(
            [
                ("latency_ms:p95", "warning"),
                ("latency_ms:p99", "critical"),
                ("error:rate", "warning"),
                ("latency_ms:p50", "info"),
                ("count", "info"),
            ]
        )
    ]
    engine = Engine(reader)
    reader.queries = 0
    report = run(engine.evaluate(monitors, PLANT.start + 5 * MIN))
    assert report.plans == 1
    assert report.queries == reader.queries == 2  # baseline history + window, for all five
    assert len(report.evaluations) == 5 * 2  # every monitor, both regions
    # Next minute: the window query only (the baseline's buckets are ten minutes wide).
    reader.queries = 0
    report = run(engine.evaluate(monitors, PLANT.start + 6 * MIN))
    assert reader.queries == report.queries == 1


def test_history_is_extended_not_reread(reader: CountingReader) -> None:
    engine = Engine(reader)
    m = [monitor("lat", "latency_ms:p95", segment_by="metadata.region")]
    run(engine.evaluate(m, END - 5 * H))
    history = next(iter(engine.history._plans.values()))
    first_until, first_len = (
        history.until,
        len(history.series[((("metadata.region", "eu"),), "latency_ms:p95")]),
    )
    run(engine.evaluate(m, END - 4 * H))
    assert history.until is not None
    assert first_until is not None
    assert history.until - first_until == H
    grown = len(history.series[((("metadata.region", "eu"),), "latency_ms:p95")])
    assert grown == first_len + 6  # six ten-minute buckets closed in the hour


def test_engine_and_backtest_agree_at_every_instant(reader: CountingReader) -> None:
    spec = monitor("lat", "latency_ms:p95", segment_by="metadata.region")
    start, end = PLANT.start - 15 * MIN, PLANT.start + 15 * MIN
    bt = run(backtest(spec, start, end, reader))
    engine = Engine(reader)
    breached: dict[str, list[timedelta]] = {"eu": [], "us": []}
    t = start
    while t <= end:
        live = {e.segment: e.evaluation for e in run(engine.evaluate([spec], t)).evaluations}
        for seg, evs in bt.evaluations.items():
            past = next(e for e in evs if e.at == t)
            assert live[seg].outcome == past.outcome, (t, seg)
            assert live[seg].evidence.value == pytest.approx(past.evidence.value)
            assert live[seg].evidence.upper == pytest.approx(past.evidence.upper)
        for ((_, region),), ev in live.items():
            if ev.outcome is Outcome.BREACHED:
                breached[str(region)].append(t - PLANT.start)
        t += MIN
    # Agreement alone would pass if both never fired: the live engine breaches on the planted
    # eu incident within two intervals of its start, never before it, and never on clean us.
    assert breached["eu"], "the planted eu latency incident was not breached"
    assert timedelta(0) < min(breached["eu"]) <= 2 * MIN
    assert breached["us"] == []


def test_a_bad_spec_is_an_error_evaluation_not_an_exception(reader: CountingReader) -> None:
    good = monitor("good", "error:rate")
    bad = monitor("bad", "error:rate", filters=["colour=blue"])
    report = run(Engine(reader).evaluate([good, bad], END - H))
    outcomes = {e.monitor: e.evaluation.outcome.value for e in report.evaluations}
    assert outcomes == {"good": "normal", "bad": "error"}


def test_a_segment_that_went_quiet_is_no_data_not_dropped(reader: CountingReader) -> None:
    spec = monitor("lat", "latency_ms:p95", segment_by="metadata.region")
    report = run(Engine(reader).evaluate([spec], END + H))  # traffic ended an hour ago
    got = {e.segment: e.evaluation.outcome.value for e in report.evaluations}
    assert got == {(("metadata.region", "eu"),): "no_data", (("metadata.region", "us"),): "no_data"}


def test_an_explicit_for_of_zero_survives_the_manifest_round_trip() -> None:
    spec = monitor("lat", "latency_ms:p95", **{"for": 0})
    again = MonitorSpec.from_manifest(spec.to_manifest())
    assert prepare(again).policy.for_duration == timedelta(0)
    # Without `for`, the default detector's one evaluation interval applies (ADR 0013).
    assert prepare(monitor("lat", "latency_ms:p95")).policy.for_duration == MIN

"""Backtest on planted data: incidents reported within two intervals, clean data stays quiet."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from llmpulse.domain.errors import InvalidInput
from llmpulse.monitors.backtest import backtest
from llmpulse.monitors.spec import MonitorSpec
from support.aio import run
from support.monitor_data import END, PROJECT, CountingReader, Plant, monitor, store_with, traffic

H = timedelta(hours=1)
MIN = timedelta(minutes=1)
LAT_PLANT = Plant(END - 5 * H, END - 4 * H, region="eu", latency=3.0)
ERR_PLANT = Plant(END - 9 * H, END - 8 * H, errors=0.3)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingReader]:
    store = store_with(tmp_path_factory.mktemp("planted"), traffic(30, 12, (LAT_PLANT, ERR_PLANT)))
    yield CountingReader(store)
    store.close()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingReader]:
    store = store_with(tmp_path_factory.mktemp("clean"), traffic(30, 12, seed=9))
    yield CountingReader(store)
    store.close()


def _spec(metric: str, **extra: object) -> MonitorSpec:
    return monitor("checkout-latency", metric, **extra)


def test_latency_incident_in_a_segment_is_found_within_two_intervals(
    planted: CountingReader,
) -> None:
    spec = _spec("latency_ms:p95", segment_by="metadata.region")
    result = run(backtest(spec, END - 20 * H, END, planted))
    assert len(result.alerts) == 1, [a.to_json() for a in result.alerts]
    alert = result.alerts[0]
    assert alert.labels["metadata.region"] == "eu"
    assert LAT_PLANT.start < alert.start <= LAT_PLANT.start + 2 * MIN
    assert alert.end is not None
    assert LAT_PLANT.end < alert.end <= LAT_PLANT.end + spec.window + 2 * MIN
    assert alert.value is not None
    assert alert.baseline is not None
    assert alert.bounds[1] is not None
    assert alert.value > alert.bounds[1] > alert.baseline
    assert result.queries == 2


def test_error_rate_with_min_samples_finds_the_burst(planted: CountingReader) -> None:
    spec = _spec("error:rate", min_samples=50)
    result = run(backtest(spec, END - 20 * H, END, planted))
    assert len(result.alerts) == 1, [a.to_json() for a in result.alerts]
    alert = result.alerts[0]
    assert ERR_PLANT.start < alert.start <= ERR_PLANT.start + 2 * MIN
    assert alert.labels == {
        "alertname": "checkout-latency",
        "monitor": "checkout-latency",
        "project": PROJECT,
        "severity": "warning",
    }


def test_min_samples_above_the_traffic_never_judges(planted: CountingReader) -> None:
    spec = _spec("error:rate", min_samples=1000)  # 120 spans per window: always no_data
    result = run(backtest(spec, END - 20 * H, END, planted))
    assert result.alerts == []
    assert {e.outcome.value for evs in result.evaluations.values() for e in evs} == {"no_data"}


@pytest.mark.parametrize("metric", ["latency_ms:p95", "error:rate"])
def test_clean_data_fires_nothing(clean: CountingReader, metric: str) -> None:
    spec = _spec(metric, segment_by="metadata.region")
    result = run(backtest(spec, END - 20 * H, END, clean))
    assert result.alerts == [], [a.to_json() for a in result.alerts]
    judged = [e for evs in result.evaluations.values() for e in evs]
    assert len(judged) == 2 * 20 * 60 + 2  # both regions, every minute, both ends included
    assert sum(e.outcome.value == "normal" for e in judged) > 0.95 * len(judged)


def test_window_not_a_multiple_of_every_is_refused_naming_the_field(
    clean: CountingReader,
) -> None:
    spec = _spec("error:rate", every="3m", window="10m")
    with pytest.raises(InvalidInput) as err:
        run(backtest(spec, END - H, END, clean))
    assert err.value.errors[0].path == "spec.window"

"""A YAML monitor on `binomial_cusum` over real DuckDB spans, through the backtest (issue 10).

The backtest refits the baseline whenever a bucket closes, as the live engine does, so the
one-minute window is charted together with the buckets before it (ADR 0034).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import yaml

from llmpulse.monitors.backtest import backtest
from llmpulse.monitors.spec import MonitorSpec
from support.aio import run
from support.monitor_data import END, PROJECT, CountingReader, Plant, store_with, traffic

H = timedelta(hours=1)
MIN = timedelta(minutes=1)
SHIFT = Plant(END - 3 * H, END - 2 * H, errors=0.05)  # 1 % -> 5 % for an hour

MANIFEST = f"""
apiVersion: llmpulse/v1
kind: Monitor
metadata: {{name: checkout-errors, project: {PROJECT}}}
spec:
  metric: error:rate
  every: 1m
  window: 1m
  min_samples: 20
  detector:
    name: binomial_cusum
    params: {{shift: 6, h: 8, run: 15}}
"""


@pytest.fixture(scope="module")
def shifted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingReader]:
    store = store_with(tmp_path_factory.mktemp("shift"), traffic(8, 200, (SHIFT,), seed=12))
    yield CountingReader(store)
    store.close()


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingReader]:
    store = store_with(tmp_path_factory.mktemp("clean"), traffic(8, 200, seed=13))
    yield CountingReader(store)
    store.close()


def _spec() -> MonitorSpec:
    return MonitorSpec.from_manifest(yaml.safe_load(MANIFEST))


@pytest.mark.slow
def test_yaml_binomial_cusum_monitor_finds_a_one_to_five_percent_shift(
    shifted: CountingReader,
) -> None:
    spec = _spec()
    assert spec.detector.name == "binomial_cusum"
    result = run(backtest(spec, END - 6 * H, END, shifted))
    assert len(result.alerts) == 1, [a.to_json() for a in result.alerts]
    alert = result.alerts[0]
    # The instant that judges the shift's first minute is SHIFT.start + 1 minute.
    assert SHIFT.start < alert.start <= SHIFT.start + 2 * MIN
    assert alert.end is not None
    assert SHIFT.end < alert.end <= SHIFT.end + 30 * MIN  # the chart forgets after `run`
    assert alert.baseline is not None
    assert 0.005 < alert.baseline < 0.02


@pytest.mark.slow
def test_yaml_binomial_cusum_monitor_is_quiet_on_clean_traffic(clean: CountingReader) -> None:
    result = run(backtest(_spec(), END - 6 * H, END, clean))
    assert result.alerts == []
    judged = [e for evs in result.evaluations.values() for e in evs]
    assert len(judged) == 6 * 60 + 1
    assert {e.outcome.value for e in judged} == {"normal"}

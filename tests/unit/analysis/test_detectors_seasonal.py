"""Seasonal baseline (METHODS.md §1.7) and the adaptive default's dispatch."""

from __future__ import annotations

import math

import numpy as np

from llmpulse.analysis.detectors.adaptive import Adaptive
from llmpulse.analysis.detectors.base import Series
from llmpulse.analysis.detectors.seasonal import WEEK_S, Seasonal, seasonal_table, week_keys

MONDAY = 1_767_571_200.0  # 2026-01-05T00:00:00Z, a Monday
HOUR = 3600.0


def _weeks_hourly(weeks: int, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = MONDAY + HOUR * np.arange(weeks * 168)
    return starts, np.tile(level, weeks)


def test_week_keys_start_on_monday_and_follow_the_offset() -> None:
    assert week_keys(np.array([MONDAY, MONDAY + 25 * HOUR]), 60).tolist() == [0, 25]
    # Sunday 23:00 UTC is Monday 00:00 in UTC+1 (R5: keys in the tenant's local time)
    assert week_keys(np.array([MONDAY - HOUR]), 60, utc_offset_minutes=60).tolist() == [0]


def test_seasonal_oracle_same_hour_in_four_weeks() -> None:
    # METHODS.md §1.7: [100, 110, 90, 105], current 140 -> median 102.5, MAD 5,
    # sigma^ 7.413011, robust z 5.0587 -> anomalous at 3
    table = seasonal_table(np.array([100.0, 110, 90, 105]), np.zeros(4, dtype=np.int64), 3)
    centre, scale, n = table[0]
    assert (centre, n) == (102.5, 4)
    assert math.isclose(scale, 7.413011, abs_tol=5e-7)
    level = np.full(168, 50.0)
    starts, values = _weeks_hourly(4, level)
    values[10::168] = [100.0, 110.0, 90.0, 105.0]  # hour-of-week 10 in each week
    det = Seasonal()
    base = det.fit(Series.of(values, starts))
    assert base.params["seasonal"] == 1.0
    v = det.score(base, Series.of([140.0], [MONDAY + 4 * WEEK_S + 10 * HOUR]))
    assert v.score is not None
    assert math.isclose(v.score, 5.0587, abs_tol=5e-4)
    assert v.breached
    assert v.baseline == 102.5


def test_seasonal_judges_night_against_night_and_day_against_day() -> None:
    # A daytime value at night is anomalous; the same value at daytime is normal
    rng = np.random.default_rng(5)
    hours = np.arange(168) % 24
    level = np.where((hours >= 8) & (hours < 20), 1000.0, 100.0)
    starts, values = _weeks_hourly(4, level)
    values = values * np.exp(rng.normal(0, 0.05, values.size))
    det = Seasonal(log=True)
    base = det.fit(Series.of(values, starts))
    night = MONDAY + 4 * WEEK_S + 2 * HOUR
    day = MONDAY + 4 * WEEK_S + 12 * HOUR
    assert det.score(base, Series.of([1000.0], [night])).breached
    assert not det.score(base, Series.of([1000.0], [day])).breached


def test_seasonal_falls_back_to_robust_z_with_wider_k_before_three_weeks() -> None:
    starts, values = _weeks_hourly(2, np.full(168, 100.0))
    values = values + np.random.default_rng(2).normal(0, 10, values.size)
    det = Seasonal(rel_floor=0.0)
    base = det.fit(Series.of(values, starts))
    assert base.params["seasonal"] == 0.0
    v = det.score(base, Series.of([135.0], [MONDAY + 2 * WEEK_S]))
    assert v.detail.startswith("robust z (cold start)")
    assert v.score is not None
    assert 3.0 < v.score < 4.0  # over k = 3 but under the cold-start k = 4
    assert not v.breached
    assert det.score(base, Series.of([150.0], [MONDAY + 2 * WEEK_S])).breached


def test_seasonal_without_times_is_insufficient() -> None:
    det = Seasonal()
    assert not det.fit(Series.of(np.ones(100))).ready


def test_adaptive_dispatches_counts_to_p_chart_and_values_to_seasonal() -> None:
    det = Adaptive(rates="p_chart")  # the default `both` adds the binomial CUSUM (ADR 0034)
    rates = det.fit(Series.counts([1] * 100, [100] * 100))
    assert math.isclose(rates.centre, 0.01)
    assert det.score(rates, Series.counts([30], [500])).breached
    assert not det.score(rates, Series.counts([6], [500])).breached
    starts, values = _weeks_hourly(1, np.full(168, 200.0))
    values = values * np.exp(np.random.default_rng(4).normal(0, 0.1, values.size))
    latency = det.fit(Series.of(values, starts))
    later = [MONDAY + WEEK_S]
    assert det.score(latency, Series.of([600.0], later)).breached
    assert not det.score(latency, Series.of([220.0], later)).breached


def test_adaptive_oracle_reproduces_the_p_chart_and_seasonal_oracles() -> None:
    # METHODS.md §1.9: p̄ 0.02, n 500 -> UCL 0.0387830; §1.7: robust z 5.0587 (log off)
    det = Adaptive(log=False, sigmas=3.0, rates="p_chart")
    rates = det.fit(Series.counts([20] * 10, [1000] * 10))
    v = det.score(rates, Series.counts([20], [500]))
    assert v.upper is not None
    assert math.isclose(v.upper, 0.0387830, abs_tol=5e-8)
    assert v.breached
    starts, values = _weeks_hourly(4, np.full(168, 50.0))
    values[10::168] = [100.0, 110.0, 90.0, 105.0]
    seasonal = det.fit(Series.of(values, starts))
    s = det.score(seasonal, Series.of([140.0], [MONDAY + 4 * WEEK_S + 10 * HOUR]))
    assert s.score is not None
    assert math.isclose(s.score, 5.0587, abs_tol=5e-4)

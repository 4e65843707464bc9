"""EWMA (METHODS.md §1.4) and CUSUM (§1.5) against their oracles, plus planted shifts."""

from __future__ import annotations

import math

import numpy as np

from llmpulse.analysis.detectors.base import Baseline, Series
from llmpulse.analysis.detectors.cusum import CUSUM, cusum_path, first_signal
from llmpulse.analysis.detectors.ewma import EWMA, ewma_half_width, ewma_path


def test_ewma_oracle_limits_steady_and_time_varying() -> None:
    # METHODS.md §1.4 (a): mu0 50, sigma 2.0539, lambda 0.3, L 3 (NIST worked example)
    half = ewma_half_width(2.0539, 0.3, 3.0)
    assert math.isclose(50 + half, 52.58843, abs_tol=5e-6)
    assert math.isclose(50 - half, 47.41157, abs_tol=5e-6)
    for t, ucl in [(1, 51.84851), (2, 52.25639), (10, 52.58740)]:
        assert math.isclose(50 + ewma_half_width(2.0539, 0.3, 3.0, t), ucl, abs_tol=5e-6)


def test_ewma_oracle_path() -> None:
    # METHODS.md §1.4 (b)
    x = np.array([52, 47, 53, 49.3, 50.1, 47, 51, 50.1, 51.2, 50.5])
    want = [50.6, 49.52, 50.564, 50.1848, 50.15936, 49.21155, 49.74809, 49.85366, 50.25756]
    got = ewma_path(x, 50.0, 0.3)
    assert np.allclose(got[:9], want, atol=5e-5)
    assert math.isclose(got[9], 50.33029, abs_tol=5e-5)


def test_ewma_oracle_detector_uses_time_varying_limit_of_the_window_length() -> None:
    det = EWMA(lam=0.3, L=3.0, side="both")
    base = Baseline(50.0, 2.0539, 100)
    x = [52, 47, 53, 49.3, 50.1, 47, 51, 50.1, 51.2, 50.5]
    v = det.score(base, Series.of(x))
    assert v.value is not None
    assert math.isclose(v.value, 50.33029, abs_tol=5e-5)
    assert v.upper is not None
    assert math.isclose(v.upper, 52.58740, abs_tol=5e-5)
    assert not v.breached
    shifted = det.score(base, Series.of([54.0] * 5))
    assert shifted.breached  # a 2-sigma sustained shift crosses within 5 buckets


def test_ewma_false_alarm_rate_is_low_on_in_control_windows() -> None:
    # Null: windows drawn from the baseline's own distribution breach rarely
    rng = np.random.default_rng(7)
    det = EWMA()
    base = det.fit(Series.of(rng.normal(100, 5, 2000)))
    hits = sum(det.score(base, Series.of(rng.normal(100, 5, 10))).breached for _ in range(2000))
    assert hits / 2000 < 0.01
    shifted = sum(det.score(base, Series.of(rng.normal(110, 5, 10))).breached for _ in range(200))
    assert shifted / 200 > 0.95  # planted 2-sigma shift


def test_cusum_oracle_path_and_first_signal() -> None:
    # METHODS.md §1.5: y = [0,0,0,2,2,2,2], k 0.5, h 4 -> C+ [0,0,0,1.5,3,4.5,6], C- 0, signal 5
    hi, lo = cusum_path(np.array([0, 0, 0, 2, 2, 2, 2], dtype=float), 0.5)
    assert hi.tolist() == [0, 0, 0, 1.5, 3.0, 4.5, 6.0]
    assert lo.tolist() == [0.0] * 7
    assert first_signal(hi, lo, 4.0) == 5
    assert first_signal(hi, lo, 4.0, side="down") is None


def test_cusum_oracle_detector_on_standardised_window() -> None:
    base = Baseline(0.0, 1.0, 100)
    v = CUSUM(k=0.5, h=4.0).score(base, Series.of([0, 0, 0, 2, 2, 2, 2]))
    assert v.score == 6.0
    assert v.breached
    # the upper bound is the last value that keeps C+ at h given C+ = 4.5 before it
    assert v.upper is not None
    assert math.isclose(v.upper, 0.0)
    assert CUSUM(k=0.5, h=4.0).score(base, Series.of([0, 0, 0, 2, 2, 2])).breached  # index 5
    assert not CUSUM(k=0.5, h=4.0).score(base, Series.of([0, 0, 0, 2, 2])).breached
    down = CUSUM(k=0.5, h=4.0, side="down").score(base, Series.of([-2.0] * 4))
    assert down.breached
    assert down.score == 6.0


def test_cusum_on_a_zero_scale_baseline_breaches_without_dividing_by_zero() -> None:
    # A constant baseline with the floors turned off (rel_floor 0) has scale 0
    base = Baseline(5.0, 0.0, 100)
    assert CUSUM().score(base, Series.of([5.0, 5.0, 6.0])).breached
    assert not CUSUM().score(base, Series.of([5.0, 5.0, 5.0])).breached

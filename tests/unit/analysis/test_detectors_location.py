"""Point detectors against METHODS.md oracles: static, z (§1.1), robust z (§1.2), Tukey (§1.3),
percent change. Oracle tests are named `test_<detector>_oracle_...` (the registry test looks)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmpulse.analysis.detectors.base import Series
from llmpulse.analysis.detectors.change import PercentChange
from llmpulse.analysis.detectors.iqr import TukeyIQR, tukey_fences
from llmpulse.analysis.detectors.static import StaticThreshold
from llmpulse.analysis.detectors.zscores import RobustZ, ZScore, robust_centre_scale
from llmpulse.domain.errors import InvalidInput

BASE_11 = [10, 12, 11, 13, 9, 10, 12, 11]


def test_zscore_oracle_uses_sample_sd_and_fires_at_k3() -> None:
    # METHODS.md §1.1: mean 11, s (ddof=1) 1.3093073, z 3.0550505 (ddof=0 would give 3.2659863)
    det = ZScore(min_points=8, rel_floor=0.0)
    base = det.fit(Series.of(BASE_11))
    assert math.isclose(base.centre, 11.0, rel_tol=1e-9)
    assert math.isclose(base.scale, 1.3093073, rel_tol=1e-6)
    v = det.score(base, Series.of([15.0]))
    assert v.score is not None
    assert math.isclose(v.score, 3.0550505, rel_tol=1e-6)
    assert v.breached
    assert v.upper is not None
    assert math.isclose(v.upper, 11.0 + 3 * 1.3093073, rel_tol=1e-6)
    assert v.lower is None  # side "up": latency-like (R7)
    assert v.baseline == 11.0
    assert v.value == 15.0


def test_zscore_is_not_breached_below_k_and_reports_insufficient_baseline() -> None:
    det = ZScore(min_points=8, rel_floor=0.0)
    base = det.fit(Series.of(BASE_11))
    assert det.score(base, Series.of([14.0])).status == "normal"
    short = ZScore().fit(Series.of(BASE_11))  # default min_points 30 (§1.8 e)
    assert not short.ready
    assert det.score(short, Series.of([99.0])).status == "insufficient_data"


def test_zscore_sigma_floor_keeps_constant_baseline_finite() -> None:
    # METHODS.md §1.1 pitfall (b): constant baseline, s = 0 -> floor c_rel·|mean| = 5
    det = ZScore(min_points=30, rel_floor=0.05)
    base = det.fit(Series.of([100.0] * 40))
    assert math.isclose(base.scale, 5.0)
    v = det.score(base, Series.of([114.0]))
    assert v.score is not None
    assert math.isclose(v.score, 2.8)
    assert not v.breached


def test_zscore_window_without_data_is_insufficient_not_zero() -> None:
    # METHODS.md R3: no data is not zero
    det = ZScore(min_points=8, side="both")
    base = det.fit(Series.of(BASE_11))
    assert det.score(base, Series.of([math.nan])).status == "insufficient_data"


def test_zscore_two_sided_flags_drops() -> None:
    det = ZScore(min_points=8, rel_floor=0.0, side="both")
    base = det.fit(Series.of(BASE_11))
    v = det.score(base, Series.of([7.0]))
    assert v.breached
    assert v.lower is not None
    assert v.upper is not None
    assert not ZScore(min_points=8, rel_floor=0.0).score(base, Series.of([7.0])).breached


def test_robust_z_oracle_median_mad() -> None:
    # METHODS.md §1.2: [1, 2, 3, 4, 100] -> med 3, sigma^ 1.4826022, robust z(100) 65.42560,
    # robust z(4) = 0.6745 -> not an outlier
    med, sigma = robust_centre_scale(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    assert med == 3.0
    assert math.isclose(sigma, 1.4826022, rel_tol=1e-6)
    det = RobustZ(min_points=5, rel_floor=0.0)
    base = det.fit(Series.of([1, 2, 3, 4, 100]))
    hi = det.score(base, Series.of([100.0]))
    assert hi.score is not None
    # 97 / 1.4826022 = 65.42551; the oracle's 65.42560 divides by the rounded 1.4826, so the
    # printed-decimals tolerance of METHODS.md applies (abs 5e-4)
    assert math.isclose(hi.score, 65.42560, abs_tol=5e-4)
    assert hi.breached
    lo = det.score(base, Series.of([4.0]))
    assert lo.score is not None
    assert math.isclose(lo.score, 0.6745, abs_tol=5e-5)
    assert not lo.breached


def test_robust_z_falls_back_to_mean_absolute_deviation_when_mad_is_zero() -> None:
    # METHODS.md §1.2 pitfall: MAD = 0 -> sigma^ = 1.2533·meanAD; [5,5,5,5,9]: meanAD 0.8
    med, sigma = robust_centre_scale(np.array([5.0, 5.0, 5.0, 5.0, 9.0]))
    assert med == 5.0
    assert math.isclose(sigma, math.sqrt(math.pi / 2) * 0.8, rel_tol=1e-12)


def test_robust_z_on_log_scale_reports_bounds_in_metric_units() -> None:
    det = RobustZ(min_points=30, log=True, rel_floor=0.0)
    rng = np.random.default_rng(1)
    base = det.fit(Series.of(np.exp(rng.normal(math.log(200.0), 0.1, 500))))
    v = det.score(base, Series.of([400.0]))
    assert v.breached
    assert v.baseline is not None
    assert v.upper is not None
    assert 190 < v.baseline < 210
    assert v.baseline < v.upper < 400.0


def test_iqr_oracle_fences_depend_on_quantile_method() -> None:
    # METHODS.md §1.3: [1..10, 100], linear: Q1 3.5, Q3 8.5, fences (-4, 16);
    # hazen (-5, 17); weibull (-6, 18)
    data = np.array([*range(1, 11), 100], dtype=float)
    assert tukey_fences(data, 1.5) == (3.5, 8.5, -4.0, 16.0)
    assert tukey_fences(data, 1.5, "hazen")[2:] == pytest.approx((-5.0, 17.0))
    assert tukey_fences(data, 1.5, "weibull")[2:] == pytest.approx((-6.0, 18.0))
    det = TukeyIQR(factor=1.5, min_points=11, side="both")
    base = det.fit(Series.of(data))
    v = det.score(base, Series.of([100.0]))
    assert v.breached
    assert (v.lower, v.upper) == (-4.0, 16.0)
    assert det.score(base, Series.of([15.9])).status == "normal"
    assert det.score(base, Series.of([-4.5])).breached
    assert not TukeyIQR(factor=1.5, min_points=11).score(base, Series.of([-4.5])).breached


def test_static_oracle_breaches_above_upper_and_needs_trials_for_rates() -> None:
    det = StaticThreshold(upper=500.0)
    base = det.fit(Series.of([]))
    v = det.score(base, Series.of([600.0]))
    assert v.breached
    assert v.score == 100.0
    assert v.upper == 500.0
    assert det.score(base, Series.of([500.0])).status == "normal"
    rate = StaticThreshold(upper=0.05)
    # METHODS.md §1.8: n_min = 20 -> 1 failure out of 2 requests is not judged
    assert rate.score(base, Series.counts([1], [2])).status == "insufficient_data"
    assert rate.score(base, Series.counts([2, 1], [10, 10])).breached  # 3/20 = 0.15
    with pytest.raises(InvalidInput):
        StaticThreshold()


def test_pct_change_oracle_p95_plus_200_percent() -> None:
    # issue 10: "p95 +200 % over a 15-minute window": baseline 200 ms, window 600 ms = +200 %
    det = PercentChange(threshold_pct=150.0)
    base = det.fit(Series.of([190.0, 200.0, 210.0]))
    assert base.centre == 200.0
    v = det.score(base, Series.of([550.0, 610.0], aggregate=600.0))
    assert v.score is not None
    assert math.isclose(v.score, 200.0)
    assert v.breached
    assert v.upper == 500.0
    assert not PercentChange(threshold_pct=200.0).score(base, Series.of([600.0])).breached


def test_pct_change_uses_pooled_rates_and_the_baseline_aggregate() -> None:
    # METHODS.md R1: Σbad/Σtotal (0.02), not the mean of per-bucket rates (0.0596)
    det = PercentChange(threshold_pct=50.0)
    base = det.fit(Series.counts([1, 19], [10, 990]))
    assert math.isclose(base.centre, 0.02)
    # R2: a percentile baseline passes the window's aggregate instead of per-bucket values
    assert det.fit(Series.of([1.0, 2.0, 3.0], aggregate=9.0)).centre == 9.0
    assert det.score(base, Series.counts([1], [10])).status == "insufficient_data"
    assert det.score(base, Series.counts([2], [40])).breached  # 0.05 = +150 %
    assert not det.fit(Series.of([0.0, 0.0])).ready

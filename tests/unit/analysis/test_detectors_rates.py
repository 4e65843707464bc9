"""Proportion detectors from counts: p-chart and Wilson bound (METHODS.md §1.8, §1.9)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmpulse.analysis.detectors.base import Series
from llmpulse.analysis.detectors.proportions import (
    PChart,
    WilsonBound,
    binomial_limits,
    p_chart_limits,
)
from llmpulse.domain.errors import InvalidInput


def test_p_chart_oracle_limits() -> None:
    # METHODS.md §1.9: p̄ 0.02, n 500 -> sd 0.0062610, UCL 0.0387830, LCL 0.0012170;
    # LCL > 0 needs n > 441
    sd, lcl, ucl = p_chart_limits(0.02, 500)
    assert math.isclose(sd, 0.0062610, abs_tol=5e-8)
    assert math.isclose(ucl, 0.0387830, abs_tol=5e-8)
    assert math.isclose(lcl, 0.0012170, abs_tol=5e-8)
    assert p_chart_limits(0.02, 441)[1] < 1e-12
    assert p_chart_limits(0.02, 442)[1] > 0


def test_p_chart_oracle_detector_pools_the_baseline_and_judges_the_window() -> None:
    # R1: pooled p̄ = Σbad/Σtotal = 20/1000 = 0.02 (mean of the bucket rates would be 0.0596)
    det = PChart(min_baseline_total=100)
    base = det.fit(Series.counts([1, 19], [10, 990]))
    assert math.isclose(base.centre, 0.02)
    over = det.score(base, Series.counts([10, 10], [250, 250]))  # 20/500 = 0.04 > UCL
    assert over.breached
    assert over.upper is not None
    assert math.isclose(over.upper, 0.0387830, abs_tol=5e-8)
    assert not det.score(base, Series.counts([19], [500])).breached  # 0.038 < UCL


def test_p_chart_needs_minimum_samples_and_events() -> None:
    # METHODS.md §1.8: n_min = 20 per window; "1 failure out of 2 requests does not page"
    det = PChart()
    base = det.fit(Series.counts([0] * 10, [100] * 10))  # p̄ = 0: UCL is 0
    assert det.score(base, Series.counts([1], [2])).status == "insufficient_data"
    assert det.score(base, Series.counts([2], [50])).status == "normal"  # 2 < min_bad 3
    assert det.score(base, Series.counts([3], [50])).breached
    assert not det.fit(Series.counts([1], [50])).ready  # 50 baseline trials < 200
    with pytest.raises(InvalidInput):
        det.fit(Series.of([0.1, 0.2]))  # values without counts


def test_p_chart_false_alarm_rate_on_binomial_null_and_power_on_planted_rise() -> None:
    rng = np.random.default_rng(3)
    det = PChart()
    base = det.fit(Series.counts(rng.binomial(100, 0.01, 10_000), [100] * 10_000))
    null = [det.score(base, Series.counts([rng.binomial(500, 0.01)], [500])) for _ in range(5000)]
    assert sum(v.breached for v in null) / 5000 < 0.01
    up = [det.score(base, Series.counts([rng.binomial(500, 0.05)], [500])) for _ in range(500)]
    assert sum(v.breached for v in up) / 500 > 0.95


def test_wilson_oracle_lower_bound_beyond_threshold() -> None:
    # METHODS.md §1.9: 5/100 -> Wilson (0.0215437, 0.1117505); 0/20 -> (0, 0.1611252)
    base = WilsonBound(threshold=0.02).fit(Series.counts([], []))
    v = WilsonBound(threshold=0.02).score(base, Series.counts([5], [100]))
    assert v.breached
    assert v.score is not None
    assert math.isclose(v.score, 0.0215437 - 0.02, abs_tol=5e-7)
    strict = WilsonBound(threshold=0.025)
    assert not strict.score(strict.fit(Series.counts([], [])), Series.counts([5], [100])).breached
    down = WilsonBound(threshold=0.17, side="down")
    d = down.score(down.fit(Series.counts([], [])), Series.counts([0], [20]))
    assert d.score is not None
    assert math.isclose(d.score, 0.17 - 0.1611252, abs_tol=5e-7)
    assert d.breached
    assert strict.score(base, Series.counts([1], [2])).status == "insufficient_data"


def test_wilson_uses_the_pooled_baseline_rate_without_threshold() -> None:
    det = WilsonBound()
    base = det.fit(Series.counts([2, 8], [500, 500]))
    assert math.isclose(base.centre, 0.01)
    assert det.score(base, Series.counts([12], [200])).breached  # Wilson low 0.035 > 0.01
    assert not det.score(base, Series.counts([4], [200])).breached


def test_p_chart_uses_exact_binomial_limits_when_n_p_bar_is_small() -> None:
    # METHODS.md §1.8 a: n·p̄ = 2 < 5, the normal UCL (7 errors of 200) is crossed with
    # probability 0.0045; the exact limit (breach from 8 errors) keeps the one-sided 3-sigma
    # rate 0.00135
    ucl = p_chart_limits(0.01, 200)[2]
    assert math.isclose(ucl, 0.0311, abs_tol=1e-4)
    assert binomial_limits(0.01, 200) == (0.0, 7 / 200)
    rng = np.random.default_rng(11)
    det = PChart()
    base = det.fit(Series.counts([100] * 100, [10_000] * 100))  # p̄ = 0.01 exactly
    values, counts = np.unique(rng.binomial(200, 0.01, 20_000), return_counts=True)
    verdicts = [det.score(base, Series.counts([int(x)], [200])) for x in values]
    hits = sum(int(c) for v, c in zip(verdicts, counts, strict=True) if v.breached)
    assert hits / 20_000 < 0.0027  # nominal 0.00135; the normal limits gave about 0.0045
    assert not det.score(base, Series.counts([7], [200])).breached
    v = det.score(base, Series.counts([8], [200]))
    assert v.breached
    assert v.upper == 7 / 200


def test_p_chart_exact_tail_is_zero_at_the_baseline_rate_and_signed_by_direction() -> None:
    det = PChart(side="both")
    zero = det.fit(Series.counts([0] * 10, [100] * 10))  # p̄ = 0
    v = det.score(zero, Series.counts([0], [50]))
    assert v.status == "normal"
    assert v.score == 0.0
    low = det.fit(Series.counts([1] * 10, [100] * 10))  # p̄ = 0.01, n·p̄ = 0.3 below
    quiet = det.score(low, Series.counts([0], [30]))
    assert quiet.score is not None
    assert quiet.score <= 0.0  # fewer errors than expected never scores as a rise
    assert quiet.status == "normal"

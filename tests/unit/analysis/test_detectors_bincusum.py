"""Binomial CUSUM on counts (ADR 0034): hand-computed chart, ARL by simulation, planted shifts.

Oracles: the chart S_t = max(0, S_{t-1} + llr_t) of Reynolds & Stoumbos (1999) computed by
hand for a four-bucket series; the in-control ARL by Monte Carlo against the Brook-Evans
Markov chain (`arl`) and Lorden's bound e^h; decisions on planted 1 % → 5 % shifts and on
null series, through the alert state machine as a monitor would run them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pytest

from llmpulse.analysis.detectors.base import Series
from llmpulse.analysis.detectors.bincusum import BinomialCUSUM, excursion_peak, shifted_rate
from llmpulse.analysis.detectors.bincusum_math import (
    arl,
    cusum_llr_path,
    llr,
    llr_weights,
    threshold_for,
)
from llmpulse.analysis.detectors.registry import build
from llmpulse.domain.errors import InvalidInput
from llmpulse.monitors.evaluation import Evaluation
from llmpulse.monitors.policy import StatePolicy
from llmpulse.monitors.states import AlertState, AlertStatus, step

Floats = npt.NDArray[np.float64]
WEEK = 10_080
T0 = datetime(2026, 11, 2, tzinfo=UTC)


def counts(bad: npt.ArrayLike, total: npt.ArrayLike, first_minute: int = 0) -> Series:
    starts = T0.timestamp() + 60.0 * (first_minute + np.arange(np.size(bad)))
    return Series.counts(bad, total, starts)


def test_binomial_cusum_oracle_hand_computed_chart() -> None:
    # p0 = 0.01, p1 = 0.04: a = ln 4 = 1.3862944 per error, c = ln(0.96/0.99) = -0.0307717 per
    # success. Buckets of 100 with 2, 0, 5, 4 errors: llr = 2a + 98c = -0.2430338,
    # 100c = -3.0771659, 5a + 95c = 4.0081642, 4a + 96c = 2.5910982;
    # S = max(0, S + llr) = 0, 0, 4.0081642, 6.5992624.
    a, c = llr_weights(0.01, 0.04)
    assert math.isclose(a, 1.3862944, abs_tol=5e-8)
    assert math.isclose(c, -0.0307717, abs_tol=5e-8)
    inc = llr(np.array([2.0, 0, 5, 4]), np.full(4, 100.0), 0.01, 0.04)
    np.testing.assert_allclose(inc, [-0.2430338, -3.0771659, 4.0081642, 2.5910982], atol=5e-8)
    np.testing.assert_allclose(cusum_llr_path(inc), [0, 0, 4.0081642, 6.5992624], atol=5e-8)
    # METHODS.md §1.5 oracle in increment form: y - k for y = [0,0,0,2,2,2,2], k = 0.5
    path = cusum_llr_path(np.array([0, 0, 0, 2, 2, 2, 2], dtype=np.float64) - 0.5)
    np.testing.assert_allclose(path, [0, 0, 0, 1.5, 3.0, 4.5, 6.0])


def test_binomial_cusum_oracle_detector_reports_the_chart() -> None:
    # Baseline 19 errors in 1999 trials: p0 = (19 + 0.5)/(1999 + 1) = 0.00975; shift 4 on the
    # odds: p1 = 0.0378917, a = ln(p1/p0) = 1.3574640, c = ln((1-p1)/(1-p0)) = -0.0288304.
    # Chart over 2, 0, 5, 4 errors of 100: 0, 0, 4.0484336, 6.7105729.
    det = BinomialCUSUM(shift=4.0, run=4, h=6.5)
    base = det.fit(counts([19], [1999]))
    assert math.isclose(base.centre, 0.00975)
    assert math.isclose(shifted_rate(0.00975, 4.0), 0.0378917, abs_tol=5e-8)
    v = det.score(base, counts([2, 0, 5, 4], [100] * 4, 1))
    assert v.breached
    assert v.score is not None
    assert math.isclose(v.score, 6.7105729, abs_tol=5e-7)
    assert v.value == 0.04
    assert v.baseline == 0.00975
    # upper: the last bucket's rate that ends the chart exactly at h from 4.0484336:
    # (6.5 - 4.0484336 - 100c)/(a - c)/100
    a, c = 1.3574640, -0.0288304
    assert v.upper is not None
    assert math.isclose(v.upper, (6.5 - 4.0484336 - 100 * c) / (a - c) / 100, abs_tol=1e-6)
    assert v.lower is None
    assert (
        not BinomialCUSUM(shift=4.0, run=4, h=6.8)
        .score(base, counts([2, 0, 5, 4], [100] * 4, 1))
        .breached
    )
    # The chart's memory is `run` buckets: with run 1 only the last bucket (llr 2.66) counts.
    one = BinomialCUSUM(shift=4.0, run=1, h=6.5).score(base, counts([2, 0, 5, 4], [100] * 4, 1))
    assert one.score is not None
    assert math.isclose(one.score, 2.6621393, abs_tol=5e-7)


def test_binomial_cusum_alarm_lasts_for_the_excursion_that_crossed_h() -> None:
    assert excursion_peak(np.array([0.0, 9.0, 7.0, 7.5])) == 9.0
    assert excursion_peak(np.array([9.0, 0.0, 3.0])) == 3.0
    assert excursion_peak(np.array([9.0, 4.0, 0.0])) == 9.0  # ends one bucket later
    assert excursion_peak(np.array([9.0, 0.0, 0.0])) == 0.0
    # p0 = 0.00975 (as above), buckets of 100: 8 errors push the chart over h = 8, one
    # error pulls it under h but not to 0: still the same alarm; then clean buckets bring it
    # to 0 (bucket 5), which ends the alarm at the next bucket.
    det = BinomialCUSUM(shift=4.0, run=10)
    base = det.fit(counts([19], [1999]))
    bad = [0.0, 8, 1, 0, 0, 0, 0]
    verdicts = [det.score(base, counts(bad[: i + 1], [100] * (i + 1), 1)) for i in range(7)]
    scores = [v.score for v in verdicts]
    assert scores[1] is not None
    assert scores[1] > 8.0
    assert scores[2] is not None
    assert 0.0 < scores[2] < 8.0
    assert [v.breached for v in verdicts] == [False, True, True, True, True, True, False]
    assert scores[5] == 0.0


def test_binomial_cusum_one_bucket_window_is_charted_with_the_buckets_before_it() -> None:
    # The monitor engine judges one bucket and refits the baseline whenever a bucket closes:
    # the chart must be the same as over the last `run` buckets given as the window.
    rng = np.random.default_rng(4)
    total = rng.poisson(200, 600).astype(np.float64)
    p = np.full(600, 0.01)
    p[590:] = 0.05
    bad = rng.binomial(total.astype(np.int64), p).astype(np.float64)
    det = BinomialCUSUM(run=30)
    for t in (560, 591, 592, 599):
        base = det.fit(counts(list(bad[:t]), list(total[:t])))
        single = det.score(base, counts([bad[t]], [total[t]], t))
        many = det.score(
            base, counts(list(bad[t - 29 : t + 1]), list(total[t - 29 : t + 1]), t - 29)
        )
        assert single == many
    # `window: 10m` evaluated every minute: ten-minute baseline buckets, a window starting
    # three minutes after the last one ends; the last 14 of them precede it in the chart.
    tb, tt = bad[:590].reshape(59, 10).sum(axis=1), total[:590].reshape(59, 10).sum(axis=1)
    tstarts = T0.timestamp() + 600.0 * np.arange(59)
    base10 = BinomialCUSUM().fit(Series.counts(tb, tt, tstarts))
    wstart = tstarts[-1] + 600.0 + 180.0
    w_bad, w_tot = bad[593:603].sum(), total[593:603].sum()
    rolled = BinomialCUSUM().score(base10, Series.counts([w_bad], [w_tot], [wstart]))
    chart = Series.counts(np.append(tb[-14:], w_bad), np.append(tt[-14:], w_tot))
    assert rolled == BinomialCUSUM().score(base10, chart)
    assert "over 15 buckets" in rolled.detail
    # A stale baseline (its last bucket an hour before the window) charts only the window.
    stale = det.fit(counts(list(bad[:500]), list(total[:500])))
    alone = det.score(stale, counts([bad[599]], [total[599]], 599))
    assert (
        alone.score
        == BinomialCUSUM(run=1).score(stale, counts([bad[599]], [total[599]], 599)).score
    )


def test_binomial_cusum_needs_samples_counts_and_valid_parameters() -> None:
    det = BinomialCUSUM(shift=4.0, run=1)  # the window alone: its trials and events count
    assert not det.fit(counts([1], [150])).ready  # 150 baseline trials < 200
    base = det.fit(counts([0] * 10, [100] * 10))  # no errors at all: p0 = 0.5/1001 > 0
    assert 0 < base.centre < 1e-3
    assert det.score(base, counts([1], [5], 10)).status == "insufficient_data"  # 5 < 20
    # Each event adds at most ln(shift) = 1.386: h = 8 needs 6 events whatever p0 is.
    assert det.score(base, counts([5], [40], 10)).status == "normal"
    assert det.score(base, counts([6], [40], 10)).breached
    low = BinomialCUSUM(shift=4.0, run=1, h=2.0)  # two events would cross h = 2 ...
    assert low.score(base, counts([2], [40], 10)).status == "normal"  # ... but 2 < min_bad 3
    assert low.score(base, counts([3], [40], 10)).breached
    # With a longer run the buckets before the window count towards min_total.
    longer = BinomialCUSUM()
    assert longer.score(longer.fit(counts([0] * 10, [100] * 10)), counts([1], [5], 10)).status == (
        "normal"
    )
    with pytest.raises(InvalidInput):
        det.fit(Series.of([0.1, 0.2]))  # values without counts
    for bad in ({"shift": 1.0}, {"h": 0.0}, {"run": 0}, {"side": "sideways"}):
        with pytest.raises(InvalidInput) as err:
            build("binomial_cusum", bad)
        assert err.value.errors[0].path == "detector.params"
    with pytest.raises(InvalidInput):
        threshold_for(1.0)
    assert math.isclose(threshold_for(10_080), math.log(10_080))


def test_binomial_cusum_down_and_both_sides_see_a_drop() -> None:
    base = BinomialCUSUM().fit(counts([200] * 20, [1000] * 20))  # p0 ≈ 0.2
    drop = counts([100] * 3, [1000] * 3, 20)  # 0.1
    assert not BinomialCUSUM().score(base, drop).breached
    down = BinomialCUSUM(side="down").score(base, drop)
    assert down.breached
    assert down.lower is not None
    assert down.upper is None
    both = BinomialCUSUM(side="both").score(base, drop)
    assert both.breached
    assert both.lower is not None
    assert both.upper is not None


def _run_lengths(p0: float, p1: float, n: int, h: float, p: float, runs: int, seed: int) -> Floats:
    """Monte Carlo run lengths of the chart from S = 0 (all runs stepped together)."""
    rng = np.random.default_rng(seed)
    a, c = llr_weights(p0, p1)
    s = np.zeros(runs)
    length = np.zeros(runs)
    alive = np.ones(runs, dtype=bool)
    t = 0
    while alive.any():
        t += 1
        b = rng.binomial(n, p, int(alive.sum()))
        s[alive] = np.maximum(0.0, s[alive] + b * a + (n - b) * c)
        done = alive.copy()
        done[alive] = s[alive] > h
        length[done] = t
        alive &= ~done
    return length


def test_binomial_cusum_oracle_arl0_by_simulation_matches_the_design() -> None:
    # 100 trials a bucket, p0 = 1 %, p1 at odds x4, h = 4: the Markov chain gives ARL0 577.7
    # (e^h = 54.6 is Lorden's lower bound); 4000 simulated runs agree within 5 % (SE ~1.7 %).
    p1 = shifted_rate(0.01, 4.0)
    design = arl(0.01, p1, 100, 4.0)
    assert math.isclose(design, 577.735, rel_tol=1e-3)
    assert math.isclose(arl(0.01, p1, 100, 4.0, cells=1500), design, rel_tol=1e-3)
    lengths = _run_lengths(0.01, p1, 100, 4.0, 0.01, 4000, seed=11)
    assert abs(lengths.mean() / design - 1.0) < 0.05
    assert lengths.mean() > math.exp(4.0)
    # Out of control at p = 4 %: ARL 2.58 by the chain, by simulation within 5 %.
    shifted = _run_lengths(0.01, p1, 100, 4.0, 0.04, 4000, seed=12)
    assert abs(shifted.mean() / arl(0.01, p1, 100, 4.0, p=0.04) - 1.0) < 0.05


def test_binomial_cusum_default_in_control_arl_is_over_a_week_at_the_benchmark_traffic() -> None:
    # The default h is chosen so a clean monitor at 200 requests a minute and 1 % errors
    # false-alarms less than once a week (ARL0 > 10,080 one-minute evaluations) and
    # Lorden's bound e^h holds for any traffic.
    det = BinomialCUSUM()
    p1 = shifted_rate(0.01, det.shift)
    assert arl(0.01, p1, 200, det.h) > WEEK
    assert arl(0.005, shifted_rate(0.005, det.shift), 20, det.h) > WEEK  # night-time traffic
    assert math.exp(det.h) > 1000


def _firing(det: BinomialCUSUM, bad: Floats, total: Floats, first: int) -> list[int]:
    """Minutes at which the alert starts firing, judged as the monitor engine does: a
    one-minute window, the baseline refitted on the week before it every minute, `for` 0."""
    state, fired = AlertState(), []
    policy = StatePolicy()
    for t in range(first, bad.size):
        lo = max(0, t - WEEK)
        base = det.fit(counts(bad[lo:t], total[lo:t], lo))
        verdict = det.score(base, counts(bad[t : t + 1], total[t : t + 1], t))
        at = T0 + timedelta(minutes=t + 1)
        window = (at - timedelta(minutes=1), at)
        state, out = step(
            state, Evaluation.from_verdict(at, verdict, window=window, detector="b"), policy
        )
        fired += [t for tr in out if tr.to_status is AlertStatus.FIRING]
    return fired


def _binomial(rng: np.random.Generator, p: Floats) -> tuple[Floats, Floats]:
    total = rng.poisson(200, p.size).astype(np.float64)
    return rng.binomial(total.astype(np.int64), p).astype(np.float64), total


@pytest.mark.slow
def test_binomial_cusum_detects_planted_shifts_within_two_evaluations() -> None:
    # 40 series: a day of 1 % errors at ~200 requests a minute, then 60 clean minutes judged,
    # then a 1 % -> 5 % level shift for 30 minutes. By the design (simulated from S = 0 at
    # the defaults shift 6, h 8) the chart signals by the second shifted bucket with
    # probability 0.87; require 75 % of the 40 (below the 1 % quantile of Binomial(40, 0.87))
    # and every shift within 5 evaluations.
    rng = np.random.default_rng(31)
    day, quiet, length, shifts = 1440, 60, 30, 40
    delays = []
    for _ in range(shifts):
        p = np.full(day + quiet + length, 0.01)
        p[day + quiet :] = 0.05
        bad, total = _binomial(rng, p)
        fired = _firing(BinomialCUSUM(), bad, total, day)
        assert fired, "shift not detected"
        assert fired[0] >= day + quiet, "false alarm before the shift"
        delays.append(fired[0] - (day + quiet) + 1)
    assert sum(d <= 2 for d in delays) >= 0.75 * shifts, delays
    assert max(delays) <= 5, delays


@pytest.mark.slow
def test_binomial_cusum_false_alarms_under_one_a_week_on_null_series() -> None:
    # Two judged weeks of clean binomial counts (1 %, ~200 requests a minute) after one of
    # history; at the defaults the chain gives ARL0 ≈ 23,000 evaluations (fixed 200 trials).
    rng = np.random.default_rng(32)
    bad, total = _binomial(rng, np.full(3 * WEEK, 0.01))
    assert len(_firing(BinomialCUSUM(), bad, total, WEEK)) <= 2


def test_adaptive_rates_both_breaches_when_either_chart_does() -> None:
    # ADR 0034: the default judges counts with the binomial CUSUM and the 4-sigma p-chart.
    both, cusum, pchart = (
        build("adaptive", {"rates": r}) for r in ("both", "binomial_cusum", "p_chart")
    )
    history = counts([20] * 100, [2000] * 100)  # 1 % in ten-minute buckets of 2,000
    # A rolling ten-minute window with 3 of its minutes at 5 %: 44 errors of 2,000. The
    # CUSUM, tuned for a whole bucket at ~5.7 %, stays under h; the p-chart's 4 sigma
    # (UCL ≈ 38/2000) is crossed.
    window = counts([44], [2000], 100)
    assert not cusum.score(cusum.fit(history), window).breached
    assert pchart.score(pchart.fit(history), window).breached
    assert both.score(both.fit(history), window).breached
    # Two minutes of 9 errors out of 200 (4.5 %) after clean ones: each alone is inside the
    # p-chart's 4 sigma, their sum crosses the CUSUM's h.
    minutes = counts([2] * 100, [200] * 100)
    run = counts([2] * 13 + [9, 9], [200] * 15, 100)
    assert cusum.score(cusum.fit(minutes), run).breached
    assert not pchart.score(pchart.fit(minutes), counts([9], [200], 114)).breached
    assert both.score(both.fit(minutes), run).breached
    with pytest.raises(InvalidInput) as err:
        build("adaptive", {"rates": "wilson"})
    assert err.value.errors[0].path == "detector.params"

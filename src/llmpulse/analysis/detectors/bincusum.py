"""Binomial CUSUM on counts: a cumulative log-likelihood-ratio test of the error rate.

A one-bucket test (the p-chart) must wait for one bucket alone to be extreme; this chart adds
the evidence of consecutive buckets, so a rate five times the baseline at two errors a minute
is seen in one or two buckets without paging on single noisy minutes (ADR 0034). The
arithmetic is in `bincusum_math`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from llmpulse.analysis.detectors.base import (
    Baseline,
    DetectorInfo,
    Series,
    Side,
    Verdict,
    check_side,
    described,
)
from llmpulse.analysis.detectors.bincusum_math import cusum_llr_path, llr
from llmpulse.analysis.types import FloatArray
from llmpulse.domain.errors import InvalidInput


def shifted_rate(p0: float, odds_ratio: float) -> float:
    """The rate whose odds are `odds_ratio` times the odds of p0 (≈ odds_ratio·p0 when small).

    The odds form keeps the design rate below 1 for any p0 (Steiner et al. 2000 design the
    Bernoulli CUSUM the same way): p0 = 0.01, ratio 4 → 0.0388; p0 = 0.5, ratio 4 → 0.8.
    """
    odds = odds_ratio * p0 / (1.0 - p0)
    return odds / (1.0 + odds)


def excursion_peak(path: FloatArray) -> float:
    """The chart's highest value since it was last 0 before the judged (last) bucket.

    An alarm lasts while the excursion that crossed h goes on: a chart that dips below h
    and rises again without returning to 0 is one alert, not several. The judged bucket's
    own return to 0 ends the alarm one bucket later: with a window longer than the interval
    the judged bucket is a rolling window, and whether it alone brings the chart to 0 flips
    from one evaluation to the next.
    """
    if path.size == 0:
        return 0.0
    zeros = np.flatnonzero(path[:-1] <= 0.0)
    start = int(zeros[-1]) + 1 if zeros.size else 0
    return float(path[start:].max())


@dataclass(frozen=True, slots=True)
class Run:
    """The buckets one evaluation charts: the window, preceded by baseline buckets."""

    bad: FloatArray
    total: FloatArray


def charted_run(baseline: Baseline, window: Series, run: int) -> Run:
    """The last `run` buckets ending with the window's.

    A window shorter than `run` is preceded by the baseline's `recent` buckets that end at or
    before the window's first bucket, less than one bucket width before it (the monitor
    engine refits the baseline whenever a bucket closes, so these are the buckets just before
    the window). Without bucket start times, or with fewer than two baseline buckets to
    measure their width, only the window is charted.
    """
    if window.bad is None or window.total is None:
        raise InvalidInput("binomial_cusum needs counts (bad and total per bucket), not values")
    bad, total = window.bad[-run:], window.total[-run:]
    rec = baseline.recent
    missing = run - bad.size
    if missing <= 0 or rec is None or rec.bad is None or rec.total is None:
        return Run(bad, total)
    if rec.start_s is None or window.start_s is None or rec.start_s.size < 2:
        return Run(bad, total)
    width = float(np.median(np.diff(rec.start_s)))
    first = float(window.start_s[-bad.size])
    # A window that starts between two baseline buckets (`window` longer than `every`)
    # leaves a gap of less than one bucket width after the baseline's last bucket.
    earliest = first - (missing + 1) * width - 1e-6
    keep = (rec.start_s + width <= first + 1e-6) & (rec.start_s > earliest)
    return Run(
        np.concatenate((rec.bad[keep][-missing:], bad)),
        np.concatenate((rec.total[keep][-missing:], total)),
    )


@described(
    name="binomial_cusum",
    summary="binomial CUSUM: log-likelihood ratio of odds x shift against the pooled rate",
    applies_to=frozenset({"proportion"}),
    method_ref="METHODS.md §1.5, §1.9 (Bernoulli CUSUM, Reynolds & Stoumbos 1999; ADR 0034)",
)
@dataclass(frozen=True)
class BinomialCUSUM:
    """Page's CUSUM of per-bucket binomial log-likelihood ratios, over the last `run` buckets.

    p0 is the baseline's pooled rate (R1, with half an event of prior so a clean baseline
    still has p0 > 0); the design rate p1 has `shift` times its odds (`shifted_rate`). Each
    bucket adds bad·ln(p1/p0) + (total - bad)·ln((1 - p1)/(1 - p0)) and the chart is
    S = max(0, S + llr), recomputed from 0 over the run at every evaluation, so the
    detector stays a pure function of the buckets it is given; score = S at the window's
    last bucket. Breached while the chart's current excursion (since it was last 0 before
    the judged bucket) has crossed h: one excursion is one alert, however often it dips
    under h. In-control
    ARL ≥ e^h buckets for any traffic (Lorden); at the defaults, 200 trials a bucket and
    p0 = 1 % it is about 23,000 (`bincusum_math.arl`), eight times e^h.

    Attributes:
        shift: Odds ratio of the out-of-control rate the chart is tuned for (p1 ≈ shift·p0).
        h: Decision interval on the log-likelihood-ratio scale.
        run: Buckets charted per evaluation (the chart's memory).
        side: `up` charts p1 above p0, `down` below, `both` both.
        min_total: Fewest trials in the charted run.
        min_bad: Fewest events in the charted run for an upward breach.
        min_baseline_total: Fewest trials in the baseline.
    """

    info: ClassVar[DetectorInfo]
    shift: float = 6.0
    h: float = 8.0
    run: int = 15
    side: Side = "up"
    min_total: int = 20
    min_bad: int = 3
    min_baseline_total: int = 200

    def __post_init__(self) -> None:
        check_side(self.side)
        if not self.shift > 1.0:
            raise InvalidInput(f"shift must be above 1, got {self.shift}")
        if not self.h > 0.0:
            raise InvalidInput(f"h must be positive, got {self.h}")
        if self.run < 1:
            raise InvalidInput(f"run must be at least 1, got {self.run}")

    @property
    def count_run(self) -> int:
        """Buckets of counts one evaluation charts (a window may bring them all)."""
        return self.run

    def fit(self, baseline: Series) -> Baseline:
        """Pooled p0 = (Σbad + ½)/(Σtotal + 1), and the last `run - 1` buckets."""
        if baseline.bad is None or baseline.total is None:
            raise InvalidInput("binomial_cusum needs counts (bad and total per bucket), not values")
        bad, total = float(baseline.bad.sum()), float(baseline.total.sum())
        if total < self.min_baseline_total:
            return Baseline.not_ready(
                int(total), f"{total:g} baseline trials < {self.min_baseline_total}"
            )
        p0 = (bad + 0.5) / (total + 1.0)
        keep = slice(max(0, baseline.values.size - (self.run - 1)), baseline.values.size)
        starts = None if baseline.start_s is None else baseline.start_s[keep]
        recent = Series.counts(baseline.bad[keep], baseline.total[keep], starts)
        return Baseline(p0, math.sqrt(p0 * (1.0 - p0)), int(total), recent=recent)

    def score(self, baseline: Baseline, window: Series) -> Verdict:
        """Breached while the chart's current excursion on an alerting side has crossed h."""
        if not baseline.ready:
            return Verdict.no_data(baseline.reason)
        run = charted_run(baseline, window, self.run)
        n = float(run.total.sum())
        if n < self.min_total:
            return Verdict.no_data(f"{n:g} trials in the charted run < {self.min_total}")
        p0 = baseline.centre
        sides = ("up", "down") if self.side == "both" else (self.side,)
        stats: dict[str, float] = {}
        peaks: dict[str, float] = {"up": 0.0, "down": 0.0}
        bounds: dict[str, float | None] = {"up": None, "down": None}
        for side in sides:
            p1 = shifted_rate(p0, self.shift if side == "up" else 1.0 / self.shift)
            path = cusum_llr_path(llr(run.bad, run.total, p0, p1))
            stats[side] = float(path[-1])
            peaks[side] = excursion_peak(path)
            bounds[side] = self._bound(path, run, p0, p1)
        # A few events never page on their own (a rate of 1/3 is no incident).
        hit_up = peaks["up"] > self.h and float(run.bad.sum()) >= self.min_bad
        hit = hit_up or peaks["down"] > self.h
        side = max(stats, key=lambda k: stats[k])
        stat = stats[side]
        last_n = float(run.total[-1])
        value = float(run.bad[-1]) / last_n if last_n > 0 else None
        detail = (
            f"binomial CUSUM ({side}) {stat:.3g}, peak {peaks[side]:.3g} since it was last 0, "
            f"{'>' if hit else '≤'} h = {self.h:g} over {run.total.size} buckets: "
            f"{run.bad.sum():g}/{n:g} against p0 {p0:.4g}"
        )
        return Verdict(
            "breached" if hit else "normal", value, p0, bounds["down"], bounds["up"], stat, detail
        )

    def _bound(self, path: FloatArray, run: Run, p0: float, p1: float) -> float | None:
        """The last bucket's rate at which the chart would end exactly at h, given the chart
        before it: the bound reported with the verdict."""
        n = float(run.total[-1])
        if n <= 0:
            return None
        before = float(path[-2]) if path.size > 1 else 0.0
        a, c = math.log(p1 / p0), math.log((1.0 - p1) / (1.0 - p0))
        events = (self.h - before - n * c) / (a - c)
        return min(1.0, max(0.0, events / n))

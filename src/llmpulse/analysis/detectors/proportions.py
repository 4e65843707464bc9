"""Detectors for proportions from counts: p-chart and Wilson bound (METHODS.md §1.8, §1.9)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from llmpulse.analysis.detectors.base import (
    Baseline,
    DetectorInfo,
    Series,
    Side,
    Verdict,
    check_side,
    crossed,
    described,
)
from llmpulse.analysis.lazy_scipy import stats
from llmpulse.analysis.proportions import wilson_interval
from llmpulse.domain.errors import InvalidInput


def p_chart_limits(p_bar: float, n: float, sigmas: float = 3.0) -> tuple[float, float, float]:
    """(sd_i, LCL_i, UCL_i) = √(p̄(1 - p̄)/n_i), max(0, p̄ - 3sd_i), p̄ + 3sd_i (§1.9).

    Oracle (§1.9): p̄ = 0.02, n = 500 → sigma 0.0062610, UCL 0.0387830, LCL 0.0012170.
    """
    sd = math.sqrt(p_bar * (1.0 - p_bar) / n)
    return sd, max(0.0, p_bar - sigmas * sd), min(1.0, p_bar + sigmas * sd)


def _normal_ok(n: float, p_bar: float) -> bool:
    """The normal approximation holds when n·p̄ ≥ 5 and n·(1 - p̄) ≥ 5 (§1.8 a)."""
    return n * p_bar >= 5.0 and n * (1.0 - p_bar) >= 5.0


def binomial_limits(p_bar: float, n: int, sigmas: float = 3.0) -> tuple[float, float]:
    """Probability limits (LCL, UCL) as rates: the exact binomial counts whose tails are
    Φ(-sigmas) each, for windows too small for the normal limits (§1.8 a).

    With n = 200 and p̄ = 0.01 (n·p̄ = 2) the normal UCL 0.0311 is crossed by 7 errors,
    which has probability 0.0045 under p̄ instead of 0.00135; exactly, 8 errors breach
    (UCL 7/200).
    """
    alpha = float(stats.norm.sf(sigmas))
    hi = float(stats.binom.isf(alpha, n, p_bar))  # P(X > hi) <= alpha
    lo = float(stats.binom.ppf(alpha, n, p_bar))  # P(X < lo) < alpha
    return lo / n, hi / n


def _exact(bad: float, n: float, p_bar: float, sigmas: float) -> tuple[float, float, float]:
    """(equivalent z, LCL, UCL) from the exact binomial tails: z = Φ⁻¹ of the tail probability."""
    k, m = round(bad), round(n)
    lcl, ucl = binomial_limits(p_bar, m, sigmas)
    if k / m > p_bar:
        z = max(0.0, float(stats.norm.isf(stats.binom.sf(k - 1, m, p_bar))))  # P(X >= k)
    elif k / m < p_bar:
        z = min(0.0, -float(stats.norm.isf(stats.binom.cdf(k, m, p_bar))))  # P(X <= k)
    else:
        z = 0.0
    return z, lcl, ucl


def _counts(series: Series) -> tuple[float, float]:
    if series.bad is None or series.total is None:
        raise InvalidInput("this detector needs counts (bad and total per bucket), not values")
    return float(series.bad.sum()), float(series.total.sum())


def _window_counts(
    baseline: Baseline, window: Series, min_total: int
) -> tuple[float, float] | Verdict:
    """The window's (Σbad, Σtotal), or `insufficient_data` when it cannot be judged (§1.8)."""
    bad, n = _counts(window)
    if not baseline.ready:
        return Verdict.no_data(baseline.reason)
    if n < min_total:
        return Verdict.no_data(f"{n:g} trials in the window < {min_total}")
    return bad, n


@described(
    name="p_chart",
    summary="p-chart: window rate against pooled p̄ ± 3sigma for its own sample size",
    applies_to=frozenset({"proportion"}),
    method_ref="METHODS.md §1.9 (p-chart), §1.8 (minimum samples)",
)
@dataclass(frozen=True)
class PChart:
    """p-chart: the window's rate against p̄ ± 3·√(p̄(1 - p̄)/n) for the window's own n.

    When n·p̄ < 5 the normal limits are wrong (§1.8 a: a skewed binomial crosses them far
    more often than 3 sigma promise), so the window is judged by its exact binomial tail
    probability instead, reported as the equivalent z (`binomial_limits`).
    p̄ is pooled over the baseline (Σbad/Σtotal, R1). A window with fewer than `min_total`
    trials is not judged (§1.8: n_min = 20 for error rates), and fewer than `min_bad` events
    never breach upward, so one failure never pages on its own when p̄ is near 0.

    Attributes:
        sigmas: Limit width (3 = Shewhart).
        side: Alerting direction (R7).
        min_total: Fewest trials in the window.
        min_bad: Fewest events in the window for an upward breach.
        min_baseline_total: Fewest trials in the baseline.
    """

    info: ClassVar[DetectorInfo]
    sigmas: float = 3.0
    side: Side = "up"
    min_total: int = 20
    min_bad: int = 3
    min_baseline_total: int = 200

    def __post_init__(self) -> None:
        check_side(self.side)

    def fit(self, baseline: Series) -> Baseline:
        """Pooled p̄ = Σbad / Σtotal over the baseline (R1)."""
        bad, total = _counts(baseline)
        if total < self.min_baseline_total:
            return Baseline.not_ready(
                int(total), f"{total:g} baseline trials < {self.min_baseline_total}"
            )
        p_bar = bad / total
        return Baseline(p_bar, math.sqrt(p_bar * (1.0 - p_bar)), int(total))

    def score(self, baseline: Baseline, window: Series) -> Verdict:
        """Score = (p - p̄)/sd_i; breached beyond `sigmas` on the alerting side."""
        counts = _window_counts(baseline, window, self.min_total)
        if isinstance(counts, Verdict):
            return counts
        bad, n = counts
        p = bad / n
        if _normal_ok(n, baseline.centre):
            sd, lcl, ucl = p_chart_limits(baseline.centre, n, self.sigmas)
            if sd > 0:
                z = (p - baseline.centre) / sd
            else:  # p̄ is 0 or 1: any other rate is infinitely far out
                z = 0.0 if p == baseline.centre else math.copysign(math.inf, p - baseline.centre)
        else:
            z, lcl, ucl = _exact(bad, n, baseline.centre, self.sigmas)
        hit = crossed(z, self.sigmas, self.side) and not (
            p > baseline.centre and bad < self.min_bad
        )
        lower = None if self.side == "up" else lcl
        upper = None if self.side == "down" else ucl
        detail = f"{bad:g}/{n:g} = {p:.4g} against p̄ {baseline.centre:.4g} (UCL {ucl:.4g})"
        return Verdict("breached" if hit else "normal", p, baseline.centre, lower, upper, z, detail)


@described(
    name="wilson",
    summary="Wilson 95 % interval of the window's rate wholly beyond a threshold rate",
    applies_to=frozenset({"proportion"}),
    method_ref="METHODS.md §1.9 (Wilson score interval, alerting recipe)",
)
@dataclass(frozen=True)
class WilsonBound:
    """Breached when the window's Wilson interval lies wholly beyond a rate threshold T.

    The §1.9 alerting recipe: fire on "error rate > T" only when the Wilson *lower* bound is
    above T, so 1 failure out of 2 requests does not page. T is `threshold`, or the pooled
    baseline rate when `threshold` is NaN.

    Attributes:
        threshold: The rate T (NaN: the baseline's pooled rate).
        confidence: Two-sided confidence of the interval.
        side: `up`: lower bound > T; `down`: upper bound < T; `both`: either.
        min_total: Fewest trials in the window.
    """

    info: ClassVar[DetectorInfo]
    threshold: float = math.nan
    confidence: float = 0.95
    side: Side = "up"
    min_total: int = 20

    def __post_init__(self) -> None:
        check_side(self.side)

    def fit(self, baseline: Series) -> Baseline:
        """T itself, or the pooled baseline rate when no threshold is set."""
        if not math.isnan(self.threshold):
            return Baseline(self.threshold, 0.0, baseline.values.size)
        bad, total = _counts(baseline)
        if total <= 0:
            return Baseline.not_ready(0, "baseline has no trials")
        return Baseline(bad / total, 0.0, int(total))

    def score(self, baseline: Baseline, window: Series) -> Verdict:
        """Score = distance of the nearer interval end beyond T (> 0 means breached)."""
        counts = _window_counts(baseline, window, self.min_total)
        if isinstance(counts, Verdict):
            return counts
        bad, n = counts
        lo_a, hi_a = wilson_interval(bad, n, confidence=self.confidence)
        lo, hi = float(lo_a[0]), float(hi_a[0])
        t = baseline.centre
        over = {"up": lo - t, "down": t - hi, "both": max(lo - t, t - hi)}[self.side]
        hit = over > 0
        detail = f"Wilson ({lo:.4g}, {hi:.4g}) for {bad:g}/{n:g} against T = {t:.4g}"
        lower = None if self.side == "up" else t
        upper = None if self.side == "down" else t
        return Verdict("breached" if hit else "normal", bad / n, t, lower, upper, over, detail)

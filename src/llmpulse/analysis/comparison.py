"""Version comparison (canary): baseline A against candidate B on several metrics.

With per-unit totals (traces, sessions or users; METHODS.md §4.10) rates and means are compared
by the delta method; without them, proportions use §4.2 and means Welch (§4.3). A percentile is
compared as that percentile (§4.11): the verdict comes from the (cluster) bootstrap interval of
p_q(candidate) - p_q(baseline), so it always agrees in sign with the values shown. Each metric
gets a verdict and, for rates and means, the sample size per group that would detect the
observed (or a given minimum) effect at the chosen power.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.cluster_bootstrap import cluster_bootstrap_difference
from llmpulse.analysis.clustered import difference, ratio_estimate
from llmpulse.analysis.means import phi_effect_size, summary_from_sums, welch_from_summary
from llmpulse.analysis.power import sample_size_two_means, sample_size_two_proportions
from llmpulse.analysis.proportions import compare_proportions
from llmpulse.analysis.types import Direction, as_float_array, worse_sign
from llmpulse.domain.errors import InvalidInput

UnitTotals: TypeAlias = tuple[npt.ArrayLike, npt.ArrayLike]
"""Per-unit (y_c, n_c): bad events (or Σx) and spans of each trace, session or user."""
Verdict: TypeAlias = Literal["better", "worse", "no_detectable_difference", "insufficient_data"]
Signal: TypeAlias = Literal["promote", "hold", "insufficient_data"]


@dataclass(frozen=True)
class ProportionMetric:
    """Bad events out of n per version (error rate, thumbs-down rate)."""

    name: str
    baseline_bad: int
    baseline_n: int
    candidate_bad: int
    candidate_n: int
    direction: Direction = "higher_is_worse"
    guard_rail: bool = True
    min_effect: float | None = None
    """Smallest rate difference worth detecting, for the sample-size estimate."""
    baseline_units: UnitTotals | None = None
    """Per-unit (bad events, spans) of the baseline; with `candidate_units`: delta method."""
    candidate_units: UnitTotals | None = None


@dataclass(frozen=True)
class MeanMetric:
    """n, Σ(x - shift), Σ(x - shift)² per version (cost, tokens, eval score)."""

    name: str
    baseline_n: int
    baseline_sum: float
    baseline_sumsq: float
    candidate_n: int
    candidate_sum: float
    candidate_sumsq: float
    direction: Direction = "higher_is_worse"
    guard_rail: bool = True
    min_effect: float | None = None
    """Smallest mean difference worth detecting, in metric units."""
    shift: float = 0.0
    baseline_units: UnitTotals | None = None
    """Per-unit (Σx, spans) of the baseline; with `candidate_units`: delta method."""
    candidate_units: UnitTotals | None = None


@dataclass(frozen=True)
class LatencyMetric:
    """Raw values per version; `quantile` is the percentile compared (METHODS.md §4.11).

    With unit codes (trace, session or user of each value) the bootstrap resamples units;
    without, each value is its own unit.
    """

    name: str
    baseline: npt.ArrayLike
    candidate: npt.ArrayLike
    quantile: float = 0.95
    direction: Direction = "higher_is_worse"
    guard_rail: bool = True
    min_effect: float | None = None
    """Unused for percentiles (no sample-size formula); kept for a uniform signature."""
    baseline_units: npt.ArrayLike | None = None
    candidate_units: npt.ArrayLike | None = None


MetricInput: TypeAlias = ProportionMetric | MeanMetric | LatencyMetric
TestUsed: TypeAlias = Literal["z", "fisher", "welch", "delta_method", "cluster_bootstrap"]


@dataclass(frozen=True, slots=True)
class MetricVerdict:
    """One metric, candidate against baseline; `diff = candidate - baseline`."""

    name: str
    test: TestUsed
    baseline_value: float
    candidate_value: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    effect: float
    """φ (§4.8) for proportions and means; diff / baseline value for percentiles."""
    verdict: Verdict
    required_n_per_group: int | None
    guard_rail: bool
    baseline_n: int
    candidate_n: int
    baseline_units: int | None = None
    """Units (traces, sessions, users) behind the baseline value; None without units."""
    candidate_units: int | None = None


@dataclass(frozen=True, slots=True)
class ComparisonReport:
    """All metric verdicts and the overall signal."""

    metrics: tuple[MetricVerdict, ...]
    signal: Signal
    alpha: float
    power: float
    unit: str | None = None
    """Unit of analysis (trace, session, user) when the inputs carried units."""
    window_start: datetime | None = None
    """Start of the time window compared (both versions live), when windowed."""
    window_end: datetime | None = None
    """End (exclusive) of that window."""
    windowed: bool = False
    """True when the window is the intersection of the versions' active periods."""

    def to_rows(self) -> list[dict[str, object]]:
        """One flat dict per metric for CSV/JSON export."""
        return [asdict(m) | {"signal": self.signal} for m in self.metrics]


def compare_versions(
    metrics: Sequence[MetricInput],
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    min_support: int = 30,
    n_resamples: int = 2000,
    seed: int = 0,
) -> ComparisonReport:
    """Compare candidate B with baseline A on every metric and give a promote/hold signal.

    Verdict per metric: `insufficient_data` if a version has fewer than `min_support`
    observations (§4.1); else `worse`/`better` when p < alpha and the difference points the bad/good
    way for its direction (latency: the sign of Cliff's δ), else `no_detectable_difference`.
    Signal: `hold` if any guard-rail metric is worse; otherwise `insufficient_data` if any
    guard-rail metric lacks data; otherwise `promote`.
    """
    if not 0.0 < alpha < 1.0:
        raise InvalidInput(f"alpha must be in (0, 1), got {alpha}")
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise InvalidInput("metric names must be unique")
    verdicts = tuple(
        _compare_one(m, alpha=alpha, power=power, min_support=min_support,
                     n_resamples=n_resamples, seed=seed)
        for m in metrics
    )  # fmt: skip
    guarded = [v.verdict for v in verdicts if v.guard_rail]
    signal: Signal = "promote"
    if "worse" in guarded:
        signal = "hold"
    elif "insufficient_data" in guarded:
        signal = "insufficient_data"
    return ComparisonReport(verdicts, signal, alpha, power)


def _compare_one(
    m: MetricInput, *, alpha: float, power: float, min_support: int, n_resamples: int, seed: int
) -> MetricVerdict:
    if isinstance(m, ProportionMetric):
        return _compare_proportion(m, alpha, power, min_support)
    if isinstance(m, MeanMetric):
        return _compare_mean(m, alpha, power, min_support)
    return _compare_latency(m, alpha, power, min_support, n_resamples, seed)


def _verdict(direction: Direction, signed: float, p: float, alpha: float, enough: bool) -> Verdict:
    if not enough or not math.isfinite(p):
        return "insufficient_data"
    if p >= alpha or signed == 0:
        return "no_detectable_difference"
    return "worse" if worse_sign(direction) * signed > 0 else "better"


def _compare_proportion(
    m: ProportionMetric, alpha: float, power: float, min_support: int
) -> MetricVerdict:
    """§4.2 (or §4.10 with units): candidate rate vs baseline rate; φ, Bernoulli variances."""
    c = compare_proportions(m.candidate_bad, m.candidate_n, m.baseline_bad, m.baseline_n,
                            confidence=1.0 - alpha)  # fmt: skip
    p_b, p_c = float(c.rate2[0]), float(c.rate1[0])
    var_b = p_b * (1 - p_b) * m.baseline_n / max(m.baseline_n - 1, 1)
    var_c = p_c * (1 - p_c) * m.candidate_n / max(m.candidate_n - 1, 1)
    effect = float(phi_effect_size(p_c, var_c, p_b, var_b)[0])
    target = p_c
    if m.min_effect is not None:
        target = min(max(p_b + worse_sign(m.direction) * m.min_effect, 0.0), 1.0)
    enough = min(m.baseline_n, m.candidate_n) >= min_support
    needed = sample_size_two_proportions(p_b, target, alpha=alpha, power=power) if (
        math.isfinite(p_b) and math.isfinite(target)) else None  # fmt: skip
    diff, p = float(c.diff[0]), float(c.p_value[0])
    low, high = float(c.ci_low[0]), float(c.ci_high[0])
    test: TestUsed = "fisher" if c.exact[0] else "z"
    units: tuple[int | None, int | None] = (None, None)
    if m.baseline_units is not None and m.candidate_units is not None:
        test, diff, low, high, p, units = _delta(m.candidate_units, m.baseline_units, alpha)
    return MetricVerdict(
        m.name, test, p_b, p_c, diff, low, high, p, effect,
        _verdict(m.direction, diff, p, alpha, enough), needed, m.guard_rail,
        m.baseline_n, m.candidate_n, *units,
    )  # fmt: skip


def _delta(
    cand: UnitTotals, base: UnitTotals, alpha: float
) -> tuple[TestUsed, float, float, float, float, tuple[int | None, int | None]]:
    """Delta-method comparison over units (METHODS.md §4.10)."""
    a, b = ratio_estimate(*cand), ratio_estimate(*base)
    d = difference(a.value, a.variance, b.value, b.variance, confidence=1.0 - alpha)
    return "delta_method", d.diff, d.ci_low, d.ci_high, d.p_value, (b.clusters, a.clusters)


def _compare_mean(m: MeanMetric, alpha: float, power: float, min_support: int) -> MetricVerdict:
    """§4.3: Welch from sums; φ with sample variances; n from the two-means formula."""
    (mb,), (vb,) = summary_from_sums(m.baseline_n, m.baseline_sum, m.baseline_sumsq, shift=m.shift)
    (mc,), (vc,) = summary_from_sums(
        m.candidate_n, m.candidate_sum, m.candidate_sumsq, shift=m.shift
    )
    w = welch_from_summary(mc, vc, m.candidate_n, mb, vb, m.baseline_n, confidence=1.0 - alpha)
    diff, p = float(w.diff[0]), float(w.p_value[0])
    delta = diff if m.min_effect is None else m.min_effect
    enough = min(m.baseline_n, m.candidate_n) >= min_support
    needed = sample_size_two_means(float((vb + vc) / 2), delta, alpha=alpha, power=power) if (
        math.isfinite(delta)) else None  # fmt: skip
    low, high = float(w.ci_low[0]), float(w.ci_high[0])
    test: TestUsed = "welch"
    units: tuple[int | None, int | None] = (None, None)
    if m.baseline_units is not None and m.candidate_units is not None:
        test, diff, low, high, p, units = _delta(m.candidate_units, m.baseline_units, alpha)
    return MetricVerdict(
        m.name, test, float(mb), float(mc), diff, low, high,
        p, float(phi_effect_size(mc, vc, mb, vb)[0]),
        _verdict(m.direction, diff, p, alpha, enough), needed, m.guard_rail,
        m.baseline_n, m.candidate_n, *units,
    )  # fmt: skip


def _compare_latency(
    m: LatencyMetric, alpha: float, power: float, min_support: int, n_resamples: int, seed: int
) -> MetricVerdict:
    """§4.11: the percentile compared as that percentile, by a (cluster) bootstrap (§4.10).

    `worse`/`better` only when the interval of p_q(candidate) - p_q(baseline) excludes 0 on the
    side of the point estimate, so the verdict agrees in sign with the values shown.
    """
    base, cand = as_float_array(m.baseline).ravel(), as_float_array(m.candidate).ravel()
    ub = np.arange(base.size) if m.baseline_units is None else np.asarray(m.baseline_units)
    uc = np.arange(cand.size) if m.candidate_units is None else np.asarray(m.candidate_units)
    enough = min(base.size, cand.size) >= min_support
    boot = cluster_bootstrap_difference(
        cand, uc, base, ub, m.quantile, n_resamples=n_resamples, confidence=1.0 - alpha,
        seed=seed,
    )  # fmt: skip
    verdict: Verdict = "insufficient_data"
    if enough and boot.sufficient:
        sign = worse_sign(m.direction) * boot.diff
        outside = boot.ci_low > 0 if boot.diff > 0 else boot.ci_high < 0
        verdict = "no_detectable_difference"
        if sign != 0 and outside:
            verdict = "worse" if sign > 0 else "better"
    rel = boot.diff / boot.baseline_value if boot.baseline_value else math.nan
    units = (None, None) if m.baseline_units is None else (
        boot.baseline_clusters, boot.candidate_clusters)  # fmt: skip
    return MetricVerdict(
        m.name, "cluster_bootstrap", boot.baseline_value, boot.candidate_value, boot.diff,
        boot.ci_low, boot.ci_high, boot.p_value, rel, verdict, None, m.guard_rail,
        int(base.size), int(cand.size), *units,
    )  # fmt: skip

"""Proportions: Wilson interval, two-proportion z-test, Fisher exact, Newcombe difference CI.

All functions take counts (bad events `x` out of `n`) and are vectorised over slices: pass
scalars or equal-length arrays. A slice with `n == 0` has no rate (METHODS.md R3) and yields NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.lazy_scipy import stats
from llmpulse.analysis.types import BoolArray, FloatArray, as_float_array
from llmpulse.domain.errors import InvalidInput

MIN_EXPECTED = 5.0
"""Smallest expected cell count for the z-test; below it Fisher's exact test is used (§4.1)."""


def z_quantile(confidence: float) -> float:
    """Two-sided normal quantile z_{1-alpha/2} for a confidence level 1 - alpha."""
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(f"confidence must be in (0, 1), got {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def wilson_interval(
    x: npt.ArrayLike, n: npt.ArrayLike, *, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for x successes out of n (METHODS.md §1.9).

    centre = (p̂ + z²/2n)/(1 + z²/n); half = z/(1 + z²/n)·√(p̂(1-p̂)/n + z²/4n²).

    Args:
        x: Event counts.
        n: Trial counts (same shape as `x`).
        confidence: Two-sided confidence level.

    Returns:
        `(low, high)` arrays, clipped to [0, 1]; NaN where `n == 0`.
    """
    xs, ns = as_float_array(x), as_float_array(n)
    z = z_quantile(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = xs / ns
        denom = 1.0 + z * z / ns
        centre = (p + z * z / (2.0 * ns)) / denom
        half = z / denom * np.sqrt(p * (1.0 - p) / ns + z * z / (4.0 * ns * ns))
    low = np.where(ns > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(ns > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def two_proportion_z(
    x1: npt.ArrayLike, n1: npt.ArrayLike, x2: npt.ArrayLike, n2: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Pooled two-proportion z-test, two-sided (METHODS.md §4.2).

    z = (p̂₁ - p̂₂)/√(p̄(1 - p̄)(1/n₁ + 1/n₂)), p̄ = (x₁ + x₂)/(n₁ + n₂), p = 2(1 - Φ(|z|)).
    When both groups are all-good or all-bad (p̄ ∈ {0, 1}) the rates are equal: z = 0, p = 1.

    Returns:
        `(z, p_value)` arrays; NaN where a group is empty.
    """
    a1, b1, a2, b2 = (as_float_array(v) for v in (x1, n1, x2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (a1 + a2) / (b1 + b2)
        se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / b1 + 1.0 / b2))
        z = np.where(se > 0, (a1 / b1 - a2 / b2) / se, 0.0)
    z = np.where((b1 > 0) & (b2 > 0), z, np.nan)
    p = 2.0 * stats.norm.sf(np.abs(z))
    return z, p


def fisher_exact(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Fisher's exact test on the 2x2 table [[x₁, n₁-x₁], [x₂, n₂-x₂]] (METHODS.md §4.2).

    Returns:
        `(odds_ratio, two_sided_p_value)` from `scipy.stats.fisher_exact`.
    """
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]], dtype=np.int64)
    res = stats.fisher_exact(table, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def needs_exact_test(
    x1: npt.ArrayLike, n1: npt.ArrayLike, x2: npt.ArrayLike, n2: npt.ArrayLike
) -> BoolArray:
    """True where some expected cell count of the 2x2 table is below 5 (METHODS.md §4.1).

    Expected counts are taken under the pooled null (n_g·p̄ and n_g·(1 - p̄) for both groups),
    Cochran's rule. It is symmetric in the two groups (a canary comparison has no "rest") and
    implies §4.1's n_S·p̂_R ≥ 5 whenever the segment is not better than the rest.
    """
    a1, b1, a2, b2 = (as_float_array(v) for v in (x1, n1, x2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (a1 + a2) / (b1 + b2)
    smallest = np.minimum(b1, b2) * np.minimum(pooled, 1.0 - pooled)
    return np.asarray(~(smallest >= MIN_EXPECTED), dtype=np.bool_)


def newcombe_interval(
    x1: npt.ArrayLike,
    n1: npt.ArrayLike,
    x2: npt.ArrayLike,
    n2: npt.ArrayLike,
    *,
    confidence: float = 0.95,
) -> tuple[FloatArray, FloatArray]:
    """Newcombe hybrid score interval for p̂₁ - p̂₂ from two Wilson intervals (METHODS.md §4.2).

    With (l_i, u_i) the Wilson bounds: low = d - √((p̂₁ - l₁)² + (u₂ - p̂₂)²),
    high = d + √((u₁ - p̂₁)² + (p̂₂ - l₂)²) (Newcombe 1998, method 10).
    """
    a1, b1, a2, b2 = (as_float_array(v) for v in (x1, n1, x2, n2))
    l1, u1 = wilson_interval(a1, b1, confidence=confidence)
    l2, u2 = wilson_interval(a2, b2, confidence=confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = a1 / b1, a2 / b2
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return low, high


@dataclass(frozen=True, slots=True)
class ProportionComparison:
    """Group 1 against group 2, one entry per slice (arrays of equal length)."""

    rate1: FloatArray
    rate2: FloatArray
    diff: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    statistic: FloatArray
    """z for the z-test rows, the odds ratio for the Fisher rows."""
    p_value: FloatArray
    exact: BoolArray
    """True where Fisher's exact test replaced the z-test."""


def compare_proportions(
    x1: npt.ArrayLike,
    n1: npt.ArrayLike,
    x2: npt.ArrayLike,
    n2: npt.ArrayLike,
    *,
    confidence: float = 0.95,
) -> ProportionComparison:
    """Compare rates x₁/n₁ against x₂/n₂ (METHODS.md §4.1, §4.2).

    Uses the pooled z-test, or Fisher's exact test where an expected cell count is below 5,
    and a Newcombe interval for the difference p̂₁ - p̂₂.
    """
    a1, b1, a2, b2 = (as_float_array(v) for v in (x1, n1, x2, n2))
    z, p = two_proportion_z(a1, b1, a2, b2)
    exact = needs_exact_test(a1, b1, a2, b2) & (b1 > 0) & (b2 > 0)
    for i in np.flatnonzero(exact):
        z[i], p[i] = fisher_exact(int(a1[i]), int(b1[i]), int(a2[i]), int(b2[i]))
    low, high = newcombe_interval(a1, b1, a2, b2, confidence=confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        r1, r2 = a1 / b1, a2 / b2
    return ProportionComparison(r1, r2, r1 - r2, low, high, z, p, exact)

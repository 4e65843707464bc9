"""Means from summary statistics: sums → (mean, variance), Welch's t-test, SliceFinder's φ.

Vectorised over slices: the store returns n, Σx and Σx² per slice and the complement is
totals minus slice (all three are additive), so no raw values are needed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.lazy_scipy import stats
from llmpulse.analysis.types import FloatArray, as_float_array
from llmpulse.domain.errors import InvalidInput


def summary_from_sums(
    n: npt.ArrayLike,
    total: npt.ArrayLike,
    sumsq: npt.ArrayLike,
    *,
    shift: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """Mean and sample variance (ddof=1, METHODS.md R6) from n, Σx and Σx² (§4.3 inputs).

    var = (Σx² - Σx·x̄)/(n - 1). The subtraction cancels catastrophically when |x̄| ≫ s, so
    the store may aggregate shifted values x - c (any constant near the mean, e.g. the overall
    mean of a previous query) and pass `shift=c`; the mean is shifted back, the variance is
    shift-invariant. Rounding can leave a tiny negative result, which is clipped to 0.

    Args:
        n: Counts per slice.
        total: Σ(x - shift) per slice.
        sumsq: Σ(x - shift)² per slice.
        shift: The constant subtracted before aggregation.

    Returns:
        `(mean, var)`; mean is NaN where n = 0 and var is NaN where n < 2.
    """
    ns, s1, s2 = as_float_array(n), as_float_array(total), as_float_array(sumsq)
    with np.errstate(divide="ignore", invalid="ignore"):
        centred_mean = s1 / ns
        var = (s2 - s1 * centred_mean) / (ns - 1.0)
    mean = np.where(ns > 0, centred_mean + shift, np.nan)
    var = np.where(ns > 1, np.maximum(var, 0.0), np.nan)
    return mean, var


@dataclass(frozen=True, slots=True)
class WelchResult:
    """Welch's t-test of mean₁ - mean₂, one entry per slice."""

    diff: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    t: FloatArray
    df: FloatArray
    p_value: FloatArray


def welch_from_summary(
    mean1: npt.ArrayLike,
    var1: npt.ArrayLike,
    n1: npt.ArrayLike,
    mean2: npt.ArrayLike,
    var2: npt.ArrayLike,
    n2: npt.ArrayLike,
    *,
    confidence: float = 0.95,
) -> WelchResult:
    """Welch's unequal-variance t-test from summary statistics (METHODS.md §4.3).

    t = (x̄₁ - x̄₂)/√(s₁²/n₁ + s₂²/n₂); Welch-Satterthwaite
    df = (s₁²/n₁ + s₂²/n₂)² / [(s₁²/n₁)²/(n₁ - 1) + (s₂²/n₂)²/(n₂ - 1)]; two-sided p; the CI
    of the difference is diff ± t_{df,1-alpha/2}·se. Matches
    `scipy.stats.ttest_ind(equal_var=False)` on the raw data. When both variances are 0 the
    test is degenerate: equal means give t = 0, p = 1; different means give t = ±inf, p = 0.

    Returns:
        A `WelchResult`; NaN where a group has fewer than 2 values.
    """
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(f"confidence must be in (0, 1), got {confidence}")
    m1, v1, c1, m2, v2, c2 = (as_float_array(a) for a in (mean1, var1, n1, mean2, var2, n2))
    valid = (c1 > 1) & (c2 > 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = v1 / c1, v2 / c2
        se2 = a + b
        diff = m1 - m2
        t = np.where(se2 > 0, diff / np.sqrt(se2), np.sign(diff) * np.inf)
        t = np.where((se2 > 0) | (diff != 0), t, 0.0)
        df = np.where(se2 > 0, se2**2 / (a**2 / (c1 - 1.0) + b**2 / (c2 - 1.0)), c1 + c2 - 2.0)
        p = 2.0 * stats.t.sf(np.abs(t), df)
        half = stats.t.ppf(0.5 + confidence / 2.0, df) * np.sqrt(se2)
    nan = np.full_like(diff, np.nan)
    return WelchResult(
        diff=np.where(valid, diff, nan),
        ci_low=np.where(valid, diff - half, nan),
        ci_high=np.where(valid, diff + half, nan),
        t=np.where(valid, t, nan),
        df=np.where(valid, df, nan),
        p_value=np.where(valid, p, nan),
    )


def phi_effect_size(
    mean1: npt.ArrayLike,
    var1: npt.ArrayLike,
    mean2: npt.ArrayLike,
    var2: npt.ArrayLike,
) -> FloatArray:
    """SliceFinder's effect size φ = (ψ(S) - ψ(S'))/√((sigma²_S + sigma²_S')/2) (METHODS.md §4.8).

    The paper's formula (not the reference repository's √ of mean standard deviations), with
    *sample* variances (ddof=1, R6): S = [1,1,0,1] vs S' = [0,0,1,0,0,0] gives 1.2780193.
    For 0/1 outcomes pass the Bernoulli sample variance p̂(1 - p̂)·n/(n - 1). Where both
    variances are 0, φ is ±inf for different means and 0 for equal ones.
    """
    m1, v1, m2, v2 = (as_float_array(a) for a in (mean1, var1, mean2, var2))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt((v1 + v2) / 2.0)
        diff = m1 - m2
        phi = np.where(scale > 0, diff / scale, np.sign(diff) * np.inf)
    return np.where((scale > 0) | (diff != 0), phi, 0.0)


def bernoulli_variance(x: npt.ArrayLike, n: npt.ArrayLike) -> FloatArray:
    """Sample variance (ddof=1) of n 0/1 values with x ones: p̂(1 - p̂)·n/(n - 1)."""
    xs, ns = as_float_array(x), as_float_array(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = xs / ns
        var = p * (1.0 - p) * ns / (ns - 1.0)
    return np.where(ns > 1, var, np.nan)

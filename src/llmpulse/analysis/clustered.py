"""Tests for clustered data: the delta method for ratios, Woodruff intervals for percentiles.

Spans come in clusters (traces, sessions, users) and share their fate, so treating them as
independent understates the variance (METHODS.md §4.10). Here the cluster is the unit:

* Rates and means are ratio estimators R = Σy_c / Σn_c over cluster totals (y_c = bad events or
  Σv, n_c = spans); Var(R) ≈ Σ(y_c - R·n_c)² / ((C - 1)·C·n̄²) (Deng et al., KDD 2018).
* A percentile ξ̂_q is compared through the proportion F(ξ̂_q) = q, itself a ratio estimator of
  the indicator 1{v ≤ ξ̂_q} (Woodruff 1952, with the cluster-robust variance above): the interval
  q ± z·se(F) is mapped back through the empirical quantile function, and its width gives the
  standard error of ξ̂_q. It is the large-sample equivalent of the cluster bootstrap
  (`cluster_bootstrap.py`) and costs O(n) per segment, so every value of a key can be tested.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.lazy_scipy import stats
from llmpulse.analysis.types import FloatArray, IntArray, as_float_array
from llmpulse.domain.errors import InvalidInput


def dot(a: FloatArray, b: FloatArray) -> float:
    """Σ a·b without BLAS (whose threads, on a busy machine, cost more than the sum)."""
    return float(np.einsum("i,i->", a, b))


@dataclass(frozen=True, slots=True)
class RatioEstimate:
    """R = Σy/Σn over C clusters with its cluster-robust (delta-method) variance."""

    value: float
    variance: float
    clusters: int
    n: float


def ratio_estimate(y: npt.ArrayLike, n: npt.ArrayLike) -> RatioEstimate:
    """The ratio estimator and its delta-method variance (METHODS.md §4.10).

    Args:
        y: Per-cluster totals of the numerator (bad events, or Σv for a mean).
        n: Per-cluster counts (spans with the field), same length; clusters with n = 0 are
            ignored.

    Returns:
        NaN value when there is no span, NaN variance with fewer than two clusters.
    """
    ys, ns = as_float_array(y).ravel(), as_float_array(n).ravel()
    if ys.shape != ns.shape:
        raise InvalidInput(f"y has {ys.size} clusters, n has {ns.size}")
    c, total = int(np.count_nonzero(ns)), float(ns.sum())
    if total == 0:
        return RatioEstimate(math.nan, math.nan, 0, 0.0)
    r = float(ys.sum()) / total
    if c < 2:
        return RatioEstimate(r, math.nan, c, total)
    nbar = total / c
    resid = ys - r * ns  # a cluster with n = 0 (and so y = 0) adds nothing
    var = dot(resid, resid) / (c - 1) / (c * nbar * nbar)
    return RatioEstimate(r, var, c, total)


@dataclass(frozen=True, slots=True)
class ClusteredDifference:
    """Group 1 minus group 2 with a normal interval and a two-sided p-value."""

    value1: float
    value2: float
    diff: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float


def difference(
    value1: float, var1: float, value2: float, var2: float, *, confidence: float = 0.95
) -> ClusteredDifference:
    """z = (v₁ - v₂)/√(Var₁ + Var₂), two groups of independent clusters (METHODS.md §4.10)."""
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(f"confidence must be in (0, 1), got {confidence}")
    diff = value1 - value2
    se = math.sqrt(var1 + var2) if math.isfinite(var1 + var2) else math.nan
    if not math.isfinite(se) or not math.isfinite(diff):
        return ClusteredDifference(value1, value2, diff, se, math.nan, math.nan, math.nan)
    if se == 0.0:
        p = 1.0 if diff == 0.0 else 0.0
        return ClusteredDifference(value1, value2, diff, se, diff, diff, p)
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    p = float(2.0 * stats.norm.sf(abs(diff) / se))
    return ClusteredDifference(value1, value2, diff, se, diff - z * se, diff + z * se, p)


def compare_ratios(
    y1: npt.ArrayLike, n1: npt.ArrayLike, y2: npt.ArrayLike, n2: npt.ArrayLike,
    *, confidence: float = 0.95,
) -> ClusteredDifference:  # fmt: skip
    """Rate or mean of group 1 against group 2 from per-cluster totals (METHODS.md §4.10)."""
    a, b = ratio_estimate(y1, n1), ratio_estimate(y2, n2)
    return difference(a.value, a.variance, b.value, b.variance, confidence=confidence)


@dataclass(frozen=True, slots=True)
class QuantileEstimate:
    """ξ̂_q of one group and its cluster-robust standard error (Woodruff)."""

    value: float
    se: float
    n: int
    clusters: int


def quantile_estimate(
    sorted_values: FloatArray, clusters: IntArray, q: float, *, confidence: float = 0.95,
    n_clusters: int | None = None,
) -> QuantileEstimate:  # fmt: skip
    """Woodruff interval of the q-quantile with cluster-robust variance (module docstring).

    Args:
        sorted_values: The group's values in ascending order.
        clusters: Dense cluster code (0..C-1) of each value, in the same order.
        q: Quantile in (0, 1).
        confidence: Level of the interval whose half-width defines the standard error.
        n_clusters: When given, `clusters` are codes below it (not necessarily all present),
            which skips re-coding them.
    """
    n = int(sorted_values.size)
    if n == 0:
        return QuantileEstimate(math.nan, math.nan, 0, 0)
    if n_clusters is None:
        codes, inverse = np.unique(clusters, return_inverse=True)
        n_clusters = int(codes.size)
    else:
        inverse = clusters
    xi = float(sorted_values[0]) if n == 1 else float(_sorted_quantile(sorted_values, q))
    below = np.searchsorted(sorted_values, xi, side="right")
    y = np.bincount(inverse[:below], minlength=n_clusters).astype(np.float64)
    m = np.bincount(inverse, minlength=n_clusters).astype(np.float64)
    est = ratio_estimate(y, m)
    if not math.isfinite(est.variance):
        return QuantileEstimate(xi, math.nan, n, est.clusters)
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    half = z * math.sqrt(est.variance)
    lo_q, hi_q = max(0.0, q - half), min(1.0, q + half)
    lo, hi = _sorted_quantile(sorted_values, lo_q), _sorted_quantile(sorted_values, hi_q)
    return QuantileEstimate(xi, float(hi - lo) / (2.0 * z), n, est.clusters)


def _sorted_quantile(sorted_values: FloatArray, q: float) -> float:
    """numpy's "linear" quantile of an already sorted array, in O(1)."""
    pos = q * (sorted_values.size - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, sorted_values.size - 1)
    return float(sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo]))

"""Mann-Whitney U for latencies, with AUC, Cliff's δ and the Hodges-Lehmann shift (§4.4).

Works on bounded raw samples (the store samples a few thousand values per group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.lazy_scipy import stats
from llmpulse.analysis.types import FloatArray, as_float_array
from llmpulse.domain.errors import InvalidInput

MAX_EXACT_PAIRS = 4_000_000
"""Above this many pairs the Hodges-Lehmann median is found by selection, not enumeration."""


@dataclass(frozen=True, slots=True)
class RankTest:
    """Mann-Whitney comparison of sample x against sample y (METHODS.md §4.4)."""

    u: float
    """U_x: pairs (x_i, y_j) with x_i > y_j, plus ½ per tie."""
    p_value: float
    auc: float
    """Probability of superiority P(X > Y) + ½P(X = Y) = U_x/(n_x n_y)."""
    cliffs_delta: float
    """2·AUC - 1, in [-1, 1]; positive means x tends to be larger."""
    hodges_lehmann: float
    """Median of all pairwise differences x_i - y_j (e.g. "how many ms slower")."""
    n_x: int
    n_y: int


def mann_whitney(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    alternative: Literal["two-sided", "less", "greater"] = "two-sided",
    method: Literal["auto", "exact", "asymptotic"] = "auto",
) -> RankTest:
    """Mann-Whitney U test of x against y (METHODS.md §4.4).

    The p-value comes from `scipy.stats.mannwhitneyu` (exact when a sample has ≤ 8 values and
    there are no ties under "auto", else normal approximation with tie and continuity
    correction). Gate decisions on the effect size too (AUC ≥ 0.56 small, 0.64 medium,
    0.71 large — Vargha & Delaney 2000): with large n any shift is "significant".

    Args:
        x: First sample (e.g. the segment or the candidate).
        y: Second sample (e.g. the rest or the baseline).
        alternative: Passed to scipy.
        method: Passed to scipy.

    Raises:
        InvalidInput: If a sample is empty or holds NaN.
    """
    xs, ys = _clean(x, "x"), _clean(y, "y")
    res = stats.mannwhitneyu(xs, ys, alternative=alternative, method=method)
    u = float(res.statistic)
    auc = u / (xs.size * ys.size)
    return RankTest(
        u=u,
        p_value=float(res.pvalue),
        auc=auc,
        cliffs_delta=2.0 * auc - 1.0,
        hodges_lehmann=hodges_lehmann(xs, ys),
        n_x=int(xs.size),
        n_y=int(ys.size),
    )


def hodges_lehmann(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Median of all pairwise differences x_i - y_j (METHODS.md §4.4).

    Enumerates the pairs when there are at most `MAX_EXACT_PAIRS`; otherwise finds the middle
    order statistic(s) of the differences by bisection on the value, counting pairs with
    sorted arrays (O(n log n) per step), which returns the same value up to float rounding.
    """
    xs, ys = _clean(x, "x"), _clean(y, "y")
    if xs.size * ys.size <= MAX_EXACT_PAIRS:
        return float(np.median(np.subtract.outer(xs, ys)))
    xs, ys = np.sort(xs), np.sort(ys)
    m = xs.size * ys.size
    lo_k, hi_k = (m - 1) // 2, m // 2
    return 0.5 * (_kth_difference(xs, ys, lo_k) + _kth_difference(xs, ys, hi_k))


def _kth_difference(xs: FloatArray, ys: FloatArray, k: int) -> float:
    """The k-th smallest (0-indexed) of x_i - y_j for sorted xs, ys, by bisection."""
    lo, hi = float(xs[0] - ys[-1]), float(xs[-1] - ys[0])
    for _ in range(200):
        mid = lo + (hi - lo) / 2.0
        if mid in (lo, hi):
            break
        # pairs with x_i - y_j ≤ mid  ⇔  y_j ≥ x_i - mid
        count = int(np.sum(ys.size - np.searchsorted(ys, xs - mid, side="left")))
        if count >= k + 1:
            hi = mid
        else:
            lo = mid
    return hi


def _clean(values: npt.ArrayLike, name: str) -> FloatArray:
    arr = as_float_array(values).ravel()
    if arr.size == 0:
        raise InvalidInput(f"sample {name} is empty")
    if np.isnan(arr).any():
        raise InvalidInput(f"sample {name} contains NaN")
    return arr

"""Multiple comparisons: Benjamini-Hochberg and Benjamini-Yekutieli adjusted p-values (§4.6).

m is the number of hypotheses actually tested: callers pass only the p-values of slices that
passed the support filter (METHODS.md §4.1), never those of filtered-out slices.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.types import BoolArray, FloatArray, as_float_array
from llmpulse.domain.errors import InvalidInput

FdrMethod = Literal["bh", "by"]


def adjust_pvalues(p_values: npt.ArrayLike, *, method: FdrMethod = "bh") -> FloatArray:
    """FDR-adjusted p-values, in the input order (METHODS.md §4.6).

    Sort ascending p_(1..m); adjusted p_(i) = min_{j ≥ i} min(1, c·m·p_(j)/j) with c = 1 for
    Benjamini-Hochberg and c = Σ_{i=1..m} 1/i for Benjamini-Yekutieli (arbitrary dependence).
    [0.01, 0.04, 0.03, 0.005] → BH [0.02, 0.04, 0.04, 0.02]. Agrees with
    `scipy.stats.false_discovery_control`.

    Raises:
        InvalidInput: On NaN or values outside [0, 1], or an unknown method.
    """
    p = as_float_array(p_values).ravel()
    if method not in ("bh", "by"):
        raise InvalidInput(f"unknown FDR method {method!r}; use 'bh' or 'by'")
    if p.size == 0:
        return p
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise InvalidInput("p-values must be numbers in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    ranks = np.arange(1, m + 1, dtype=np.float64)
    factor = float(np.sum(1.0 / ranks)) if method == "by" else 1.0
    scaled = factor * m * p[order] / ranks
    # running minimum from the largest p-value down: min over j ≥ i
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def benjamini_hochberg(p_values: npt.ArrayLike) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (METHODS.md §4.6)."""
    return adjust_pvalues(p_values, method="bh")


def benjamini_yekutieli(p_values: npt.ArrayLike) -> FloatArray:
    """Benjamini-Yekutieli adjusted p-values (METHODS.md §4.6)."""
    return adjust_pvalues(p_values, method="by")


def reject(p_values: npt.ArrayLike, *, q: float = 0.05, method: FdrMethod = "bh") -> BoolArray:
    """Which hypotheses the step-up procedure rejects at FDR level q (METHODS.md §4.6).

    Equivalent to "the largest k with p_(k) ≤ (k/m)·q, reject H_(1..k)": adjusted p ≤ q.
    """
    if not 0.0 < q < 1.0:
        raise InvalidInput(f"q must be in (0, 1), got {q}")
    return np.asarray(adjust_pvalues(p_values, method=method) <= q, dtype=np.bool_)

"""Each value's q-percentile against the rest's, units as clusters, fast at a million spans.

The test of `unit_segments` for percentiles. Rows are one per span, sorted by value; they are
grouped once by value of the key (a stable sort keeps each group sorted) and sums over all
units are computed once. A group's rest is never materialised:

* its percentiles come from order statistics of the rows outside the group, found by binary
  search on the group's positions among all rows;
* its per-unit ratio estimates are the all-units sums corrected on the units the group (or the
  rows between two thresholds) touches: Σ(y - R·n)² = Syy - 2R·Syn + R²·Snn plus the changed
  terms, so each group costs O(its size · log), not O(all rows).

Tests: with ξ the pooled q-percentile, the share of spans above ξ inside against the rest (delta
method over units, METHODS.md §4.10) gives the p-value; the interval is the difference of the
two percentiles ± z·√(se₁² + se₂²) with cluster-robust Woodruff standard errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from llmpulse.analysis.clustered import difference, dot, quantile_estimate, ratio_estimate
from llmpulse.analysis.lazy_scipy import stats
from llmpulse.analysis.types import BoolArray, FloatArray, IntArray


@dataclass(frozen=True, slots=True)
class PercentileTest:
    """One value against the rest: values, difference, interval, effect, p-value.

    Also the result of `unit_segments`' rate and mean tests (there `effect` is φ).
    """

    value1: float
    value2: float
    diff: float
    ci_low: float
    ci_high: float
    effect: float
    """Relative difference (value1 - value2) / value2."""
    p_value: float


@dataclass(frozen=True, slots=True)
class _Sums:
    """Per-unit totals y and n over all units, and the sums their ratio variance needs."""

    y: FloatArray
    n: FloatArray
    sy: float
    sn: float
    syy: float
    syn: float
    snn: float
    units: int

    @classmethod
    def of(cls, y: FloatArray, n: FloatArray) -> _Sums:
        return cls(y, n, float(y.sum()), float(n.sum()), dot(y, y), dot(y, n), dot(n, n),
                   int(np.count_nonzero(n)))  # fmt: skip

    def changed(self, at: IntArray, dy: FloatArray, dn: FloatArray) -> tuple[float, float, int]:
        """(ratio, delta-method variance, units) after adding dy, dn at the units ``at``."""
        y0, n0 = self.y[at], self.n[at]
        y1, n1 = y0 + dy, n0 + dn
        sy, sn = self.sy + float(dy.sum()), self.sn + float(dn.sum())
        c = self.units - int(np.count_nonzero((n0 > 0) & (n1 <= 0)))
        if sn <= 0 or c < 2:
            return math.nan, math.nan, c
        r = sy / sn
        a, b = y0 - r * n0, y1 - r * n1
        ss = self.syy - 2 * r * self.syn + r * r * self.snn + dot(b, b) - dot(a, a)
        nbar = sn / c
        return r, max(ss, 0.0) / (c - 1) / (c * nbar * nbar), c


def percentile_tests(
    values: FloatArray, group: IntArray, unit: IntArray, groups: int, units: int, q: float,
    tested: BoolArray, *, confidence: float = 0.95,
) -> list[PercentileTest | None]:  # fmt: skip
    """Test every group marked in ``tested`` (None where a side has too few values)."""
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    xi = float(np.quantile(values, q, method="linear"))
    pos_xi = max(1, int(np.searchsorted(values, xi, side="right")))  # rows ≤ ξ
    n_u = np.bincount(unit, minlength=units).astype(np.float64)
    above = _Sums.of(n_u - np.bincount(unit[:pos_xi], minlength=units), n_u)
    below = _Sums.of(np.bincount(unit[:pos_xi], minlength=units).astype(np.float64), n_u)
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(groups + 1))
    out: list[PercentileTest | None] = []
    for g in range(groups):
        idx = order[starts[g] : starts[g + 1]]
        if not tested[g] or min(idx.size, values.size - idx.size) * (1.0 - q) < 10:
            out.append(None)
            continue
        out.append(_one(values, unit, idx, q, z, confidence, pos_xi, above, below))
    return out


def _rest_quantile(values: FloatArray, shift: IntArray, size: int, p: float) -> float:
    """numpy's "linear" p-quantile of the rows not in the group.

    ``shift[j] = idx[j] - j`` counts the rest rows before the group's j-th row, so the rest's
    k-th row (0-based) sits at k plus the group rows whose shift is at most k.
    """
    pos = p * (size - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, size - 1)
    i_lo = lo + int(np.searchsorted(shift, lo, side="right"))
    i_hi = hi + int(np.searchsorted(shift, hi, side="right"))
    return float(values[i_lo] + (pos - lo) * (values[i_hi] - values[i_lo]))


def _one(
    values: FloatArray, unit: IntArray, idx: IntArray, q: float, z: float, confidence: float,
    pos_xi: int, above: _Sums, below: _Sums,
) -> PercentileTest | None:  # fmt: skip
    rest_size = values.size - idx.size
    inside = values[idx]
    members, local = np.unique(unit[idx], return_inverse=True)
    n_g = np.bincount(local).astype(np.float64)
    a = quantile_estimate(inside, local, q, confidence=confidence, n_clusters=members.size)
    shift = idx - np.arange(idx.size)
    xi_r = _rest_quantile(values, shift, rest_size, q)
    # Woodruff for the rest: per-unit rest rows ≤ ξ_r, from the counts at the pooled ξ
    pos_r = int(np.searchsorted(values, xi_r, side="right"))
    lo, hi = sorted((pos_xi, pos_r))
    step = 1.0 if pos_r >= pos_xi else -1.0
    in_below = np.bincount(local[: int(np.searchsorted(inside, xi_r, side="right"))],
                           minlength=members.size).astype(np.float64)  # fmt: skip
    at = np.concatenate([members, unit[lo:hi]])
    dy = np.concatenate([-in_below, np.full(hi - lo, step)])
    dn = np.concatenate([-n_g, np.zeros(hi - lo)])
    at, where = np.unique(at, return_inverse=True)
    dy = np.bincount(where, weights=dy, minlength=at.size).astype(np.float64)
    dn = np.bincount(where, weights=dn, minlength=at.size).astype(np.float64)
    _, var_r, c_r = below.changed(at, dy, dn)
    if a.clusters < 2 or c_r < 2 or not math.isfinite(var_r):
        return None
    half = z * math.sqrt(var_r)
    se_r = (_rest_quantile(values, shift, rest_size, min(1.0, q + half))
            - _rest_quantile(values, shift, rest_size, max(0.0, q - half))) / (2 * z)  # fmt: skip
    # the p-value: share above the pooled ξ, inside against the rest
    at_or_below = int(np.searchsorted(inside, values[pos_xi - 1], side="right"))
    y_in = n_g - np.bincount(local[:at_or_below], minlength=members.size)
    inner = ratio_estimate(y_in, n_g)
    r_out, var_out, _ = above.changed(members, -y_in.astype(np.float64), -n_g)
    test = difference(inner.value, inner.variance, r_out, var_out, confidence=confidence)
    d = difference(a.value, a.se**2, xi_r, se_r**2, confidence=confidence)
    rel = d.diff / d.value2 if d.value2 else math.nan
    return PercentileTest(d.value1, d.value2, d.diff, d.ci_low, d.ci_high, rel, test.p_value)

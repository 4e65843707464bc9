"""Columnar aggregates (n, bad, Σx, Σx²) and the vectorised group-vs-group test on them.

Shared by the segment engine (slice vs complement) and discovery (child vs parent remainder).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.lazy_scipy import stats
from llmpulse.analysis.means import (
    bernoulli_variance,
    phi_effect_size,
    summary_from_sums,
    welch_from_summary,
)
from llmpulse.analysis.proportions import compare_proportions, z_quantile
from llmpulse.analysis.types import FloatArray, MetricKind, as_float_array
from llmpulse.domain.errors import InvalidInput

PairTestName = Literal["z", "fisher", "welch", "delta_method", "quantile_test"]


@dataclass(frozen=True, slots=True)
class Aggregates:
    """Additive per-group aggregates; `bad` for proportions, `sum`/`sumsq` for means."""

    n: FloatArray
    bad: FloatArray | None
    sum: FloatArray | None
    sumsq: FloatArray | None
    units: FloatArray | None = None
    """Per row (units C, Σy_c², Σy_c·n_c, Σn_c²) over the units of analysis (METHODS §4.10),
    y_c being a unit's bad events or Σv; with them groups are compared by the delta method."""

    @classmethod
    def build(
        cls,
        n: npt.ArrayLike,
        bad: npt.ArrayLike | None = None,
        total: npt.ArrayLike | None = None,
        sumsq: npt.ArrayLike | None = None,
        units: npt.ArrayLike | None = None,
    ) -> Aggregates:
        """Validate lengths and convert to float arrays."""
        ns = as_float_array(n)
        us = None if units is None else np.asarray(units, dtype=np.float64).reshape(-1, 4)
        if us is not None and us.shape[0] != ns.size:
            raise InvalidInput(f"units has {us.shape[0]} rows, n has {ns.size}")
        parts = [None if v is None else as_float_array(v) for v in (bad, total, sumsq)]
        for name, arr in zip(("bad", "sum", "sumsq"), parts, strict=True):
            if arr is not None and arr.shape != ns.shape:
                raise InvalidInput(f"{name} has {arr.size} entries, n has {ns.size}")
        if (parts[1] is None) != (parts[2] is None):
            raise InvalidInput("sum and sumsq must be given together")
        if (ns < 0).any():
            raise InvalidInput("counts must be non-negative")
        return cls(ns, parts[0], parts[1], parts[2], us)

    def take(self, idx: npt.NDArray[np.intp]) -> Aggregates:
        """The rows at `idx`."""
        e = tuple(None if a is None else a[idx] for a in self._extra())
        units = None if self.units is None else self.units[idx]
        return Aggregates(self.n[idx], e[0], e[1], e[2], units)

    def minus(self, other: Aggregates) -> Aggregates:
        """Row-wise self - other (the complement when self is the whole).

        Unit sums subtract only when no unit is split between the two (a key constant within
        a unit, such as a trace's tier); that is what the callers compare.
        """
        extra = [
            None if a is None or b is None else a - b
            for a, b in zip(self._extra(), other._extra(), strict=True)
        ]
        units = None
        if self.units is not None and other.units is not None:
            units = self.units - other.units
        return Aggregates(self.n - other.n, extra[0], extra[1], extra[2], units)

    def broadcast(self, size: int) -> Aggregates:
        """A single-row aggregate repeated `size` times."""
        e = tuple(None if a is None else np.repeat(a, size) for a in self._extra())
        units = None if self.units is None else np.repeat(self.units, size, axis=0)
        return Aggregates(np.repeat(self.n, size), e[0], e[1], e[2], units)

    def _extra(self) -> tuple[FloatArray | None, FloatArray | None, FloatArray | None]:
        return self.bad, self.sum, self.sumsq


@dataclass(frozen=True, slots=True)
class PairTests:
    """Group 1 vs group 2, row-wise: values, difference, CI, effect φ, two-sided p."""

    value1: FloatArray
    value2: FloatArray
    diff: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    effect: FloatArray
    p_value: FloatArray
    names: list[PairTestName]

    def select(self, mask: npt.NDArray[np.bool_]) -> PairTests:
        """The rows where `mask` is true."""
        return PairTests(
            self.value1[mask], self.value2[mask], self.diff[mask], self.ci_low[mask],
            self.ci_high[mask], self.effect[mask], self.p_value[mask],
            [name for name, keep in zip(self.names, mask, strict=True) if keep],
        )  # fmt: skip


def run_pair_tests(
    kind: MetricKind, a: Aggregates, b: Aggregates, shift: float, confidence: float
) -> PairTests:
    """Test group a against group b row by row (METHODS.md §4.2, §4.3, §4.8).

    Proportions: z-test or Fisher (expected counts < 5) with a Newcombe CI, φ from Bernoulli
    sample variances. Means: Welch from (n, Σx, Σx²) with a t CI, φ from sample variances.
    """
    if a.units is not None and b.units is not None:
        return _delta_tests(kind, a, b, shift, confidence)
    if kind == "proportion":
        if a.bad is None or b.bad is None:
            raise InvalidInput("proportion metrics need `bad` counts per slice and in totals")
        cmp = compare_proportions(a.bad, a.n, b.bad, b.n, confidence=confidence)
        effect = phi_effect_size(
            cmp.rate1, bernoulli_variance(a.bad, a.n), cmp.rate2, bernoulli_variance(b.bad, b.n)
        )
        names: list[PairTestName] = ["fisher" if e else "z" for e in cmp.exact]
        return PairTests(
            cmp.rate1, cmp.rate2, cmp.diff, cmp.ci_low, cmp.ci_high, effect, cmp.p_value, names
        )
    if a.sum is None or a.sumsq is None or b.sum is None or b.sumsq is None:
        raise InvalidInput("mean metrics need `sum` and `sumsq` per slice and in totals")
    m1, v1 = summary_from_sums(a.n, a.sum, a.sumsq, shift=shift)
    m2, v2 = summary_from_sums(b.n, b.sum, b.sumsq, shift=shift)
    w = welch_from_summary(m1, v1, a.n, m2, v2, b.n, confidence=confidence)
    effect = phi_effect_size(m1, v1, m2, v2)
    return PairTests(m1, m2, w.diff, w.ci_low, w.ci_high, effect, w.p_value, ["welch"] * m1.size)


def unit_variance(y: FloatArray, n: FloatArray, units: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Ratio R = y/n per row and its delta-method variance from the unit sums (§4.10).

    Σ(y_c - R·n_c)² = Σy_c² - 2R·Σy_c·n_c + R²·Σn_c²; Var = that / ((C - 1)·C·n̄²).
    """
    c, yy, yn, nn = units[:, 0], units[:, 1], units[:, 2], units[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = y / n
        ss = np.maximum(yy - 2 * r * yn + r * r * nn, 0.0)
        nbar = n / c
        var = np.where(c >= 2, ss / (c - 1) / (c * nbar * nbar), np.nan)
    return r, var


def _delta_tests(
    kind: MetricKind, a: Aggregates, b: Aggregates, shift: float, confidence: float
) -> PairTests:
    """Delta-method z-tests on unit sums; φ from span-level variances as elsewhere."""
    ya = a.bad if kind == "proportion" else a.sum
    yb = b.bad if kind == "proportion" else b.sum
    if ya is None or yb is None or a.units is None or b.units is None:
        raise InvalidInput("delta-method tests need per-slice totals and unit sums")
    r1, v1 = unit_variance(ya, a.n, a.units)
    r2, v2 = unit_variance(yb, b.n, b.units)
    if kind == "proportion":
        effect = phi_effect_size(r1, bernoulli_variance(ya, a.n), r2, bernoulli_variance(yb, b.n))
    else:
        if a.sumsq is None or b.sumsq is None:
            raise InvalidInput("mean metrics need `sumsq` per slice and in totals")
        m1, s1 = summary_from_sums(a.n, ya, a.sumsq, shift=shift)
        m2, s2 = summary_from_sums(b.n, yb, b.sumsq, shift=shift)
        r1, r2 = m1, m2
        effect = phi_effect_size(m1, s1, m2, s2)
    z = z_quantile(confidence)
    diff = r1 - r2
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(v1 + v2)
        p = np.where(se > 0, 2.0 * stats.norm.sf(np.abs(diff) / se), np.where(diff == 0, 1.0, 0.0))
    p = np.where(np.isfinite(se), p, np.nan)
    names: list[PairTestName] = ["delta_method"] * diff.size
    return PairTests(r1, r2, diff, diff - z * se, diff + z * se, effect, p, names)

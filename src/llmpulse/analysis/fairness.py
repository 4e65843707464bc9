"""Fairness screening: selection rates, demographic parity, the four-fifths rule (§4.9, §4.11).

Every ratio is taken on the *favourable* outcome: the rate itself when the counted outcome is
good (selection, thumbs-up), 1 - rate when it is bad (errors, thumbs-down). The most favoured
group is the one with the best favourable rate, and a group passes, fails or is inconclusive
under the four-fifths rule depending on whether the confidence interval of its impact ratio
lies above, below or across the threshold (log-ratio delta method; with cluster-robust rate
variances when the caller gives them, METHODS.md §4.10).

These are screening indicators, not legal determinations. Groups below the support minimum
(METHODS.md §4.1) are shown, flagged as suppressed, and excluded from every ratio.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.proportions import wilson_interval, z_quantile
from llmpulse.analysis.types import BoolArray, Direction, FloatArray, as_float_array
from llmpulse.domain.errors import InvalidInput

FOUR_FIFTHS = 0.8
"""Impact-ratio threshold of the EEOC Uniform Guidelines, 29 CFR §1607.4(D)."""


@dataclass(frozen=True, slots=True)
class GroupRate:
    """One group's selection rate r_g = P(Ŷ = 1 | G = g) with its Wilson CI (§1.9, §4.9)."""

    group: str
    n: int
    selected: int
    rate: float
    ci_low: float
    ci_high: float
    suppressed: bool
    """True when n < min_support: shown, but left out of the ratios."""
    impact_ratio: float | None
    """f_g / f_best on the favourable rate f; None when suppressed or undefined."""
    passes_four_fifths: bool | None
    """True for "pass", False for "fail", None when inconclusive or without a ratio."""
    favourable_rate: float = math.nan
    """The rate of the favourable outcome: `rate`, or 1 - `rate` for a bad outcome."""
    ratio_ci_low: float | None = None
    ratio_ci_high: float | None = None
    four_fifths: Literal["pass", "fail", "inconclusive"] | None = None
    """pass / fail / inconclusive: the ratio's CI above, below or across the threshold."""


@dataclass(frozen=True, slots=True)
class FairnessReport:
    """Demographic parity over the non-suppressed groups (METHODS.md §4.9)."""

    groups: tuple[GroupRate, ...]
    parity_difference: float | None
    """max_g r_g - min_g r_g; None with fewer than two usable groups."""
    parity_ratio: float | None
    """min_g r_g / max_g r_g; None with fewer than two usable groups or max rate 0."""
    most_favoured: str | None
    """The group with the best favourable rate (for errors: the fewest)."""
    threshold: float
    min_support: int
    direction: Direction = "lower_is_worse"
    """Of the counted rate: "higher_is_worse" for bad outcomes such as errors."""

    @property
    def adverse_groups(self) -> tuple[str, ...]:
        """Groups that fail the four-fifths rule (CI of the ratio below the threshold)."""
        return tuple(g.group for g in self.groups if g.passes_four_fifths is False)

    def to_csv(self) -> str:
        """`to_rows` as CSV text; a missing or non-finite number is an empty cell."""
        rows = [
            {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in r.items()}
            for r in self.to_rows()
        ]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["group"])
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()

    def to_rows(self) -> list[dict[str, object]]:
        """One flat dict per group for CSV/JSON export (report-level values repeated)."""
        return [
            {
                "group": g.group,
                "n": g.n,
                "selected": g.selected,
                "selection_rate": g.rate,
                "ci_low": g.ci_low,
                "ci_high": g.ci_high,
                "suppressed": g.suppressed,
                "favourable_rate": g.favourable_rate,
                "impact_ratio": g.impact_ratio,
                "ratio_ci_low": g.ratio_ci_low,
                "ratio_ci_high": g.ratio_ci_high,
                "four_fifths": g.four_fifths,
                "passes_four_fifths": g.passes_four_fifths,
                "most_favoured": g.group == self.most_favoured,
                "parity_difference": self.parity_difference,
                "parity_ratio": self.parity_ratio,
                "threshold": self.threshold,
                "min_support": self.min_support,
            }
            for g in self.groups
        ]


def fairness_report(
    groups: Sequence[str],
    selected: npt.ArrayLike,
    n: npt.ArrayLike,
    *,
    min_support: int = 30,
    threshold: float = FOUR_FIFTHS,
    confidence: float = 0.95,
    direction: Direction = "lower_is_worse",
    variances: npt.ArrayLike | None = None,
) -> FairnessReport:
    """Rates, parity difference/ratio and the four-fifths rule per group (§4.9, §4.11).

    Group A 30/100, B 20/100 selected → difference 0.10, ratio 0.6667, B below 4/5. With
    ``direction="higher_is_worse"`` (errors) the ratio is on 1 - rate: the group with the fewest
    errors is the most favoured.

    Args:
        groups: Group labels (e.g. values of a protected attribute), unique.
        selected: Counted outcomes per group (favourable, or bad when higher is worse).
        n: Members per group.
        min_support: Groups with fewer members are suppressed (§4.1).
        threshold: Impact-ratio threshold (0.8 = four-fifths rule).
        confidence: Level of the per-group Wilson intervals and of the ratio intervals.
        direction: Whether a higher counted rate is worse ("higher_is_worse": errors).
        variances: Per-group variance of the rate (e.g. cluster-robust, §4.10); default
            binomial p(1 - p)/n.
    """
    xs, ns = as_float_array(selected), as_float_array(n)
    _validate(groups, xs, ns, threshold)
    low, high = wilson_interval(xs, ns, confidence=confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(ns > 0, xs / ns, np.nan)
        var = rates * (1.0 - rates) / ns if variances is None else as_float_array(variances)
    fav = 1.0 - rates if direction == "higher_is_worse" else rates
    usable = ns >= max(min_support, 1)
    best_i = _best(groups, fav, usable)
    rows = []
    z = z_quantile(confidence)
    for i, name in enumerate(groups):
        ratio, lo, hi, verdict = _ratio(i, best_i, fav, var, usable, threshold, z)
        rows.append(
            GroupRate(
                group=name, n=int(ns[i]), selected=int(xs[i]), rate=float(rates[i]),
                ci_low=float(low[i]), ci_high=float(high[i]), suppressed=not bool(usable[i]),
                impact_ratio=ratio,
                passes_four_fifths={"pass": True, "fail": False}.get(verdict or ""),
                favourable_rate=float(fav[i]), ratio_ci_low=lo, ratio_ci_high=hi,
                four_fifths=verdict,
            )
        )  # fmt: skip
    return FairnessReport(
        groups=tuple(rows),
        parity_difference=_parity_difference(rates[usable]),
        parity_ratio=_parity_ratio(fav[usable]),
        most_favoured=None if best_i is None else groups[best_i],
        threshold=threshold,
        min_support=min_support,
        direction=direction,
    )


Verdict = Literal["pass", "fail", "inconclusive"]


def _ratio(
    i: int, best: int | None, fav: FloatArray, var: FloatArray, usable: BoolArray,
    threshold: float, z: float,
) -> tuple[float | None, float | None, float | None, Verdict | None]:  # fmt: skip
    """f_i / f_best with a log-ratio delta-method CI, and the four-fifths verdict."""
    if best is None or not usable[i] or not fav[best] > 0:
        return None, None, None, None
    ratio = float(fav[i] / fav[best])
    if i == best:
        return ratio, 1.0, 1.0, "pass"
    if fav[i] <= 0:
        se_hi = math.sqrt(max(float(var[i]), 0.0))
        hi = (z * se_hi) / float(fav[best])
        return ratio, 0.0, hi, "fail" if hi < threshold else "inconclusive"
    se = math.sqrt(float(var[i]) / fav[i] ** 2 + float(var[best]) / fav[best] ** 2)
    lo, hi = ratio * math.exp(-z * se), ratio * math.exp(z * se)
    verdict: Verdict = "inconclusive"
    if lo >= threshold:
        verdict = "pass"
    elif hi < threshold:
        verdict = "fail"
    return ratio, lo, hi, verdict


def _best(groups: Sequence[str], fav: FloatArray, usable: BoolArray) -> int | None:
    """The usable group with the best favourable rate (ties: the first label)."""
    candidates = [(-float(fav[i]), groups[i], i) for i in range(len(groups)) if usable[i]]
    return min(candidates)[2] if candidates else None


def _parity_difference(rates: npt.NDArray[np.float64]) -> float | None:
    return float(rates.max() - rates.min()) if rates.size >= 2 else None


def _parity_ratio(rates: npt.NDArray[np.float64]) -> float | None:
    if rates.size < 2 or rates.max() <= 0:
        return None
    return float(rates.min() / rates.max())


def _validate(
    groups: Sequence[str],
    xs: npt.NDArray[np.float64],
    ns: npt.NDArray[np.float64],
    threshold: float,
) -> None:
    if not (len(groups) == xs.size == ns.size):
        raise InvalidInput("groups, selected and n must have the same length")
    if len(set(groups)) != len(groups):
        raise InvalidInput("group labels must be unique")
    if (xs < 0).any() or (xs > ns).any():
        raise InvalidInput("selected must be between 0 and n for every group")
    if not 0.0 < threshold <= 1.0:
        raise InvalidInput(f"threshold must be in (0, 1], got {threshold}")

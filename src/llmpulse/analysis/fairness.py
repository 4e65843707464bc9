"""Fairness screening: selection rates, demographic parity, the four-fifths rule (§4.9).

These are screening indicators, not legal determinations. Groups below the support minimum
(METHODS.md §4.1) are shown, flagged as suppressed, and excluded from every ratio.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.proportions import wilson_interval
from llmpulse.analysis.types import as_float_array
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
    """r_g / r_max over the non-suppressed groups; None when suppressed or undefined."""
    passes_four_fifths: bool | None
    """impact_ratio ≥ threshold; None when the ratio is None."""


@dataclass(frozen=True, slots=True)
class FairnessReport:
    """Demographic parity over the non-suppressed groups (METHODS.md §4.9)."""

    groups: tuple[GroupRate, ...]
    parity_difference: float | None
    """max_g r_g - min_g r_g; None with fewer than two usable groups."""
    parity_ratio: float | None
    """min_g r_g / max_g r_g; None with fewer than two usable groups or max rate 0."""
    most_favoured: str | None
    threshold: float
    min_support: int

    @property
    def adverse_groups(self) -> tuple[str, ...]:
        """Groups whose impact ratio is below the threshold."""
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
                "impact_ratio": g.impact_ratio,
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
) -> FairnessReport:
    """Selection rates, parity difference/ratio and the four-fifths rule per group (§4.9).

    Group A 30/100, B 20/100 → difference 0.10, ratio 0.6667, B fails the 4/5 rule.

    Args:
        groups: Group labels (e.g. values of a protected attribute), unique.
        selected: Favourable outcomes per group (Ŷ = 1).
        n: Members per group.
        min_support: Groups with fewer members are suppressed (§4.1).
        threshold: Impact-ratio threshold (0.8 = four-fifths rule).
        confidence: Level of the per-group Wilson intervals.
    """
    xs, ns = as_float_array(selected), as_float_array(n)
    _validate(groups, xs, ns, threshold)
    low, high = wilson_interval(xs, ns, confidence=confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(ns > 0, xs / ns, np.nan)
    usable = ns >= max(min_support, 1)
    best = float(rates[usable].max()) if usable.any() else math.nan
    rows = []
    for i, name in enumerate(groups):
        ratio = float(rates[i] / best) if usable[i] and best > 0 else None
        rows.append(
            GroupRate(
                group=name, n=int(ns[i]), selected=int(xs[i]), rate=float(rates[i]),
                ci_low=float(low[i]), ci_high=float(high[i]), suppressed=not bool(usable[i]),
                impact_ratio=ratio,
                passes_four_fifths=None if ratio is None else ratio >= threshold,
            )
        )  # fmt: skip
    return FairnessReport(
        groups=tuple(rows),
        parity_difference=_parity_difference(rates[usable]),
        parity_ratio=_parity_ratio(rates[usable]),
        most_favoured=_most_favoured(groups, rates, usable),
        threshold=threshold,
        min_support=min_support,
    )


def _parity_difference(rates: npt.NDArray[np.float64]) -> float | None:
    return float(rates.max() - rates.min()) if rates.size >= 2 else None


def _parity_ratio(rates: npt.NDArray[np.float64]) -> float | None:
    if rates.size < 2 or rates.max() <= 0:
        return None
    return float(rates.min() / rates.max())


def _most_favoured(
    groups: Sequence[str], rates: npt.NDArray[np.float64], usable: npt.NDArray[np.bool_]
) -> str | None:
    candidates = [(float(rates[i]), groups[i]) for i in range(len(groups)) if usable[i]]
    if not candidates:
        return None
    top = max(rate for rate, _ in candidates)
    return min(name for rate, name in candidates if rate == top)


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

"""Static threshold: the window's value against fixed bounds (no baseline needed)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from llmpulse.analysis.detectors.base import Baseline, DetectorInfo, Series, Verdict
from llmpulse.domain.errors import InvalidInput


@dataclass(frozen=True)
class StaticThreshold:
    """Breached when the window's value is above `upper` or below `lower`.

    For proportions pair it with `min_total` (METHODS.md §1.8: n_min = 20 for error rates) so
    that 1 failure out of 2 requests does not page (§1.9); `wilson` is the stricter variant.

    Attributes:
        upper: Highest normal value (NaN: no upper bound).
        lower: Lowest normal value (NaN: no lower bound).
        min_total: For proportions, fewest trials in the window before it is judged.
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="static",
        summary="fixed upper and/or lower bound on the window's value",
        applies_to=frozenset({"value", "proportion"}),
        defaults={"upper": math.nan, "lower": math.nan, "min_total": 20},
        method_ref="METHODS.md §1.8, §1.9 (minimum samples for rates)",
    )
    upper: float = math.nan
    lower: float = math.nan
    min_total: int = 20

    def __post_init__(self) -> None:
        if math.isnan(self.upper) and math.isnan(self.lower):
            raise InvalidInput("static detector needs upper or lower")
        if self.lower > self.upper:
            raise InvalidInput("static detector: lower must not exceed upper")

    def fit(self, baseline: Series) -> Baseline:
        """Nothing to learn: the bounds are the baseline."""
        return Baseline(math.nan, math.nan, baseline.values.size)

    def score(self, baseline: Baseline, window: Series) -> Verdict:
        """Breached when the value is beyond a bound; score = distance beyond it (≤ 0 inside)."""
        x = window.window_value()
        if window.total is not None and float(window.total.sum()) < self.min_total:
            return Verdict.no_data(f"fewer than {self.min_total} trials in the window")
        if not math.isfinite(x):
            return Verdict.no_data("window has no data")
        over = [x - self.upper if not math.isnan(self.upper) else -math.inf]
        over.append(self.lower - x if not math.isnan(self.lower) else -math.inf)
        score = max(over)
        up = None if math.isnan(self.upper) else self.upper
        lo = None if math.isnan(self.lower) else self.lower
        hit = score > 0
        detail = f"value {x:.4g} {'outside' if hit else 'within'} [{lo}, {up}]"
        return Verdict("breached" if hit else "normal", x, None, lo, up, score, detail)

"""Percent change of the window against a baseline window (the "p95 +200 % over 15 min" rule)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from llmpulse.analysis.detectors.base import (
    Baseline,
    DetectorInfo,
    Series,
    Side,
    Verdict,
    check_side,
    verdict,
)


@dataclass(frozen=True)
class PercentChange:
    """change = 100·(x - b)/|b| where b is the baseline window's value.

    b is the baseline series' `aggregate` when the query computed one over the whole baseline
    window (percentiles, R2), the pooled rate Σbad/Σtotal for counts (R1), and otherwise the
    median of its buckets (robust to one bad bucket). A baseline of 0 has no percent change.

    Attributes:
        threshold_pct: Percent change that breaches (+50 = 1.5x the baseline).
        side: Alerting direction (R7): `up` for latency, errors and cost.
        min_points: Fewest baseline buckets with data.
        min_total: For proportions, fewest trials in the window (§1.8).
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="pct_change",
        summary="percent change of the window's value against the baseline window (+50 %)",
        applies_to=frozenset({"value", "proportion"}),
        defaults={"threshold_pct": 50.0, "side": "up", "min_points": 1, "min_total": 20},
        method_ref="METHODS.md R1, R2, R4 (issue 10: p95 +200 % over a 15-minute window)",
    )
    threshold_pct: float = 50.0
    side: Side = "up"
    min_points: int = 1
    min_total: int = 20

    def __post_init__(self) -> None:
        check_side(self.side)

    def fit(self, baseline: Series) -> Baseline:
        """The baseline window's value."""
        data = baseline.finite()
        if data.size < max(self.min_points, 1):
            return Baseline.not_ready(data.size, f"{data.size} baseline points < {self.min_points}")
        if baseline.aggregate is not None or baseline.is_proportion:
            b = baseline.window_value()
        else:
            b = float(np.median(data))
        if not math.isfinite(b) or b == 0:
            return Baseline.not_ready(data.size, "baseline value is 0 or undefined")
        return Baseline(b, abs(b), data.size)

    def score(self, baseline: Baseline, window: Series) -> Verdict:
        """Score = percent change; breached beyond `threshold_pct` on the alerting side."""
        if not baseline.ready:
            return Verdict.no_data(baseline.reason)
        if window.total is not None and float(window.total.sum()) < self.min_total:
            return Verdict.no_data(f"fewer than {self.min_total} trials in the window")
        x = window.window_value()
        if not math.isfinite(x):
            return Verdict.no_data("window has no data")
        b = baseline.centre
        change = 100.0 * (x - b) / abs(b)
        rel = self.threshold_pct / 100.0 * abs(b)
        return verdict(
            stat=change,
            threshold=self.threshold_pct,
            side=self.side,
            value=x,
            baseline=b,
            bounds=(
                None if self.side == "up" else b - rel,
                None if self.side == "down" else b + rel,
            ),
            name="percent change",
        )

"""Tukey IQR fences (METHODS.md §1.3)."""

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
    described,
    from_scale,
)
from llmpulse.analysis.detectors.zscores import scaled_values

QUANTILE_METHOD = "linear"
"""numpy's default (Hyndman-Fan type 7), pinned because the method moves the fences (§1.3)."""


def tukey_fences(
    data: np.ndarray, factor: float, method: str = QUANTILE_METHOD
) -> tuple[float, ...]:
    """(Q1, Q3, lower fence, upper fence) = Q1 - f·IQR, Q3 + f·IQR (§1.3).

    Oracle (§1.3): [1..10, 100], f = 1.5, linear → Q1 3.5, Q3 8.5, fences (-4, 16).
    """
    q1, q3 = (float(q) for q in np.percentile(data, [25.0, 75.0], method=method))  # type: ignore[call-overload]
    iqr = q3 - q1
    return q1, q3, q1 - factor * iqr, q3 + factor * iqr


@described(
    name="iqr",
    summary="Tukey fences Q1 - f·IQR, Q3 + f·IQR of the baseline (f = 3, outer fences)",
    applies_to=frozenset({"value", "proportion"}),
    method_ref="METHODS.md §1.3",
)
@dataclass(frozen=True)
class TukeyIQR:
    """Breached when the window's value is beyond Q1 - f·IQR or Q3 + f·IQR of the baseline.

    Attributes:
        factor: Fence width in IQRs: 1.5 (inner, warn) or 3.0 (outer, page; the default).
        side: Alerting tail (R7).
        min_points: Fewest baseline points (§1.3: needs n ≳ 20).
        log: Fences on log(x), for skewed metrics (latency, cost).
    """

    info: ClassVar[DetectorInfo]
    factor: float = 3.0
    side: Side = "up"
    min_points: int = 20
    log: bool = False

    def __post_init__(self) -> None:
        check_side(self.side)

    def fit(self, baseline: Series) -> Baseline:
        """Quartiles and fences of the baseline (numpy `linear` quantiles)."""
        data = scaled_values(baseline, self.log)
        if data.size < max(self.min_points, 1):
            return Baseline.not_ready(data.size, f"{data.size} baseline points < {self.min_points}")
        q1, q3, lo, hi = tukey_fences(data, self.factor)
        params = {"q1": q1, "q3": q3, "lower_fence": lo, "upper_fence": hi}
        return Baseline(float(np.median(data)), q3 - q1, data.size, params=params)

    def score(self, baseline: Baseline, window: Series) -> Verdict:
        """Score = distance beyond the nearer alerting fence in IQRs (> 0 means outside)."""
        raw = window.window_value()
        if not baseline.ready:
            return Verdict.no_data(baseline.reason)
        if not math.isfinite(raw) or (self.log and raw <= 0):
            return Verdict.no_data("window has no data")
        x = math.log(raw) if self.log else raw
        p = baseline.params
        iqr = baseline.scale if baseline.scale > 0 else 1.0  # IQR 0: distance in raw units
        up_stat = (x - p["upper_fence"]) / iqr
        down_stat = (p["lower_fence"] - x) / iqr
        stat = {"up": up_stat, "down": down_stat, "both": max(up_stat, down_stat)}[self.side]
        hit = stat > 0
        lower = None if self.side == "up" else from_scale(p["lower_fence"], self.log)
        upper = None if self.side == "down" else from_scale(p["upper_fence"], self.log)
        detail = f"value {raw:.4g} {'outside' if hit else 'inside'} the {self.factor:g}·IQR fences"
        centre = from_scale(baseline.centre, self.log)
        return Verdict("breached" if hit else "normal", raw, centre, lower, upper, stat, detail)

"""Tabular two-sided CUSUM (METHODS.md §1.5)."""

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
from llmpulse.analysis.detectors.zscores import InControlFit, window_on_scale
from llmpulse.analysis.types import FloatArray


def cusum_path(y: FloatArray, k: float) -> tuple[FloatArray, FloatArray]:
    """C⁺_t = max(0, C⁺_{t-1} + y_t - k), C⁻_t = max(0, C⁻_{t-1} - y_t - k), C_0 = 0 (§1.5).

    Args:
        y: Standardised values (x - μ0)/sigma.
        k: Reference value in sigma units.

    Returns:
        `(C⁺, C⁻)`, one entry per input.
    """
    hi = np.empty(y.size, dtype=np.float64)
    lo = np.empty(y.size, dtype=np.float64)
    cp = cm = 0.0
    for i, v in enumerate(y):
        cp = max(0.0, cp + float(v) - k)
        cm = max(0.0, cm - float(v) - k)
        hi[i], lo[i] = cp, cm
    return hi, lo


def first_signal(hi: FloatArray, lo: FloatArray, h: float, side: Side = "both") -> int | None:
    """0-based index of the first C⁺ > h (or C⁻ > h) on the alerting sides; None if none."""
    over = np.zeros(hi.size, dtype=bool)
    if side in ("up", "both"):
        over |= hi > h
    if side in ("down", "both"):
        over |= lo > h
    idx = np.flatnonzero(over)
    return int(idx[0]) if idx.size else None


@described(
    name="cusum",
    summary="tabular CUSUM over the window's buckets (k = 0.5sigma, h = 5sigma)",
    applies_to=frozenset({"value", "proportion"}),
    method_ref="METHODS.md §1.5",
)
@dataclass(frozen=True)
class CUSUM(InControlFit):
    """CUSUM sums over the window's buckets, standardised by the baseline, reset per window.

    The sums start at 0 at the window's first bucket (the reset after an alarm of §1.5), so a
    window of n buckets sees shifts of about 2h/n sigma or more (h = 4, 10 buckets: ≥ 0.8 sigma
    plus k). Score = the larger alerting sum at the last bucket.

    Attributes:
        k: Reference value in sigma units (half the shift to detect).
        h: Decision interval in sigma units: 4 (ARL0 ≈ 168 two-sided) or 5 (≈ 465).
        side: `up` uses C⁺ only (one-sided halves the false-alarm rate), `down` C⁻ only.
        min_points: Fewest baseline buckets.
        robust: Estimate μ0, sigma with median/MAD instead of mean/sd.
        log: Standardise log(x).
    """

    info: ClassVar[DetectorInfo]
    k: float = 0.5
    h: float = 5.0
    side: Side = "up"
    min_points: int = 30
    robust: bool = True
    log: bool = False

    def __post_init__(self) -> None:
        check_side(self.side)

    def score(self, baseline: Baseline, window: Series) -> Verdict:
        """Breached when the alerting sum at the window's last bucket exceeds h."""
        data = window_on_scale(baseline, window, self.log)
        if isinstance(data, Verdict):
            return data
        scale = baseline.scale if baseline.scale > 0 else math.ulp(1.0)
        y = (data - baseline.centre) / scale
        hi, lo = cusum_path(y, self.k)
        up, down = float(hi[-1]), float(lo[-1])
        stat = {"up": up, "down": down, "both": max(up, down)}[self.side]
        hit = stat > self.h
        # The bounds are the last value that keeps the sum at h, given the sum before it.
        prev_hi = float(hi[-2]) if hi.size > 1 else 0.0
        prev_lo = float(lo[-2]) if lo.size > 1 else 0.0
        up_b = baseline.centre + (self.h - prev_hi + self.k) * scale
        lo_b = baseline.centre - (self.h - prev_lo + self.k) * scale
        raw = float(window.finite()[-1])
        return Verdict(
            "breached" if hit else "normal",
            raw,
            from_scale(baseline.centre, self.log),
            None if self.side == "up" else from_scale(lo_b, self.log),
            None if self.side == "down" else from_scale(up_b, self.log),
            stat,
            f"cusum {stat:.3g} {'>' if hit else '≤'} h = {self.h:g}",
        )

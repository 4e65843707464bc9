"""EWMA control chart (METHODS.md §1.4), with time-varying limits from the start of a run."""

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
    band,
    check_side,
    described,
    from_scale,
    verdict,
)
from llmpulse.analysis.detectors.zscores import InControlFit, window_on_scale
from llmpulse.analysis.types import FloatArray
from llmpulse.domain.errors import InvalidInput


def ewma_path(values: FloatArray, z0: float, lam: float) -> FloatArray:
    """z_t = λ·x_t + (1 - λ)·z_{t-1}, starting from z_0 (§1.4 oracle b)."""
    out = np.empty(values.size, dtype=np.float64)
    z = z0
    for i, x in enumerate(values):
        z = lam * float(x) + (1.0 - lam) * z
        out[i] = z
    return out


def ewma_half_width(sigma: float, lam: float, L: float, t: int | None = None) -> float:
    """L·sigma·√(λ/(2 - λ)·[1 - (1 - λ)^{2t}]); steady state when `t` is None (§1.4 oracle a)."""
    factor = lam / (2.0 - lam)
    if t is not None:
        factor *= 1.0 - (1.0 - lam) ** (2 * t)
    return L * sigma * math.sqrt(factor)


@described(
    name="ewma",
    summary="EWMA control chart over the window's buckets (λ = 0.2, L = 2.962)",
    applies_to=frozenset({"value", "proportion"}),
    method_ref="METHODS.md §1.4",
)
@dataclass(frozen=True)
class EWMA(InControlFit):
    """EWMA of the window's buckets, started at the baseline centre, against its limits.

    μ0 and sigma come from an in-control baseline (robust median/MAD by default, else mean/sd
    with the sigma floor of §1.1), never from the EWMA series itself. The chart restarts at μ0
    at the start of every window (the "reset" of §1.4), so the limit at the window's last
    bucket t is the time-varying one; give the window about 10 buckets for λ = 0.2.

    Attributes:
        lam: Smoothing λ; (λ, L) = (0.2, 2.962) targets ARL0 ≈ 500 (Lucas & Saccucci).
        L: Limit width in sd_z units.
        side: Alerting tail (R7).
        min_points: Fewest baseline buckets.
        robust: Estimate μ0, sigma with median/MAD (§1.2) instead of mean/sd (§1.1).
        log: Chart log(x).
    """

    info: ClassVar[DetectorInfo]
    lam: float = 0.2
    L: float = 2.962
    side: Side = "up"
    min_points: int = 30
    robust: bool = True
    log: bool = False

    def __post_init__(self) -> None:
        check_side(self.side)
        if not 0.0 < self.lam <= 1.0:
            raise InvalidInput("ewma: lam must be in (0, 1]")

    def score(self, baseline: Baseline, window: Series) -> Verdict:
        """Score = (z_t - μ0) / sd_z(t) at the window's last bucket; breached beyond L."""
        data = window_on_scale(baseline, window, self.log)
        if isinstance(data, Verdict):
            return data
        z = float(ewma_path(data, baseline.centre, self.lam)[-1])
        half = ewma_half_width(baseline.scale, self.lam, self.L, data.size)
        stat = (z - baseline.centre) / (half / self.L) if half > 0 else 0.0
        return verdict(
            stat=stat,
            threshold=self.L,
            side=self.side,
            value=from_scale(z, self.log),
            baseline=from_scale(baseline.centre, self.log),
            bounds=band(baseline.centre, half, self.side, log=self.log),
            name="ewma",
        )

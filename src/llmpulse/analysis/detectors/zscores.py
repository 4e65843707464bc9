"""Rolling z-score (METHODS.md §1.1) and robust z on median/MAD (§1.2)."""

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
    sigma_floor,
    to_scale,
    verdict,
)
from llmpulse.analysis.types import FloatArray

MAD_TO_SIGMA = 1.482602218505602
"""1/Φ⁻¹(0.75): sigma^ = 1.4826·MAD for normal data (§1.2; scipy's `scale="normal"`)."""

MEAN_AD_TO_SIGMA = math.sqrt(math.pi / 2.0)
"""√(π/2) = 1.2533: sigma^ from the mean absolute deviation, the fallback when MAD = 0 (§1.2)."""


def robust_centre_scale(data: FloatArray) -> tuple[float, float]:
    """Median and sigma^ = 1.4826·MAD, falling back to 1.2533·meanAD when MAD = 0 (§1.2).

    Oracle (§1.2): [1, 2, 3, 4, 100] → (3, 1.4826022).
    """
    med = float(np.median(data))
    dev = np.abs(data - med)
    mad = float(np.median(dev))
    if mad > 0:
        return med, MAD_TO_SIGMA * mad
    return med, MEAN_AD_TO_SIGMA * float(dev.mean())


@dataclass(frozen=True)
class _LocationZ:
    """Fields and scoring shared by `ZScore` and `RobustZ`; they differ only in `fit`."""

    info: ClassVar[DetectorInfo]
    k: float = 3.0
    side: Side = "up"
    min_points: int = 30
    rel_floor: float = 0.05
    abs_floor: float = 0.0
    log: bool = False

    def __post_init__(self) -> None:
        check_side(self.side)

    def score(self, baseline: Baseline, window: Series) -> Verdict:
        """z of the window's value; breached when beyond k on the alerting side."""
        return judge_location(self.info.name, self.k, self.side, self.log, baseline, window)


@described(
    name="zscore",
    summary="z-score of the window against the trailing baseline's mean and sd (k = 3)",
    applies_to=frozenset({"value", "proportion"}),
    method_ref="METHODS.md §1.1",
)
@dataclass(frozen=True)
class ZScore(_LocationZ):
    """z = (x - mean(B)) / s(B), s with ddof=1 and the sigma floor of §1.1.

    Attributes:
        k: Threshold in standard deviations.
        side: Alerting tail (R7).
        min_points: Fewest baseline buckets with data (§1.8 e).
        rel_floor: c_rel of the sigma floor, relative to |mean| (on log scale: log(1 + c_rel)).
        abs_floor: c_abs of the sigma floor, in the detector's units.
        log: Judge log(x) (heavy-tailed metrics: latency, cost; §1.1 c).
    """

    def fit(self, baseline: Series) -> Baseline:
        """Mean and sample sd (ddof=1, R6) of the baseline buckets, with the sigma floor."""
        data = scaled_values(baseline, self.log)
        if data.size < max(self.min_points, 2):
            return Baseline.not_ready(data.size, f"{data.size} baseline points < {self.min_points}")
        mean = float(data.mean())
        s = float(data.std(ddof=1))
        scale = sigma_floor(s, mean, self.rel_floor, self.abs_floor, self.log)
        return Baseline(mean, scale, data.size, params={"sd": s})


@described(
    name="robust_z",
    summary="robust z against the baseline's median and 1.4826·MAD (k = 3.5)",
    applies_to=frozenset({"value", "proportion"}),
    method_ref="METHODS.md §1.2",
)
@dataclass(frozen=True)
class RobustZ(_LocationZ):
    """Robust z = (x - median(B)) / (1.4826·MAD(B)) (§1.2); breakdown point 50 %.

    Attributes:
        k: Threshold (3.5 matches the Iglewicz-Hoaglin modified-z cut-off).
        side: Alerting tail (R7).
        min_points: Fewest baseline buckets with data.
        rel_floor: sigma floor relative to |median| (on log scale: log(1 + c_rel)).
        abs_floor: sigma floor in the detector's units.
        log: Judge log(x).
    """

    k: float = 3.5

    def fit(self, baseline: Series) -> Baseline:
        """Median and sigma^ (MAD, then meanAD, then the sigma floor of §1.1)."""
        data = scaled_values(baseline, self.log)
        if data.size < self.min_points or data.size == 0:
            return Baseline.not_ready(data.size, f"{data.size} baseline points < {self.min_points}")
        med, raw = robust_centre_scale(data)
        scale = sigma_floor(raw, med, self.rel_floor, self.abs_floor, self.log)
        return Baseline(med, scale, data.size, params={"sigma_hat": raw})


class InControlFit:
    """`fit` shared by the control charts (EWMA, CUSUM): μ0 and sigma of an in-control baseline.

    Median/MAD (`RobustZ`, §1.2) when `robust`, else mean/sd with the sigma floor (`ZScore`,
    §1.1); never estimated from the chart's own series.
    """

    side: Side
    min_points: int
    robust: bool
    log: bool

    def fit(self, baseline: Series) -> Baseline:
        """μ0 and sigma of the in-control baseline."""
        kind = RobustZ if self.robust else ZScore
        return kind(side=self.side, min_points=self.min_points, log=self.log).fit(baseline)


def window_on_scale(baseline: Baseline, window: Series, log: bool) -> FloatArray | Verdict:
    """The window's values on the detector's scale, or the verdict when it cannot be judged.

    That verdict is `insufficient_data` (R3): a baseline not ready, or a window without data.
    """
    if not baseline.ready:
        return Verdict.no_data(baseline.reason)
    data = scaled_values(window, log)
    if data.size == 0:
        return Verdict.no_data("window has no data")
    return data


def scaled_values(series: Series, log: bool) -> FloatArray:
    """The finite values of a series on the detector's scale."""
    data = to_scale(series.finite(), log)
    return data[np.isfinite(data)]


def judge_location(
    name: str, k: float, side: Side, log: bool, base: Baseline, window: Series
) -> Verdict:
    """Shared scoring of the location/scale detectors (z, robust z, seasonal fallback)."""
    raw = window.window_value()
    if not base.ready:
        return Verdict.no_data(base.reason, raw if math.isfinite(raw) else None)
    if not math.isfinite(raw) or (log and raw <= 0):
        return Verdict.no_data("window has no data", None)
    x = math.log(raw) if log else raw
    if base.scale > 0:
        z = (x - base.centre) / base.scale
    else:
        z = 0.0 if x == base.centre else math.copysign(math.inf, x - base.centre)
    return verdict(
        stat=z,
        threshold=k,
        side=side,
        value=raw,
        baseline=from_scale(base.centre, log),
        bounds=band(base.centre, k * base.scale, side, log=log),
        name=name,
    )

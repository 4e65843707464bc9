"""The default adaptive detector: what a monitor gets when it names no detector (ADR 0013).

Chosen with `benchmarks/detection.py`: a p-chart for proportions (§1.9, 4 sigma, exact
binomial limits when n·p̄ < 5, the minimum samples of §1.8) and, for values, a robust z on the
log scale against the same hour of week (§1.7), which falls back to a whole-baseline robust z
until three weeks of history exist. The benchmark's figures hold with the `for` durations in
`DEFAULT_FOR_INTERVALS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from llmpulse.analysis.detectors.base import (
    Baseline,
    DetectorInfo,
    Series,
    SeriesKind,
    Side,
    Verdict,
    check_side,
)
from llmpulse.analysis.detectors.proportions import PChart
from llmpulse.analysis.detectors.seasonal import Seasonal

DEFAULT_FOR_INTERVALS: Mapping[SeriesKind, int] = {"value": 1, "proportion": 0}
"""The `for` duration, in evaluation intervals, that monitors using `adaptive` get by default
(ADR 0013): one interval for values (a percentile of one minute's requests has a heavy right
tail: two breaches in a row keep false alarms under one a week), none for counts (exact
binomial limits are calibrated on their own)."""


@dataclass(frozen=True)
class Adaptive:
    """p-chart on counts, seasonal robust z (log scale) on values.

    Attributes:
        k: Threshold of the seasonal robust z on values.
        fallback_k: Threshold of the cold-start robust z (less than 3 weeks of history).
        log: Judge values on the log scale (latency, cost, tokens are heavy-tailed).
        sigmas: p-chart limit width for proportions.
        min_total: Fewest trials in a proportion window (§1.8).
        min_bad: Fewest events for an upward proportion breach.
        side: Alerting tail (R7).
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="adaptive",
        summary="default: p-chart for rates, hour-of-week robust z (log) for values",
        applies_to=frozenset({"value", "proportion"}),
        defaults={
            "k": 3.0,
            "fallback_k": 4.0,
            "log": True,
            "sigmas": 4.0,
            "min_total": 20,
            "min_bad": 3,
            "side": "up",
        },
        method_ref="METHODS.md §1.7, §1.2, §1.9, §1.8 (choice: ADR 0013)",
    )
    k: float = 3.0
    fallback_k: float = 4.0
    log: bool = True
    sigmas: float = 4.0
    min_total: int = 20
    min_bad: int = 3
    side: Side = "up"
    _values: Seasonal = field(init=False, repr=False)
    _rates: PChart = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_side(self.side)
        seasonal = Seasonal(k=self.k, fallback_k=self.fallback_k, side=self.side, log=self.log)
        pchart = PChart(
            sigmas=self.sigmas, side=self.side, min_total=self.min_total, min_bad=self.min_bad
        )
        object.__setattr__(self, "_values", seasonal)
        object.__setattr__(self, "_rates", pchart)

    def fit(self, baseline: Series) -> Baseline:
        """The p-chart's pooled rate for counts, else the seasonal baseline."""
        if baseline.is_proportion:
            return self._rates.fit(baseline)
        return self._values.fit(baseline)

    def score(self, baseline: Baseline, window: Series) -> Verdict:
        """Judge the window with the detector its kind of series calls for."""
        if window.is_proportion:
            return self._rates.score(baseline, window)
        return self._values.score(baseline, window)

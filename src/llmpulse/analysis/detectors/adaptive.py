"""The default adaptive detector: what a monitor gets when it names no detector (ADR 0013).

Chosen with `benchmarks/detection.py`: for proportions a binomial CUSUM over the last `run`
buckets of counts together with the p-chart of §1.9 at 4 sigma on the last one (ADR 0034;
either breaching breaches) and, for
values, a robust z on the log scale against the same hour of week (§1.7), which falls back to
a whole-baseline robust z until three weeks of history exist. The benchmark's figures hold
with the `for` durations in `DEFAULT_FOR_INTERVALS`.
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
from llmpulse.analysis.detectors.bincusum import BinomialCUSUM
from llmpulse.analysis.detectors.proportions import PChart
from llmpulse.analysis.detectors.seasonal import Seasonal
from llmpulse.domain.errors import InvalidInput

RATE_CHARTS = ("binomial_cusum", "p_chart", "both")

DEFAULT_FOR_INTERVALS: Mapping[SeriesKind, int] = {"value": 1, "proportion": 0}
"""The `for` duration, in evaluation intervals, that monitors using `adaptive` get by default
(ADR 0013): one interval for values (a percentile of one minute's requests has a heavy right
tail: two breaches in a row keep false alarms under one a week), none for counts (the binomial
CUSUM, like exact binomial limits, is calibrated on its own: ADR 0034)."""


@dataclass(frozen=True)
class Adaptive:
    """Binomial CUSUM (or p-chart) on counts, seasonal robust z (log scale) on values.

    Attributes:
        k: Threshold of the seasonal robust z on values.
        fallback_k: Threshold of the cold-start robust z (less than 3 weeks of history).
        log: Judge values on the log scale (latency, cost, tokens are heavy-tailed).
        rates: Chart for proportions: `both` (default: breached when the binomial CUSUM or
            the p-chart is), `binomial_cusum` or `p_chart`.
        shift: Binomial CUSUM design shift (odds ratio; p1 ≈ shift·p0).
        h: Binomial CUSUM decision interval (log-likelihood-ratio scale).
        run: Buckets of counts the binomial CUSUM charts per evaluation.
        sigmas: p-chart limit width for proportions (`rates: both` or `p_chart`).
        min_total: Fewest trials in a proportion window (§1.8).
        min_bad: Fewest events for an upward proportion breach.
        side: Alerting tail (R7).
    """

    info: ClassVar[DetectorInfo] = DetectorInfo(
        name="adaptive",
        summary="default: binomial CUSUM + p-chart for rates, hour-of-week robust z on values",
        applies_to=frozenset({"value", "proportion"}),
        defaults={
            "k": 3.0,
            "fallback_k": 4.0,
            "log": True,
            "rates": "both",
            "shift": 6.0,
            "h": 8.0,
            "run": 15,
            "sigmas": 4.0,
            "min_total": 20,
            "min_bad": 3,
            "side": "up",
        },
        method_ref="METHODS.md §1.7, §1.2, §1.5, §1.9, §1.8 (choice: ADR 0013, ADR 0034)",
    )
    k: float = 3.0
    fallback_k: float = 4.0
    log: bool = True
    rates: str = "both"
    shift: float = 6.0
    h: float = 8.0
    run: int = 15
    sigmas: float = 4.0
    min_total: int = 20
    min_bad: int = 3
    side: Side = "up"
    _values: Seasonal = field(init=False, repr=False)
    _pchart: PChart = field(init=False, repr=False)
    _cusum: BinomialCUSUM = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_side(self.side)
        if self.rates not in RATE_CHARTS:
            raise InvalidInput(f"rates must be one of {', '.join(RATE_CHARTS)}, got {self.rates!r}")
        seasonal = Seasonal(k=self.k, fallback_k=self.fallback_k, side=self.side, log=self.log)
        pchart = PChart(
            sigmas=self.sigmas, side=self.side, min_total=self.min_total, min_bad=self.min_bad
        )
        cusum = BinomialCUSUM(
            shift=self.shift,
            h=self.h,
            run=self.run,
            side=self.side,
            min_total=self.min_total,
            min_bad=self.min_bad,
        )
        object.__setattr__(self, "_pchart", pchart)
        object.__setattr__(self, "_cusum", cusum)
        object.__setattr__(self, "_values", seasonal)

    @property
    def count_run(self) -> int:
        """Buckets of counts one evaluation charts (1 for the p-chart)."""
        return 1 if self.rates == "p_chart" else self._cusum.count_run

    def fit(self, baseline: Series) -> Baseline:
        """The rate chart's pooled rate for counts, else the seasonal baseline."""
        if baseline.is_proportion:
            if self.rates == "p_chart":
                return self._pchart.fit(baseline)
            return self._cusum.fit(baseline)  # its p0 also serves as the p-chart's p̄
        return self._values.fit(baseline)

    def score(self, baseline: Baseline, window: Series) -> Verdict:
        """Judge the window with the detector its kind of series calls for.

        With `rates: both` the binomial CUSUM judges the run and the p-chart the window's
        last bucket; the window is breached when either is.
        """
        if not window.is_proportion:
            return self._values.score(baseline, window)
        if self.rates == "p_chart":
            return self._pchart.score(baseline, window)
        chart = self._cusum.score(baseline, window)
        if self.rates == "binomial_cusum" or chart.breached:
            return chart
        single = self._pchart.score(baseline, _last_bucket(window))
        return single if single.breached else chart


def _last_bucket(window: Series) -> Series:
    """The window's last bucket of counts (the p-chart judges one bucket)."""
    bad = window.bad if window.bad is not None else window.values
    total = window.total if window.total is not None else window.values
    starts = None if window.start_s is None else window.start_s[-1:]
    return Series.counts(bad[-1:], total[-1:], starts)

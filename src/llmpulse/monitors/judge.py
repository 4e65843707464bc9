"""One alert series judged at one instant: metric rows → detector `Series` → `Evaluation`.

Pure (no I/O): the live engine and the backtest both call `judge`, so a backtest shows what
the running monitor would have done. The judged window is ``[at - window, at)`` with its value
recomputed over the merged data (METHODS.md R2), and the baseline is the series of tumbling
buckets of the same width that ended at or before the window started (R4), so the baseline's
points are the same statistic as the window's value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.detectors.adaptive import DEFAULT_FOR_INTERVALS
from llmpulse.analysis.detectors.base import Baseline, Detector, Series, Verdict
from llmpulse.analysis.detectors.registry import DEFAULT_DETECTOR, build
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.metrics import MetricSpec, parse_metric
from llmpulse.monitors.evaluation import Evaluation
from llmpulse.monitors.policy import StatePolicy
from llmpulse.monitors.spec import MonitorSpec

Segment = tuple[tuple[str, str], ...]
MIN_WINDOW = timedelta(minutes=1)
MAX_WINDOW = timedelta(days=1)


class Point(NamedTuple):
    """One bucket (or window) of one metric: its value and the spans behind it.

    A named tuple, not a frozen dataclass: a cold history builds ~500,000 of them, and a
    tuple is built several times faster (ADR 0032).
    """

    start: datetime
    value: float | None
    support: int


@dataclass(frozen=True, slots=True, eq=False)
class Track:
    """A series of tumbling buckets as columns (a cached baseline history, ADR 0033): bucket
    starts in Unix microseconds, values (NaN for none) and the spans behind each."""

    start_us: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    support: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.start_us)


EMPTY = Track(np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.int64))


@dataclass(frozen=True, slots=True)
class Prepared:
    """A monitor checked and ready to evaluate: parsed metric, built detector, policy."""

    spec: MonitorSpec
    metric: MetricSpec
    detector: Detector
    policy: StatePolicy

    @property
    def proportion(self) -> bool:
        """Whether the metric is a rate of an outcome (judged on counts)."""
        return self.metric.field.is_outcome and self.metric.agg.value == "rate"


def prepare(spec: MonitorSpec) -> Prepared:
    """Check what the spec model cannot (window range) and build the monitor's detector.

    A monitor on the default detector that gives no ``for`` gets one evaluation interval on
    values and none on rates (ADR 0013, `DEFAULT_FOR_INTERVALS`).

    Raises:
        InvalidInput: a window outside 1 minute to 1 day or not whole seconds (``spec.window``).
    """
    if not MIN_WINDOW <= spec.window <= MAX_WINDOW or spec.window % timedelta(seconds=1):
        raise InvalidInput(
            "window out of range", [FieldError("spec.window", "1 minute to 1 day, whole seconds")]
        )
    metric = parse_metric(spec.metric, "spec.metric")
    detector = build(spec.detector.name, spec.detector.params, "spec.detector")
    policy = spec.state_policy
    if "for_" not in spec.model_fields_set and spec.detector.name == DEFAULT_DETECTOR:
        rate = metric.field.is_outcome and metric.agg.value == "rate"
        intervals = DEFAULT_FOR_INTERVALS["proportion" if rate else "value"]
        policy = StatePolicy(
            for_duration=spec.every * intervals,
            keep_firing_for=policy.keep_firing_for,
            no_data=policy.no_data,
            on_error=policy.on_error,
        )
    return Prepared(spec, metric, detector, policy)


def baseline_series(points: Sequence[Point], proportion: bool) -> Series:
    """The detector's baseline from tumbling buckets (rates as counts, R1)."""
    starts = [p.start.timestamp() for p in points]
    if proportion:
        total = [float(p.support) for p in points]
        bad = [_bad(p) for p in points]
        return Series.counts(bad, total, starts)
    values = [math.nan if p.value is None else p.value for p in points]
    return Series.of(values, starts)


def baseline_track(track: Track, proportion: bool) -> Series:
    """`baseline_series` of a `Track`: the same series, built from columns."""
    starts = track.start_us / 1e6  # what datetime.timestamp() gives for whole microseconds
    if proportion:
        total = track.support.astype(np.float64)
        bad = np.round(np.nan_to_num(track.values) * track.support)  # half to even, as round()
        return Series.counts(bad, total, starts)
    return Series.of(track.values, starts)


def _bad(p: Point) -> float:
    """Events in a bucket from its rate and support (the rate is Σbad / Σtotal, exact)."""
    return float(round((p.value or 0.0) * p.support))


def window_series(point: Point, proportion: bool) -> Series:
    """The judged window as one bucket whose value is the window's own aggregate."""
    if proportion:
        return Series.counts([_bad(point)], [float(point.support)], [point.start.timestamp()])
    value = math.nan if point.value is None else point.value
    return Series.of([value], [point.start.timestamp()], aggregate=value)


def judge(
    monitor: Prepared,
    baseline: Baseline,
    window: Point | None,
    at: datetime,
    segment: Segment = (),
) -> Evaluation:
    """Judge the window ``[at - window, at)`` of one series against its fitted baseline.

    A window with fewer than ``min_samples`` spans is ``no_data``, never normal (R3).
    """
    spec = monitor.spec
    span = (at - spec.window, at)
    name = spec.detector.name
    if window is None or window.support < spec.min_samples or window.value is None:
        have = 0 if window is None else window.support
        verdict_detail = f"{have} spans in the window < min_samples {spec.min_samples}"
        if window is not None and window.value is None and have >= spec.min_samples:
            verdict_detail = "no value in the window"
        return Evaluation.from_verdict(
            at, Verdict.no_data(verdict_detail), window=span, detector=name, segment=segment
        )
    verdict = monitor.detector.score(baseline, window_series(window, monitor.proportion))
    return Evaluation.from_verdict(at, verdict, window=span, detector=name, segment=segment)

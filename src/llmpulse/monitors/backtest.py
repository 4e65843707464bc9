"""Backtest: run a monitor over history and list the alerts it would have fired.

The same judging as the live engine (`judge.judge`) at every evaluation instant of
``[start, end]``, through the real state machine, with two queries in all: the sliding windows
(`MetricQuery.slide`: each window's value recomputed over its own spans) and the tumbling
baseline buckets over the horizon before ``start``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from llmpulse.analysis.detectors.base import Baseline
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.monitors.engine import DEFAULT_HORIZON
from llmpulse.monitors.evaluation import Evaluation
from llmpulse.monitors.filters import span_filter
from llmpulse.monitors.history import PlanKey, Reader, floor_to, points, query
from llmpulse.monitors.judge import Point, Prepared, Segment, baseline_series, judge, prepare
from llmpulse.monitors.labels import alert_labels
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.monitors.states import AlertState, AlertStatus, step

MAX_EVALUATIONS = 200_000


@dataclass(frozen=True, slots=True)
class WouldFire:
    """One alert the monitor would have fired (the JSON contract of issue 10, item 6).

    Attributes:
        start: When it started firing.
        end: When it resolved; None if still firing at the end of the backtest.
        labels: The alert's labels (monitor, project, severity, segment, spec labels).
        value: The window's value when it fired.
        baseline: The baseline's centre then.
        bounds: The normal range then (None on an unbounded side).
    """

    start: datetime
    end: datetime | None
    labels: dict[str, str]
    value: float | None
    baseline: float | None
    bounds: tuple[float | None, float | None]

    def to_json(self) -> dict[str, object]:
        """The contract's JSON object."""
        return {
            "start": self.start.isoformat().replace("+00:00", "Z"),
            "end": None if self.end is None else self.end.isoformat().replace("+00:00", "Z"),
            "labels": self.labels,
            "value": self.value,
            "baseline": self.baseline,
            "bounds": list(self.bounds),
        }


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """The alerts a backtest found, and every evaluation (for charts)."""

    alerts: list[WouldFire]
    evaluations: dict[Segment, list[Evaluation]] = field(default_factory=dict)
    queries: int = 0


def _check(spec: MonitorSpec, start: datetime, end: datetime) -> int:
    every, window = spec.every, spec.window
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise InvalidInput("end must be after start", [FieldError("end", "after start, with zone")])
    if every < timedelta(minutes=1) or every % timedelta(seconds=1):
        raise InvalidInput("every too short", [FieldError("spec.every", "at least 1m")])
    if window % every:
        raise InvalidInput(
            "window must be a whole number of intervals",
            [FieldError("spec.window", "a multiple of spec.every (for the backtest)")],
        )
    if (end - start) / every > MAX_EVALUATIONS:
        raise InvalidInput(
            "backtest too long", [FieldError("end", f"at most {MAX_EVALUATIONS} evaluations")]
        )
    return window // every


async def backtest(
    spec: MonitorSpec,
    start: datetime,
    end: datetime,
    read: Reader,
    horizon: timedelta = DEFAULT_HORIZON,
) -> BacktestResult:
    """Evaluate ``spec`` at every interval in ``[start, end]`` and list its firing episodes.

    Raises:
        InvalidInput: a bad range or spec (the error names the field).
    """
    slide = _check(spec, start, end)
    m = prepare(spec)
    key = PlanKey(spec.project, span_filter(spec.filters), spec.segment_by, spec.window)
    every, window = spec.every, spec.window
    first = floor_to(start, every)
    first = first if first == start else first + every
    last = floor_to(end, every)
    if last < first:
        return BacktestResult([])
    metrics = (m.metric,)
    wframe = await read(query(key, metrics, first - window, last, bucket=every, slide=slide))
    base_end = floor_to(last - window, window)
    base_start = floor_to(first - window, window) - horizon
    bframe = await read(query(key, metrics, base_start, base_end, bucket=window))
    windows = points(key, wframe, metrics)
    bases = points(key, bframe, metrics)
    segments = sorted({seg for seg, _ in windows} | ({()} if key.segment_by is None else set()))
    alerts: list[WouldFire] = []
    evaluations: dict[Segment, list[Evaluation]] = {}
    for seg in segments:
        # The row of bucket b is the window ending where b ends: instant b + every.
        by_end = {p.start + every: p for p in windows.get((seg, m.metric.name), [])}
        base = bases.get((seg, m.metric.name), [])
        evs = _run(m, seg, by_end, base, first, last, horizon)
        evaluations[seg] = evs
        alerts.extend(_episodes(m, seg, evs))
    alerts.sort(key=lambda a: (a.start, sorted(a.labels.items())))
    return BacktestResult(alerts, evaluations, 2)


def _run(
    m: Prepared,
    seg: Segment,
    by_end: dict[datetime, Point],
    base: list[Point],
    first: datetime,
    last: datetime,
    horizon: timedelta,
) -> list[Evaluation]:
    window, every = m.spec.window, m.spec.every
    starts = [p.start for p in base]
    fitted: tuple[datetime, Baseline] | None = None
    out: list[Evaluation] = []
    t = first
    while t <= last:
        upto = floor_to(t - window, window)  # baseline buckets end at or before the window
        if fitted is None or fitted[0] != upto:
            lo = bisect.bisect_left(starts, upto - horizon)
            hi = bisect.bisect_left(starts, upto)
            fitted = (upto, m.detector.fit(baseline_series(base[lo:hi], m.proportion)))
        point = by_end.get(t)
        if point is not None:
            point = Point(t - window, point.value, point.support)
        out.append(judge(m, fitted[1], point, t, seg))
        t += every
    return out


def _episodes(m: Prepared, seg: Segment, evs: list[Evaluation]) -> list[WouldFire]:
    state = AlertState()
    out: list[WouldFire] = []
    opened: WouldFire | None = None
    labels = alert_labels(m.spec, seg)
    for ev in evs:
        state, transitions = step(state, ev, m.policy)
        for tr in transitions:
            if tr.to_status is AlertStatus.FIRING:
                e = tr.evidence
                opened = WouldFire(tr.at, None, labels, e.value, e.baseline, (e.lower, e.upper))
            elif tr.from_status is AlertStatus.FIRING and opened is not None:
                out.append(
                    WouldFire(
                        opened.start, tr.at, labels, opened.value, opened.baseline, opened.bounds
                    )
                )
                opened = None
    if opened is not None:
        out.append(opened)
    return out

"""The one-pass evaluation engine: many monitors of a project at one instant, few queries.

Monitors are grouped into plans (`history.PlanKey`: project, filters, segment key, window);
each plan reads every metric its monitors need in one grouped query for the judged window
(segment fan-out is the GROUP BY of the segment key), plus its cached baseline history
(one bucketed query over the horizon the first time, then only the buckets that closed).
Given a ``read_many``, the cycle's queries of all plans go to the store in one call, which
answers those over the same spans from one scan (ADR 0033); the frames, and so the
evaluations, are the same. A failing query turns the plan's monitors into `error`
evaluations; a failing detector, its monitor's: one failing monitor never stops the others
(a failing batch is asked again plan by plan, so its failure stays with the plan).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from llmpulse.analysis.detectors.base import Baseline
from llmpulse.domain.errors import LlmpulseError
from llmpulse.domain.metrics import MetricSpec
from llmpulse.monitors.evaluation import Evaluation
from llmpulse.monitors.filters import span_filter
from llmpulse.monitors.history import (
    History,
    HistoryCache,
    ManyReader,
    PlanKey,
    Reader,
    floor_to,
    query,
    segment_of,
)
from llmpulse.monitors.judge import (
    EMPTY,
    Point,
    Prepared,
    Segment,
    Track,
    baseline_track,
    judge,
    prepare,
)
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.store.metric_api import MetricColumns, MetricQuery

log = logging.getLogger(__name__)
DEFAULT_HORIZON = timedelta(days=28)
"""Baseline history: four weeks, what the seasonal (hour-of-week) baseline uses (ADR 0013)."""


@dataclass(frozen=True, slots=True)
class SeriesEvaluation:
    """One alert series' evaluation: which monitor, which segment, what it found."""

    monitor: str
    segment: Segment
    evaluation: Evaluation


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What one `Engine.evaluate` did."""

    evaluations: list[SeriesEvaluation]
    queries: int
    plans: int
    reads: int = 0
    """Calls to the store: ``queries`` one by one, or one batch for the whole cycle."""


class Engine:
    """Evaluates monitors at an instant with one grouped query per plan (plus history)."""

    def __init__(
        self,
        read: Reader,
        horizon: timedelta = DEFAULT_HORIZON,
        *,
        read_many: ManyReader | None = None,
    ) -> None:
        """Create an engine over ``read`` (uncached metric queries), and ``read_many`` (the
        same, several at once) to ask a cycle's queries in one batch."""
        self._read = read
        self._read_many = read_many
        self.history = HistoryCache(horizon)
        self._fits: dict[tuple[str, str, Segment], tuple[int, Baseline]] = {}

    async def evaluate(
        self,
        monitors: Sequence[MonitorSpec],
        at: datetime,
        active: Mapping[str, set[Segment]] | None = None,
    ) -> CycleReport:
        """Evaluate ``monitors`` at ``at``.

        Args:
            monitors: The monitors due at ``at`` (any projects).
            at: The evaluation instant; each window is ``[at - window, at)``.
            active: Per monitor, segments not in ``ok`` state: judged even when the window
                has no data for them (so they can reach ``no_data`` or resolve).

        Returns:
            One evaluation per (monitor, segment) and the number of queries run.
        """
        plans: dict[PlanKey, list[Prepared]] = {}
        out: list[SeriesEvaluation] = []
        for spec in monitors:
            try:
                prepared = prepare(spec)
                key = PlanKey(spec.project, span_filter(spec.filters), spec.segment_by, spec.window)
            except LlmpulseError as err:
                window = (at - spec.window, at)
                ev = Evaluation.failed(at, err.detail, window=window, detector=spec.detector.name)
                out.append(SeriesEvaluation(spec.name, (), ev))
                continue
            plans.setdefault(key, []).append(prepared)
        if self._read_many is not None and plans:
            batched = await self._batch(self._read_many, plans, at, active or {})
            if batched is not None:
                return CycleReport(out + batched[0], batched[1], len(plans), reads=1)
        queries = 0
        for key, members in plans.items():
            evs, n = await self._plan(key, members, at, active or {})
            out.extend(evs)
            queries += n
        return CycleReport(out, queries, len(plans), reads=queries)

    async def _batch(
        self,
        read_many: ManyReader,
        plans: Mapping[PlanKey, list[Prepared]],
        at: datetime,
        active: Mapping[str, set[Segment]],
    ) -> tuple[list[SeriesEvaluation], int] | None:
        """Every plan's history and window queries in one call; None if the call failed."""
        asked: list[tuple[PlanKey, list[Prepared], History, MetricQuery | None]] = []
        qs: list[MetricQuery] = []
        for key, members in plans.items():
            metrics = _distinct(m.metric for m in members)
            history = self.history.get(key, metrics)
            pending = history.pending(key, self._end(key, at), self.history.horizon)
            asked.append((key, members, history, pending))
            qs.extend([] if pending is None else [pending])
        for key, members in plans.items():
            metrics = _distinct(m.metric for m in members)
            qs.append(query(key, metrics, at - key.window, at, bucket=None))
        try:
            frames = await read_many(qs)
        except Exception as err:  # noqa: BLE001 - asked again plan by plan, errors stay per plan
            log.warning("batched monitor queries failed, asking plan by plan: %s", err)
            return None
        histories = iter(frames[: len(qs) - len(plans)])
        out: list[SeriesEvaluation] = []
        for (key, members, history, pending), frame in zip(
            asked, frames[len(qs) - len(plans) :], strict=True
        ):
            if pending is not None:
                history.absorb(key, next(histories), self._end(key, at), self.history.horizon)
            metrics = _distinct(m.metric for m in members)
            out.extend(self._judge_plan(key, members, history, frame, metrics, at, active))
        return out, len(qs)

    def _end(self, key: PlanKey, at: datetime) -> datetime:
        """Where the plan's baseline ends at ``at``: the last bucket before the window."""
        return floor_to(at - key.window, key.window)

    async def _plan(
        self,
        key: PlanKey,
        members: list[Prepared],
        at: datetime,
        active: Mapping[str, set[Segment]],
    ) -> tuple[list[SeriesEvaluation], int]:
        metrics = _distinct(m.metric for m in members)
        history = self.history.get(key, metrics)
        try:
            n = await history.extend(key, self._end(key, at), self.history.horizon, self._read)
            frame = await self._read(query(key, metrics, at - key.window, at, bucket=None))
            cols = MetricColumns.of(frame)
        except Exception as err:  # noqa: BLE001 - any failure of the plan's queries is an error state
            log.warning("monitor query failed for %s: %s", [m.spec.name for m in members], err)
            return [
                SeriesEvaluation(
                    m.spec.name,
                    (),
                    Evaluation.failed(
                        at,
                        f"query failed: {err}",
                        window=(at - key.window, at),
                        detector=m.spec.detector.name,
                    ),
                )
                for m in members
            ], 1
        return self._judge_plan(key, members, history, cols, metrics, at, active), n + 1

    def _judge_plan(
        self,
        key: PlanKey,
        members: list[Prepared],
        history: History,
        frame: MetricColumns,
        metrics: tuple[MetricSpec, ...],
        at: datetime,
        active: Mapping[str, set[Segment]],
    ) -> list[SeriesEvaluation]:
        windows = _window_points(key, frame, metrics, at)
        out: list[SeriesEvaluation] = []
        for m in members:
            out.extend(
                self._judge_monitor(
                    key,
                    m,
                    history.series,
                    history.version,
                    windows,
                    at,
                    active.get(m.spec.name, set()),
                )
            )
        return out

    def _judge_monitor(
        self,
        key: PlanKey,
        m: Prepared,
        series: Mapping[tuple[Segment, str], Track],
        version: int,
        windows: Mapping[tuple[Segment, str], Point],
        at: datetime,
        active: set[Segment],
    ) -> list[SeriesEvaluation]:
        name = m.metric.name
        # Judged: segments with data in the window or in the baseline history (a segment
        # that went quiet is no_data, never silently dropped), and those not in `ok`.
        known = {seg for seg, metric in windows if metric == name}
        known |= {seg for seg, metric in series if metric == name and series[(seg, metric)]}
        segments = known | active
        if key.segment_by is None:
            segments = {()}
        out = []
        for seg in sorted(segments):
            try:
                base = self._fit(m, seg, series.get((seg, name), EMPTY), version)
                ev = judge(m, base, windows.get((seg, name)), at, seg)
            except Exception as err:  # noqa: BLE001 - a detector failure is this series' error
                ev = Evaluation.failed(
                    at,
                    f"detector failed: {err}",
                    window=(at - key.window, at),
                    detector=m.spec.detector.name,
                    segment=seg,
                )
            out.append(SeriesEvaluation(m.spec.name, seg, ev))
        return out

    def _fit(self, m: Prepared, seg: Segment, track: Track, version: int) -> Baseline:
        """The series' fitted baseline, refitted only when the history moved on."""
        k = (m.spec.project + "/" + m.spec.name, repr(m.spec.detector), seg)
        hit = self._fits.get(k)
        if hit is not None and hit[0] == version:
            return hit[1]
        base = m.detector.fit(baseline_track(track, m.proportion))
        self._fits[k] = (version, base)
        return base

    def reset(self) -> None:
        """Drop every cached history and fit (the next cycle is a cold one)."""
        self.history.clear()
        self._fits.clear()


def _distinct(metrics: Iterable[MetricSpec]) -> tuple[MetricSpec, ...]:
    seen: dict[str, MetricSpec] = {}
    for m in metrics:
        seen.setdefault(m.name, m)
    return tuple(seen[k] for k in sorted(seen))


def _window_points(
    key: PlanKey, cols: MetricColumns, metrics: tuple[MetricSpec, ...], at: datetime
) -> dict[tuple[Segment, str], Point]:
    """The judged window's value per (segment, metric), from a bucket-less query's rows."""
    start = at - key.window
    out: dict[tuple[Segment, str], Point] = {}
    for r, g in enumerate(cols.group_index.tolist()):
        segment = segment_of(key, cols.groups[g])
        if segment is None:
            continue
        n = int(cols.n[r])
        for i, m in enumerate(metrics):
            if m.name == "count":
                pt = Point(start, float(n), n)
            else:
                v = float(cols.values[r, i])
                pt = Point(start, None if math.isnan(v) else v, int(cols.support[r, i]))
            out.setdefault((segment, m.name), pt)
    return out

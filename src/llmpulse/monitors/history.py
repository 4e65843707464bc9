"""Per-query baseline history, cached between evaluation cycles and extended incrementally.

A plan (project, filters, segment key, window width, metrics) reads its baseline as one
bucketed, grouped query over the baseline horizon the first time; after that each cycle asks
only for the buckets that closed since, and drops those that left the horizon. Fitted
detector baselines are kept per series until the history moves on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from llmpulse.clock import to_unix_us
from llmpulse.domain.metrics import MetricSpec
from llmpulse.monitors.judge import Point, Segment, Track
from llmpulse.store.api import SpanFilter, TimeRange
from llmpulse.store.metric_api import MetricColumns, MetricFrame, MetricQuery

Reader = Callable[[MetricQuery], Awaitable[MetricFrame]]
"""Runs one metric query (uncached: the event store on a worker thread)."""
ManyReader = Callable[[Sequence[MetricQuery]], Awaitable[list[MetricColumns]]]
"""Runs several metric queries at once, columns for each (`EventStore.metric_columns`)."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_SEGMENTS = 200


@dataclass(frozen=True, slots=True)
class PlanKey:
    """What one grouped query family shares: monitors with equal keys share their queries."""

    project: str
    where: SpanFilter
    segment_by: str | None
    window: timedelta


def floor_to(t: datetime, width: timedelta) -> datetime:
    """``t`` rounded down to a multiple of ``width`` since the Unix epoch."""
    return EPOCH + ((t - EPOCH) // width) * width


def segment_of(key: PlanKey, group: tuple[str | None, ...]) -> Segment | None:
    """The alert series' segment labels of a result group (None: spans without the key)."""
    if key.segment_by is None:
        return ()
    value = group[0] if group else None
    return None if value is None else ((key.segment_by, value),)


def query(
    key: PlanKey,
    metrics: tuple[MetricSpec, ...],
    start: datetime,
    end: datetime,
    *,
    bucket: timedelta | None,
    slide: int = 1,
) -> MetricQuery:
    """The grouped metric query of a plan over ``[start, end)``."""
    return MetricQuery(
        key.project,  # type: ignore[arg-type]  # a ProjectName is a str
        metrics,
        TimeRange(start, end),
        bucket=bucket,
        group_by=(key.segment_by,) if key.segment_by else (),
        where=key.where,
        max_groups=MAX_SEGMENTS,
        slide=slide,
    )


def points(
    key: PlanKey, frame: MetricFrame, metrics: tuple[MetricSpec, ...]
) -> dict[tuple[Segment, str], list[Point]]:
    """Per (segment, metric name): the frame's rows as points, oldest first."""
    # A cold history is ~1,000 buckets x segments x metrics: `MetricSpec.name` formats text on
    # each call, so names are worked out once here, not per row (cold cycle: see ADR 0032).
    names = [(i, m.name, m.name == "count") for i, m in enumerate(metrics)]
    out: dict[tuple[Segment, str], list[Point]] = {}
    for row in frame.rows:
        segment = segment_of(key, row.group)
        if segment is None or row.bucket is None:
            continue
        for i, name, is_count in names:
            if is_count:
                pt = Point(row.bucket, float(row.n), row.n)
            else:
                pt = Point(row.bucket, row.values[i], row.support[i])
            out.setdefault((segment, name), []).append(pt)
    return out


def tracks(
    key: PlanKey, cols: MetricColumns, metrics: tuple[MetricSpec, ...]
) -> dict[tuple[Segment, str], Track]:
    """Per (segment, metric name): the columns' bucketed rows as a track, oldest first (what
    `points` gives, as columns)."""
    out: dict[tuple[Segment, str], Track] = {}
    if cols.bucket_us is None or not len(cols.n):
        return out
    for g, group in enumerate(cols.groups):
        segment = segment_of(key, group)
        if segment is None:
            continue
        rows = np.flatnonzero(cols.group_index == g)
        if not len(rows):
            continue
        starts = cols.bucket_us[rows]
        for i, m in enumerate(metrics):
            name = m.name
            if name == "count":
                n = cols.n[rows]
                out[(segment, name)] = Track(starts, n.astype(np.float64), n)
            else:
                out[(segment, name)] = Track(starts, cols.values[rows, i], cols.support[rows, i])
    return out


@dataclass
class History:
    """The cached tumbling-bucket baseline of one plan."""

    metrics: tuple[MetricSpec, ...]
    until: datetime | None = None
    series: dict[tuple[Segment, str], Track] = field(default_factory=dict)
    version: int = 0

    async def extend(self, key: PlanKey, end: datetime, horizon: timedelta, read: Reader) -> int:
        """Bring the history up to ``end`` (a bucket boundary); return the queries run."""
        q = self.pending(key, end, horizon)
        if q is None:
            return 0
        self.absorb(key, MetricColumns.of(await read(q)), end, horizon)
        return 1

    def pending(self, key: PlanKey, end: datetime, horizon: timedelta) -> MetricQuery | None:
        """The query that brings the history up to ``end``; None if it is there already."""
        start = end - horizon
        if self.until is not None and self.until >= end:
            return None
        since = start if self.until is None or self.until < start else self.until
        return query(key, self.metrics, since, end, bucket=key.window)

    def absorb(self, key: PlanKey, cols: MetricColumns, end: datetime, horizon: timedelta) -> None:
        """Add the answer to `pending`'s query and drop the buckets that left the horizon."""
        first = to_unix_us(end - horizon)
        for sk, new in tracks(key, cols, self.metrics).items():
            old = self.series.get(sk)
            if old is not None:
                new = Track(
                    np.concatenate([old.start_us, new.start_us]),
                    np.concatenate([old.values, new.values]),
                    np.concatenate([old.support, new.support]),
                )
            self.series[sk] = new
        for sk, track in list(self.series.items()):
            kept = track.start_us >= first
            if kept.all():
                continue
            if kept.any():
                self.series[sk] = Track(
                    track.start_us[kept], track.values[kept], track.support[kept]
                )
            else:
                del self.series[sk]
        self.until = end
        self.version += 1


class HistoryCache:
    """Histories by plan key and metric set; dropped when no monitor uses them any more."""

    def __init__(self, horizon: timedelta) -> None:
        self.horizon = horizon
        self._plans: dict[tuple[PlanKey, tuple[str, ...]], History] = {}

    def get(self, key: PlanKey, metrics: tuple[MetricSpec, ...]) -> History:
        """The plan's history (empty the first time)."""
        k = (key, tuple(m.name for m in metrics))
        if k not in self._plans:
            self._plans[k] = History(metrics)
        return self._plans[k]

    def retain(self, keys: set[tuple[PlanKey, tuple[str, ...]]]) -> None:
        """Forget the histories of plans no longer evaluated."""
        for k in list(self._plans):
            if k not in keys:
                del self._plans[k]

    def clear(self) -> None:
        """Forget everything (the next cycle reads the whole horizon again)."""
        self._plans.clear()

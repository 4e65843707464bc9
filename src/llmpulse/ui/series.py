"""Metric frames → chart series (no I/O).

A frame row exists only for buckets with spans; a metric value is None where no span had the
field. Both are gaps, never zeros, except for the request count, whose missing buckets really
are zero requests once the series has any data at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from llmpulse.store.metric_api import MetricFrame
from llmpulse.ui.charts import Series, floor_time

NONE_GROUP = "(none)"
MAX_SPLIT_GROUPS = 8


def bucket_starts(start: datetime, end: datetime, bucket: timedelta) -> list[datetime]:
    """Every bucket start from the bucket holding ``start`` up to before ``end``."""
    out = []
    t = floor_time(start, bucket)
    while t < end:
        out.append(t)
        t += bucket
    return out


def _points(
    frame: MetricFrame, metric: str, group: tuple[str | None, ...] | None = None
) -> dict[datetime, float]:
    i = frame.metrics.index(metric)
    out: dict[datetime, float] = {}
    for row in frame.rows:
        if row.bucket is None or (group is not None and row.group != group):
            continue
        v = row.values[i]
        if v is not None:
            out[row.bucket] = float(v)
    return out


def metric_series(
    frame: MetricFrame, metric: str, name: str, zero_fill: Sequence[datetime] = ()
) -> Series:
    """One metric of an ungrouped frame; with ``zero_fill``, missing buckets count as 0."""
    points = _points(frame, metric)
    if points and zero_fill:
        points = {t: points.get(t, 0.0) for t in sorted(set(zero_fill) | set(points))}
    return Series(name, tuple(sorted(points.items())))


def group_label(group: tuple[str | None, ...]) -> str:
    """A group as text: its values joined, ``(none)`` for a missing value."""
    return " / ".join(NONE_GROUP if g is None else str(g) for g in group) or NONE_GROUP


def group_series(
    frame: MetricFrame, metric: str, top: int = MAX_SPLIT_GROUPS, zero_fill: bool = False
) -> list[Series]:
    """One series per group of a grouped frame, the ``top`` largest groups (by spans) first."""
    sizes: dict[tuple[str | None, ...], int] = {}
    for row in frame.rows:
        sizes[row.group] = sizes.get(row.group, 0) + row.n
    groups = sorted(sizes, key=lambda g: (-sizes[g], group_label(g)))[:top]
    buckets = sorted({r.bucket for r in frame.rows if r.bucket is not None})
    out = []
    for g in groups:
        points = _points(frame, metric, g)
        if zero_fill and points:
            points = {t: points.get(t, 0.0) for t in buckets}
        out.append(Series(group_label(g), tuple(sorted(points.items()))))
    return out

"""Version comparison inputs from unit frames: the live window and per-unit totals.

Pure helpers of `SegmentService.compare_versions` and `SegmentService.fairness` (the store
frames come in, analysis inputs go out; METHODS.md §4.10-4.11).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import numpy.typing as npt

from llmpulse.analysis.clustered import ratio_estimate
from llmpulse.analysis.comparison import LatencyMetric, MeanMetric, MetricInput, ProportionMetric
from llmpulse.analysis.direction import metric_direction
from llmpulse.domain.metrics import Agg, MetricField, MetricSpec, Source
from llmpulse.store.api import TimeRange
from llmpulse.store.metric_api import UnitFrame

FloatArray = npt.NDArray[np.float64]
COUNT = MetricSpec(MetricField("count", Source.COUNT), Agg.COUNT)


def overlap_window(frame: UnitFrame, a: str, b: str, time: TimeRange) -> TimeRange:
    """When both values had spans: [latest first span, earliest last span], end exclusive.

    ``time`` (the requested range) when a value has no span; an empty range at the later
    start when they never ran together.
    """
    where = {v: i for i, v in enumerate(frame.values)}
    if a not in where or b not in where:
        return time
    firsts = [frame.first[where[a]], frame.first[where[b]]]
    lasts = [frame.last[where[a]], frame.last[where[b]]]
    if None in firsts or None in lasts:
        return time
    start = max(t for t in firsts if t is not None)
    end = min(t for t in lasts if t is not None) + timedelta(microseconds=1)
    if end <= start:  # never live together: nothing to compare
        return TimeRange(start, start)
    return TimeRange(start, end)


def version_input(frame: UnitFrame, a: str, b: str, m: MetricSpec, guard: bool) -> MetricInput:
    """Baseline ``a`` and candidate ``b`` of one metric, with their units (all spans)."""
    d = metric_direction(m.field)
    where = {v: i for i, v in enumerate(frame.values)}

    def pick(value: str) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        inside = frame.group == where.get(value, -1)
        units = frame.cluster[inside].astype(np.float64)
        return frame.n[inside], frame.sum[inside], frame.sumsq[inside], units

    (na, sa, qa, ca), (nb, sb, qb, cb) = pick(a), pick(b)
    if m.quantile is not None and not m.field.is_outcome:
        return LatencyMetric(
            m.name, sa, sb, quantile=m.quantile, direction=d, guard_rail=guard,
            baseline_units=ca.astype(np.int64), candidate_units=cb.astype(np.int64),
        )  # fmt: skip
    ua, ub = _per_unit(ca, sa, na), _per_unit(cb, sb, nb)
    if m.field.is_outcome:
        return ProportionMetric(
            m.name, int(sa.sum()), int(na.sum()), int(sb.sum()), int(nb.sum()),
            direction=d, guard_rail=guard, baseline_units=ua, candidate_units=ub,
        )  # fmt: skip
    return MeanMetric(
        m.name, int(na.sum()), float(sa.sum()), float(qa.sum()), int(nb.sum()),
        float(sb.sum()), float(qb.sum()), direction=d, guard_rail=guard,
        baseline_units=ua, candidate_units=ub,
    )  # fmt: skip


def _per_unit(units: FloatArray, y: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(Σy, Σn) per unit code present."""
    _, inverse = np.unique(units, return_inverse=True)
    sy = np.bincount(inverse, weights=y).astype(np.float64)
    return sy, np.bincount(inverse, weights=n).astype(np.float64)


def group_rates(frame: UnitFrame) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per value of the key: bad events, spans and the cluster-robust variance of the rate."""
    g = len(frame.values)
    bad = np.bincount(frame.group, weights=frame.sum, minlength=g).astype(np.float64)
    n = np.bincount(frame.group, weights=frame.n, minlength=g).astype(np.float64)
    var = np.full(g, np.nan)
    for i in range(g):
        inside = frame.group == i
        var[i] = ratio_estimate(frame.sum[inside], frame.n[inside]).variance
    return bad, n, var

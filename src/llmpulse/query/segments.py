"""`SegmentService`: segment comparison, slice discovery, fairness and version comparison.

The store computes additive per-slice statistics (one GROUPING SETS query) and bounded samples;
`llmpulse.analysis` does the statistics. Which test runs depends on the metric
(METHODS.md §4): outcome rates (``error:rate``) → two-proportion z / Fisher; means
(``cost_usd:mean``) → Welch; percentiles (``latency_ms:p95``) → Mann-Whitney on samples with a
bootstrap interval of the percentile difference, then Benjamini-Hochberg across segments.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from llmpulse.analysis.changes import SliceChange, discover_changes
from llmpulse.analysis.comparison import (
    ComparisonReport,
    LatencyMetric,
    MeanMetric,
    MetricInput,
    ProportionMetric,
    compare_versions,
)
from llmpulse.analysis.discovery import discover_slices
from llmpulse.analysis.distributions import compare_distributions
from llmpulse.analysis.fairness import FairnessReport, fairness_report
from llmpulse.analysis.segments import SliceResult, SliceStats, SliceTotals, compare_slices
from llmpulse.domain.cohorts import Condition
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import MetricSpec, Source
from llmpulse.query.cohorts import CohortService
from llmpulse.query.service import QueryService
from llmpulse.store.api import (
    CohortKey,
    GroupKey,
    SampleQuery,
    SliceFrame,
    SliceQuery,
    SpanFilter,
    TimeRange,
    label_of,
)

Direction = Literal["higher_is_worse", "lower_is_worse"]
Kind = Literal["proportion", "mean", "distribution"]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which spans an analysis looks at."""

    project: ProjectName
    time: TimeRange = field(default_factory=TimeRange)
    where: SpanFilter = field(default_factory=SpanFilter)


@dataclass(frozen=True, slots=True)
class SegmentReport:
    """Every value of the keys compared with the rest on one metric."""

    metric: str
    kind: Kind
    keys: tuple[str, ...]
    total_n: int
    rows: list[SliceResult]


def segment_of(key: GroupKey, value: str) -> tuple[tuple[Condition, ...], bool]:
    """The (conditions, complement) that select one value of a key (cohorts: in / out)."""
    if isinstance(key, CohortKey):
        return key.conditions, value != "in"
    return (Condition(key, "=", (value,)),), False


def _with_segment(q: SampleQuery, segment: tuple[Condition, ...], complement: bool) -> SampleQuery:
    return replace(q, segment=segment, complement=complement)


def comparable(m: MetricSpec) -> MetricSpec:
    """``m`` itself, unless it cannot differ between groups (``count`` is 1 for every span).

    Raises:
        InvalidInput: the metric is ``count``.
    """
    if m.field.source is Source.COUNT:
        raise InvalidInput("count is not compared", [FieldError("metric", "e.g. error:rate")])
    return m


def aggregate_kind(m: MetricSpec) -> Literal["proportion", "mean"]:
    """The test family on per-slice sums: percentiles are searched on the mean."""
    return "proportion" if m.field.is_outcome else "mean"


def metric_kind(m: MetricSpec) -> Kind:
    """Which family of tests a metric takes."""
    if m.field.is_outcome:
        return "proportion"
    if m.quantile is not None:
        return "distribution"
    return "mean"


def to_stats(frame: SliceFrame, kind: Kind) -> tuple[SliceStats, SliceTotals]:
    """Store slice rows → analysis aggregates (Σv is the bad count for outcomes)."""
    keys = tuple(r.keys for r in frame.rows)
    n = [r.n for r in frame.rows]
    t = frame.total
    if kind == "proportion":
        stats = SliceStats(keys, n, bad=[r.sum for r in frame.rows])
        return stats, SliceTotals(t.n, bad=t.sum)
    stats = SliceStats(
        keys, n, sum=[r.sum for r in frame.rows], sumsq=[r.sumsq for r in frame.rows]
    )
    return stats, SliceTotals(t.n, sum=t.sum, sumsq=t.sumsq)


@dataclass(frozen=True, slots=True)
class ChangeReport:
    """Slices ranked by how much worse they got from the baseline to the current window."""

    metric: str
    kind: Kind
    keys: tuple[str, ...]
    baseline_n: int
    current_n: int
    rows: list[SliceChange]


class SegmentService:
    """Segment analyses over one project's spans.

    Keys may name saved cohorts (``cohort:<name>``): every analysis resolves them first, so
    callers (REST, UI, SDK through REST) pass keys as users wrote them.
    """

    def __init__(self, query: QueryService, cohorts: CohortService | None = None) -> None:
        self._query = query
        self._cohorts = cohorts

    async def _resolve(self, scope: Scope, keys: tuple[GroupKey, ...]) -> tuple[GroupKey, ...]:
        if self._cohorts is None:
            return keys
        return await self._cohorts.resolve_keys(scope.project, keys)

    async def _slices(
        self, scope: Scope, m: MetricSpec, keys: tuple[GroupKey, ...], pairs: bool
    ) -> SliceFrame:
        q = SliceQuery(scope.project, m.field, keys, scope.time, scope.where, pairs=pairs)
        return await self._query.slices(q)

    async def compare_key(
        self, scope: Scope, m: MetricSpec, key: GroupKey, *,
        direction: Direction = "higher_is_worse", min_support: int = 30, q: float = 0.05,
    ) -> SegmentReport:  # fmt: skip
        """Each value of ``key`` against the rest of the traffic."""
        (key,) = await self._resolve(scope, (key,))
        kind = metric_kind(comparable(m))
        frame = await self._slices(scope, m, (key,), pairs=False)
        if kind == "distribution":
            rows = await self._distribution_rows(scope, m, key, frame, direction, min_support, q)
        else:
            stats, totals = to_stats(frame, kind)
            rows = compare_slices(
                stats, totals, kind=kind, direction=direction, min_support=min_support, q=q
            )
        return SegmentReport(m.name, kind, (label_of(key),), frame.total.n, rows)

    async def _distribution_rows(
        self, scope: Scope, m: MetricSpec, key: GroupKey, frame: SliceFrame, direction: Direction,
        min_support: int, q: float,
    ) -> list[SliceResult]:  # fmt: skip
        values = [r for r in frame.rows if len(r.keys) == 1][:30]

        async def pair(value: str) -> tuple[list[float], list[float]]:
            base = SampleQuery(scope.project, m.field, *segment_of(key, value),
                               scope.time, scope.where, limit=2000)  # fmt: skip
            return await asyncio.gather(
                self._query.sample(base), self._query.sample(replace(base, complement=True))
            )

        samples = await asyncio.gather(*(pair(r.keys[0][1]) for r in values))
        return compare_distributions(
            [r.keys for r in values], [r.n for r in values], frame.total.n, samples,
            quantile=m.quantile or 0.5, direction=direction, min_support=min_support, q=q,
        )  # fmt: skip

    async def discover(
        self, scope: Scope, m: MetricSpec, keys: tuple[GroupKey, ...], *,
        direction: Direction = "higher_is_worse", min_support: int = 30, k: int = 20,
    ) -> SegmentReport:  # fmt: skip
        """The worst one- and two-key slices (percentile metrics are searched on the mean)."""
        if len(keys) < 1:
            raise InvalidInput("no keys", [FieldError("key", "give at least one key")])
        keys = await self._resolve(scope, keys)
        kind = aggregate_kind(comparable(m))
        frame = await self._slices(scope, m, keys, pairs=True)
        stats, totals = to_stats(frame, kind)
        rows = discover_slices(
            stats, totals, kind=kind, direction=direction, min_support=min_support, k=k
        )
        return SegmentReport(m.name, kind, tuple(map(label_of, keys)), frame.total.n, rows)

    async def changes(
        self, scope: Scope, baseline: TimeRange, m: MetricSpec, keys: tuple[GroupKey, ...], *,
        direction: Direction = "higher_is_worse", min_support: int = 30, k: int = 20,
    ) -> ChangeReport:  # fmt: skip
        """Slices whose metric got worse in ``scope.time`` compared with ``baseline``."""
        if not keys:
            raise InvalidInput("no keys", [FieldError("key", "give at least one key")])
        keys = await self._resolve(scope, keys)
        kind = aggregate_kind(comparable(m))
        before = replace(scope, time=baseline)
        cur, base = await asyncio.gather(
            self._slices(scope, m, keys, pairs=True), self._slices(before, m, keys, pairs=True)
        )
        rows = discover_changes(
            to_stats(base, kind)[0], to_stats(cur, kind)[0], kind=kind, direction=direction,
            min_support=min_support, k=k,
        )  # fmt: skip
        return ChangeReport(
            m.name, kind, tuple(map(label_of, keys)), base.total.n, cur.total.n, rows
        )

    async def fairness(
        self, scope: Scope, m: MetricSpec, key: GroupKey, *, min_support: int = 30,
        threshold: float = 0.8,
    ) -> FairnessReport:  # fmt: skip
        """Selection-rate parity of an outcome metric across the values of ``key``."""
        if not m.field.is_outcome:
            raise InvalidInput(
                "fairness needs a rate metric", [FieldError("metric", "e.g. error:rate")]
            )
        (key,) = await self._resolve(scope, (key,))
        frame = await self._slices(scope, m, (key,), pairs=False)
        rows = [r for r in frame.rows if len(r.keys) == 1]
        return fairness_report(
            [r.keys[0][1] for r in rows],
            [r.sum for r in rows],
            [r.n for r in rows],
            min_support=min_support,
            threshold=threshold,
        )

    async def compare_versions(
        self, scope: Scope, key: GroupKey, baseline: str, candidate: str,
        metrics: tuple[MetricSpec, ...], *, guard_rails: tuple[str, ...] | None = None,
        min_support: int = 30,
    ) -> ComparisonReport:  # fmt: skip
        """Candidate against baseline on each metric, with a promote/hold signal."""
        (key,) = await self._resolve(scope, (key,))
        inputs: list[MetricInput] = []
        for m in map(comparable, metrics):
            guard = guard_rails is None or m.name in guard_rails
            inputs.append(await self._version_input(scope, key, baseline, candidate, m, guard))
        return await asyncio.to_thread(
            compare_versions, inputs, min_support=min_support, n_resamples=1000
        )

    async def _version_input(
        self, scope: Scope, key: GroupKey, a: str, b: str, m: MetricSpec, guard: bool
    ) -> MetricInput:
        kind = metric_kind(m)
        if kind == "distribution":
            base = SampleQuery(scope.project, m.field, *segment_of(key, a),
                               scope.time, scope.where, limit=5000)  # fmt: skip
            xa, xb = await asyncio.gather(
                self._query.sample(base),
                self._query.sample(_with_segment(base, *segment_of(key, b))),
            )
            return LatencyMetric(m.name, np.array(xa), np.array(xb), quantile=m.quantile or 0.5,
                                 guard_rail=guard)  # fmt: skip
        frame = await self._slices(scope, m, (key,), pairs=False)
        rows = {r.keys[0][1]: r for r in frame.rows if len(r.keys) == 1}
        ra, rb = rows.get(a), rows.get(b)
        na, nb = (ra.n if ra else 0), (rb.n if rb else 0)
        if kind == "proportion":
            return ProportionMetric(m.name, int(ra.sum if ra else 0), na, int(rb.sum if rb else 0),
                                    nb, guard_rail=guard)  # fmt: skip
        return MeanMetric(
            m.name, na, ra.sum if ra else 0.0, ra.sumsq if ra else 0.0,
            nb, rb.sum if rb else 0.0, rb.sumsq if rb else 0.0, guard_rail=guard,
        )  # fmt: skip

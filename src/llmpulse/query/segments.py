"""`SegmentService`: segment comparison, slice discovery, fairness and version comparison.

Segment comparison, fairness and versions work at a unit of analysis (METHODS.md §4.10: trace
by default, or session, user, span): the store returns per-(value, unit) totals, or per-span
values with their unit for percentiles, and `llmpulse.analysis` tests rates and means by the
delta method and percentiles as percentiles (Woodruff intervals across segments, a cluster
bootstrap for versions). Discovery and what-changed search one- and two-key slices on additive
per-slice statistics (one GROUPING SETS query) for rates and means only.

Every analysis takes the metric's own direction (`analysis.direction`) unless told otherwise,
and refuses an aggregate it cannot compute as asked (`SUPPORTED`) with a 400 naming the ones
it can.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Literal

from llmpulse.analysis.changes import Overlap, SliceChange, discover_changes
from llmpulse.analysis.comparison import (
    ComparisonReport,
    MetricInput,
    compare_versions,
)
from llmpulse.analysis.direction import metric_direction, unit_of_measure
from llmpulse.analysis.discovery import discover_slices
from llmpulse.analysis.fairness import FairnessReport, fairness_report
from llmpulse.analysis.segments import SliceKey, SliceResult, SliceStats, SliceTotals
from llmpulse.analysis.unit_segments import UnitRows, compare_unit_slices
from llmpulse.domain.cohorts import Condition
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import Agg, MetricSpec, Source
from llmpulse.domain.suggest import unknown
from llmpulse.query.cohorts import CohortService
from llmpulse.query.group_keys import resolve_group_keys
from llmpulse.query.service import QueryService
from llmpulse.query.versions import COUNT, group_rates, overlap_window, version_input
from llmpulse.store.api import SpanFilter, TimeRange
from llmpulse.store.metric_api import (
    CohortKey,
    GroupKey,
    SliceFrame,
    SliceQuery,
    Unit,
    UnitFrame,
    UnitQuery,
    label_of,
)

Direction = Literal["higher_is_worse", "lower_is_worse"]
Kind = Literal["proportion", "mean", "distribution"]
_PERCENTILES = (Agg.P50, Agg.P90, Agg.P95, Agg.P99)
SUPPORTED: dict[str, tuple[Agg, ...]] = {
    "segments": (Agg.RATE, Agg.MEAN, *_PERCENTILES),
    "discover": (Agg.RATE, Agg.MEAN),
    "changes": (Agg.RATE, Agg.MEAN),
    "fairness": (Agg.RATE,),
    "compare": (Agg.RATE, Agg.MEAN, *_PERCENTILES),
}
"""The aggregates each analysis computes as asked; any other is refused (issue 15 defect 6)."""


def supported(m: MetricSpec, analysis: str) -> MetricSpec:
    """``m`` if ``analysis`` computes its aggregate as asked.

    Raises:
        InvalidInput: names the aggregates of every analysis, so the caller can pick a route.
    """
    comparable(m)
    if m.agg in SUPPORTED[analysis]:
        return m
    listing = "; ".join(f"{k}: {', '.join(a.value for a in v)}" for k, v in SUPPORTED.items())
    why = f"{analysis} does not compute {m.agg.value}; aggregates by analysis: {listing}"
    raise InvalidInput(f"metric {m.name!r}: {why}", [FieldError("metric", why)])


def direction_for(m: MetricSpec, direction: Direction | None) -> Direction:
    """The caller's direction, or the metric's own (errors, latency, cost: higher is worse)."""
    return direction if direction is not None else metric_direction(m.field)


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
    unit: Unit = "span"
    """The unit of analysis the tests treated as independent (METHODS.md §4.10)."""
    direction: Direction = "higher_is_worse"
    value_unit: str = ""
    """What values are measured in: "ms", "USD", "tokens", "fraction", "score"."""
    truncated: bool = False
    """True when a key had more values than the store returns (the smallest were dropped)."""
    total_units: int | None = None


def segment_of(key: GroupKey, value: str) -> tuple[tuple[Condition, ...], bool]:
    """The (conditions, complement) that select one value of a key (cohorts: in / out)."""
    if isinstance(key, CohortKey):
        return key.conditions, value != "in"
    return (Condition(key, "=", (value,)),), False


def _within(scope: Scope, conditions: list[Condition]) -> Scope:
    """The scope narrowed to spans meeting every condition."""
    where = replace(scope.where, conditions=(*scope.where.conditions, *conditions))
    return replace(scope, where=where)


MAX_OVERLAPS = 5
"""Reported what-changed findings whose overlaps with the others are read (2 queries each)."""


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
    units: list[tuple[float, float, float, float]] | None = None
    if t.units is not None:
        units = [r.units for r in frame.rows if r.units is not None]
        units = units if len(units) == len(frame.rows) else None
    if kind == "proportion":
        stats = SliceStats(keys, n, bad=[r.sum for r in frame.rows], units=units)
        return stats, SliceTotals(t.n, bad=t.sum, units=t.units if units else None)
    stats = SliceStats(
        keys, n, sum=[r.sum for r in frame.rows], sumsq=[r.sumsq for r in frame.rows],
        units=units,
    )  # fmt: skip
    return stats, SliceTotals(t.n, sum=t.sum, sumsq=t.sumsq, units=t.units if units else None)


@dataclass(frozen=True, slots=True)
class ChangeReport:
    """Slices ranked by how much worse they got from the baseline to the current window."""

    metric: str
    kind: Kind
    keys: tuple[str, ...]
    baseline_n: int
    current_n: int
    rows: list[SliceChange]
    direction: Direction = "higher_is_worse"
    value_unit: str = ""
    truncated: bool = False
    unit: Unit = "span"


class SegmentService:
    """Segment analyses over one project's spans.

    Keys may name saved cohorts (``cohort:<name>``): every analysis resolves them first, so
    callers (REST, UI, SDK through REST) pass keys as users wrote them.
    """

    def __init__(self, query: QueryService, cohorts: CohortService | None = None) -> None:
        self._query = query
        self._cohorts = cohorts

    async def _resolve(self, scope: Scope, keys: tuple[GroupKey, ...]) -> tuple[GroupKey, ...]:
        """Cohort keys resolved to their conditions; an unknown plain key is a 400 with the
        nearest known keys (never an empty report)."""
        return await resolve_group_keys(self._query, self._cohorts, scope.project, keys)

    async def _slices(
        self, scope: Scope, m: MetricSpec, keys: tuple[GroupKey, ...], pairs: bool,
        unit: Unit = "span",
    ) -> SliceFrame:  # fmt: skip
        q = SliceQuery(scope.project, m.field, keys, scope.time, scope.where, pairs=pairs,
                       unit=unit)  # fmt: skip
        return await self._query.slices(q)

    async def units(
        self, scope: Scope, m: MetricSpec, key: GroupKey, unit: Unit, *, raw: bool = False
    ) -> UnitFrame:
        """Per (value, unit) totals of ``m``'s field, or per-span values (``raw``)."""
        q = UnitQuery(scope.project, m.field, key, unit, scope.time, scope.where, raw=raw)
        return await self._query.units(q)

    async def compare_key(
        self, scope: Scope, m: MetricSpec, key: GroupKey, *,
        direction: Direction | None = None, min_support: int = 30, q: float = 0.05,
        unit: Unit = "trace",
    ) -> SegmentReport:  # fmt: skip
        """Each value of ``key`` against the rest, the ``unit`` as the independent unit.

        The rest is the other values of the key: spans without the key are left out.
        """
        (key,) = await self._resolve(scope, (key,))
        kind = metric_kind(supported(m, "segments"))
        d = direction_for(m, direction)
        frame = await self.units(scope, m, key, unit, raw=kind == "distribution")
        rows = UnitRows(frame.values, frame.group, frame.cluster, frame.n, frame.sum, frame.sumsq)
        results = await asyncio.to_thread(
            compare_unit_slices, rows, label_of(key), kind=kind, direction=d,
            quantile=m.quantile or 0.5, min_support=min_support, q=q,
        )  # fmt: skip
        return SegmentReport(
            m.name, kind, (label_of(key),), int(frame.n.sum()), results, unit, d,
            unit_of_measure(m.field), False, rows.units,
        )  # fmt: skip

    async def discover(
        self, scope: Scope, m: MetricSpec, keys: tuple[GroupKey, ...], *,
        direction: Direction | None = None, min_support: int = 30, k: int = 20,
        unit: Unit = "trace",
    ) -> SegmentReport:  # fmt: skip
        """The worst one- and two-key slices on a rate or a mean, ``unit`` as the unit.

        Unit sums are exact for keys that are constant within a unit (a trace's tier); for a
        key that varies within one (``model`` in a trace) a unit's spans of two values count
        as two units.
        """
        if len(keys) < 1:
            raise InvalidInput("no keys", [FieldError("key", "give at least one key")])
        kind = aggregate_kind(supported(m, "discover"))
        d = direction_for(m, direction)
        keys = await self._resolve(scope, keys)
        frame = await self._slices(scope, m, keys, pairs=True, unit=unit)
        stats, totals = to_stats(frame, kind)
        rows = discover_slices(stats, totals, kind=kind, direction=d, min_support=min_support, k=k)
        return SegmentReport(
            m.name, kind, tuple(map(label_of, keys)), frame.total.n, rows, unit, d,
            unit_of_measure(m.field), frame.truncated,
            None if frame.total.units is None else int(frame.total.units[0]),
        )  # fmt: skip

    async def changes(
        self, scope: Scope, baseline: TimeRange, m: MetricSpec, keys: tuple[GroupKey, ...], *,
        direction: Direction | None = None, min_support: int = 30, k: int = 20,
        unit: Unit = "trace",
    ) -> ChangeReport:  # fmt: skip
        """Slices whose metric got worse in ``scope.time`` compared with ``baseline``.

        Findings are folded (`analysis.folding`): the first pass names the reported slices,
        the spans each shares with the others are read with a query filtered on it, and a
        second pass folds what they explain.
        """
        if not keys:
            raise InvalidInput("no keys", [FieldError("key", "give at least one key")])
        kind = aggregate_kind(supported(m, "changes"))
        d = direction_for(m, direction)
        keys = await self._resolve(scope, keys)
        before = replace(scope, time=baseline)
        cur, base = await asyncio.gather(
            self._slices(scope, m, keys, pairs=True, unit=unit),
            self._slices(before, m, keys, pairs=True, unit=unit),
        )
        (sb, tb), (sc, tc) = to_stats(base, kind), to_stats(cur, kind)

        def run(overlaps: dict[SliceKey, Overlap]) -> list[SliceChange]:
            return discover_changes(
                sb, sc, kind=kind, direction=d, min_support=min_support, k=k,
                totals=(tb, tc), overlaps=overlaps,
            )  # fmt: skip

        rows = run({})
        reported = [r.keys for r in rows if r.status == "reported"][:MAX_OVERLAPS]
        if len(reported) > 1:
            overlaps = await self._overlaps(scope, before, m, keys, kind, reported, unit)
            rows = run(overlaps)
        return ChangeReport(
            m.name, kind, tuple(map(label_of, keys)), base.total.n, cur.total.n, rows, d,
            unit_of_measure(m.field), cur.truncated or base.truncated, unit,
        )  # fmt: skip

    async def _overlaps(
        self, scope: Scope, before: Scope, m: MetricSpec, keys: tuple[GroupKey, ...],
        kind: Literal["proportion", "mean"], targets: list[SliceKey], unit: Unit,
    ) -> dict[SliceKey, Overlap]:  # fmt: skip
        """Aggregates of every slice within each target slice, in both windows."""
        by_label = {label_of(key): key for key in keys}
        out: dict[SliceKey, Overlap] = {}
        for target in targets:
            conditions: list[Condition] = []
            for label, value in target:
                cond, complement = segment_of(by_label[label], value)
                if complement:
                    break
                conditions.extend(cond)
            else:
                frames = [
                    self._slices(_within(sc, conditions), m, keys, pairs=True, unit=unit)
                    for sc in (before, scope)
                ]
                b, c = await asyncio.gather(*frames)
                out[target] = Overlap(to_stats(b, kind)[0], to_stats(c, kind)[0])
        return out

    async def fairness(
        self, scope: Scope, m: MetricSpec, key: GroupKey, *, min_support: int = 30,
        threshold: float = 0.8, unit: Unit = "trace", direction: Direction | None = None,
    ) -> FairnessReport:  # fmt: skip
        """Parity of an outcome rate across the values of ``key`` (on the favourable outcome).

        Rate variances are cluster-robust at ``unit`` (METHODS.md §4.10).
        """
        if not m.field.is_outcome:
            raise InvalidInput(
                "fairness needs a rate metric", [FieldError("metric", "e.g. error:rate")]
            )
        supported(m, "fairness")
        (key,) = await self._resolve(scope, (key,))
        frame = await self.units(scope, m, key, unit)
        bad, n, var = group_rates(frame)
        return fairness_report(
            list(frame.values), bad, n, min_support=min_support, threshold=threshold,
            direction=direction_for(m, direction), variances=var,
        )  # fmt: skip

    async def compare_versions(
        self, scope: Scope, key: GroupKey, baseline: str, candidate: str,
        metrics: tuple[MetricSpec, ...], *, guard_rails: tuple[str, ...] | None = None,
        min_support: int = 30, unit: Unit = "trace", overlap: bool = True,
        alpha: float = 0.05,
    ) -> ComparisonReport:  # fmt: skip
        """Candidate against baseline on each metric, with a promote/hold signal.

        With ``overlap`` (the default) both versions are compared only over the time both were
        live: the intersection of their first-to-last span times within the scope (METHODS.md
        §4.11). The report carries that window and the unit of analysis.
        """
        for m in metrics:
            supported(m, "compare")
        (key,) = await self._resolve(scope, (key,))
        seen = (await self.units(scope, COUNT, key, unit)).values
        for path, value in (("baseline", baseline), ("candidate", candidate)):
            if value not in seen:  # never an empty comparison: name the values there are
                raise unknown(f"value of {label_of(key)}", value, seen, path)
        window = scope.time
        if overlap:
            window = await self._overlap(scope, key, baseline, candidate, unit)
        live = replace(scope, time=window)
        inputs: list[MetricInput] = []
        for m in metrics:
            guard = guard_rails is None or m.name in guard_rails
            inputs.append(await self._version_input(live, key, baseline, candidate, m, guard, unit))
        report = await asyncio.to_thread(
            compare_versions, inputs, alpha=alpha, min_support=min_support, n_resamples=1000
        )
        return replace(report, unit=unit, window_start=window.start, window_end=window.end,
                       windowed=overlap)  # fmt: skip

    async def _overlap(self, scope: Scope, key: GroupKey, a: str, b: str, unit: Unit) -> TimeRange:
        """The scope's time cut to when both values of ``key`` had spans (end exclusive)."""
        return overlap_window(await self.units(scope, COUNT, key, unit), a, b, scope.time)

    async def _version_input(
        self, scope: Scope, key: GroupKey, a: str, b: str, m: MetricSpec, guard: bool,
        unit: Unit,
    ) -> MetricInput:  # fmt: skip
        raw = metric_kind(m) == "distribution"
        return version_input(await self.units(scope, m, key, unit, raw=raw), a, b, m, guard)

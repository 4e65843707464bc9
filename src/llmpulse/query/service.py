"""`QueryService`: what the REST API, the UI and the CLI read through."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from llmpulse.domain.errors import NotFound
from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Annotation, Span
from llmpulse.domain.suggest import not_found, unknown
from llmpulse.query.traces import SpanNode, build_tree
from llmpulse.store.api import (
    TRACE_SORTS,
    EventStore,
    Page,
    ProjectStats,
    SpanQuery,
    StateStore,
    TraceTotals,
)
from llmpulse.store.metric_api import (
    MetricFrame,
    MetricQuery,
    SampleQuery,
    SliceFrame,
    SliceQuery,
    UnitFrame,
    UnitQuery,
)
from llmpulse.store.sessions_api import SessionQuery, SessionRow, Turn, UserRow

T = TypeVar("T")
_MISSING = object()


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    """A project with its counts (zero counts for a project with no spans yet)."""

    name: ProjectName
    num_spans: int
    num_traces: int
    first_seen: object
    last_seen: object
    description: str = ""


@dataclass(frozen=True, slots=True)
class Trace:
    """All spans of one trace, flat and as a tree."""

    trace_id: TraceId
    spans: list[Span]
    roots: list[SpanNode]


class QueryService:
    """Reads from the stores on worker threads so the event loop never blocks.

    Span pages and metric frames are cached per query until the data changes: ``data_version``
    (it moves with every commit attempt of the writer) is part of every cache key, so a write
    invalidates everything at once and a repeated dashboard or API query costs nothing while
    no spans arrive; the entries of older versions are dropped as soon as the version moves.
    Values derived from them (`memo`: the routes' serialized answers) share the same LRU of
    ``cache_size`` entries.
    """

    def __init__(
        self,
        events: EventStore,
        state: StateStore,
        data_version: Callable[[], int] | None = None,
        cache_size: int = 256,
    ) -> None:
        self._events = events
        self._state = state
        self._version = data_version
        self._cache: OrderedDict[tuple[object, ...], object] = OrderedDict()
        self._cache_size = cache_size
        self._cached_version: int | None = None

    async def _cached(self, kind: str, q: Hashable, run: Callable[[], T], keep: bool = True) -> T:
        return await self.memo(kind, q, lambda: asyncio.to_thread(run), keep=keep)

    async def memo(
        self, kind: str, key: Hashable, compute: Callable[[], Awaitable[T]], *, keep: bool = True
    ) -> T:
        """``await compute()``, cached until the data version changes, like the reads.

        For values derived from reads alone, such as a route's serialized answer. Only a
        commit invalidates the cache, so ``key`` must hold every other input of the value
        (the logical query with its resolved cohort conditions, presentation options), and
        ``kind`` must name what ``compute`` returns (one kind, one type of value). With
        ``keep=False`` a cached value is still used, but a computed one is not stored (for a
        read whose caller caches what it derives from it instead).
        """
        if self._version is None:
            return await compute()
        version = self._version()
        if version != self._cached_version:
            # Keys of an older version can never be asked again: drop them at once, so the
            # cache holds the answers of one data version (span pages are up to ~1 MB each).
            self._cache.clear()
            self._cached_version = version
        full = (kind, version, key)
        hit = self._cache.get(full, _MISSING)
        if hit is not _MISSING:
            self._cache.move_to_end(full)
            return cast(T, hit)  # same kind, same type of value
        result = await compute()
        if not keep:
            return result
        self._cache[full] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    async def list_projects(self) -> list[ProjectSummary]:
        """Every project, with span and trace counts and first/last seen.

        The counts scan every span, and the UI asks on each page: the answer is cached until
        the next commit (projects are created by the writer's commits too).
        """
        stats = await self._cached("project_stats", None, self._events.project_stats)
        projects = await asyncio.to_thread(self._state.list_projects)
        by_name: dict[ProjectName, ProjectStats] = {s.name: s for s in stats}
        names = sorted({p.name for p in projects} | set(by_name))
        desc = {p.name: p.description for p in projects}
        out = []
        for name in names:
            s = by_name.get(name)
            out.append(
                ProjectSummary(
                    name=name,
                    num_spans=s.num_spans if s else 0,
                    num_traces=s.num_traces if s else 0,
                    first_seen=s.first_seen if s else None,
                    last_seen=s.last_seen if s else None,
                    description=desc.get(name, ""),
                )
            )
        return out

    async def require_key(self, project: ProjectName, key: str, path: str = "key") -> None:
        """Raise a 400 naming the nearest known keys unless the project's spans carry ``key``.

        Raises:
            InvalidInput: no span of the project carries the key.
        """
        if await self._cached("key", (project, key), lambda: self._events.key_exists(project, key)):
            return
        known = await self._cached("keys", project, lambda: self._events.known_keys(project))
        raise unknown("key", key, known, path)

    async def require_project(self, name: ProjectName) -> None:
        """Raise NotFound unless the project exists.

        Projects are created only by the writer's commits, so the answer is cached per data
        version like the reads (every analysis request asks first).
        """
        if await self._cached("project", name, lambda: self._state.get_project(name)) is None:
            names = [p.name for p in await asyncio.to_thread(self._state.list_projects)]
            raise not_found("project", name, names)

    async def list_spans(self, q: SpanQuery, *, keep: bool = True) -> Page[Span]:
        """One page of spans, newest first (``keep``: see `memo`)."""
        return await self._cached("spans", q, lambda: self._events.list_spans(q), keep)

    async def list_span_rows(self, q: SpanQuery) -> Page[tuple[Any, ...]]:
        """`list_spans`'s page as the store's rows (`EventStore.list_span_rows`), uncached:
        the caller caches what it encodes from them; answered here when rows held in memory
        give it at once (`EventStore.list_span_rows_in_memory`), else on a worker thread."""
        now = self._events.list_span_rows_in_memory(q)
        return now if now is not None else await asyncio.to_thread(self._events.list_span_rows, q)

    async def count_spans(self, q: SpanQuery, at_most: int | None = None) -> int:
        """How many spans match ``q``'s filters (cursor and limit ignored), counting no
        further than ``at_most`` when given."""
        roots = q.root_only or q.sort in TRACE_SORTS  # a trace sort counts traces
        key = replace(
            q, cursor=None, limit=1, sort="time", descending=True, root_only=roots, fields="full"
        )  # what the count depends on, so that views differing in the rest share it
        return await self._cached(
            "count", (key, at_most), lambda: self._events.count_spans(key, at_most)
        )

    async def trace_totals(self, trace_ids: Sequence[TraceId]) -> dict[str, TraceTotals]:
        """Per trace: total tokens, cost, error count and span count over all its spans."""
        return await asyncio.to_thread(self._events.trace_totals, trace_ids)

    async def get_trace(self, trace_id: TraceId) -> Trace:
        """A whole trace as a tree."""
        spans = await asyncio.to_thread(self._events.get_trace, trace_id)
        if not spans:
            raise NotFound(f"trace {trace_id} not found")
        return Trace(trace_id=trace_id, spans=spans, roots=build_tree(spans))

    async def get_span(self, span_id: SpanId) -> Span:
        """One span by id."""
        span = await asyncio.to_thread(self._events.get_span, span_id)
        if span is None:
            raise NotFound(f"span {span_id} not found")
        return span

    async def find_prediction(
        self, project: ProjectName, prediction_id: PredictionId
    ) -> Span | None:
        """The span a prediction was logged as, if any."""
        return await asyncio.to_thread(self._events.find_prediction, project, prediction_id)

    async def list_annotations(
        self, span_ids: Sequence[SpanId], prediction_ids: Sequence[PredictionId] = ()
    ) -> list[Annotation]:
        """Annotations of the given spans and prediction ids."""
        return await asyncio.to_thread(self._events.list_annotations, span_ids, prediction_ids)

    async def metric(self, q: MetricQuery, *, keep: bool = True) -> MetricFrame:
        """Metric series or window aggregates (``keep``: see `memo`); answered here when the
        store's summaries in memory answer it at once (`EventStore.metric_in_memory`), else
        on a worker thread."""

        async def compute() -> MetricFrame:
            now = self._events.metric_in_memory(q)
            return now if now is not None else await asyncio.to_thread(self._events.metric, q)

        return await self.memo("metric", q, compute, keep=keep)

    async def slices(self, q: SliceQuery) -> SliceFrame:
        """Per-slice additive statistics of one field."""
        return await self._cached("slices", q, lambda: self._events.slices(q))

    async def sample(self, q: SampleQuery) -> list[float]:
        """A bounded random sample of one field."""
        return await asyncio.to_thread(self._events.sample, q)

    async def units(self, q: UnitQuery) -> UnitFrame:
        """A field per (key value, unit of analysis), or per span; raw frames are not kept."""
        return await self._cached("units", q, lambda: self._events.units(q), keep=not q.raw)

    async def unpriced_models(self, project: ProjectName) -> dict[str, int]:
        """Models with tokens but no price, with span counts."""
        return await asyncio.to_thread(self._events.unpriced_models, project)

    async def sessions(self, q: SessionQuery) -> list[SessionRow]:
        """Sessions with their turns, times and totals, sorted."""
        return await self._cached("sessions", q, lambda: self._events.sessions(q))

    async def session_turns(self, project: ProjectName, session_id: str) -> list[Turn]:
        """One session's turns in order; NotFound if the session has none."""
        key = (project, session_id)
        run = lambda: self._events.session_turns(project, session_id)  # noqa: E731
        turns = await self._cached("turns", key, run)
        if not turns:
            raise NotFound(f"session {session_id!r} not found")
        return turns

    async def users(self, q: SessionQuery) -> list[UserRow]:
        """Users with their volume and totals, sorted."""
        return await self._cached("users", q, lambda: self._events.users(q))

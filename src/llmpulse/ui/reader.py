"""`TraceReader`: the slice of the query service the pages read through.

The UI may not import `llmpulse.server`, so it names what it needs as a protocol and fetches
the running app's query service by duck typing (``app.state.services.query``). The dashboard
and analysis pages use the query, segment and cohort services directly (`app_metrics`,
`app_segments`, `app_cohorts`): the same objects the REST routes call. `app_segments` wraps
the segment service so that ``cohort:<name>`` keys typed into a page compare a saved cohort
with the rest of the traffic, as the REST routes do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from fastapi import Request

from llmpulse.analysis.fairness import FairnessReport
from llmpulse.domain.errors import FieldError, InvalidInput, NotFound
from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, TraceId
from llmpulse.domain.metrics import MetricSpec
from llmpulse.domain.spans import Annotation, Span
from llmpulse.query.cohorts import CohortService
from llmpulse.query.segments import Direction, Scope, SegmentReport, SegmentService
from llmpulse.query.service import ProjectSummary, QueryService, Trace
from llmpulse.store.api import GroupKey, Page, SpanQuery


class TraceReader(Protocol):
    """A `TraceReader` answers the reads behind every UI page (`QueryService` is one)."""

    async def list_projects(self) -> list[ProjectSummary]:
        """Every project with its counts."""
        ...

    async def require_project(self, name: ProjectName) -> None:
        """Raise NotFound unless the project exists."""
        ...

    async def list_spans(self, q: SpanQuery) -> Page[Span]:
        """One page of spans, newest first."""
        ...

    async def get_trace(self, trace_id: TraceId) -> Trace:
        """A whole trace as a tree; NotFound when unknown."""
        ...

    async def list_annotations(
        self, span_ids: Sequence[SpanId], prediction_ids: Sequence[PredictionId] = ()
    ) -> list[Annotation]:
        """Annotations of the given spans and prediction ids."""
        ...


ReaderGetter = Callable[[Request], TraceReader]


def app_query_service(request: Request) -> TraceReader:
    """The running app's query service (``app.state.services.query``)."""
    reader: TraceReader = request.app.state.services.query
    return reader


def app_metrics(request: Request) -> QueryService:
    """The running app's query service, for metric series (``app.state.services.query``)."""
    service: QueryService = request.app.state.services.query
    return service


def app_cohorts(request: Request) -> CohortService:
    """The running app's cohort service (``app.state.services.cohorts``)."""
    service: CohortService = request.app.state.services.cohorts
    return service


def app_segments(request: Request) -> SegmentService:
    """The segment service over the app's query service, reading ``cohort:<name>`` keys."""
    return CohortSegments(app_metrics(request), app_cohorts(request))


async def resolve_keys(
    cohorts: CohortService, project: ProjectName, keys: tuple[GroupKey, ...]
) -> tuple[GroupKey, ...]:
    """``cohort:<name>`` keys → saved cohorts; an unknown cohort is a form error.

    Raises:
        InvalidInput: a key names a cohort the project does not have.
    """
    names = tuple(k for k in keys if isinstance(k, str))
    try:
        resolved = await cohorts.resolve_keys(project, names)
    except NotFound as e:
        raise InvalidInput(e.detail, [FieldError("key", e.detail)]) from e
    out = iter(resolved)
    return tuple(k if not isinstance(k, str) else next(out) for k in keys)


class CohortSegments(SegmentService):
    """A `SegmentService` whose one- and many-key analyses accept ``cohort:<name>`` keys."""

    def __init__(self, query: QueryService, cohorts: CohortService) -> None:
        super().__init__(query)
        self._cohorts = cohorts

    async def compare_key(
        self, scope: Scope, m: MetricSpec, key: GroupKey, *,
        direction: Direction = "higher_is_worse", min_support: int = 30, q: float = 0.05,
    ) -> SegmentReport:  # fmt: skip
        """`SegmentService.compare_key` after resolving a cohort key."""
        (key,) = await resolve_keys(self._cohorts, scope.project, (key,))
        return await super().compare_key(
            scope, m, key, direction=direction, min_support=min_support, q=q
        )

    async def discover(
        self, scope: Scope, m: MetricSpec, keys: tuple[GroupKey, ...], *,
        direction: Direction = "higher_is_worse", min_support: int = 30, k: int = 20,
    ) -> SegmentReport:  # fmt: skip
        """`SegmentService.discover` after resolving cohort keys."""
        keys = await resolve_keys(self._cohorts, scope.project, keys)
        return await super().discover(
            scope, m, keys, direction=direction, min_support=min_support, k=k
        )

    async def fairness(
        self, scope: Scope, m: MetricSpec, key: GroupKey, *, min_support: int = 30,
        threshold: float = 0.8,
    ) -> FairnessReport:  # fmt: skip
        """`SegmentService.fairness` after resolving a cohort key."""
        (key,) = await resolve_keys(self._cohorts, scope.project, (key,))
        return await super().fairness(scope, m, key, min_support=min_support, threshold=threshold)

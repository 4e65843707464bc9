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

from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Annotation, Span
from llmpulse.query.cohorts import CohortService
from llmpulse.query.segments import SegmentService
from llmpulse.query.service import ProjectSummary, QueryService, Trace
from llmpulse.store.api import Page, SpanQuery, TraceTotals


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

    async def count_spans(self, q: SpanQuery, at_most: int | None = None) -> int:
        """How many spans match ``q``'s filters (cursor and limit ignored; no further than
        ``at_most``)."""
        ...

    async def trace_totals(self, trace_ids: Sequence[TraceId]) -> dict[str, TraceTotals]:
        """Per trace: total tokens, cost, error count and span count."""
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
    """The running app's segment service (it resolves ``cohort:<name>`` keys itself)."""
    service: SegmentService = request.app.state.services.segments
    return service

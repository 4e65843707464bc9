"""The storage vocabulary: `EventStore` and `StateStore` protocols and logical queries (the
metric queries and frames in `metric_api`, sessions in `sessions_api`, SLO counts in
`slo_api`).

Callers pass logical query objects and get domain objects back; no SQL text and no engine
name crosses this boundary. Store methods are blocking: the event store is used from the
ingest writer's thread and from worker threads of the query service (see ADR 0003).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import pyarrow as pa

from llmpulse.domain.cohorts import Condition
from llmpulse.domain.ids import PredictionId, ProjectName, SpanId, TraceId
from llmpulse.domain.keys import ApiKeyRecord
from llmpulse.domain.spans import Annotation, Span, SpanKind, StatusCode

if TYPE_CHECKING:
    from llmpulse.store.metric_api import (
        MetricColumns,
        MetricFrame,
        MetricQuery,
        SampleQuery,
        SliceFrame,
        SliceQuery,
        UnitFrame,
        UnitQuery,
    )
    from llmpulse.store.sessions_api import SessionQuery, SessionRow, Turn, UserRow
    from llmpulse.store.slo_api import CountQuery, Counts, SloRecord

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A half-open interval [start, end); either side may be open."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class AttrEquals:
    """Equality on one attribute.

    ``key`` forms: ``metadata.<k>`` (a key of the span's metadata JSON), ``tag`` (the span's
    tags contain ``value``), ``session_id``/``user_id``/``environment``/``version``/
    ``provider``/``prediction_id`` (typed columns), anything else: an OTLP attribute key.
    """

    key: str
    value: str


TRACE_SORTS = ("trace_cost", "trace_tokens", "trace_latency")
"""Sorts of root rows by their whole trace's cost, tokens or latency (one row per trace)."""


@dataclass(frozen=True, slots=True)
class SpanQuery:
    """Which spans of one project to list, newest first."""

    project: ProjectName
    time: TimeRange = TimeRange()
    kinds: tuple[SpanKind, ...] = ()
    status: StatusCode | None = None
    models: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    attributes: tuple[AttrEquals, ...] = ()
    text: str | None = None  # full-text search, any case (see store.events.layout: search_text)
    trace_id: TraceId | None = None
    root_only: bool = False
    conditions: tuple[Condition, ...] = ()  # a saved cohort's conditions, ANDed
    limit: int = 100
    cursor: str | None = None  # opaque, from a previous Page.next_cursor
    sort: str = "time"  # time, latency, tokens, cost (per span) or one of TRACE_SORTS
    descending: bool = True
    ranges: tuple[ValueRange, ...] = ()  # numeric bounds on latency_ms, cost_usd, total_tokens
    fields: str = "full"  # or "summary": a table's columns, input as a preview (SPAN_FIELDS)


SPAN_FIELDS = ("full", "summary")
"""What a listed span carries (ADR 0045). ``full``: everything. ``summary``: what a table of
spans shows, read 4-8x faster for pages sorted by latency, tokens or cost: ``input_value`` is
the first 160 characters of the input (or of the last input message's content when there is
no input value) on one line, whitespace runs made one space, ending in "…" when cut; the
output, the messages, documents, events, attributes, resource attributes and the status and
exception messages are left out (empty)."""


@dataclass(frozen=True, slots=True)
class ValueRange:
    """Inclusive bounds on one numeric span column (``None``: unbounded)."""

    key: str  # latency, tokens or cost
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class TraceTotals:
    """What a trace's root row shows: sums over all the trace's spans."""

    total_tokens: int
    cost_usd: float
    errors: int
    num_spans: int
    latency_ms: float = 0.0  # from the trace's first span start to its last span end


@dataclass(frozen=True, slots=True)
class SpanFilter:
    """The span filters shared by metric, slice and sample queries (see `SpanQuery`)."""

    kinds: tuple[SpanKind, ...] = ()
    status: StatusCode | None = None
    models: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    attributes: tuple[AttrEquals, ...] = ()
    root_only: bool = False
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and the cursor of the next page, if any."""

    items: list[T]
    next_cursor: str | None = None
    totals: dict[str, TraceTotals] | None = None
    """The root rows' trace totals (`EventStore.trace_totals`) when the store read them with
    the page (a trace-sorted page knows its traces before its rows); None: not read."""
    excerpts: list[str | None] | None = None
    """For summary rows of a search, per item, where it matched: a lower-cased excerpt of its
    searched text around the first match (None: it matched in no searched text, as after a
    change meanwhile); None for other pages."""


@dataclass(frozen=True, slots=True)
class ProjectStats:
    """What the event store knows of one project."""

    name: ProjectName
    num_spans: int
    num_traces: int
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Size of the event store."""

    num_spans: int
    num_annotations: int
    bytes_on_disk: int
    extra: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CompactionResult:
    """What one compaction of the event store did (sizes include the write-ahead log)."""

    bytes_before: int
    bytes_after: int
    num_spans: int
    num_tail_rows: int
    pause_s: float


class EventStore(Protocol):
    """An `EventStore` keeps spans and annotations, append-only, and answers reads."""

    def append_spans(self, spans: Sequence[Span]) -> int:
        """Store spans; durable when it returns. Returns the number newly stored: a copy of a
        stored span (same project, trace id, span id and start time: a retry) is skipped."""
        ...

    def append_columns(self, table: pa.Table) -> int:
        """Store spans given as an Arrow table of the span columns; durable when it returns.
        Copies of stored spans are skipped as by `append_spans`."""
        ...

    def append_annotations(self, annotations: Sequence[Annotation]) -> int:
        """Store annotations; durable when it returns."""
        ...

    def list_spans(self, q: SpanQuery) -> Page[Span]:
        """List spans matching ``q``, newest first, one page at a time."""
        ...

    def list_span_rows(self, q: SpanQuery) -> Page[tuple[Any, ...]]:
        """`list_spans` as the store's rows, not decoded: the values of the span columns in
        order (``store.events.columns.SPAN_COLUMN_NAMES``; JSON columns as their JSON text,
        NULL when empty; naive UTC times), for encoders that skip the domain objects."""
        ...

    def count_spans(self, q: SpanQuery, at_most: int | None = None) -> int:
        """How many spans match ``q``'s filters and ranges (cursor and limit ignored); with
        ``at_most``, counting stops there (the answer is at most ``at_most``)."""
        ...

    def trace_totals(self, trace_ids: Sequence[TraceId]) -> dict[str, TraceTotals]:
        """Per trace id: totals over all its spans (ids without spans are left out)."""
        ...

    def get_trace(self, trace_id: TraceId) -> list[Span]:
        """Return every span of one trace (any project), oldest first."""
        ...

    def get_span(self, span_id: SpanId) -> Span | None:
        """Return one span by id, or None."""
        ...

    def find_prediction(self, project: ProjectName, prediction_id: PredictionId) -> Span | None:
        """Return the span a prediction id was logged as, or None."""
        ...

    def list_annotations(
        self, span_ids: Sequence[SpanId], prediction_ids: Sequence[PredictionId] = ()
    ) -> list[Annotation]:
        """Annotations attached to any of the spans or prediction ids, oldest first."""
        ...

    def get_annotation(self, annotation_id: str) -> Annotation | None:
        """One annotation by id, or None."""
        ...

    def key_exists(self, project: ProjectName, key: str) -> bool:
        """Whether ``key`` is a typed key or any span of the project carries it."""
        ...

    def known_keys(self, project: ProjectName) -> list[str]:
        """The keys a project's spans carry (recent attribute keys), for suggestions."""
        ...

    def edit_annotation(self, annotation_id: str, new: Annotation | None) -> bool:
        """Give an annotation ``new``'s label, score, explanation and metadata, or delete it
        (``new`` None); False when there is none. Durable when it returns."""
        ...

    def delete_spans(self, project: ProjectName, before: datetime | None = None) -> int:
        """Delete a project's spans and annotations (``before`` None), or its spans that
        started before ``before``; other projects' appends go on meanwhile. Returns the spans
        deleted; durable when it returns."""
        ...

    def project_stats(self) -> list[ProjectStats]:
        """Counts and time span of every project that has spans."""
        ...

    def metric(self, q: MetricQuery) -> MetricFrame:
        """Compute metrics as a series or a window aggregate, optionally grouped."""
        ...

    def list_span_rows_in_memory(self, q: SpanQuery) -> Page[tuple[Any, ...]] | None:
        """`list_span_rows`' page when rows held in memory give it now, without I/O and
        without waiting (safe on an event loop); None otherwise (ask `list_span_rows`)."""
        ...

    def metric_in_memory(self, q: MetricQuery) -> MetricFrame | None:
        """`metric`'s answer when summaries held in memory give it now, without I/O and
        without waiting (safe on an event loop); None otherwise (ask `metric`)."""
        ...

    def metrics(self, qs: Sequence[MetricQuery]) -> list[MetricFrame]:
        """Several metric queries at once, each frame equal to `metric`'s (an engine may
        answer queries over the same spans from one scan)."""
        ...

    def metric_columns(self, qs: Sequence[MetricQuery]) -> list[MetricColumns]:
        """`metrics` as columns (`MetricColumns.of` each frame), without a Python object per
        row where the engine can avoid one."""
        ...

    def slices(self, q: SliceQuery) -> SliceFrame:
        """Additive statistics of one field for every slice of the given keys."""
        ...

    def sample(self, q: SampleQuery) -> list[float]:
        """A seeded random sample of one field's values (NULLs excluded)."""
        ...

    def units(self, q: UnitQuery) -> UnitFrame:
        """One field per (key value, unit of analysis), or per span (see `UnitQuery`)."""
        ...

    def good_valid(self, q: CountQuery) -> list[Counts]:
        """Good/valid counts per bucket of every SLI in ``q``, from one grouped query."""
        ...

    def sessions(self, q: SessionQuery) -> list[SessionRow]:
        """Sessions (spans sharing a ``session.id``) with turns, times and totals, sorted."""
        ...

    def session_turns(self, project: ProjectName, session_id: str) -> list[Turn]:
        """One session's turns (its traces, by root span) in the order they started."""
        ...

    def users(self, q: SessionQuery) -> list[UserRow]:
        """Users (spans sharing a ``user.id``) with their volume and totals, sorted."""
        ...

    def unpriced_models(self, project: ProjectName) -> dict[str, int]:
        """Models whose spans carry tokens but no cost, with their span counts."""
        ...

    def stats(self) -> StoreStats:
        """Size figures of the whole store."""
        ...

    def backup_to(self, target: Path) -> int:
        """Copy the events as of one snapshot into a new database file; return its spans."""
        ...

    def warnings(self) -> list[str]:
        """What an operator should know about this store (e.g. a damaged log replayed at open)."""
        ...

    def checkpoint(self) -> None:
        """Fold recent writes into the engine's compact storage (no-op where meaningless)."""
        ...

    def compact(self) -> CompactionResult | None:
        """Give the engine's free space back, ingest and reads going on; None where
        meaningless."""
        ...

    def compact_if_fragmented(self) -> bool:
        """Start a background compaction if enough of the storage is free; True if started."""
        ...

    def close(self) -> None:
        """Flush and release the engine."""
        ...


@dataclass(frozen=True, slots=True)
class Project:
    """A project as the state store keeps it."""

    name: ProjectName
    created_at: datetime
    description: str = ""


@dataclass(frozen=True, slots=True)
class Document:
    """A small named configuration document (JSON text) of one kind."""

    kind: str
    name: str
    body: str
    updated_at: datetime


class StateStore(Protocol):
    """A `StateStore` keeps mutable, transactional state: projects today, monitors later."""

    def ensure_projects(self, names: Sequence[ProjectName], now: datetime) -> None:
        """Create the projects that do not exist yet (idempotent)."""
        ...

    def list_projects(self) -> list[Project]:
        """Every known project, by name."""
        ...

    def get_project(self, name: ProjectName) -> Project | None:
        """One project, or None."""
        ...

    def put_document(self, kind: str, name: str, body: str, now: datetime) -> None:
        """Create or replace a named document (price overrides, saved cohorts)."""
        ...

    def get_document(self, kind: str, name: str) -> Document | None:
        """One document, or None."""
        ...

    def list_documents(self, kind: str, prefix: str = "") -> list[Document]:
        """Every document of one kind whose name starts with ``prefix`` (literally), by name."""
        ...

    def delete_document(self, kind: str, name: str) -> bool:
        """Delete one document; True when it existed."""
        ...

    def apply_documents(
        self, kind: str, puts: Mapping[str, str], deletes: Sequence[str], now: datetime
    ) -> None:
        """Create or replace the documents in ``puts`` and delete those named in ``deletes``, in
        one transaction: all of it happens, or (on any error) none of it."""
        ...

    def add_api_key(self, record: ApiKeyRecord) -> None:
        """Store a new API key (its token's hash, never the token)."""
        ...

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        """One key by its lookup id (revoked ones too), or None."""
        ...

    def list_api_keys(self) -> list[ApiKeyRecord]:
        """Every key, revoked ones too, oldest first."""
        ...

    def revoke_api_key(self, key_id: str, now: datetime) -> bool:
        """Mark a key revoked; True when it existed and was active."""
        ...

    def list_slos(self, project: str | None = None) -> list[SloRecord]:
        """Every stored SLO definition (of one project, if given), by project and name."""
        ...

    def apply_slos(
        self, project: str, puts: Mapping[str, str], deletes: Sequence[str], now: datetime
    ) -> None:
        """Create or replace (name → manifest JSON) and delete SLOs in one transaction."""

    def delete_project(self, name: ProjectName) -> bool:
        """Forget a project: its row and its documents (those named ``<name>/…`` and those
        of a ``project.*`` kind named ``<name>``). True when the project existed."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

"""`IngestService`: the one path every span takes (OTLP/HTTP, OTLP/gRPC, SDK, demo)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from llmpulse.clock import Clock
from llmpulse.domain.errors import Forbidden
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.predictions import Evaluation
from llmpulse.domain.spans import Annotation, Rejection, Span
from llmpulse.ingest.annotate import Annotated, to_annotations
from llmpulse.ingest.decode_pool import DecodedBatch, DecodePool, columnarize
from llmpulse.ingest.predictions import ParsedPredictions, parse_predictions, prediction_to_span
from llmpulse.ingest.price_config import PriceConfig
from llmpulse.ingest.writer import SpanWriter
from llmpulse.store.api import EventStore


@dataclass(frozen=True, slots=True)
class Accepted:
    """Spans stored durably and spans rejected (with field paths)."""

    num_spans: int
    rejections: list[Rejection]


class IngestService:
    """Every span takes one path: decode/normalize, price, Arrow columns, durable commit."""

    def __init__(
        self,
        writer: SpanWriter,
        prices: PriceConfig,
        pool: DecodePool,
        events: EventStore,
        clock: Clock,
        *,
        max_body_bytes: int,
    ) -> None:
        self._writer = writer
        self._pool = pool
        self._events = events
        self._clock = clock
        self.prices = prices
        self.max_body_bytes = max_body_bytes

    async def log_predictions(
        self, project: ProjectName, records: Sequence[object]
    ) -> ParsedPredictions:
        """Validate SDK prediction records one by one and store the good ones as spans."""
        parsed = parse_predictions(records)
        now = self._clock.now()
        await self.store([prediction_to_span(rec, project, now) for _, rec in parsed.accepted])
        return parsed

    async def annotate(self, evaluations: Sequence[Evaluation]) -> Annotated:
        """Store evaluations as annotations; those of unknown spans (no project) are skipped."""
        now = self._clock.now()
        result = await asyncio.to_thread(to_annotations, evaluations, self._events, now)
        await self.store([], result.annotations)
        return result

    async def accept_otlp(
        self,
        body: bytes,
        content_type: str | None,
        content_encoding: str | None,
        header_project: str | None,
        only_project: str | None = None,
    ) -> Accepted:
        """Decode an OTLP/HTTP body and store its valid spans.

        ``only_project`` (a project-scoped API key's project) is where spans that name no
        project go; a body with spans of any other project is refused whole.

        Raises:
            InvalidInput: the body cannot be decoded (or is too large / of the wrong type).
            Forbidden: spans of a project other than ``only_project``.
            Overloaded: the ingest queue is full.
        """
        batch = await self._pool.decode(
            body, content_type, content_encoding, self.max_body_bytes,
            only_project or header_project, self.prices.snapshot(), self.prices.enricher,
        )  # fmt: skip
        if only_project is not None:
            others = sorted(set(batch.projects) - {only_project})
            if others:
                raise Forbidden(
                    f"this API key may write project {only_project!r} only, not {others[0]!r}"
                )
        return await self._commit(batch)

    async def store(self, spans: Sequence[Span], annotations: Sequence[Annotation] = ()) -> None:
        """Store domain spans and annotations (SDK predictions, annotations, demo)."""
        batch = None
        if spans:
            batch = await asyncio.to_thread(columnarize, list(spans), self.prices.enricher)
        await self._commit(batch, annotations)

    async def _commit(
        self, batch: DecodedBatch | None, annotations: Sequence[Annotation] = ()
    ) -> Accepted:
        table = batch.table if batch is not None else None
        projects = batch.projects if batch is not None else ()
        await self._writer.submit_table(table, projects, annotations)
        if batch is None:
            return Accepted(0, [])
        return Accepted(batch.num_spans, list(batch.rejections))

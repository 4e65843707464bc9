"""`IngestService`: the one path every span takes (OTLP/HTTP, OTLP/gRPC, SDK, demo)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llmpulse.clock import Clock
from llmpulse.domain.errors import Forbidden
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.predictions import Evaluation
from llmpulse.domain.spans import Annotation, Rejection, Span
from llmpulse.ingest.annotate import Annotated, to_annotations
from llmpulse.ingest.decode_pool import DecodedBatch, DecodePool, columnarize
from llmpulse.ingest.isolate import Unstorable, storable_annotations
from llmpulse.ingest.predictions import (
    ParsedPredictions,
    RecordRejection,
    parse_predictions,
    prediction_to_span,
)
from llmpulse.ingest.price_config import PriceConfig
from llmpulse.ingest.writer import SpanWriter
from llmpulse.store.api import EventStore

log = logging.getLogger(__name__)

# The record field a prediction span's column comes from (see `prediction_to_span`).
_RECORD_FIELDS = {
    "metadata": "tags", "attributes": "features", "model": "model_id",
    "version": "model_version", "input_value": "input", "output_value": "output",
}  # fmt: skip


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
        self.rejected_spans = 0  # spans of accepted OTLP requests refused one by one
        # called with every batch once it is durably committed (online evaluation); must not
        # block; an exception is logged, never raised to the request
        self.committed: list[Callable[[DecodedBatch], None]] = []

    async def log_predictions(
        self, project: ProjectName, records: Sequence[object]
    ) -> ParsedPredictions:
        """Validate SDK prediction records one by one and store the good ones as spans.

        A record that passes validation but cannot be stored (a count past int64, …) is
        moved to ``rejected``; the others are stored all the same.
        """
        parsed = parse_predictions(records)
        now = self._clock.now()
        spans = [prediction_to_span(rec, project, now) for _, rec in parsed.accepted]
        refused = await self.store(spans)
        if refused:
            for k, column, reason in refused:
                i = parsed.accepted[k][0]
                path = f"records[{i}].{_RECORD_FIELDS.get(column, column)}"
                parsed.rejected.append(RecordRejection(i, path, reason))
            dropped = {k for k, _, _ in refused}
            parsed = ParsedPredictions(
                [a for k, a in enumerate(parsed.accepted) if k not in dropped],
                sorted(parsed.rejected, key=lambda r: r.index),
            )
        return parsed

    async def annotate(self, evaluations: Sequence[Evaluation]) -> Annotated:
        """Store evaluations as annotations; those of unknown spans (no project) are skipped.

        Each annotation is checked before it joins a write batch: one that cannot be stored
        (metadata nested too deep, …) is reported in ``unstorable`` and never reaches the
        writer, so it cannot fail the group commit it would have shared with others.
        """
        now = self._clock.now()
        result = await asyncio.to_thread(to_annotations, evaluations, self._events, now)
        kept, bad = await asyncio.to_thread(storable_annotations, result.annotations)
        if bad:
            result.unstorable.extend((result.sources[k], f, why) for k, f, why in bad)
            result.annotations[:] = [result.annotations[k] for k in kept]
            result.sources[:] = [result.sources[k] for k in kept]
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

    async def store(
        self, spans: Sequence[Span], annotations: Sequence[Annotation] = ()
    ) -> tuple[Unstorable, ...]:
        """Store domain spans and annotations (SDK predictions, annotations, demo).

        Returns the spans that could not be stored (index in ``spans``, field, reason); the
        others are stored.
        """
        batch = None
        if spans:
            batch = await asyncio.to_thread(columnarize, list(spans), self.prices.enricher)
        await self._commit(batch, annotations)
        return batch.refused if batch is not None else ()

    async def _commit(
        self, batch: DecodedBatch | None, annotations: Sequence[Annotation] = ()
    ) -> Accepted:
        table = batch.table if batch is not None else None
        projects = batch.projects if batch is not None else ()
        await self._writer.submit_table(table, projects, annotations)
        if batch is None:
            return Accepted(0, [])
        self.rejected_spans += len(batch.rejections)
        for listener in self.committed:
            try:
                listener(batch)
            except Exception:  # the spans are durable: a retry would store them twice
                log.exception("a commit listener failed; the batch stays committed")
        return Accepted(batch.num_spans, list(batch.rejections))

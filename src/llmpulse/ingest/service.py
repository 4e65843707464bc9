"""`IngestService`: the one path every span takes (OTLP/HTTP, OTLP/gRPC, SDK, demo)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from llmpulse.domain.spans import Annotation, Rejection, Span
from llmpulse.ingest.decode_pool import DecodePool
from llmpulse.ingest.otlp import Normalized, normalize_request
from llmpulse.ingest.price_config import PriceConfig
from llmpulse.ingest.writer import SpanWriter


@dataclass(frozen=True, slots=True)
class Accepted:
    """Spans stored durably and spans rejected (with field paths)."""

    num_spans: int
    rejections: list[Rejection]


class IngestService:
    """Decodes off the event loop, then waits for the writer's durable commit."""

    def __init__(
        self, writer: SpanWriter, prices: PriceConfig, pool: DecodePool, *, max_body_bytes: int
    ) -> None:
        self._writer = writer
        self._pool = pool
        self.prices = prices
        self.max_body_bytes = max_body_bytes
        self.unpriced: dict[str, int] = {}

    def _enrich(self, spans: list[Span]) -> list[Span]:
        """Fill cost from the price book (runs on a worker thread with the decode)."""
        result = self.prices.enricher.enrich(spans)
        for model, n in result.unpriced.items():
            self.unpriced[model] = self.unpriced.get(model, 0) + n
        return result.spans

    def _normalize(self, request: object, header_project: str | None) -> Normalized:
        n = normalize_request(request, header_project)  # type: ignore[arg-type]
        return Normalized(self._enrich(n.spans), n.rejections)

    async def accept_otlp(
        self,
        body: bytes,
        content_type: str | None,
        content_encoding: str | None,
        header_project: str | None,
    ) -> Accepted:
        """Decode an OTLP/HTTP body and store its valid spans.

        Raises:
            InvalidInput: the body cannot be decoded (or is too large / of the wrong type).
            Overloaded: the ingest queue is full.
        """
        batch = await self._pool.decode(
            body, content_type, content_encoding, self.max_body_bytes, header_project,
            self.prices.snapshot(),
        )  # fmt: skip
        for model, n in batch.unpriced.items():
            self.unpriced[model] = self.unpriced.get(model, 0) + n
        if batch.table is not None:
            await self._writer.submit_table(batch.table, batch.projects)
        return Accepted(batch.num_spans, list(batch.rejections))

    async def accept_otlp_message(self, request: object, header_project: str | None) -> Accepted:
        """Store an already-parsed ExportTraceServiceRequest (the gRPC path)."""
        normalized = await asyncio.to_thread(self._normalize, request, header_project)
        return await self.store_normalized(normalized)

    async def store_normalized(self, normalized: Normalized) -> Accepted:
        """Submit decoded spans to the writer and wait until they are durable."""
        await self._writer.submit(normalized.spans)
        return Accepted(len(normalized.spans), list(normalized.rejections))

    async def store(self, spans: Sequence[Span], annotations: Sequence[Annotation] = ()) -> None:
        """Store domain spans and annotations (SDK predictions, annotations, demo)."""
        enriched = await asyncio.to_thread(self._enrich, list(spans)) if spans else []
        await self._writer.submit(enriched, annotations)

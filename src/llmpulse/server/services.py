"""The typed `Services` container the app and its routes share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from llmpulse.clock import Clock, SystemClock
from llmpulse.ingest.decode_pool import DecodePool
from llmpulse.ingest.grpc_listener import GrpcListener
from llmpulse.ingest.price_config import PriceConfig
from llmpulse.ingest.service import IngestService
from llmpulse.ingest.writer import SpanWriter
from llmpulse.query.cohorts import CohortService
from llmpulse.query.segments import SegmentService
from llmpulse.query.service import QueryService
from llmpulse.server.settings import ServerSettings
from llmpulse.store.api import EventStore, StateStore
from llmpulse.store.datadir import open_stores


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a request handler may call."""

    settings: ServerSettings
    clock: Clock
    events: EventStore
    state: StateStore
    writer: SpanWriter
    pool: DecodePool
    ingest: IngestService
    query: QueryService
    segments: SegmentService
    cohorts: CohortService


OpenedStores = tuple[EventStore, StateStore]


@asynccontextmanager
async def run_services(
    settings: ServerSettings, clock: Clock | None = None, *, stores: OpenedStores | None = None
) -> AsyncIterator[Services]:
    """Open the stores (unless given), start the writer and the gRPC listener; undo it all in
    reverse (given stores are closed too)."""
    clock = clock or SystemClock()
    async with AsyncExitStack() as stack:
        events, state = stores or open_stores(settings.data_dir, journal=settings.ingest_journal)
        stack.callback(state.close)
        stack.callback(events.close)
        writer = SpanWriter(
            events,
            state,
            clock,
            max_queued_spans=settings.max_queued_spans,
            max_commit_spans=settings.max_commit_spans,
        )
        await writer.start()
        stack.push_async_callback(writer.stop)
        prices = PriceConfig(state, settings.prices_file)
        pool = DecodePool(settings.decode_workers)
        await pool.start()
        stack.push_async_callback(pool.stop)
        ingest = IngestService(
            writer, prices, pool, events, clock, max_body_bytes=settings.max_body_bytes
        )
        if settings.grpc_port:
            listener = GrpcListener(ingest, settings.host, settings.grpc_port)
            await listener.start()
            stack.push_async_callback(listener.stop)
        cohorts = CohortService(state, clock)
        query = QueryService(events, state, data_version=lambda: writer.data_version)
        yield Services(
            settings=settings,
            clock=clock,
            events=events,
            state=state,
            writer=writer,
            pool=pool,
            ingest=ingest,
            query=query,
            segments=SegmentService(query, cohorts),
            cohorts=cohorts,
        )

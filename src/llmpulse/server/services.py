"""The typed `Services` container the app and its routes share."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from llmpulse.clock import Clock, SystemClock
from llmpulse.config.service import ConfigService
from llmpulse.config.source import StoredConfigSource
from llmpulse.domain.errors import Unavailable
from llmpulse.evals.service import EvalService
from llmpulse.evals.settings import judge_config_from_env
from llmpulse.explain.settings import ExplainSettings
from llmpulse.explain.why import why_span
from llmpulse.explain.wiring import Explainers, build_explainers
from llmpulse.governance.annotations import AnnotationDesk
from llmpulse.governance.keys import KeyService
from llmpulse.governance.lifecycle import ProjectLifecycle, RetentionLoop
from llmpulse.governance.sessions import SessionSigner, load_secret
from llmpulse.ingest.admission import ByteBudget
from llmpulse.ingest.decode_pool import DecodePool
from llmpulse.ingest.grpc_listener import GrpcListener
from llmpulse.ingest.price_config import PriceConfig
from llmpulse.ingest.service import IngestService
from llmpulse.ingest.writer import SpanWriter
from llmpulse.query.cohorts import CohortService
from llmpulse.query.segments import SegmentService
from llmpulse.query.service import QueryService
from llmpulse.server.access import exposure_problem
from llmpulse.server.exposition import Exposition, IngestCollector, SloCollector, StoreCollector
from llmpulse.server.grpc_auth import grpc_authorizer
from llmpulse.server.reports import ReportRunner
from llmpulse.server.runtime import MonitorRuntime, monitor_runtime
from llmpulse.server.runtime_metrics import RuntimeCollector
from llmpulse.server.settings import ServerSettings
from llmpulse.slos.feed import SloAlertFeed
from llmpulse.slos.service import SloService
from llmpulse.store.api import EventStore, StateStore
from llmpulse.store.datadir import open_stores
from llmpulse.store.state.config_store import config_store_for


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
    budget: ByteBudget
    keys: KeyService
    sessions: SessionSigner
    runtime: MonitorRuntime
    config: ConfigService
    explainers: Explainers
    slos: SloService
    exposition: Exposition
    evals: EvalService
    lifecycle: ProjectLifecycle
    annotations: AnnotationDesk


OpenedStores = tuple[EventStore, StateStore]


@asynccontextmanager
async def run_services(
    settings: ServerSettings,
    clock: Clock | None = None,
    budget: ByteBudget | None = None,
    *,
    stores: OpenedStores | None = None,
) -> AsyncIterator[Services]:
    """Open the stores (unless given), start the writer and the gRPC listener; undo it all in
    reverse (given stores are closed too).

    ``budget`` bounds request body bytes in flight; the HTTP middleware and the gRPC listener
    share it (a fresh one from the settings when not given).
    """
    clock = clock or SystemClock()
    budget = budget or ByteBudget(settings.max_inflight_bytes)
    async with AsyncExitStack() as stack:
        events, state = stores or open_stores(
            settings.data_dir,
            journal=settings.ingest_journal,
            search_index=settings.search_index,
            memory_limit=settings.memory_limit,
        )
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
        keys = KeyService(state, clock)
        refusal = exposure_problem(settings.host, settings.insecure, int(keys.any_active()))
        if refusal is not None:
            raise Unavailable(refusal)
        if settings.grpc_port:
            listener = GrpcListener(
                ingest,
                settings.host,
                settings.grpc_port,
                authorize=grpc_authorizer(keys, settings.open_allowed()),
                budget=budget,
            )
            await listener.start()
            stack.push_async_callback(listener.stop)
        cohorts = CohortService(state, clock)
        slos = SloService(events, state, clock)
        exposition = Exposition()
        exposition.add(SloCollector(slos))
        exposition.add(IngestCollector(writer, ingest, budget))
        exposition.add(StoreCollector(events))
        query = QueryService(events, state, data_version=lambda: writer.data_version)
        explainers = build_explainers(query, state, clock, ExplainSettings.from_env(os.environ))
        stack.push_async_callback(explainers.aclose)
        reports = ReportRunner(StoredConfigSource(config_store_for(state)), slos, query)
        runtime = monitor_runtime(settings, events, state, clock, SloAlertFeed(slos), reports)
        exposition.add(RuntimeCollector(runtime))
        await runtime.start()
        stack.push_async_callback(runtime.stop)
        evals = EvalService(state, query, ingest, clock, judge_config_from_env())
        evals.review.explain = lambda p, s: why_span(explainers, query, p, s)
        await evals.start()
        stack.push_async_callback(evals.stop)
        lifecycle = ProjectLifecycle(
            events, state, clock, changed=writer.touch, forget=writer.forget_project
        )
        retention = RetentionLoop(
            lifecycle, clock, timedelta(seconds=settings.retention_interval_s)
        )
        await retention.start()
        stack.push_async_callback(retention.stop)
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
            budget=budget,
            keys=keys,
            sessions=SessionSigner(
                load_secret(state, clock.now()), keys, timedelta(hours=settings.session_hours)
            ),
            runtime=runtime,
            config=ConfigService(config_store_for(state), clock),
            explainers=explainers,
            slos=slos,
            exposition=exposition,
            evals=evals,
            lifecycle=lifecycle,
            annotations=AnnotationDesk(events, state, ingest, clock, changed=writer.touch),
        )

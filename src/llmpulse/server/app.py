"""`create_app`: a short composition of settings, services, routes and error handlers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from llmpulse.clock import Clock
from llmpulse.demo.monitors import default_monitors
from llmpulse.ingest.admission import ByteBudget
from llmpulse.server.body_limits import BodyLimits, document_limits
from llmpulse.server.demo_loader import load_demo_if_empty
from llmpulse.server.docs_pages import mount_docs
from llmpulse.server.openapi_doc import build_openapi
from llmpulse.server.openapi_security import AUTH_RESPONSES, document_security
from llmpulse.server.problems import install_problem_handlers
from llmpulse.server.query_activity import MarkQueries
from llmpulse.server.route_warmup import warm_routes
from llmpulse.server.routes import (
    alert_config,
    alerts,
    annotation_edits,
    backup,
    cohorts,
    config_apply,
    digest,
    evals,
    explain_rag,
    explanations,
    export,
    gate,
    health,
    keys,
    metrics,
    monitors,
    otlp,
    predictions,
    prices,
    projects,
    prometheus,
    segments,
    sessions,
    silences,
    slos,
    spans,
)
from llmpulse.server.routes import (
    annotations as annotation_routes,
)
from llmpulse.server.routes import lifecycle as lifecycle_routes
from llmpulse.server.routes import review as review_routes
from llmpulse.server.security import AccessControl
from llmpulse.server.services import OpenedStores, run_services
from llmpulse.server.settings import ServerSettings
from llmpulse.store.events.codec import skip_pandas_probe
from llmpulse.ui.pages import mount_ui

API_DESCRIPTION = """llmpulse REST API. Errors are `application/problem+json` with an
`errors[]` list of `{path, message}`. OTLP/HTTP ingest is at `POST /v1/traces`.
When the server has API keys, every route but `/healthz` needs `Authorization: Bearer <key>`:
reads need the `read` scope, ingest the `ingest` scope, every change `admin`."""


def create_app(
    settings: ServerSettings,
    clock: Clock | None = None,
    *,
    demo: bool = False,
    stores: OpenedStores | None = None,
) -> FastAPI:
    """Build the ASGI app for one server process (``demo`` fills rag-demo at start).

    ``stores`` are the data directory's stores when the caller opened (and so verified) them
    already, as ``llmpulse serve`` does; the app closes them when it stops.
    """
    skip_pandas_probe()  # the server converts lists to Arrow, never pandas objects

    budget = ByteBudget(settings.max_inflight_bytes)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with run_services(settings, clock, budget, stores=stores) as services:
            app.state.services = services
            if demo:
                services.runtime.add_monitors(default_monitors())
            task = asyncio.create_task(load_demo_if_empty(services)) if demo else None
            await warm_routes(app)
            yield
            if task is not None:
                task.cancel()

    app = FastAPI(
        title="llmpulse",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served with local assets by `mount_docs`, never from a CDN
        redoc_url=None,
    )
    app.openapi = partial(build_openapi, app)  # type: ignore[method-assign]
    install_problem_handlers(app)
    # The last added runs first: body limits bound what access control reads (a form's
    # CSRF field) as well as what the routes read.
    app.add_middleware(
        AccessControl, allowed_hosts=settings.host_names(), open_allowed=settings.open_allowed()
    )
    app.add_middleware(
        BodyLimits,
        rest_limit=settings.max_rest_body_bytes,
        otlp_limit=settings.max_body_bytes,
        budget=budget,
    )
    app.add_middleware(MarkQueries)  # outermost: background work yields to requests
    app.include_router(health.router)
    mount_docs(app)
    # Routers are tried in this order for every request: ingest and the routes the UI and
    # dashboards ask most come first (no two routers' paths overlap, so order is speed only).
    for module in (
        otlp,
        spans,
        metrics,
        projects,
        export,
        annotation_routes,
        predictions,
        prices,
        segments,
        sessions,
        cohorts,
        keys,
        backup,
        alerts,
        monitors,
        alert_config,
        silences,
        config_apply,
        explanations,
        explain_rag,
        slos,
        gate,
        digest,
        prometheus,
        evals,
        review_routes,
        lifecycle_routes,
        annotation_edits,
    ):
        app.include_router(module.router, responses=AUTH_RESPONSES)
    mount_ui(app)
    document_limits(app)
    document_security(app)
    return app

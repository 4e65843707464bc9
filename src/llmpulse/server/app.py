"""`create_app`: a short composition of settings, services, routes and error handlers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from llmpulse.clock import Clock
from llmpulse.server.demo_loader import load_demo_if_empty
from llmpulse.server.problems import install_problem_handlers
from llmpulse.server.routes import (
    annotations as annotation_routes,
)
from llmpulse.server.routes import (
    backup,
    cohorts,
    health,
    metrics,
    otlp,
    predictions,
    prices,
    projects,
    segments,
    spans,
)
from llmpulse.server.services import OpenedStores, run_services
from llmpulse.server.settings import ServerSettings
from llmpulse.store.events.codec import skip_pandas_probe
from llmpulse.ui.pages import mount_ui

API_DESCRIPTION = """llmpulse REST API. Errors are `application/problem+json` with an
`errors[]` list of `{path, message}`. OTLP/HTTP ingest is at `POST /v1/traces`."""


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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with run_services(settings, clock, stores=stores) as services:
            app.state.services = services
            task = asyncio.create_task(load_demo_if_empty(services)) if demo else None
            yield
            if task is not None:
                task.cancel()

    app = FastAPI(
        title="llmpulse",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    for module in (
        health,
        otlp,
        projects,
        spans,
        annotation_routes,
        predictions,
        metrics,
        prices,
        segments,
        cohorts,
        backup,
    ):
        app.include_router(module.router)
    mount_ui(app)
    return app

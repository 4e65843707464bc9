"""Load the demo project through the normal ingest path (used by `serve --demo` and `demo`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from llmpulse.demo.generator import generate_demo
from llmpulse.domain.ids import ProjectName
from llmpulse.server.services import Services
from llmpulse.store.api import SpanQuery

log = logging.getLogger(__name__)
DEMO_PROJECT = ProjectName("rag-demo")


async def has_demo(services: Services) -> bool:
    """True when the demo project already holds spans."""
    page = await services.query.list_spans(SpanQuery(project=DEMO_PROJECT, limit=1))
    return bool(page.items)


async def load_demo(
    services: Services,
    *,
    days: int = 7,
    progress: Callable[[int, int], None] | None = None,
    end: datetime | None = None,
) -> int:
    """Generate the demo week ending now (or at ``end``) and store it; returns the number of
    spans stored.

    Args:
        services: running services (the writer must be started).
        days: days of traffic.
        progress: called with (traces done, traces expected) after each batch.
        end: when the generated traffic ends (default: the next whole minute); a fixed end
            makes the same spans on every run.
    """
    if end is None:
        end = services.clock.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    data = generate_demo(end=end, days=days, project=DEMO_PROJECT)
    it = iter(data)
    stored = traces = 0
    while True:
        batch = await asyncio.to_thread(next, it, None)
        if batch is None:
            break
        await services.ingest.store(batch.spans, batch.annotations)
        stored += len(batch.spans)
        traces += sum(1 for s in batch.spans if s.parent_span_id is None)
        if progress is not None:
            progress(traces, data.expected_traces)
    log.info("demo loaded: %d spans in project %s", stored, DEMO_PROJECT)
    return stored


async def load_demo_if_empty(services: Services) -> None:
    """Background task of `serve --demo`: fill the demo once, never twice."""
    try:
        if not await has_demo(services):
            await load_demo(services)
    except Exception:
        log.exception("loading the demo failed")

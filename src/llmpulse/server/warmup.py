"""`Warmup`: after commits settle (and at start), ask what a first query asks (ADR 0041).

The first query after a bulk load (or a restart) paid for first touches: DuckDB reading the
column blocks of the newest row groups into its buffer pool (the load's checkpoints wrote them
out of memory), and the first pass of Python through a route. After a burst (the writer's
`data_version` moved at least `BURST_COMMITS` times since the last warm-up, or the server
just started) has stood still for `SETTLE_S` with no query running, this task asks for each
project's newest page of spans with its trace totals (at most `MAX_PROJECTS`), through the
same service and route code as a request; the answers land in the query cache like any
other, so a dashboard asking exactly that is answered from it. A steady trickle of commits
(one a second) warms at most every `BURST_COMMITS` commits. It runs on the event loop's
worker threads, never in the writer, so ingest acknowledgements never wait for it, and it
stands aside while queries run (they warm what they read themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from llmpulse.clock import SystemClock
from llmpulse.domain.ids import ProjectName
from llmpulse.query.service import QueryService
from llmpulse.server.routes.spans import span_page_json
from llmpulse.store.activity import QUERIES, QueryActivity
from llmpulse.store.api import SpanQuery

log = logging.getLogger(__name__)

SETTLE_S = 0.25
"""Warm once the data version has not moved for this long (a bulk load from a few senders
commits every few tens of ms: its gaps are shorter) ..."""
BURST_COMMITS = 10
"""... after it moved at least this many times since the last warm-up ..."""
POLL_S = 0.02
"""... looking this often (a comparison of two integers)."""
MAX_PROJECTS = 8
"""Projects warmed after each burst (by name)."""


class Warmup:
    """A background task that warms the newest data of each project after commits settle."""

    def __init__(
        self,
        query: QueryService,
        data_version: Callable[[], int],
        projects: Callable[[], list[ProjectName]],
        activity: QueryActivity = QUERIES,
    ) -> None:
        """Args:
        query: the service the requests use (its cache keeps the warm answers).
        data_version: the writer's data version (moves with every commit).
        projects: the known projects' names (a cheap call: not the span counts).
        activity: queries in flight (a warm-up is skipped while one runs).
        """
        self._query = query
        self._version = data_version
        self._projects = projects
        self._activity = activity
        self._task: asyncio.Task[None] | None = None
        self.runs = 0
        """Warm-ups done (observability and tests)."""

    async def start(self) -> None:
        """Start watching (the data at start counts as new: a restart warms too)."""
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        clock = SystemClock()
        warmed: int | None = None
        seen = self._version()
        changed = clock.monotonic_s()
        while True:
            await asyncio.sleep(POLL_S)
            version = self._version()
            now = clock.monotonic_s()
            if version != seen:
                seen, changed = version, now
                continue
            burst = warmed is None or version - warmed >= BURST_COMMITS
            if not burst or now - changed < SETTLE_S:
                continue
            if self._activity.inflight:  # a running query warms what it reads
                continue
            try:
                await self.warm()
            except Exception:  # a store closing or failing: the next settle tries again
                log.debug("warm-up failed", exc_info=True)
            warmed = version

    async def warm(self) -> None:
        """Ask each project's newest page of spans with its trace totals."""
        names = await asyncio.to_thread(self._projects)
        for name in names[:MAX_PROJECTS]:
            if self._activity.inflight:
                break
            await span_page_json(self._query, SpanQuery(project=name))
        self.runs += 1

"""Project lifecycle: deleting a project, and retention (spans older than N days dropped).

A project's retention is a document of kind ``project.retention`` named after the project
(``{"days": N}``); the last run's report is kept beside it (``project.retention_report``), so
the UI shows when retention last ran and how many spans it dropped. `RetentionJob.tick` does
one round over every project with a policy; `RetentionLoop` runs it every interval in the
server. Deleting a project removes its spans and annotations (in chunks that let other
projects' ingest through, see `store.events.purge`), its state row and its documents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from llmpulse.clock import Clock
from llmpulse.domain.errors import FieldError, InvalidInput, NotFound
from llmpulse.domain.ids import ProjectName
from llmpulse.store.api import EventStore, StateStore

log = logging.getLogger(__name__)
POLICY_KIND = "project.retention"
REPORT_KIND = "project.retention_report"
MAX_DAYS = 36_500


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """What the last retention round did for one project."""

    ran_at: datetime
    cutoff: datetime
    spans_dropped: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Retention:
    """A project's retention policy (``days`` None: keep everything) and its last run."""

    project: ProjectName
    days: int | None
    last_run: RetentionRun | None


def check_days(days: int | None) -> int | None:
    """Validate a retention period in days (None clears it).

    Raises:
        InvalidInput: not between 1 and `MAX_DAYS`.
    """
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise InvalidInput(
            "retention days out of range", [FieldError("days", f"1..{MAX_DAYS}, or null")]
        )
    return days


class ProjectLifecycle:
    """Deletes projects, keeps retention policies and runs retention rounds.

    Store calls block, so each runs on a worker thread; ``changed`` is called after the
    stores changed (the server moves the query cache's data version on), ``forget`` after a
    project was deleted (the ingest writer creates it again with its next span).
    """

    def __init__(
        self,
        events: EventStore,
        state: StateStore,
        clock: Clock,
        changed: Callable[[], None] = lambda: None,
        forget: Callable[[ProjectName], None] = lambda _: None,
    ) -> None:
        self._events = events
        self._state = state
        self._clock = clock
        self._changed = changed
        self._forget = forget

    async def _require(self, project: ProjectName) -> None:
        if await asyncio.to_thread(self._state.get_project, project) is None:
            raise NotFound(f"project {project!r} does not exist")

    async def delete_project(self, project: ProjectName) -> int:
        """Delete a project with its spans, annotations and state; returns the spans deleted.

        Raises:
            NotFound: no such project.
        """
        await self._require(project)
        n = await asyncio.to_thread(self._events.delete_spans, project)
        await asyncio.to_thread(self._state.delete_project, project)
        self._forget(project)
        self._changed()
        log.info("deleted project %r with %d spans", project, n)
        return n

    async def retention(self, project: ProjectName) -> Retention:
        """A project's retention policy and last run.

        Raises:
            NotFound: no such project.
        """
        await self._require(project)
        policy = await asyncio.to_thread(self._state.get_document, POLICY_KIND, project)
        report = await asyncio.to_thread(self._state.get_document, REPORT_KIND, project)
        days = orjson.loads(policy.body)["days"] if policy else None
        return Retention(project, days, _run(orjson.loads(report.body)) if report else None)

    async def set_retention(self, project: ProjectName, days: int | None) -> Retention:
        """Set (or with None clear) how many days of spans a project keeps.

        Raises:
            NotFound: no such project.
            InvalidInput: ``days`` out of range.
        """
        check_days(days)
        await self._require(project)
        if days is None:
            await asyncio.to_thread(self._state.delete_document, POLICY_KIND, project)
        else:
            body = orjson.dumps({"days": days}).decode()
            now = self._clock.now()
            await asyncio.to_thread(self._state.put_document, POLICY_KIND, project, body, now)
        return await self.retention(project)

    async def tick(self, now: datetime) -> dict[str, RetentionRun]:
        """One retention round: for each project with a policy, drop spans that started more
        than its days before ``now``; record and return what each run did."""
        docs = await asyncio.to_thread(self._state.list_documents, POLICY_KIND)
        runs: dict[str, RetentionRun] = {}
        for doc in docs:
            project = ProjectName(doc.name)
            cutoff = now - timedelta(days=int(orjson.loads(doc.body)["days"]))
            try:
                n = await asyncio.to_thread(self._events.delete_spans, project, cutoff)
            except Exception as exc:
                log.exception("retention of project %r failed", project)
                run = RetentionRun(now, cutoff, 0, str(exc) or type(exc).__name__)
            else:
                run = RetentionRun(now, cutoff, n)
            body = orjson.dumps(_run_dict(run)).decode()
            await asyncio.to_thread(self._state.put_document, REPORT_KIND, project, body, now)
            runs[project] = run
        if any(r.spans_dropped for r in runs.values()):
            self._changed()
        return runs


def _run_dict(run: RetentionRun) -> dict[str, object]:
    return {
        "ran_at": run.ran_at.isoformat(),
        "cutoff": run.cutoff.isoformat(),
        "spans_dropped": run.spans_dropped,
        "error": run.error,
    }


def _run(d: dict[str, object]) -> RetentionRun:
    return RetentionRun(
        ran_at=datetime.fromisoformat(str(d["ran_at"])),
        cutoff=datetime.fromisoformat(str(d["cutoff"])),
        spans_dropped=int(str(d["spans_dropped"])),
        error=None if d.get("error") is None else str(d["error"]),
    )


class RetentionLoop:
    """Runs `ProjectLifecycle.tick` every ``interval`` in the background (a Service)."""

    def __init__(self, lifecycle: ProjectLifecycle, clock: Clock, interval: timedelta) -> None:
        self._lifecycle = lifecycle
        self._clock = clock
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop; the first round runs at once."""
        self._task = asyncio.create_task(self._run(), name="llmpulse-retention")

    async def stop(self) -> None:
        """Cancel the loop and wait for it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self._lifecycle.tick(self._clock.now())
            except Exception:
                log.exception("retention round failed")
            await self._clock.sleep_until(self._clock.now() + self._interval)

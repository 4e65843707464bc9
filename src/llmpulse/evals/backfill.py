"""Backfill jobs: run one rule over the stored spans of a time range, with progress.

A job walks the project's spans page by page (newest first), lets the rule's policy pick
spans, evaluates them and writes the verdicts as annotations. Its status (``running``, ``done``,
``stopped`` when the cost cap was reached, ``failed``) and counters are kept in memory and in
the state store (kind ``eval_job``), so ``GET .../eval-jobs/{id}`` answers after a restart too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from llmpulse.clock import Clock
from llmpulse.domain.errors import LlmpulseError, NotFound
from llmpulse.domain.eval_rules import EvalRule
from llmpulse.domain.ids import ProjectName
from llmpulse.evals.runner import RuleRunner, RunReport
from llmpulse.store.api import SpanQuery, StateStore, TimeRange

KIND = "eval_job"
PAGE = 200
log = logging.getLogger(__name__)


@dataclass
class JobStatus:
    """A backfill job's state and progress."""

    id: str
    project: str
    rule: str
    state: str  # running, done, stopped, failed
    total: int
    started_at: str
    finished_at: str | None = None
    detail: str | None = None
    report: RunReport = field(default_factory=RunReport)

    def to_json(self) -> str:
        """The stored form."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> JobStatus:
        """Read the stored form."""
        doc = json.loads(text)
        doc["report"] = RunReport(**doc["report"])
        return cls(**doc)


@dataclass(frozen=True)
class BackfillRequest:
    """What to backfill: a time range and at most ``limit`` spans considered."""

    start: datetime | None = None
    end: datetime | None = None
    limit: int | None = None


class BackfillJobs:
    """Starts backfill jobs as tasks and answers their status."""

    def __init__(self, state: StateStore, clock: Clock) -> None:
        """Keep jobs in ``state``."""
        self._state = state
        self._clock = clock
        self._live: dict[str, JobStatus] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def _save(self, job: JobStatus) -> None:
        await asyncio.to_thread(
            self._state.put_document, KIND, f"{job.project}/{job.id}", job.to_json(),
            self._clock.now(),
        )  # fmt: skip

    async def start(
        self, project: ProjectName, rule: EvalRule, runner: RuleRunner, req: BackfillRequest
    ) -> JobStatus:
        """Count the spans in range and start the job; returns its first status."""
        q = SpanQuery(project, TimeRange(req.start, req.end), limit=PAGE)
        total = await runner.query.count_spans(q)
        if req.limit is not None:
            total = min(total, req.limit)
        job = JobStatus(uuid.uuid4().hex[:16], project, rule.name, "running", total,
                        self._clock.now().isoformat())  # fmt: skip
        self._live[job.id] = job
        await self._save(job)
        task = asyncio.create_task(self._run(job, runner, q, req.limit))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(
        self, job: JobStatus, runner: RuleRunner, q: SpanQuery, limit: int | None
    ) -> None:
        try:
            cursor: str | None = None
            while True:
                page = await runner.query.list_spans(_page(q, cursor), keep=False)
                spans = page.items
                if limit is not None:
                    spans = spans[: max(0, limit - job.report.considered)]
                await runner.run(spans, job.report)
                await self._save(job)
                cursor = page.next_cursor
                if job.report.stopped or cursor is None or not spans:
                    break
                if limit is not None and job.report.considered >= limit:
                    break
            job.state = "stopped" if job.report.stopped else "done"
            job.detail = job.report.stopped
        except asyncio.CancelledError:
            job.state, job.detail = "failed", "the server stopped during the job"
            raise
        except LlmpulseError as exc:
            job.state, job.detail = "failed", exc.detail
        except Exception as exc:  # a job must end with a status, whatever broke
            log.exception("evaluation job %s failed", job.id)
            job.state, job.detail = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.finished_at = self._clock.now().isoformat()
            await runner.close()
            await self._save(job)

    async def get(self, project: ProjectName, job_id: str) -> JobStatus:
        """A job's status.

        Raises:
            NotFound: no such job in the project.
        """
        live = self._live.get(job_id)
        if live is not None and live.project == project:
            return live
        doc = await asyncio.to_thread(self._state.get_document, KIND, f"{project}/{job_id}")
        if doc is None:
            raise NotFound(f"evaluation job {job_id!r} does not exist in project {project!r}")
        return JobStatus.from_json(doc.body)

    async def list_jobs(self, project: ProjectName) -> list[JobStatus]:
        """The project's jobs, newest first."""
        docs = await asyncio.to_thread(self._state.list_documents, KIND, f"{project}/")
        jobs = [self._live.get(d.name.split("/")[-1]) or JobStatus.from_json(d.body) for d in docs]
        return sorted(jobs, key=lambda j: j.started_at, reverse=True)

    async def stop(self) -> None:
        """Cancel running jobs (server shutdown); they are saved as failed."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _page(q: SpanQuery, cursor: str | None) -> SpanQuery:
    return replace(q, cursor=cursor)

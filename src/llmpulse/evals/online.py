"""Online evaluation: spans are evaluated as they arrive, after their durable commit.

`IngestService` calls `OnlineEvaluator.offer` with each committed batch (a cheap, non-blocking
hand-off: a set lookup of the batch's projects, then the span ids onto a bounded queue). One
background task takes span ids off the queue, reads the spans back and runs every online rule
of their project. Ingest never waits for a judge: when the queue is full the batch's spans are
counted in ``dropped`` (visible in the status) instead of slowing ingest down; a backfill job
evaluates them later. A rule whose judge reached its cost cap stops evaluating and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from llmpulse.domain.errors import LlmpulseError, NotFound
from llmpulse.domain.eval_rules import EvalRule
from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.domain.spans import Span
from llmpulse.evals.runner import RuleRunner, RunReport
from llmpulse.ingest.decode_pool import DecodedBatch

log = logging.getLogger(__name__)
RunnerFor = Callable[[ProjectName, EvalRule], Awaitable[RuleRunner]]
RulesLoader = Callable[[], Awaitable[dict[ProjectName, list[EvalRule]]]]


@dataclass
class OnlineStatus:
    """Counters of the online evaluator, per project and rule."""

    queued: int = 0
    dropped: int = 0
    reports: dict[str, RunReport] = field(default_factory=dict)  # "<project>/<rule>"


class OnlineEvaluator:
    """A bounded queue of committed span ids and the task that evaluates them."""

    def __init__(self, load_rules: RulesLoader, runner_for: RunnerFor, max_queued: int) -> None:
        """Rules come from ``load_rules`` (reloaded after `rules_changed`)."""
        self._load = load_rules
        self._runner_for = runner_for
        self._queue: asyncio.Queue[tuple[ProjectName, list[SpanId]]] = asyncio.Queue(max_queued)
        self._rules: dict[ProjectName, list[EvalRule]] = {}
        self._runners: dict[tuple[ProjectName, str], RuleRunner] = {}
        self._stale = True
        self._task: asyncio.Task[None] | None = None
        self.status = OnlineStatus()

    def rules_changed(self, project: ProjectName) -> None:
        """Reload the rules before the next batch (a rule was written)."""
        self._stale = True

    async def _refresh(self) -> None:
        if self._stale:
            self._stale = False
            self._rules = await self._load()
            for runner in self._runners.values():
                await runner.close()
            self._runners.clear()

    async def start(self) -> None:
        """Load the rules and start the worker task."""
        await self._refresh()
        self._task = asyncio.create_task(self._work())

    async def stop(self) -> None:
        """Stop the worker and release the judge clients."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for runner in self._runners.values():
            await runner.close()

    def offer(self, batch: DecodedBatch) -> None:
        """Queue a committed batch's spans of projects with online rules (never blocks)."""
        # while the rules are being reloaded, queue every project: the worker decides
        wanted = set(batch.projects) if self._stale else set(batch.projects) & set(self._rules)
        if not wanted or batch.table is None:
            return
        projects = batch.table.column("project").to_pylist()
        ids = batch.table.column("span_id").to_pylist()
        for project in wanted:
            mine = [SpanId(s) for p, s in zip(projects, ids, strict=True) if p == project]
            try:
                self._queue.put_nowait((ProjectName(project), mine))
                self.status.queued += len(mine)
            except asyncio.QueueFull:
                self.status.dropped += len(mine)

    async def drain(self) -> None:
        """Wait until every queued span has been evaluated (tests, shutdown)."""
        await self._queue.join()

    async def _work(self) -> None:
        while True:
            project, span_ids = await self._queue.get()
            try:
                await self._refresh()
                spans: list[Span] | None = None  # read once, for the first rule that runs
                for rule in self._rules.get(project, []):
                    spans = await self._evaluate(project, rule, span_ids, spans)
            except Exception:  # the worker must outlive any one batch
                log.exception("online evaluation failed for a batch of %s", project)
            finally:
                self.status.queued -= len(span_ids)
                self._queue.task_done()

    async def _evaluate(
        self, project: ProjectName, rule: EvalRule, span_ids: list[SpanId],
        spans: list[Span] | None,
    ) -> list[Span] | None:  # fmt: skip
        """Run ``rule`` on the spans (read here when ``spans`` is None); the spans read."""
        key = f"{project}/{rule.name}"
        report = self.status.reports.setdefault(key, RunReport())
        if report.stopped:
            return spans
        runner = self._runners.get((project, rule.name))
        if runner is None:
            try:
                runner = self._runners[(project, rule.name)] = await self._runner_for(project, rule)
            except LlmpulseError as exc:
                report.stopped = exc.detail
                return spans
        if spans is None:
            spans = []
            for span_id in span_ids:
                with contextlib.suppress(NotFound):
                    spans.append(await runner.query.get_span(span_id))
        await runner.run(spans, report)
        return spans

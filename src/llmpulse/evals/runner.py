"""Run one rule's evaluator over spans: pick (policy), gather material, judge, annotate.

Used by the backfill jobs and the online worker alike. Verdicts are written through
`IngestService.annotate` (the path every annotation takes), in batches, each carrying the rule's
name in ``metadata.rule``. The run stops early, and says so, when the judge's cost cap is reached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from llmpulse.domain.errors import NotFound
from llmpulse.domain.eval_rules import EvalRule
from llmpulse.domain.predictions import Evaluation
from llmpulse.domain.spans import Span
from llmpulse.domain.triggering import decide, target_of
from llmpulse.evals.evaluators import Evaluator, Skipped
from llmpulse.evals.judge import CostCapReached
from llmpulse.evals.material import material_of
from llmpulse.evals.review import ReviewQueues, verdict_of
from llmpulse.ingest.service import IngestService
from llmpulse.query.service import QueryService

BATCH = 32


@dataclass
class RunReport:
    """What a run did; ``stopped`` says why it ended early (cost cap), if it did."""

    considered: int = 0
    selected: int = 0
    evaluated: int = 0
    skipped: int = 0
    errors: int = 0
    annotations: int = 0
    routed: int = 0
    cost_usd: float = 0.0
    stopped: str | None = None
    skip_reasons: dict[str, int] = field(default_factory=dict)


Progress = Callable[[RunReport], None]


class RuleRunner:
    """Evaluates spans for one rule with one evaluator."""

    def __init__(
        self,
        rule: EvalRule,
        evaluator: Evaluator,
        query: QueryService,
        ingest: IngestService,
        close: Callable[[], Awaitable[None]] | None = None,
        review: ReviewQueues | None = None,
    ) -> None:
        """Bind the rule to its evaluator and to the read and write paths; ``close`` releases
        the evaluator's judge client when the run is over; ``review`` receives the verdicts
        the rule's review route asks for."""
        self.rule = rule
        self._review = review
        self.evaluator = evaluator
        self.query = query
        self._ingest = ingest
        self._close = close

    async def close(self) -> None:
        """Release what the evaluator holds (its judge client)."""
        if self._close is not None:
            await self._close()

    async def _one(self, span: Span, report: RunReport) -> list[Evaluation]:
        trace: Sequence[Span] = ()
        if not span.documents:
            try:
                trace = (await self.query.get_trace(span.trace_id)).spans
            except NotFound:
                trace = ()
        m = material_of(span, trace, self.rule.evaluator.reference_key)
        try:
            found = await self.evaluator.evaluate(span.project, span.span_id, m)
        except Skipped as exc:
            report.skipped += 1
            report.skip_reasons[exc.detail] = report.skip_reasons.get(exc.detail, 0) + 1
            return []
        report.evaluated += 1
        out = []
        for ev in found:
            meta = {**ev.metadata, "rule": self.rule.name}
            report.errors += "error" in meta
            cost = meta.get("cost_usd")
            if isinstance(cost, float) and not ev.name.count(".doc"):
                report.cost_usd += cost
            out.append(replace(ev, metadata=meta))
        return out

    async def _route(self, span: Span, found: Sequence[Evaluation], report: RunReport) -> None:
        route = self.rule.review
        if route is None or self._review is None:
            return
        name = self.rule.evaluator.annotation_name
        for ev in found:
            if ev.name == name and "error" not in ev.metadata and route.wants(ev.label):
                await self._review.enqueue(route.queue, span, verdict_of(ev, self.rule.name))
                report.routed += 1

    async def run(
        self, spans: Sequence[Span], report: RunReport, progress: Progress | None = None
    ) -> RunReport:
        """Evaluate the picked spans among ``spans``; adds to ``report`` and returns it."""
        picked = []
        for span in spans:
            report.considered += 1
            if decide(self.rule.policy, target_of(span, self.rule.policy)).selected:
                picked.append(span)
        report.selected += len(picked)
        for start in range(0, len(picked), BATCH):
            chunk = picked[start : start + BATCH]
            results = await asyncio.gather(
                *(self._one(s, report) for s in chunk), return_exceptions=True
            )
            evaluations = [ev for r in results if isinstance(r, list) for ev in r]
            if evaluations:
                await self._ingest.annotate(evaluations)
                report.annotations += len(evaluations)
            for span, found in zip(chunk, results, strict=True):
                if isinstance(found, list):
                    await self._route(span, found, report)
            capped = [r for r in results if isinstance(r, CostCapReached)]
            other = [
                r
                for r in results
                if isinstance(r, BaseException) and not isinstance(r, CostCapReached)
            ]
            if other:
                raise other[0]
            if progress is not None:
                progress(report)
            if capped:
                report.stopped = capped[0].detail
                break
        return report

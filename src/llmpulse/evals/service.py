"""`EvalService`: rules, backfill jobs and the online worker of one server, wired together.

Every run gets a fresh `JudgeClient` (its own connection pool, counters and cost cap) built
from the judge settings (`settings.judge_config_from_env`) and priced with the price table in
force. A backfill may lower the cap for its own run (``max_cost_usd``).
"""

from __future__ import annotations

import dataclasses

from llmpulse.clock import Clock
from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.eval_rules import EvalRule
from llmpulse.domain.ids import ProjectName
from llmpulse.evals.backfill import BackfillJobs, BackfillRequest, JobStatus
from llmpulse.evals.embedding import load_embedder
from llmpulse.evals.evaluators import build_evaluator
from llmpulse.evals.judge import JudgeClient, JudgeConfig
from llmpulse.evals.online import OnlineEvaluator
from llmpulse.evals.review import ReviewQueues
from llmpulse.evals.rules import RuleService
from llmpulse.evals.runner import RuleRunner
from llmpulse.evals.settings import pricer
from llmpulse.ingest.service import IngestService
from llmpulse.query.service import QueryService
from llmpulse.store.api import StateStore

DEFAULT_MAX_QUEUED = 10_000


class EvalService:
    """What the routes, the UI and the ingest hook call."""

    def __init__(
        self,
        state: StateStore,
        query: QueryService,
        ingest: IngestService,
        clock: Clock,
        judge: JudgeConfig | None,
        max_queued: int = DEFAULT_MAX_QUEUED,
    ) -> None:
        """Wire rules, jobs and the online worker; call `start` before use."""
        self.judge_config = judge
        self._query = query
        self._ingest = ingest
        self._clock = clock
        self.rules = RuleService(state, clock)
        self.jobs = BackfillJobs(state, clock)
        self.review = ReviewQueues(state, ingest, clock)
        self.online = OnlineEvaluator(
            self.rules.projects_with_online_rules, self.runner, max_queued
        )
        self.rules.on_change.append(self.online.rules_changed)

    async def start(self) -> None:
        """Start the online worker and feed it every committed batch."""
        await self.online.start()
        self._ingest.committed.append(self.online.offer)

    async def stop(self) -> None:
        """Stop feeding, cancel jobs, stop the worker."""
        if self.online.offer in self._ingest.committed:
            self._ingest.committed.remove(self.online.offer)
        await self.jobs.stop()
        await self.online.stop()

    async def runner(
        self, project: ProjectName, rule: EvalRule, max_cost_usd: float | None = None
    ) -> RuleRunner:
        """A runner for ``rule`` with its own judge client (when it needs one)."""
        client = None
        if rule.evaluator.uses_judge and self.judge_config is not None:
            config = self.judge_config
            if max_cost_usd is not None:
                config = dataclasses.replace(config, max_cost_usd=max_cost_usd)
            book = self._ingest.prices.enricher.book
            client = JudgeClient(config, self._clock, pricer(book, self._clock.now()))
        embedder = load_embedder() if rule.evaluator.kind == "embedding_similarity" else None
        evaluator = build_evaluator(rule.evaluator, client, embedder)
        return RuleRunner(rule, evaluator, self._query, self._ingest,
                          client.aclose if client is not None else None,
                          self.review)  # fmt: skip

    async def backfill(
        self, project: ProjectName, rule_name: str, req: BackfillRequest,
        max_cost_usd: float | None = None,
    ) -> JobStatus:  # fmt: skip
        """Start a backfill of one rule.

        Raises:
            NotFound: no such rule.
            InvalidInput: the rule cannot run here (no judge configured, no embedding model).
        """
        rule = await self.rules.get(project, rule_name)
        if req.limit is not None and req.limit < 1:
            raise InvalidInput("limit must be at least 1")
        runner = await self.runner(project, rule, max_cost_usd)
        return await self.jobs.start(project, rule, runner, req)

"""The online hand-off never blocks ingest: a full queue counts spans as dropped."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from llmpulse.domain.eval_rules import EvalRule, EvaluatorSpec
from llmpulse.domain.ids import ProjectName
from llmpulse.evals.online import OnlineEvaluator
from llmpulse.evals.runner import RuleRunner
from llmpulse.http_retry import retry_after_s
from llmpulse.ingest.decode_pool import DecodedBatch
from support.aio import run

RULE = EvalRule(name="r", evaluator=EvaluatorSpec(kind="lexical_grounding"))


def _batch(project: str, n: int) -> DecodedBatch:
    table = pa.table({"project": [project] * n, "span_id": [f"{project}-{i}" for i in range(n)]})
    return DecodedBatch(table, n, [], (project,))


async def _rules() -> dict[ProjectName, list[EvalRule]]:
    return {ProjectName("with-rules"): [RULE]}


async def _no_runner(project: ProjectName, rule: EvalRule) -> RuleRunner:
    raise AssertionError("not reached: the test stops the worker first")


def test_only_projects_with_online_rules_are_queued_and_a_full_queue_drops() -> None:
    async def go() -> tuple[int, int]:
        online = OnlineEvaluator(_rules, _no_runner, max_queued=2)
        await online.start()
        # offer is synchronous: the worker gets no turn until this coroutine awaits
        online.offer(_batch("no-rules", 5))
        online.offer(_batch("with-rules", 3))
        online.offer(_batch("with-rules", 4))
        online.offer(_batch("with-rules", 7))  # the queue holds two batches
        counts = online.status.queued, online.status.dropped
        await online.stop()
        return counts

    assert run(go()) == (7, 7)


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
    assert retry_after_s("2.5", now) == 2.5
    assert retry_after_s("Fri, 04 Dec 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_s("Fri, 04 Dec 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_s("soon", now) is None
    assert retry_after_s(None, now) is None

"""The online hand-off never blocks ingest: a full queue counts spans as dropped."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pyarrow as pa

from llmpulse.domain.errors import NotFound
from llmpulse.domain.eval_rules import EvalRule, EvaluatorSpec
from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.evals.online import OnlineEvaluator
from llmpulse.evals.runner import RuleRunner, RunReport
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


def test_a_batch_is_read_once_for_all_the_rules_of_its_project() -> None:
    reads: list[SpanId] = []
    seen: dict[str, list[str]] = {}

    async def get_span(span_id: SpanId) -> SimpleNamespace:
        reads.append(span_id)
        if span_id.endswith("-1"):
            raise NotFound("gone")
        return SimpleNamespace(span_id=span_id)

    def runner_for_rule(rule: EvalRule) -> SimpleNamespace:
        async def run_rule(spans: list[SimpleNamespace], report: RunReport) -> RunReport:
            seen[rule.name] = [s.span_id for s in spans]
            return report

        async def close() -> None:
            return None

        return SimpleNamespace(query=SimpleNamespace(get_span=get_span), run=run_rule, close=close)

    rules = [RULE, RULE.model_copy(update={"name": "r2"}), RULE.model_copy(update={"name": "r3"})]

    async def three_rules() -> dict[ProjectName, list[EvalRule]]:
        return {ProjectName("with-rules"): rules}

    async def runner_for(project: ProjectName, rule: EvalRule) -> RuleRunner:
        return runner_for_rule(rule)  # type: ignore[return-value]

    async def go() -> None:
        online = OnlineEvaluator(three_rules, runner_for, max_queued=4)
        await online.start()
        online.offer(_batch("with-rules", 3))
        await online.drain()
        await online.stop()

    run(go())
    assert len(reads) == 3  # once per span, not once per span and rule
    expected = ["with-rules-0", "with-rules-2"]
    assert seen == {"r": expected, "r2": expected, "r3": expected}

"""Retention rounds on a manual clock: what is dropped, what is reported, when the loop runs."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.clock import ManualClock
from llmpulse.domain.errors import InvalidInput, NotFound
from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span, SpanKind
from llmpulse.governance.lifecycle import ProjectLifecycle, RetentionLoop
from llmpulse.store.api import SpanQuery
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.sql import SqlStateStore
from support.aio import run

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
P, Q = ProjectName("p"), ProjectName("q")


def _span(n: int, project: ProjectName, age: timedelta) -> Span:
    at = NOW - age
    return Span(
        project=project, trace_id=TraceId(f"{n:032x}"), span_id=SpanId(f"{n:016x}"),
        parent_span_id=None, name="llm", kind=SpanKind.LLM, start_time=at, end_time=at,
    )  # fmt: skip


def _stores() -> tuple[DuckDBEventStore, SqlStateStore]:
    events, state = DuckDBEventStore(None), SqlStateStore("sqlite://")
    state.ensure_projects([P, Q], NOW)
    ages = [timedelta(days=d) for d in (5, 3, 1.5, 0.5)]
    events.append_spans([_span(i, P, a) for i, a in enumerate(ages)])
    events.append_spans([_span(10 + i, Q, a) for i, a in enumerate(ages)])
    return events, state


def _left(events: DuckDBEventStore, project: ProjectName) -> int:
    return events.count_spans(SpanQuery(project=project))


def test_tick_drops_spans_older_than_each_policy_and_records_the_run() -> None:
    events, state = _stores()
    changes: list[int] = []
    life = ProjectLifecycle(events, state, ManualClock(NOW), changed=lambda: changes.append(1))

    async def scenario() -> None:
        await life.set_retention(P, 2)
        runs = await life.tick(NOW)
        assert list(runs) == [P]
        assert runs[P].spans_dropped == 2
        assert runs[P].cutoff == NOW - timedelta(days=2)
        assert (await life.retention(P)).last_run == runs[P]
        assert (await life.retention(Q)).last_run is None
        again = await life.tick(NOW)  # nothing older is left: a run that drops nothing
        assert again[P].spans_dropped == 0

    run(scenario())
    assert _left(events, P) == 2
    assert _left(events, Q) == 4
    assert changes == [1]  # only the round that dropped spans invalidates caches


def test_retention_refuses_bad_days_and_unknown_projects() -> None:
    events, state = _stores()
    life = ProjectLifecycle(events, state, ManualClock(NOW))
    with pytest.raises(InvalidInput):
        run(life.set_retention(P, 0))
    with pytest.raises(NotFound):
        run(life.set_retention(ProjectName("nope"), 3))


async def _until_left(events: DuckDBEventStore, n: int) -> None:
    """Wait (up to 20 s: a round's delete and checkpoint share a loaded machine) until ``n``
    spans of P are left."""
    for _ in range(2000):
        if _left(events, P) == n:
            return
        await asyncio.sleep(0.01)


def test_loop_runs_a_round_at_start_and_then_every_interval() -> None:
    events, state = _stores()
    clock = ManualClock(NOW)
    life = ProjectLifecycle(events, state, clock)
    loop = RetentionLoop(life, clock, timedelta(hours=1))

    async def scenario() -> None:
        await life.set_retention(P, 1)
        await loop.start()
        await _until_left(events, 1)
        assert _left(events, P) == 1  # the first round ran at once
        events.append_spans([replace(_span(99, P, timedelta(days=0.9)))])
        clock.advance(timedelta(minutes=59))
        await asyncio.sleep(0.05)
        assert _left(events, P) == 2  # not yet due
        clock.advance(timedelta(hours=2))  # now the 0.9-day-old span is past a day
        await _until_left(events, 1)
        assert _left(events, P) == 1
        await loop.stop()

    run(scenario())

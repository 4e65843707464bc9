"""Query results are cached per data version: a write (a new version) invalidates them."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span, SpanKind
from llmpulse.query.service import QueryService
from llmpulse.store.api import SpanQuery
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.metric_api import MetricQuery
from llmpulse.store.state.sql import SqlStateStore

P = ProjectName("cache")
R = TypeVar("R")


def run_async(make: Callable[[], Coroutine[Any, Any, R]]) -> R:
    """Run a coroutine on a fresh loop in its own thread (the test thread may already have a
    running loop, e.g. Playwright's sync API in the same xdist worker)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _span(i: int) -> Span:
    start = T0 + timedelta(seconds=i)
    return Span(
        project=P, trace_id=TraceId(f"{i:032x}"), span_id=SpanId(f"{i + 1:016x}"),
        parent_span_id=None, name="s", kind=SpanKind.LLM, start_time=start,
        end_time=start + timedelta(milliseconds=100),
    )  # fmt: skip


def test_query_results_are_reused_until_the_data_version_changes() -> None:
    events, state = DuckDBEventStore(None), SqlStateStore("sqlite://")
    version = [0]
    service = QueryService(events, state, data_version=lambda: version[0])
    events.append_spans([_span(i) for i in range(10)])
    count = MetricQuery(P, (parse_metric("count"),))

    async def run() -> tuple[float | None, int, float | None, int]:
        first = (await service.metric(count)).rows[0].values[0]
        page1 = len((await service.list_spans(SpanQuery(P, limit=100))).items)
        events.append_spans([_span(i) for i in range(10, 15)])  # no new version yet
        cached = (await service.metric(count)).rows[0].values[0]
        assert cached == first
        assert len((await service.list_spans(SpanQuery(P, limit=100))).items) == page1
        version[0] += 1  # what the writer does after each commit
        fresh = (await service.metric(count)).rows[0].values[0]
        page2 = len((await service.list_spans(SpanQuery(P, limit=100))).items)
        return first, page1, fresh, page2

    first, page1, fresh, page2 = run_async(run)
    assert (first, page1, fresh, page2) == (10.0, 10, 15.0, 15)
    events.close()
    state.close()


def test_different_queries_get_different_cache_entries() -> None:
    events, state = DuckDBEventStore(None), SqlStateStore("sqlite://")
    service = QueryService(events, state, data_version=lambda: 0)
    events.append_spans([_span(i) for i in range(10)])
    q = MetricQuery(P, (parse_metric("count"),))

    async def run() -> tuple[int, int]:
        a = (await service.metric(q)).rows[0].n
        b = (
            (
                await service.metric(
                    replace(q, time=replace(q.time, start=T0 + timedelta(seconds=5)))
                )
            )
            .rows[0]
            .n
        )
        return a, b

    assert run_async(run) == (10, 5)
    events.close()
    state.close()


def test_memo_reuses_a_derived_value_until_the_data_version_changes() -> None:
    events, state = DuckDBEventStore(None), SqlStateStore("sqlite://")
    version = [0]
    service = QueryService(events, state, data_version=lambda: version[0])
    calls: list[str] = []

    async def compute(label: str) -> str:
        calls.append(label)
        return f"{label}@{version[0]}"

    async def run() -> list[str]:
        out = [await service.memo("body", "a", lambda: compute("a")) for _ in range(3)]
        out.append(await service.memo("body", "b", lambda: compute("b")))  # another key
        version[0] += 1
        out.append(await service.memo("body", "a", lambda: compute("a")))
        return out

    assert run_async(run) == ["a@0", "a@0", "a@0", "b@0", "a@1"]
    assert calls == ["a", "b", "a"]
    events.close()
    state.close()


def test_memo_computes_every_time_without_a_data_version() -> None:
    events, state = DuckDBEventStore(None), SqlStateStore("sqlite://")
    service = QueryService(events, state)
    calls: list[int] = []

    async def compute() -> int:
        calls.append(1)
        return len(calls)

    async def run() -> list[int]:
        return [await service.memo("body", "a", compute) for _ in range(2)]

    assert run_async(run) == [1, 2]
    events.close()
    state.close()


def test_cache_keeps_at_most_cache_size_entries_and_drops_the_least_recent() -> None:
    events, state = DuckDBEventStore(None), SqlStateStore("sqlite://")
    service = QueryService(events, state, data_version=lambda: 0, cache_size=2)
    calls: list[str] = []

    async def compute(label: str) -> str:
        calls.append(label)
        return label

    async def run() -> None:
        for label in ("a", "b", "a", "c", "a", "b"):  # c evicts b (a was used after b)
            await service.memo("body", label, lambda label=label: compute(label))

    run_async(run)
    assert calls == ["a", "b", "c", "b"]
    events.close()
    state.close()


def test_a_new_data_version_drops_every_older_entry_at_once() -> None:
    events, state = DuckDBEventStore(None), SqlStateStore("sqlite://")
    version = [0]
    service = QueryService(events, state, data_version=lambda: version[0], cache_size=8)
    held: list[object] = []

    async def compute(label: str) -> bytes:
        value = label.encode() * 1000
        held.append(value)
        return value

    async def run() -> None:
        for label in ("a", "b", "c"):
            await service.memo("body", label, lambda label=label: compute(label))
        version[0] += 1
        await service.memo("body", "a", lambda: compute("a"))

    run_async(run)
    # Only the answer of the current version is still referenced by the cache (one reference
    # more than the three of the older version, which only `held` keeps).
    counts = [sys.getrefcount(v) for v in held]
    assert counts[0] == counts[1] == counts[2] == counts[3] - 1
    events.close()
    state.close()


def test_memo_without_keep_uses_a_cached_value_but_stores_none() -> None:
    events, state = DuckDBEventStore(None), SqlStateStore("sqlite://")
    service = QueryService(events, state, data_version=lambda: 0)
    calls: list[str] = []

    async def compute(label: str) -> str:
        calls.append(label)
        return label

    async def run() -> None:
        await service.memo("read", "a", lambda: compute("a"), keep=False)
        await service.memo("read", "a", lambda: compute("a"), keep=False)  # not stored: again
        await service.memo("read", "a", lambda: compute("a"))  # stored
        await service.memo("read", "a", lambda: compute("a"), keep=False)  # the stored one

    run_async(run)
    assert calls == ["a", "a", "a"]
    events.close()
    state.close()

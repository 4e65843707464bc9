"""`Warmup` reads each project's newest page after a burst of commits settles (ADR 0041).

Real stores (DuckDB in memory, SQLite) and the real query service; the data version is a
counter the test moves as the writer's commits would. Whether a page was warmed is read from
the query cache: a warmed page is answered without being computed again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from contract.store_factories import T0, make_span
from llmpulse.domain.ids import ProjectName
from llmpulse.query.service import QueryService
from llmpulse.server.warmup import BURST_COMMITS, SETTLE_S, Warmup
from llmpulse.store.activity import QueryActivity
from llmpulse.store.api import SpanQuery
from llmpulse.store.datadir import open_stores
from support.aio import run

P = ProjectName("default")


class Commits:
    """The writer's data version, moved by hand."""

    def __init__(self) -> None:
        self.version = 0

    def __call__(self) -> int:
        return self.version


@pytest.fixture
def commits() -> Commits:
    return Commits()


@pytest.fixture
def query(commits: Commits) -> Iterator[QueryService]:
    events, state = open_stores(None, search_index=False)
    events.append_spans([make_span(n) for n in range(30)])
    state.ensure_projects([P], T0)
    yield QueryService(events, state, data_version=commits)
    events.close()
    state.close()


async def _until(what: Callable[[], bool]) -> None:
    """Poll ``what`` (a deadline against hanging, not a timing check)."""
    for _ in range(12_000):
        if what():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


async def _warmed(query: QueryService) -> bool:
    """Whether the newest page of P is in the query cache (computing it is refused)."""

    async def refuse() -> bytes:
        raise LookupError("not cached")

    try:
        await query.memo("spans_json", (SpanQuery(project=P), False, None), refuse)
    except LookupError:
        return False
    return True


def test_a_burst_is_warmed_once_it_settles_and_a_trickle_is_not(
    query: QueryService, commits: Commits
) -> None:
    warm = Warmup(query, commits, lambda: [P], QueryActivity())

    async def scenario() -> None:
        assert not await _warmed(query)
        await warm.start()
        await _until(lambda: warm.runs == 1)  # at start: the data already there
        assert await _warmed(query)
        commits.version += BURST_COMMITS  # a bulk load
        assert not await _warmed(query)  # a new data version: nothing cached
        await _until(lambda: warm.runs == 2)
        assert await _warmed(query)
        commits.version += 1  # one more commit: not a burst
        await asyncio.sleep(10 * SETTLE_S)
        assert warm.runs == 2
        assert not await _warmed(query)
        await warm.stop()

    run(scenario())


def test_no_warm_up_while_a_query_runs(query: QueryService, commits: Commits) -> None:
    activity = QueryActivity()
    warm = Warmup(query, commits, lambda: [P], activity)

    async def scenario() -> None:
        activity.begin()
        await warm.start()
        await asyncio.sleep(10 * SETTLE_S)
        assert warm.runs == 0  # the running query reads what it needs itself
        activity.end()
        await _until(lambda: warm.runs == 1)
        assert await _warmed(query)
        await warm.stop()

    run(scenario())

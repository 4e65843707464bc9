"""The surrogate cache fits once per key while fresh, once for concurrent callers, and refits
after its maximum age."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from llmpulse.analysis.explain.surrogate import Surrogate
from llmpulse.clock import ManualClock
from llmpulse.explain.surrogate_cache import SurrogateCache
from support.aio import run


@dataclass(frozen=True)
class Key:
    project: str


def _fake_surrogate(n: int) -> Surrogate:
    return Surrogate(None, None, [], "score", 0.5, 1.0, n, None)


def test_cache_fits_once_while_fresh_and_refits_after_max_age() -> None:
    clock = ManualClock(datetime(2026, 12, 4, tzinfo=UTC))
    cache = SurrogateCache(clock, max_age=timedelta(minutes=10))
    fits = []

    async def fit() -> Surrogate:
        fits.append(clock.now())
        await asyncio.sleep(0.01)
        return _fake_surrogate(len(fits))

    async def go() -> list[int]:
        first = await asyncio.gather(*(cache.get(Key("a"), fit) for _ in range(5)))
        clock.advance(timedelta(minutes=9))
        fresh = await cache.get(Key("a"), fit)
        clock.advance(timedelta(minutes=2))
        stale = await cache.get(Key("a"), fit)
        other = await cache.get(Key("b"), fit)
        cache.forget("a")
        forgotten = await cache.get(Key("a"), fit)
        return [s.n_rows for s in [*first, fresh, stale, other, forgotten]]

    assert run(go()) == [1, 1, 1, 1, 1, 1, 2, 3, 4]
    assert len(fits) == 4

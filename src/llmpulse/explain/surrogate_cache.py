"""`SurrogateCache`: fitted surrogates kept for a while, one fit at a time per key.

A surrogate is fitted on every logged prediction of a project (version); refitting after each
ingest commit would refit on every request while traffic flows. A fitted surrogate is kept for
``max_age`` (it explains new predictions too: it takes any feature vector), concurrent
requests for the same key wait for one fit, and at most ``max_entries`` are kept.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime, timedelta

from llmpulse.analysis.explain.surrogate import Surrogate
from llmpulse.clock import Clock

DEFAULT_MAX_AGE = timedelta(minutes=10)


class SurrogateCache:
    """Fitted surrogates by key, refitted once older than ``max_age``."""

    def __init__(
        self, clock: Clock, max_age: timedelta = DEFAULT_MAX_AGE, max_entries: int = 32
    ) -> None:
        """Keep at most ``max_entries`` surrogates, each for ``max_age``."""
        self._clock = clock
        self._max_age = max_age
        self._max_entries = max_entries
        self._fitted: OrderedDict[Hashable, tuple[datetime, Surrogate]] = OrderedDict()
        self._locks: dict[Hashable, asyncio.Lock] = {}

    async def get(self, key: Hashable, fit: Callable[[], Awaitable[Surrogate]]) -> Surrogate:
        """The cached surrogate of ``key``, or a new one from ``fit()``."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit = self._fitted.get(key)
            now = self._clock.now()
            if hit is not None and now - hit[0] < self._max_age:
                self._fitted.move_to_end(key)
                return hit[1]
            surrogate = await fit()
            self._fitted[key] = (now, surrogate)
            self._fitted.move_to_end(key)
            while len(self._fitted) > self._max_entries:
                old, _ = self._fitted.popitem(last=False)
                self._locks.pop(old, None)
            return surrogate

    def forget(self, project: str) -> None:
        """Drop every surrogate of a project (the next request refits)."""
        for key in [k for k in self._fitted if getattr(k, "project", None) == project]:
            del self._fitted[key]

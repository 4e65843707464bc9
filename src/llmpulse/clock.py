"""Time for the whole product: every instant comes from a `Clock` (stdlib only)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """A `Clock` tells the current UTC instant and sleeps until a later one."""

    def now(self) -> datetime:
        """Return the current instant, timezone-aware UTC."""
        ...

    async def sleep_until(self, t: datetime) -> None:
        """Return once the clock has reached ``t``."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Return the current wall-clock instant in UTC."""
        return datetime.now(UTC)

    def monotonic_s(self) -> float:
        """Return a monotonic reading in seconds (for durations only)."""
        return time.monotonic()

    async def sleep_until(self, t: datetime) -> None:
        """Sleep until the wall clock reaches ``t``."""
        delay = (t - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """A clock that moves only when told to; used by tests and scenarios."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start
        self._waiters: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        """Return the clock's current instant."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward and wake sleepers whose time has come."""
        self._now += delta
        still: list[tuple[datetime, asyncio.Future[None]]] = []
        for when, fut in self._waiters:
            if when <= self._now:
                if not fut.done():
                    fut.set_result(None)
            else:
                still.append((when, fut))
        self._waiters = still

    async def sleep_until(self, t: datetime) -> None:
        """Wait until `advance` has moved the clock to ``t`` or later."""
        if t <= self._now:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((t, fut))
        await fut


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def from_unix_ns(ns: int) -> datetime:
    """Convert integer Unix nanoseconds (OTLP and storage edge) to an aware UTC datetime.

    Exact to the microsecond (integer arithmetic; a float detour loses the last digit).
    """
    return from_unix_us(ns // 1000)


def to_unix_ns(t: datetime) -> int:
    """Convert an aware datetime to integer Unix nanoseconds (exact)."""
    return to_unix_us(t) * 1000


def from_unix_us(us: int) -> datetime:
    """Convert integer Unix microseconds (the stored precision) to an aware UTC datetime."""
    return EPOCH + timedelta(microseconds=us)


def to_unix_us(t: datetime) -> int:
    """Convert an aware datetime to integer Unix microseconds (exact)."""
    return (t - EPOCH) // _US

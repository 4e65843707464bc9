"""`QueryActivity`: whether queries are running, so that background work yields to them (ADR 0041).

The server runs queries and its own upkeep (the search indexer, ADR 0038) in one process on
few cores. A query is a chain of short steps (parse, route, a store read on a worker thread,
serialize), and each step needs the interpreter lock: behind a CPU-bound background thread
(whose C calls hold the lock for their whole length) every hand-over waits, and it shares the
cores besides, so a 0.6 ms cached answer took 3-9 ms while the indexer built after a bulk
load. Background work therefore runs in small slices and, between
them, waits until no query is in flight and none ended in the last moment (`wait_quiet`).

One signal per process (`QUERIES`): the HTTP layer marks every request, the event store every
read, and whatever yields asks the same object. Tests give an engine its own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from llmpulse.clock import SystemClock


class QueryActivity:
    """Queries in flight and when the last one ended (monotonic seconds)."""

    def __init__(self) -> None:
        """Nothing in flight; the last query ended long ago."""
        self._clock = SystemClock()
        self._changed = threading.Condition(threading.Lock())
        self._inflight = 0
        self._last_end = -1e9
        self.started = 0
        """Queries begun so far (observability and tests)."""

    def begin(self) -> None:
        """A query starts."""
        with self._changed:
            self._inflight += 1
            self.started += 1

    def end(self) -> None:
        """A query ended (every `begin` is paired with one `end`)."""
        with self._changed:
            self._inflight -= 1
            self._last_end = self._clock.monotonic_s()
            self._changed.notify_all()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Mark the block as a query in flight."""
        self.begin()
        try:
            yield
        finally:
            self.end()

    @property
    def inflight(self) -> int:
        """Queries running now."""
        with self._changed:
            return self._inflight

    def quiet(self, quiet_s: float) -> bool:
        """No query runs and none ended in the last ``quiet_s`` seconds."""
        with self._changed:
            return self._quiet_for(quiet_s) <= 0

    def _quiet_for(self, quiet_s: float) -> float:
        """Seconds until the activity is quiet if nothing starts (inf: a query runs)."""
        if self._inflight:
            return float("inf")
        return self._last_end + quiet_s - self._clock.monotonic_s()

    def wait_quiet(self, quiet_s: float, timeout_s: float, stop: threading.Event) -> bool:
        """Wait until `quiet` (True), ``timeout_s`` passed or ``stop`` is set (False).

        Returns at once (True) when already quiet.
        """
        deadline = self._clock.monotonic_s() + timeout_s
        with self._changed:
            while True:
                left = self._quiet_for(quiet_s)
                if left <= 0:
                    return True
                now = self._clock.monotonic_s()
                if now >= deadline or stop.is_set():
                    return False
                # Woken by `end`; polled briefly so that `stop` is seen soon.
                self._changed.wait(min(left, deadline - now, 0.05))


QUIET_S = 0.05
"""Background work starts a slice only when no query ended in the last this many seconds."""

QUERIES = QueryActivity()
"""The process's query activity (the server's requests and every event store read)."""

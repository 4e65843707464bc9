"""`LatencyHistogram`: commit durations in cumulative buckets, for the ``/metrics`` exposition.

The writer thread observes; scrapes read a consistent copy under a lock.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field

COMMIT_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class LatencyHistogram:
    """Counts of observations per upper bound (seconds), their sum and count."""

    bounds: tuple[float, ...] = COMMIT_BUCKETS_S
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    n: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf

    def observe(self, seconds: float) -> None:
        """Record one duration."""
        with self._lock:
            self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
            self.total += seconds
            self.n += 1

    def snapshot(self) -> tuple[list[tuple[float, int]], float, int]:
        """Cumulative ``(upper bound, count)`` pairs ending with +Inf, the sum and the count."""
        with self._lock:
            counts, total, n = list(self.counts), self.total, self.n
        cumulative, running = [], 0
        for bound, c in zip([*self.bounds, float("inf")], counts, strict=True):
            running += c
            cumulative.append((bound, running))
        return cumulative, total, n

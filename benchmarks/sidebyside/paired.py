"""Both systems up at once, their cold queries interleaved run by run (`paired_phoenix.py`).

The machines this benchmark runs on change speed by up to 2x from one hour to the next (the
same 1M-span newest page read 7.5 ms in one hour and 19 ms in another), so a ratio of two
medians timed at different hours says as much about the hours as about the systems. Here run
``k`` asks each query kind of one system and then of the other (which one goes first
alternates every run), so both see the same phase of the machine; each run's own ratio is
kept beside the ratio of the medians.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sidebyside.measure import QueryTiming
from sidebyside.query_client import QueryClient
from sidebyside.system import QueryFn


@dataclass(slots=True)
class Paired:
    """One query kind's interleaved runs: each system's wire times, in run order."""

    peer_ms: list[float] = field(default_factory=list)
    ours_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Medians, p95s (`QueryTiming`'s), the ratio of the medians (peer / ours) and the
        per-run ratios' median, lowest and share at or above 10."""
        peer, ours = QueryTiming(self.peer_ms), QueryTiming(self.ours_ms)
        ratios = [p / o for p, o in zip(self.peer_ms, self.ours_ms, strict=True) if o > 0]
        return {
            "runs": len(self.ours_ms),
            "peer_median_ms": peer.median_ms,
            "peer_p95_ms": peer.p95_ms,
            "ours_median_ms": ours.median_ms,
            "ours_p95_ms": ours.p95_ms,
            "ratio_of_medians": (
                peer.median_ms / ours.median_ms if peer.median_ms and ours.median_ms else None
            ),
            "run_ratio_median": QueryTiming(ratios).median_ms,
            "run_ratio_min": min(ratios) if ratios else None,
            "runs_at_least_10x": sum(r >= 10 for r in ratios) / len(ratios) if ratios else None,
        }


def pooled(parts: Sequence[Paired]) -> Paired:
    """The runs of ``parts`` as one series, in order."""
    return Paired([x for p in parts for x in p.peer_ms], [x for p in parts for x in p.ours_ms])


def _timed(fn: QueryFn, client: QueryClient, k: int) -> float:
    client.wire_s = 0.0
    fn(client, k)
    return client.wire_s * 1000.0


def timed_runs(
    ours: dict[str, QueryFn], runs: Sequence[int], pause_s: float = 0.0
) -> dict[str, list[float]]:
    """Run numbers ``runs`` of every query kind on one system, the kinds in turn inside a
    run, ``pause_s`` before every query, on one keep-alive connection: wire times in ms."""
    out: dict[str, list[float]] = {name: [] for name in ours}
    with QueryClient() as client:
        for k in runs:
            for name, samples in out.items():
                if pause_s:
                    time.sleep(pause_s)
                samples.append(_timed(ours[name], client, k))
    return out


def interleave(
    peer: dict[str, QueryFn],
    ours: dict[str, QueryFn],
    runs: Sequence[int],
    pause_s: float = 0.0,
) -> dict[str, Paired]:
    """Run numbers ``runs`` of every query kind on both systems, the kinds in turn inside a
    run, the system that goes first alternating with the run's parity; ``pause_s`` before
    every query. Each system keeps its own keep-alive connection."""
    out = {name: Paired() for name in ours}
    with QueryClient() as peer_client, QueryClient() as our_client:
        for i, k in enumerate(runs):
            for name, paired in out.items():
                sides = [(peer[name], peer_client, paired.peer_ms)]
                sides.append((ours[name], our_client, paired.ours_ms))
                for fn, client, samples in sides if i % 2 == 0 else sides[::-1]:
                    if pause_s:
                        time.sleep(pause_s)
                    samples.append(_timed(fn, client, k))
    return out

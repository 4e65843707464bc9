"""Query parameters that change on every timed run, so that no cache can answer.

Both systems answer a repeated query from a cache (llmpulse keeps serialized answers per data
version; Phoenix caches ``latencyMsQuantile`` and ``recordCount`` until spans arrive), so a
median of identical repeats measures the cache. Run ``k`` of a cold series gets its own time
range end, window, metadata value or window shift, derived from ``k`` alone so that both
systems are asked exactly the same questions; ``k = None`` is the fixed question of the
cached series. Every shift is a whole number of seconds and differs between runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sidebyside.workload import REGIONS, WorkloadSpec

S = 1_000_000_000
HOUR = 3600 * S
DAY = 24 * HOUR


@dataclass(frozen=True, slots=True)
class QueryParams:
    """The parameters of the four timed queries for one run (times in unix ns)."""

    list_end: int | None  # newest 100 spans starting before this (None: no bound)
    latency_window: tuple[int, int]  # root-span p50 + p99 over [start, end)
    region: str  # metadata.region value of the filter
    metadata_window: tuple[int, int]
    hourly_window: tuple[int, int]  # 7 days of hourly counts


def params_for(spec: WorkloadSpec, k: int | None) -> QueryParams:
    """Run ``k``'s parameters (``None``: the fixed ones of the cached series)."""
    start = spec.base_ns
    end = spec.base_ns + spec.duration_ns + HOUR  # past the newest span
    if k is None:
        return QueryParams(None, (start, end), "eu-west", (start, end), (end - 7 * DAY, end))
    j = k + 1
    return QueryParams(
        list_end=end - j * 23 * S,
        latency_window=(start + j * 17 * S, end - j * 13 * S),
        region=REGIONS[k % len(REGIONS)],
        metadata_window=(start + j * 11 * S, end - j * 7 * S),
        hourly_window=(end - 7 * DAY + j * 61 * S, end + j * 61 * S),
    )

"""Where a cold monitor cycle's time goes: SQL (the event store) against the rest (Python).

Usage: ``.venv/bin/python benchmarks/monitor_cold_profile.py [--cold 3] [--batched]`` after
``benchmarks/monitor_cycle.py`` has built its event file (see benchmarks/README.md, "Monitor
evaluation cycle", and ADR 0032). Runs ``--cold`` cold cycles of the same 200 monitors, each on
the store opened afresh and at another evaluation time (`monitor_cycle.cold_at`), and prints,
per cycle, the process CPU seconds (all DuckDB threads), the part spent inside the
store's metric queries, and the wall time. ``--batched``: the engine asks each cycle's queries
in one call (``read_many``, ADR 0033), as the server does.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from llmpulse.monitors.engine import Engine
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.metric_api import MetricColumns, MetricFrame, MetricQuery
from monitor_cycle import cold_at, monitors


class TimedReader:
    """Uncached metric queries, with the CPU seconds spent in them."""

    def __init__(self, store: DuckDBEventStore) -> None:
        self.store = store
        self.cpu = 0.0
        self.queries = 0

    async def __call__(self, q: MetricQuery) -> MetricFrame:
        c0 = time.process_time()
        frame = self.store.metric(q)
        self.cpu += time.process_time() - c0
        self.queries += 1
        return frame

    async def many(self, qs: Sequence[MetricQuery]) -> list[MetricColumns]:
        c0 = time.process_time()
        frames = self.store.metric_columns(qs)
        self.cpu += time.process_time() - c0
        self.queries += len(qs)
        return frames


async def run(data: Path, cold: int, batched: bool) -> None:
    specs = monitors()
    for i in range(cold):
        store = DuckDBEventStore(data)
        reader = TimedReader(store)
        c0, t0 = time.process_time(), time.perf_counter()
        await Engine(reader, read_many=reader.many if batched else None).evaluate(specs, cold_at(i))
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        store.close()
        print(
            f"cold cycle {i}: {cpu:.2f} CPU-s, of which SQL {reader.cpu:.2f} "
            f"({reader.queries} queries); wall {wall:.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cold", type=int, default=3)
    parser.add_argument("--data", default="benchmarks/.work/monitor-cycle.duckdb")
    parser.add_argument("--batched", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(Path(args.data), args.cold, args.batched))


if __name__ == "__main__":
    main()

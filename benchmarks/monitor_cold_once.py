"""One cold monitor cycle in a fresh process, printed as one JSON line.

Usage: ``.venv/bin/python benchmarks/monitor_cold_once.py [--batched] [--at 0]`` after
``benchmarks/monitor_cycle.py`` has built its event file (see benchmarks/README.md, "Monitor
evaluation cycle"). Opens the store, evaluates the benchmark's 200 monitors once at
`monitor_cycle.cold_at` ``--at`` with a fresh engine (plan by plan, or ``--batched``: one
call to the store, ADR 0033), and prints wall and CPU seconds, the queries, the load average
and a digest of every evaluation (monitor, segment, outcome, value), so two runs, e.g. of
two versions of the code at the same instant, can be compared for speed and for verdicts.
``scipy.stats`` (imported lazily by the first cycle of a process) is imported before the
clock starts. For a before/after pair, run it with ``PYTHONPATH`` pointing at an older
checkout's ``src`` (its engine has no ``read_many``: ``--batched`` is then refused).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import inspect
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import scipy.stats  # noqa: F401 - the first cycle's lazy import, left out of the timing

from llmpulse.monitors.engine import Engine
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.metric_api import MetricFrame, MetricQuery
from monitor_cycle import cold_at, monitors


async def run(data: Path, at: int, batched: bool) -> dict[str, object]:
    specs = monitors()
    store = DuckDBEventStore(data)

    async def read(q: MetricQuery) -> MetricFrame:
        return await asyncio.to_thread(store.metric, q)

    async def read_many(qs: Sequence[MetricQuery]) -> object:
        return await asyncio.to_thread(store.metric_columns, qs)  # type: ignore[attr-defined]

    if batched and "read_many" not in inspect.signature(Engine).parameters:
        raise SystemExit("this version's engine has no read_many: run without --batched")
    engine = Engine(read, read_many=read_many) if batched else Engine(read)  # type: ignore[arg-type]
    c0, t0 = time.process_time(), time.perf_counter()
    report = await engine.evaluate(specs, cold_at(at))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    store.close()
    evs = sorted(
        (e.monitor, e.segment, e.evaluation.outcome.value, e.evaluation.evidence.value)
        for e in report.evaluations
    )
    return {
        "batched": batched, "at": at, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
        "queries": report.queries, "evaluations": len(evs), "load": os.getloadavg(),
        "digest": hashlib.sha256(repr(evs).encode()).hexdigest()[:12],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--at", type=int, default=0)
    parser.add_argument("--batched", action="store_true")
    parser.add_argument("--data", default="benchmarks/.work/monitor-cycle.duckdb")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(Path(args.data), args.at, args.batched))))


if __name__ == "__main__":
    main()

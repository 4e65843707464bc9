"""What a pause before a request costs on this machine (issue 14: cold queries after idle).

    .venv/bin/python benchmarks/idle_cost.py [--url http://127.0.0.1:7600 --data-dir DIR
        [--offset 0]]

Times, after a pause of 0 to 100 ms in which the calling thread spins (it never sleeps), work
that takes ~0.1-1 ms back to back:

* a trivial DuckDB statement (``SELECT k + 1``, in memory, one thread),
* SQLite summing 10,000 rows, zlib compressing 64 kB, 50 numpy sums of 1,000 values
  (other native code, for comparison);

and with ``--url`` (a server on a data directory `load_bench_dir.py` filled), the server's
``/healthz`` and the side-by-side's root p50 + p99 and hourly counts, each after the same
pauses (the client sleeps). Every query has run numbers of its own (`sidebyside.variants`),
so the server's cache cannot answer; ``--offset`` moves them, for a second call on the same
server (the cache keeps the first call's answers). Prints one median per pause.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sidebyside.llmpulse_side import LlmpulseSystem
from sidebyside.query_client import QueryClient
from sidebyside.workload import WorkloadSpec

PAUSES_S = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1)
RUNS = 60


def _spin(seconds: float) -> None:
    t = time.perf_counter()
    while time.perf_counter() - t < seconds:
        pass


def _medians(
    work: Callable[[int], object], pause: Callable[[float], None], first: int = 0
) -> list[float]:
    out, k = [], first
    for p in PAUSES_S:
        samples = []
        for _ in range(RUNS):
            k += 1
            pause(p)
            t = time.perf_counter()
            work(k)
            samples.append(1000 * (time.perf_counter() - t))
        out.append(statistics.median(samples))
    return out


def _local() -> dict[str, Callable[[int], object]]:
    duck = duckdb.connect()
    duck.execute("SET threads = 1")
    lite = sqlite3.connect(":memory:")
    lite.execute("CREATE TABLE t (a)")
    lite.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10_000)])
    blob = os.urandom(1 << 16)
    small = np.arange(1000)
    return {
        "duckdb SELECT k + 1": lambda k: duck.execute(f"SELECT {k} + 1").fetchall(),
        "sqlite sum of 10k rows": lambda k: lite.execute(
            "SELECT sum(a) FROM t WHERE a > ?", (k % 100,)
        ).fetchall(),
        "zlib 64 kB": lambda k: zlib.compress(blob, 1),
        "numpy 50 sums": lambda k: [small.sum() for _ in range(50)],
    }


def _remote(url: str, data_dir: Path) -> dict[str, Callable[[int], object]]:
    base_ns = int((data_dir / "base_ns").read_text())
    # The size does not move the parameters (a day from ``base_ns``, `sidebyside.variants`).
    system = LlmpulseSystem(WorkloadSpec.for_spans(1, traces_per_request=100, base_ns=base_ns))
    system.base = url
    client = QueryClient()
    queries = system.queries()
    return {
        "HTTP /healthz": lambda k: client.get(f"{url}/healthz"),
        "HTTP root p50 + p99": lambda k: queries["latency_p50_p99"](client, k),
        "HTTP hourly counts": lambda k: queries["hourly_counts"](client, k),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url")
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--offset", type=int, default=0, help="first run number of the queries")
    a = ap.parse_args()
    header = " | ".join(f"{p * 1000:g} ms" for p in PAUSES_S)
    print(f"| work (ms, median of {RUNS}) after a pause of | {header} |")
    print("|---" * (len(PAUSES_S) + 1) + "|")
    rows: list[tuple[str, list[float]]] = []
    for name, work in _local().items():
        rows.append((f"{name} (spin)", _medians(work, _spin)))
    if a.url:
        for name, work in _remote(a.url, a.data_dir).items():
            rows.append((f"{name} (sleep)", _medians(work, time.sleep, a.offset)))
    for name, medians in rows:
        print(f"| {name} | " + " | ".join(f"{m:.3f}" for m in medians) + " |")


if __name__ == "__main__":
    main()

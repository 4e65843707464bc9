"""Paired opens of one event store by two or more source trees (ADR 0039).

Each open runs in a fresh interpreter with ``PYTHONPATH`` set to one tree's ``src`` and
reports how long ``DuckDBEventStore(path)`` took to return and, where the tree builds the
summaries behind the open, when they were ready; trees alternate (A, B, B, A, ...) so load
from elsewhere on the machine hits them alike. The store is opened read-write, as the
server does (a copy under ``benchmarks/.work``, never a file another process uses).

    .venv/bin/python benchmarks/open_cost.py benchmarks/.work/d10m/events.duckdb \\
        --tree main=benchmarks/.work/main-5efef99/src --tree head=src --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from llmpulse.store.events.duckdb import DuckDBEventStore
t1 = time.perf_counter()
store = DuckDBEventStore(__import__("pathlib").Path(sys.argv[1]))
opened = time.perf_counter() - t1
ready = None
if hasattr(store, "catch_up"):
    store.catch_up()
    ready = time.perf_counter() - t1
store.close()
print(json.dumps({"open_s": opened, "ready_s": ready}))
"""


def one_open(path: Path, src: Path) -> dict[str, float | None]:
    """Seconds to open (and until the summaries were ready) in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    result: dict[str, float | None] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path, help="an events.duckdb file (a copy)")
    parser.add_argument("--tree", action="append", required=True, help="NAME=SRC_DIR")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = [(n, Path(s)) for n, s in (t.split("=", 1) for t in args.tree)]
    opens: dict[str, list[float]] = {n: [] for n, _ in trees}
    ready: dict[str, list[float]] = {n: [] for n, _ in trees}
    for i in range(args.rounds):
        for name, src in trees if i % 2 == 0 else trees[::-1]:
            r = one_open(args.path, src)
            opens[name].append(float(r["open_s"] or 0.0))
            if r["ready_s"] is not None:
                ready[name].append(float(r["ready_s"]))
            extra = "" if r["ready_s"] is None else f", summaries ready {r['ready_s']:.2f} s"
            print(
                f"round {i + 1} {name}: open {r['open_s']:.2f} s{extra} "
                f"(load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    for name, _ in trees:
        line = f"{name}: median open {statistics.median(opens[name]):.2f} s"
        if ready[name]:
            line += f", summaries ready {statistics.median(ready[name]):.2f} s"
        print(line)


if __name__ == "__main__":
    main()

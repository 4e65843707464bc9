"""Paired runs: OTLP ingest spans/s with the ingest journal on and off (issue #9).

Starts a server per run on a fresh data directory, sends the same requests from four
threads and reports spans/s until the last request was acknowledged. Runs alternate
(on, off, on, off, ...) so load from elsewhere on the machine hits both alike.

    .venv/bin/python benchmarks/journal_cost.py --pairs 5 --spans 30000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import TypeVar

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from sidebyside.requests import RequestSource
from support.otlp import make_request, make_span
from support.server import ServerProcess, free_port

PB = {"content-type": "application/x-protobuf"}
S = TypeVar("S", bound=Hashable)
R = TypeVar("R")


def paired(pairs: int, sides: tuple[S, S], run: Callable[[int, S], R]) -> dict[S, list[R]]:
    """``run(pair, side)`` for each pair, the two sides alternating A/B, B/A, ... so that
    load from elsewhere on the machine hits both alike; each side's results in pair order."""
    out: dict[S, list[R]] = {side: [] for side in sides}
    for i in range(pairs):
        for side in sides if i % 2 == 0 else sides[::-1]:
            out[side].append(run(i, side))
    return out


def paired_summary(names: tuple[str, str], a: list[float], b: list[float]) -> str:
    """One line: each side's median spans/s and the median of the per-pair ratios b / a."""
    ratios = [y / x for x, y in zip(a, b, strict=True)]
    return (
        f"median spans/s: {names[0]} {statistics.median(a):,.0f}, "
        f"{names[1]} {statistics.median(b):,.0f}; median paired ratio {names[1]}/{names[0]} "
        f"{statistics.median(ratios):.3f} (per pair: {', '.join(f'{r:.2f}' for r in ratios)})"
    )


def send_all(url: str, bodies: Sequence[bytes] | RequestSource, senders: int) -> float:
    """POST every OTLP body to ``url`` from ``senders`` threads (each must be acknowledged);
    the seconds from the first request until the last answer. ``bodies`` may build each
    body when it is indexed (a million spans' requests need not be held at once)."""

    def send(first: int) -> None:
        with httpx.Client(timeout=60) as client:
            for i in range(first, len(bodies), senders):
                r = client.post(f"{url}/v1/traces", content=bodies[i], headers=PB)
                assert r.status_code == 200, r.status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def one_run(journal: bool, spans: int, per_request: int, senders: int) -> float:
    bodies = [
        make_request(
            [make_span(f"s{i}", attrs={"input.value": "x" * 1000}) for i in range(per_request)],
            "bench",
        ).SerializeToString()
        for _ in range(spans // per_request)
    ]
    flag = "--ingest-journal" if journal else "--no-ingest-journal"
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", free_port(), 0, [flag]).start()
        try:
            return len(bodies) * per_request / send_all(server.url, bodies, senders)
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--spans", type=int, default=30_000)
    parser.add_argument("--per-request", type=int, default=300)
    parser.add_argument("--senders", type=int, default=4)
    args = parser.parse_args()

    def run(i: int, journal: bool) -> float:
        rate = one_run(journal, args.spans, args.per_request, args.senders)
        print(f"pair {i + 1} journal={'on ' if journal else 'off'} {rate:,.0f} spans/s")
        return rate

    runs = paired(args.pairs, (True, False), run)
    print("journal: " + paired_summary(("off", "on"), runs[False], runs[True]))


if __name__ == "__main__":
    main()

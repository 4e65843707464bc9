"""Paired runs: OTLP ingest spans/s with the search index on and off (issue 12, ADR 0038).

The same harness as `journal_cost.py`: a server per run on a fresh data directory, the same
requests from four threads, spans/s until the last request was acknowledged; runs alternate
(on, off, off, on, ...) so load from elsewhere on the machine hits both alike. Each span
carries ~1.6 kB of searchable text of a 2,000-word vocabulary (as `search.py`'s spans) and the
spans start a second apart (30,000 spans: 100 five-minute blocks), so the indexer has real
work while ingest goes on. Also reports the server process's CPU seconds per run (user + system,
from /proc), which include the indexing done during the run.

    .venv/bin/python benchmarks/search_index_cost.py --pairs 5 --spans 30000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from journal_cost import paired, send_all
from search import _text, _vocabulary
from support.otlp import BASE_NS, make_request, make_span
from support.server import ServerProcess, free_port

PB = {"content-type": "application/x-protobuf"}


def _texts(n: int) -> list[str]:
    rng = np.random.default_rng(7)
    words = _vocabulary(rng)
    return [_text(rng, words, 250) for _ in range(n)]


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(index: bool, spans: int, per_request: int, senders: int) -> tuple[float, float]:
    texts = _texts(997)
    bodies = [
        make_request(
            [
                make_span(
                    f"s{i}",
                    start_ns=BASE_NS + (b * per_request + i) * 1_000_000_000,
                    attrs={"input.value": texts[(b * per_request + i) % len(texts)]},
                )
                for i in range(per_request)
            ],
            "bench",
        ).SerializeToString()
        for b in range(spans // per_request)
    ]
    flag = "--search-index" if index else "--no-search-index"
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", free_port(), 0, [flag]).start()
        try:
            rate = len(bodies) * per_request / send_all(server.url, bodies, senders)
            assert server.proc is not None
            return rate, _cpu_s(server.proc.pid)
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--spans", type=int, default=30_000)
    parser.add_argument("--per-request", type=int, default=300)
    parser.add_argument("--senders", type=int, default=4)
    args = parser.parse_args()

    def run(i: int, index: bool) -> tuple[float, float]:
        rate, cpu_s = one_run(index, args.spans, args.per_request, args.senders)
        print(
            f"pair {i + 1} index={'on ' if index else 'off'} {rate:,.0f} spans/s, "
            f"server CPU {cpu_s:.1f} s  (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        return rate, cpu_s

    runs = paired(args.pairs, (True, False), run)
    on, off = [r for r, _ in runs[True]], [r for r, _ in runs[False]]
    cpu = {side: [c for _, c in results] for side, results in runs.items()}
    ratios = [a / b for a, b in zip(on, off, strict=True)]
    print(
        f"median spans/s: index on {statistics.median(on):,.0f}, "
        f"off {statistics.median(off):,.0f}; median paired ratio on/off "
        f"{statistics.median(ratios):.3f} (per pair: {', '.join(f'{r:.2f}' for r in ratios)}); "
        f"median server CPU s: on {statistics.median(cpu[True]):.1f}, "
        f"off {statistics.median(cpu[False]):.1f}"
    )


if __name__ == "__main__":
    main()

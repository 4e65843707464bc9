"""Paired runs: OTLP ingest spans/s of two source trees (e.g. main and a branch).

Each run starts a server on a fresh data directory with ``PYTHONPATH`` set to one tree's
``src`` (both sides load the same way, so an editable install's import path does not tell
them apart) and sends the same requests from four threads; runs alternate A/B, B/A, ...
(`journal_cost.paired`). Copy each tree's ``src`` (with the built ``_wire`` extension)
somewhere first, e.g. ``git archive main | tar -x -C A`` and ``cp -r src B/``.

    .venv/bin/python benchmarks/ingest_ab_trees.py A/src B/src --pairs 4 --spans 30000

``--workload sidebyside`` sends the side-by-side workload's requests instead (RAG traces:
messages, documents, string metadata; `sidebyside.workload`) of plain spans that carry a
1,000-character input alone; they are built as they are sent, so ``--spans 1000000`` holds
no million spans' requests at once.

Besides spans/s, each run reports the server's CPU per span while the requests were sent
(user + system, from ``/proc``; the server's start is not counted): on a shared machine
whose speed drifts between runs, the CPU a span costs moves less than the rate does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from journal_cost import paired, paired_summary, send_all
from sidebyside.requests import RequestSource
from sidebyside.workload import WorkloadSpec
from support.otlp import make_request, make_span
from support.server import ServerProcess, free_port


def _bodies(workload: str, spans: int) -> tuple[Sequence[bytes] | RequestSource, int]:
    """The serialized requests of ``workload`` and the spans they hold."""
    if workload == "sidebyside":
        spec = WorkloadSpec.for_spans(spans)
        return RequestSource(spec), spec.num_spans
    per_request = 300
    bodies = [
        make_request(
            [make_span(f"s{r}-{i}", attrs={"input.value": "x" * 1000}) for i in range(per_request)],
            "bench",
        ).SerializeToString()
        for r in range(spans // per_request)
    ]
    return bodies, len(bodies) * per_request


def main() -> None:
    """Run the pairs and print spans/s per run and the median paired ratio B/A."""
    parser = argparse.ArgumentParser()
    parser.add_argument("a", type=Path, help="first tree's src directory")
    parser.add_argument("b", type=Path, help="second tree's src directory")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--spans", type=int, default=30_000)
    parser.add_argument("--workload", choices=("plain", "sidebyside"), default="plain")
    args = parser.parse_args()
    bodies, spans = _bodies(args.workload, args.spans)

    cpu: dict[Path, list[float]] = {args.a: [], args.b: []}

    def run(i: int, src: Path) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"PYTHONPATH": str(src.resolve())}
            server = ServerProcess(Path(tmp) / "data", free_port(), 0, [], env).start()
            assert server.proc is not None
            started = _cpu_s(server.proc.pid)  # not the imports and the open
            try:
                rate = spans / send_all(server.url, bodies, 4)
                us = (_cpu_s(server.proc.pid) - started) * 1e6 / spans
            finally:
                server.stop()
        cpu[src].append(us)
        print(f"pair {i + 1} {src}: {rate:,.0f} spans/s, server {us:.0f} CPU-µs/span", flush=True)
        return rate

    runs = paired(args.pairs, (args.a, args.b), run)
    print(paired_summary(("A", "B"), runs[args.a], runs[args.b]))
    ratios = [b / a for a, b in zip(cpu[args.a], cpu[args.b], strict=True)]
    print(
        f"median server CPU-µs/span: A {statistics.median(cpu[args.a]):.0f}, "
        f"B {statistics.median(cpu[args.b]):.0f}; median paired ratio B/A "
        f"{statistics.median(ratios):.3f}"
    )


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds the process ``pid`` has used so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()

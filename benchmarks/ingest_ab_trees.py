"""Paired runs: OTLP ingest spans/s of two source trees (e.g. main and a branch).

Each run starts a server on a fresh data directory with ``PYTHONPATH`` set to one tree's
``src`` (both sides load the same way, so an editable install's import path does not tell
them apart) and sends the same requests from four threads; runs alternate A/B, B/A, ...
(`journal_cost.paired`). Copy each tree's ``src`` (with the built ``_wire`` extension)
somewhere first, e.g. ``git archive main | tar -x -C A`` and ``cp -r src B/``.

    .venv/bin/python benchmarks/ingest_ab_trees.py A/src B/src --pairs 4 --spans 30000

``--workload sidebyside`` sends the side-by-side workload's requests instead (RAG traces:
messages, documents, string metadata; `sidebyside.workload`) of plain spans that carry a
1,000-character input alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from journal_cost import paired, paired_summary, send_all
from sidebyside.workload import WorkloadSpec, build_request
from support.otlp import make_request, make_span
from support.server import ServerProcess, free_port


def _bodies(workload: str, spans: int) -> tuple[list[bytes], int]:
    """The serialized requests of ``workload`` and the spans they hold."""
    if workload == "sidebyside":
        spec = WorkloadSpec.for_spans(spans)
        return [
            build_request(spec, r).SerializeToString() for r in range(spec.num_requests)
        ], spec.num_spans
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

    def run(i: int, src: Path) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"PYTHONPATH": str(src.resolve())}
            server = ServerProcess(Path(tmp) / "data", free_port(), 0, [], env).start()
            try:
                rate = spans / send_all(server.url, bodies, 4)
            finally:
                server.stop()
        print(f"pair {i + 1} {src}: {rate:,.0f} spans/s", flush=True)
        return rate

    runs = paired(args.pairs, (args.a, args.b), run)
    print(paired_summary(("A", "B"), runs[args.a], runs[args.b]))


if __name__ == "__main__":
    main()

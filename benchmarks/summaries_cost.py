"""Paired runs: ingest-to-queryable spans/s and server CPU-s of two source trees (ADR 0039).

Each run starts ``llmpulse serve`` on a fresh data directory with ``PYTHONPATH`` set to one
tree's ``src`` (``--base``: e.g. ``git archive 5efef99 src`` unpacked, with the built
``_wire`` extension copied in; ``--head``: this worktree's ``src``), sends the side-by-side
workload (`sidebyside.workload`: RAG traces, metadata tier/region/product_line, 300 spans
per request, four senders) and polls the ``count`` metric until every span is countable,
as ``ingest_query.py`` does. Runs alternate base, head, head, base, ... so load from
elsewhere on the machine hits both alike; the server's CPU seconds (user + system) are read
when the spans became countable.

    .venv/bin/python benchmarks/summaries_cost.py --base benchmarks/.work/main-5efef99/src \\
        --pairs 4 --spans 30000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from journal_cost import paired
from sidebyside.ingest import ingest
from sidebyside.procmon import ServerProcess, free_port
from sidebyside.requests import RequestSource
from sidebyside.workload import WorkloadSpec

HEAD_SRC = Path(__file__).resolve().parents[1] / "src"


def one_run(src: Path, spec: WorkloadSpec) -> tuple[float, float, float]:
    """(queryable spans/s, acknowledged spans/s, server CPU-s) of one fresh server."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-m", "llmpulse", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--data-dir", str(Path(tmp) / "data"), "--grpc-port", "0"]
        env = {**os.environ, "PYTHONPATH": str(src), "PYTHONUNBUFFERED": "1"}
        server = ServerProcess(argv, env, Path(tmp) / "server.log", f"{base}/healthz")
        server.start()
        try:
            url = f"{base}/api/v1/projects/{spec.project}/metrics"

            async def count(client: httpx.AsyncClient) -> int:
                resp = await client.get(url, params={"metric": "count"})
                if resp.status_code == 404:
                    return 0
                rows = resp.json()["rows"]
                return int(rows[0]["n"]) if rows else 0

            res = asyncio.run(ingest(f"{base}/v1/traces", RequestSource(spec), count))
            cpu = server.cpu_seconds()
            if res.errors or res.queryable_spans_per_s is None:
                raise RuntimeError(f"run failed: {res.errors[:3]}")
            return res.queryable_spans_per_s, res.acked_spans_per_s, cpu
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, required=True, help="the src dir to compare with")
    parser.add_argument("--head", type=Path, default=HEAD_SRC)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--spans", type=int, default=30_000)
    args = parser.parse_args()
    spec = WorkloadSpec.for_spans(args.spans, traces_per_request=100)

    def run(i: int, name: str) -> tuple[float, float, float]:
        rate, acked, cpu = one_run(args.base if name == "base" else args.head, spec)
        print(
            f"pair {i + 1} {name}: {rate:,.0f} spans/s queryable ({acked:,.0f} acked), "
            f"server CPU {cpu:.1f} s  (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
        return rate, acked, cpu

    runs = paired(args.pairs, ("base", "head"), run)
    ratios = [h[0] / b[0] for h, b in zip(runs["head"], runs["base"], strict=True)]
    cpu_ratios = [h[2] / b[2] for h, b in zip(runs["head"], runs["base"], strict=True)]
    med = {k: [statistics.median(r[j] for r in v) for j in range(3)] for k, v in runs.items()}
    print(
        f"median queryable spans/s: base {med['base'][0]:,.0f}, head {med['head'][0]:,.0f}; "
        f"median paired ratio head/base {statistics.median(ratios):.3f} "
        f"(per pair: {', '.join(f'{r:.2f}' for r in ratios)}); median server CPU-s: "
        f"base {med['base'][2]:.2f}, head {med['head'][2]:.2f} (paired ratio "
        f"{statistics.median(cpu_ratios):.3f}); spans {spec.num_spans:,}"
    )


if __name__ == "__main__":
    main()

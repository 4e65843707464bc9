"""Judge throughput and the cost cap, and ingest with and without an online rule (issue 13).

Run by hand, never by CI:

    .venv/bin/python benchmarks/evals_judge.py --spans 10000 --concurrency 1 8 32
    .venv/bin/python benchmarks/evals_judge.py --ingest-batches 20

Part 1 judges ``--spans`` hallucination cases with `JudgeEvaluator` against the fake
OpenAI-compatible server (``--latency-ms`` per request, default 20) at each concurrency, and
once more with a cost cap of half the uncapped run's cost, checking the cap held. Part 2 times
``--ingest-batches`` OTLP batches of 500 RAG spans into a fresh server, without rules and then
with an online ``lexical_grounding`` rule on every LLM span, paired per batch (medians).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes.openai_compat import OpenAICompatFake
from integration.evals.judges import grounding_judge
from llmpulse.clock import SystemClock
from llmpulse.domain.eval_rules import EvaluatorSpec
from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.evals.evaluators import build_evaluator
from llmpulse.evals.judge import CostCapReached, JudgeClient, JudgeConfig
from llmpulse.evals.material import Material
from llmpulse.evals.settings import pricer
from llmpulse.ingest.pricing import PriceBook, shipped_price_table
from support.rag_evals import send_rag_traces
from support.server import ServerProcess, free_port

PRICES = pricer(PriceBook([shipped_price_table()]), datetime(2026, 12, 1, tzinfo=UTC))
CASE = Material("When did it open?", "The museum of Lyon opened in 1901.",
                ("The museum of Lyon opened in 1901. It is one of the oldest.",), "")  # fmt: skip


async def judge_run(
    url: str, n: int, concurrency: int, cap: float | None
) -> tuple[float, int, float]:
    client = JudgeClient(JudgeConfig(url, "gpt-4o-mini", concurrency=concurrency, max_cost_usd=cap,
                                     max_tokens=64), SystemClock(), PRICES)  # fmt: skip
    ev = build_evaluator(EvaluatorSpec(kind="hallucination"), client)
    done = 0

    async def one(i: int) -> None:
        nonlocal done
        try:
            await ev.evaluate(ProjectName("b"), SpanId(f"s{i}"), CASE)
            done += 1
        except CostCapReached:
            pass

    t = time.perf_counter()
    for start in range(0, n, 256):
        await asyncio.gather(*(one(i) for i in range(start, min(n, start + 256))))
    took = time.perf_counter() - t
    await client.aclose()
    return took, done, float(client.spent_usd)


def part_judge(args: argparse.Namespace) -> None:
    fake = OpenAICompatFake(responder=grounding_judge, latency_s=args.latency_ms / 1000)
    with fake.receiver:
        for c in args.concurrency:
            took, done, spent = asyncio.run(judge_run(fake.url, args.spans, c, None))
            print(f"judge  concurrency {c:3d}: {done} spans in {took:.1f} s = {done / took:.0f}/s, "
                  f"${spent:.4f}, max in flight {fake.max_in_flight}")  # fmt: skip
            fake.max_in_flight = 0
        cap = spent / 2
        took, done, capped = asyncio.run(judge_run(fake.url, args.spans, args.concurrency[-1], cap))
        print(f"cap ${cap:.4f}: stopped after {done} spans, spent ${capped:.4f} "
              f"({'held' if capped <= cap else 'EXCEEDED'})")  # fmt: skip


def part_ingest(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp()) / "data"
    server = ServerProcess(data, free_port(), 0).start(timeout_s=120)
    try:
        url = server.url
        times: dict[str, list[float]] = {"no rule": [], "online rule": []}
        send_rag_traces(url, "bench-a", 1)
        send_rag_traces(url, "bench-b", 1)
        rule = {"name": "lex", "evaluator": {"kind": "lexical_grounding"},
                "policy": {"span_kinds": ["LLM"]}}  # fmt: skip
        httpx.put(f"{url}/api/v1/projects/bench-b/eval-rules/lex", json=rule).raise_for_status()
        for i in range(args.ingest_batches):
            for label, project in (("no rule", "bench-a"), ("online rule", "bench-b")):
                t = time.perf_counter()
                send_rag_traces(url, project, 250, seed=i, offset_s=1000 * (i + 1))
                times[label].append(time.perf_counter() - t)
        for label, ts in times.items():
            print(f"ingest {label:12s}: median {statistics.median(ts) * 1000:.0f} ms per 500 spans")
        ratio = statistics.median(
            b / a for a, b in zip(times["no rule"], times["online rule"], strict=True)
        )
        print(f"paired median ratio (online rule / no rule): {ratio:.2f}")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            st = httpx.get(f"{url}/api/v1/projects/bench-b/eval-online").json()
            if st["queued"] == 0:
                break
            time.sleep(0.5)
        lex = st["rules"]["lex"]
        print(f"online rule afterwards: {lex['evaluated']} evaluated, dropped {st['dropped']}")
    finally:
        server.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--spans", type=int, default=2000)
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--latency-ms", type=float, default=20.0)
    p.add_argument("--ingest-batches", type=int, default=10)
    p.add_argument("--skip-ingest", action="store_true")
    p.add_argument("--skip-judge", action="store_true")
    args = p.parse_args()
    if not args.skip_judge:
        part_judge(args)
    if not args.skip_ingest:
        part_ingest(args)


if __name__ == "__main__":
    main()

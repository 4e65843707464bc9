"""Monitor cycle benchmark: 200 monitors at a 1-minute interval over 1M spans, uncached.

Usage: ``.venv/bin/python benchmarks/monitor_cycle.py [--spans 1000000] [--cycles 20]``
(see benchmarks/README.md, "Monitor evaluation cycle"). Builds (or reuses, ``--data``) a DuckDB
event file of seeded LLM-app spans over seven days, then times full evaluation cycles of the
one-pass engine (`llmpulse.monitors.engine.Engine`) straight on the event store, with no
query cache:

- cold: the store opened afresh (DuckDB's buffer pool empty; the OS page cache is not
  dropped) and a fresh engine (baseline history read over the whole horizon), ``--cold`` times,
  each at another evaluation time (`cold_at`), so no run repeats the one before; at each time
  first the engine that asks plan by plan, then the batched one (``read_many``: the cycle's
  queries in one call, answered from shared scans, ADR 0033), each on a store opened afresh;
- fresh engine on an open store: the same, on the store the cold runs left open (its buffers
  warm from them), at yet other times;
- warm: consecutive minutes on one engine (window queries, plus the baseline buckets that
  closed since), ``--cycles`` times, plan by plan and batched;
- per-monitor: the same 200 monitors each evaluated on its own (one plan per monitor), once
  (``--skip-per-monitor`` leaves it out).

Reports the median and p95 of cycle time and the queries per cycle; writes
``benchmarks/results/<stamp>-monitor-cycle.{json,md}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span, SpanKind, StatusCode
from llmpulse.monitors.engine import Engine
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.metric_api import MetricFrame, MetricQuery

if TYPE_CHECKING:  # an older checkout (a before/after run) has no MetricColumns
    from llmpulse.store.metric_api import MetricColumns

PROJECT = "bench"
END = datetime(2026, 11, 21, tzinfo=UTC)
REGIONS = ("us-east", "us-west", "eu-west", "ap-south")
TIERS = ("free", "pro", "enterprise")
LINES = ("search", "support", "sales")
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-haiku")
KINDS = (SpanKind.CHAIN, SpanKind.RETRIEVER, SpanKind.LLM)


def spans(n: int, days: int = 7, seed: int = 3) -> list[list[Span]]:
    """``n`` spans evenly over ``days`` before `END`, in batches of 20,000."""
    rng = random.Random(seed)
    step = days * 86_400 / n
    start = END - timedelta(days=days)
    batches: list[list[Span]] = []
    batch: list[Span] = []
    for i in range(n):
        t = start + timedelta(seconds=i * step)
        kind = KINDS[i % 3]
        latency = rng.lognormvariate(6.0 if kind is SpanKind.LLM else 4.0, 0.4)
        tokens = rng.randint(200, 2000) if kind is SpanKind.LLM else None
        batch.append(
            Span(
                project=ProjectName(PROJECT), trace_id=TraceId(f"{i // 3:032x}"),
                span_id=SpanId(f"{i:016x}"), parent_span_id=None, name=kind.value.lower(),
                kind=kind, start_time=t, end_time=t + timedelta(milliseconds=latency),
                status_code=StatusCode.ERROR if rng.random() < 0.01 else StatusCode.OK,
                model=MODELS[i % 7 % 3] if kind is SpanKind.LLM else None,
                total_tokens=tokens, cost_usd=None if tokens is None else tokens * 2e-6,
                metadata={"region": REGIONS[i % 4], "tier": TIERS[i % 5 % 3],
                          "product_line": LINES[i % 11 % 3]},
            )
        )  # fmt: skip
        if len(batch) == 20_000:
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)
    return batches


FILTERS: tuple[tuple[str, ...], ...] = (
    (), ("kind=llm",), ("kind=retriever",), ("kind=chain",), ("model=gpt-4o",),
    ("model=gpt-4o-mini",), ("model=claude-3-haiku",), ("kind=llm", "attr=metadata.tier:pro"),
    ("kind=llm", "attr=metadata.tier:enterprise"), ("status=ok",),
)  # fmt: skip
SEGMENTS = (None, "metadata.region", "metadata.tier", "metadata.product_line")
METRICS = ("latency_ms:p95", "latency_ms:p99", "error:rate", "latency_ms:p50", "count")


def monitors() -> list[MonitorSpec]:
    """200 monitors: 10 filter sets x 4 segment keys (40 plans) x 5 metrics, every minute."""
    out = []
    for fi, filters in enumerate(FILTERS):
        for si, seg in enumerate(SEGMENTS):
            for mi, metric in enumerate(METRICS):
                spec: dict[str, object] = {"metric": metric, "filters": list(filters),
                                           "every": "1m", "window": "10m"}  # fmt: skip
                if seg:
                    spec["segment_by"] = seg
                out.append(
                    MonitorSpec.from_manifest(
                        {"apiVersion": "llmpulse/v1", "kind": "Monitor",
                         "metadata": {"name": f"m{fi}-{si}-{mi}", "project": PROJECT},
                         "spec": spec}
                    )
                )  # fmt: skip
    return out


def cold_at(i: int) -> datetime:
    """The evaluation time of cold run ``i``: 97 minutes apart from 6 h before `END`, so each
    run's windows and buckets differ from every other run's."""
    return END - timedelta(hours=6) - timedelta(minutes=97 * i)


class Reader:
    """Uncached metric queries on the event store, counted."""

    def __init__(self, store: DuckDBEventStore) -> None:
        self.store = store
        self.queries = 0

    async def __call__(self, q: MetricQuery) -> MetricFrame:
        self.queries += 1
        return await asyncio.to_thread(self.store.metric, q)

    async def many(self, qs: Sequence[MetricQuery]) -> list[MetricColumns]:
        self.queries += len(qs)
        return await asyncio.to_thread(self.store.metric_columns, qs)


def engine(reader: Reader, batched: bool) -> Engine:
    """A fresh engine, batched (what the server runs) or asking plan by plan."""
    return Engine(reader, read_many=reader.many if batched else None)


async def _cycle(
    engine: Engine, specs: list[MonitorSpec], at: datetime, reader: Reader
) -> tuple[float, int, int, float]:
    """(wall seconds, queries, evaluations, CPU seconds of the process: all DuckDB threads)."""
    before = reader.queries
    c0, t0 = time.process_time(), time.perf_counter()
    report = await engine.evaluate(specs, at)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall, reader.queries - before, len(report.evaluations), cpu


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


async def run(args: argparse.Namespace) -> dict[str, object]:
    data = Path(args.data)
    if args.fresh:
        store = DuckDBEventStore(data)
        t0 = time.perf_counter()
        for batch in spans(args.spans):
            store.append_spans(batch)
        store.checkpoint()
        store.close()
        print(f"built {args.spans} spans in {time.perf_counter() - t0:.1f} s")
    specs = monitors()
    cold: dict[bool, list[tuple[float, int, int, float]]] = {False: [], True: []}
    loads = [os.getloadavg()]
    for i in range(args.cold):
        for batched in (False, True):  # paired: the same instant, each on a fresh store
            store = DuckDBEventStore(data)
            reader = Reader(store)
            cold[batched].append(await _cycle(engine(reader, batched), specs, cold_at(i), reader))
            store.close()
        loads.append(os.getloadavg())
    store = DuckDBEventStore(data)
    reader = Reader(store)
    stored = store.stats().num_spans  # a reused --data file keeps the size it was built with
    opened = [
        await _cycle(engine(reader, True), specs, cold_at(args.cold + i), reader)
        for i in range(args.cold)
    ]
    at = cold_at(0)
    warm: dict[bool, list[tuple[float, int, int, float]]] = {}
    for batched in (False, True):
        running = engine(reader, batched)
        await running.evaluate(specs, at - timedelta(minutes=1))  # fill the history once
        warm[batched] = [
            await _cycle(running, specs, at + timedelta(minutes=i), reader)
            for i in range(args.cycles)
        ]
    loads.append(os.getloadavg())
    per_monitor: tuple[float | None, int | None] = (None, None)
    if not args.skip_per_monitor:
        t0 = time.perf_counter()
        q0 = reader.queries
        for spec in specs:
            await Engine(reader).evaluate([spec], at)
        per_monitor = (time.perf_counter() - t0, reader.queries - q0)
    store.close()
    result = {
        "spans": stored, "monitors": len(specs), "plans": len(FILTERS) * len(SEGMENTS),
        "evaluations_per_cycle": warm[True][0][2],
        "cold_s": [c[0] for c in cold[False]], "cold_queries": cold[False][0][1],
        "cold_cpu_s": [c[3] for c in cold[False]],
        "cold_batched_s": [c[0] for c in cold[True]],
        "cold_batched_cpu_s": [c[3] for c in cold[True]],
        "open_store_s": [o[0] for o in opened], "open_store_cpu_s": [o[3] for o in opened],
        "warm_cpu_s": [w[3] for w in warm[False]],
        "warm_s": [w[0] for w in warm[False]], "warm_queries": [w[1] for w in warm[False]],
        "warm_batched_s": [w[0] for w in warm[True]],
        "warm_batched_cpu_s": [w[3] for w in warm[True]],
        "loadavg": loads,
        "per_monitor_cold_s": per_monitor[0], "per_monitor_queries": per_monitor[1],
    }  # fmt: skip
    return result


def _row(name: str, wall: object, cpu: object, calls: str) -> str:
    w, c = list(wall), list(cpu)  # type: ignore[call-overload]
    return (
        f"| {name} | {statistics.median(w):.3f} | {_p95(w):.3f} | "
        f"{statistics.median(c):.3f} | {calls} |"
    )


def report(r: dict[str, object]) -> str:
    wq = list(r["warm_queries"])  # type: ignore[call-overload]
    q = r["cold_queries"]
    per_monitor = r["per_monitor_cold_s"]
    lines = [
        f"# Monitor cycle: {r['monitors']} monitors ({r['plans']} plans), {r['spans']:,} spans",
        "",
        "| cycle | median s | p95 s | median CPU s | store calls per cycle |",
        "|---|---|---|---|---|",
        _row("cold, plan by plan (store opened afresh, fresh engine)", r["cold_s"],
             r["cold_cpu_s"], f"{q} queries"),
        _row("cold, batched (same instants, store opened afresh)", r["cold_batched_s"],
             r["cold_batched_cpu_s"], f"1 ({q} queries, shared scans)"),
        _row("cold, batched, store already open (its buffers warm)", r["open_store_s"],
             r["open_store_cpu_s"], "1"),
        _row("warm, plan by plan (next minutes, same engine)", r["warm_s"], r["warm_cpu_s"],
             f"median {statistics.median(wq):g}, max {max(wq)} queries"),
        _row("warm, batched", r["warm_batched_s"], r["warm_batched_cpu_s"], "1"),
    ]  # fmt: skip
    if per_monitor is not None:
        lines.append(
            f"| per monitor (one plan per monitor, store open, once) | {per_monitor:.3f} | - | "
            f"- | {r['per_monitor_queries']} queries |"
        )
    lines += [
        "",
        f"Alert series evaluated per cycle: {r['evaluations_per_cycle']}. "
        f"Load averages (1, 5, 15 min) before, between and after the runs: {r['loadavg']}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--data", default="benchmarks/.work/monitor-cycle.duckdb")
    parser.add_argument("--label", default="monitor-cycle")
    parser.add_argument("--skip-per-monitor", action="store_true")
    args = parser.parse_args()
    args.fresh = not Path(args.data).exists()
    result = asyncio.run(run(args))
    text = report(result)
    print(text)
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime())
    out = Path("benchmarks/results") / f"{stamp}-{args.label}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    out.with_suffix(".md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Command line of ``benchmarks/metrics_segments.py``: prepare, serve, ask, compare, report."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from sidebyside.ingest import ingest
from sidebyside.llmpulse_side import LlmpulseSystem
from sidebyside.metrics_data import load_data_dir, seven_day_spec
from sidebyside.metrics_queries import (
    LlmpulseQuestions,
    PhoenixQuestions,
    Values,
    compare_values,
    time_question,
)
from sidebyside.metrics_report import render
from sidebyside.output import machine, say, write_results
from sidebyside.phoenix import PhoenixSystem
from sidebyside.requests import RequestSource
from sidebyside.workload import WorkloadSpec

HERE = Path(__file__).resolve().parent.parent
DISCOVER_METRICS = ("error:rate", "latency_ms:mean", "cost_usd:mean")
OTHER_BENCHMARKS = "ingest_query.py"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Flags of ``benchmarks/metrics_segments.py``."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="30000,1000000,10000000", help="llmpulse sizes, spans")
    p.add_argument("--discover-sizes", default="30000,1000000", help="sizes for the scan")
    p.add_argument("--phoenix-spans", type=int, default=30_000, help="Phoenix size; 0 = skip")
    p.add_argument("--repeat", type=int, default=10, help="runs of each llmpulse question")
    p.add_argument("--phoenix-repeat", type=int, default=2, help="runs of each Phoenix set")
    p.add_argument("--phoenix-days", type=int, default=1, help="Phoenix's window; 0 = 7 days")
    p.add_argument("--workers", type=int, default=2, help="decode processes of the load step")
    p.add_argument("--llmpulse-bin", type=Path, help="default: llmpulse beside this python")
    p.add_argument("--out-dir", type=Path, default=HERE / "results")
    p.add_argument("--work-dir", type=Path, default=HERE / ".work" / "metrics")
    p.add_argument("--label", default="", help="suffix of the result file names")
    p.add_argument("--reuse-phoenix", type=Path, help="take Phoenix's run from this JSON")
    p.add_argument("--no-wait", action="store_true", help="don't wait for other benchmarks")
    p.add_argument("--render", type=Path, help="only re-write the .md of this results JSON")
    return p.parse_args(argv)


def _sizes(text: str) -> list[int]:
    return [int(s.replace("_", "")) for s in text.split(",") if s.strip()]


def wait_for_other_benchmarks(check_s: float = 60.0) -> None:
    """Block while another side-by-side benchmark runs (it would skew both)."""
    while True:
        out = subprocess.run(["pgrep", "-f", OTHER_BENCHMARKS], capture_output=True, text=True)
        if not out.stdout.split():
            return
        say(f"another benchmark is running ({out.stdout.split()}); re-checking in {check_s} s")
        time.sleep(check_s)


def _num_spans(client: httpx.Client, base: str, project: str) -> int:
    for p in client.get(f"{base}/api/v1/projects").raise_for_status().json()["data"]:
        if p["name"] == project:
            return int(p["num_spans"])
    return 0


def _ask_discover(client: httpx.Client, base: str, spec: WorkloadSpec, repeat: int) -> Any:
    out: dict[str, Any] = {"computed": {}, "cached": {}}
    for metric in DISCOVER_METRICS:
        if (
            metric.startswith("cost_usd")
            and LlmpulseQuestions(base, spec).support(client, metric) == 0
        ):
            out["computed"][metric] = {"error": "n/a: the workload has no cost"}
            continue
        for mode, fresh in (("computed", True), ("cached", False)):
            q = LlmpulseQuestions(base, spec, fresh)
            timing, _ = time_question(client, q.discover(metric), repeat)
            out[mode][metric] = timing.to_json()
            say(f"    discover {metric} {mode}: first {timing.first_ms} ms, "
                 f"median {timing.median_ms} ms")  # fmt: skip
    return out


def _ask_p95(
    client: httpx.Client, base: str, spec: WorkloadSpec, repeat: int, days: int | None = None
) -> Any:
    out: dict[str, Any] = {"days": days or 7}
    values: Values = {}
    for mode, fresh in (("computed", True), ("cached", False)):
        q = LlmpulseQuestions(base, spec, fresh, days)
        timing, got = time_question(client, q.p95_by_region, repeat)
        values = values or got
        out[mode] = timing.to_json()
        say(f"  p95 by region {mode}: first {timing.first_ms} ms, median {timing.median_ms} ms")
    return out, values


def measure_llmpulse(
    spec: WorkloadSpec, args: argparse.Namespace, discover: bool, subset_days: int | None = None
) -> tuple[dict[str, Any], Values]:
    """Load (or reuse) the data directory, start ``llmpulse serve`` on it, ask, stop.

    With ``subset_days``, the p95 question is also asked over the first days only (the window
    Phoenix is asked), and the values returned are that answer's.
    """
    data_dir = args.work_dir / f"llmpulse-{spec.num_spans}"
    say(f"llmpulse @ {spec.num_spans:,} spans: preparing {data_dir}")
    load = load_data_dir(data_dir, spec, args.workers)
    say(f"  {'reused' if load.reused else f'loaded in {load.seconds:.0f} s'}")
    system = LlmpulseSystem(spec, args.llmpulse_bin)
    system.prepare()
    server = system.make_server(data_dir, args.work_dir / f"llmpulse-{spec.num_spans}.log")
    run: dict[str, Any] = {"num_spans": spec.num_spans, "load": asdict(load)}
    run["startup_s"] = server.start(timeout_s=600.0)
    try:
        with httpx.Client(timeout=600.0) as client:
            run["num_spans_served"] = _num_spans(client, system.base, spec.project)
            run["loadavg_1m"] = os.getloadavg()[0]
            run["p95_by_region"], values = _ask_p95(client, system.base, spec, args.repeat)
            if subset_days:
                run["p95_by_region_subset"], values = _ask_p95(
                    client, system.base, spec, args.repeat, subset_days
                )
            if discover:
                run["discover"] = _ask_discover(client, system.base, spec, args.repeat)
    finally:
        server.stop()
    return run, values


def _ask_phoenix(q: PhoenixQuestions, args: argparse.Namespace, run: dict[str, Any]) -> Values:
    values: Values = {}
    with httpx.Client(timeout=600.0) as client:
        for name, ask, repeat in (
            ("p95_one_request_each", q.p95_one_request_each, args.phoenix_repeat),
            ("p95_batched", q.p95_batched, args.phoenix_repeat),
            ("trace_p95_series", q.trace_p95_series, args.repeat),
        ):
            run[name + "_loadavg"] = os.getloadavg()[0]
            timing, got = time_question(client, ask, repeat)
            values = values or got
            run[name] = timing.to_json()
            say(
                f"  {name}: first {timing.first_ms} ms, median {timing.median_ms} ms "
                f"({timing.num_requests} requests, {timing.num_results} values)"
            )
    return values


def measure_phoenix(spec: WorkloadSpec, args: argparse.Namespace) -> tuple[dict[str, Any], Values]:
    """Ingest the workload into ``phoenix serve`` over OTLP/HTTP, ask, stop, delete."""
    system = PhoenixSystem(spec)
    system.prepare()
    run: dict[str, Any] = {"num_spans": spec.num_spans, "version": system.version()}
    values: Values = {}
    with tempfile.TemporaryDirectory(dir=args.work_dir, prefix="phoenix-") as tmp:
        server = system.make_server(Path(tmp), args.work_dir / f"phoenix-{spec.num_spans}.log")
        say(f"phoenix @ {spec.num_spans:,} spans: starting and ingesting over OTLP/HTTP")
        run["startup_s"] = server.start(timeout_s=300.0)
        try:
            res = asyncio.run(ingest(system.otlp_url(), RequestSource(spec), system.count_spans,
                                     4, system.poll_interval_s, stall_s=600.0))  # fmt: skip
            run["ingest"] = {"queryable_s": res.queryable_s, "errors": res.errors,
                             "final_count": res.final_count}  # fmt: skip
            say(f"  ingested in {res.queryable_s} s, errors {res.errors[:2]}")
            run["days"] = args.phoenix_days or 7
            q = PhoenixQuestions(system.base, spec, args.phoenix_days or None)
            values = _ask_phoenix(q, args, run)
        finally:
            server.stop()
    return run, values


def main(argv: list[str] | None = None) -> None:
    """Measure everything asked for and write ``results/<date>-metrics[-label].{json,md}``."""
    args = parse_args(argv)
    if args.render:
        md = render(json.loads(args.render.read_text()))
        args.render.with_suffix(".md").write_text(md)
        print(md)
        return
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"meta": _meta(args), "llmpulse": [], "phoenix": None}
    discover_sizes = set(_sizes(args.discover_sizes))
    llmpulse_values: dict[int, Values] = {}
    for n in _sizes(args.sizes):
        if not args.no_wait:
            wait_for_other_benchmarks()
        spec = seven_day_spec(n)
        subset = args.phoenix_days if n == args.phoenix_spans and args.phoenix_days else None
        run, values = measure_llmpulse(spec, args, n in discover_sizes, subset)
        results["llmpulse"].append(run)
        llmpulse_values[spec.num_spans] = values
    if args.reuse_phoenix:
        results["phoenix"] = json.loads(args.reuse_phoenix.read_text())["phoenix"]
        results["phoenix"]["reused_from"] = args.reuse_phoenix.name
    elif args.phoenix_spans > 0:
        if not args.no_wait:
            wait_for_other_benchmarks()
        spec = seven_day_spec(args.phoenix_spans)
        run, values = measure_phoenix(spec, args)
        if spec.num_spans in llmpulse_values:
            run["agreement"] = compare_values(llmpulse_values[spec.num_spans], values)
        results["phoenix"] = run
    write_results(results, args.out_dir, "metrics", args.label, render)


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "argv": sys.argv[1:],
        "repeat": args.repeat,
        "phoenix_repeat": args.phoenix_repeat,
        "workload": "RAG traces of 3 spans (sidebyside/workload.py, seed 7), start times spread "
        "evenly over 7 days from 2025-01-01T00:00Z, metadata {tier, region, product_line}",
    }

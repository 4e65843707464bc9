"""Command line: measure the ceiling, llmpulse at each size, Phoenix once; write the report."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sidebyside.ceiling import measure_ceiling
from sidebyside.llmpulse_side import LlmpulseSystem
from sidebyside.measure import run_system
from sidebyside.output import machine, say, write_results
from sidebyside.phoenix import PhoenixSystem
from sidebyside.query_client import CLIENT_ID
from sidebyside.report import render
from sidebyside.requests import RequestSource
from sidebyside.system import System
from sidebyside.workload import WorkloadSpec

HERE = Path(__file__).resolve().parent.parent
HOUR_NS = 3_600_000_000_000
Run = dict[str, Any]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Flags of ``benchmarks/ingest_query.py``."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="30000", help="llmpulse sizes in spans, comma-separated")
    p.add_argument("--phoenix-spans", type=int, default=30_000, help="Phoenix size; 0 = skip")
    p.add_argument("--reuse-phoenix", type=Path, help="take Phoenix's numbers from this JSON")
    p.add_argument("--skip-llmpulse", action="store_true")
    p.add_argument("--repeat", type=int, default=20, help="runs of each query series")
    p.add_argument(
        "--stream-spans-per-s",
        type=float,
        default=300.0,
        help="llmpulse: steady ingest rate during a second cold series (0 = skip)",
    )
    p.add_argument("--concurrency", type=int, default=4, help="concurrent OTLP senders")
    p.add_argument("--spans-per-request", type=int, default=300)
    p.add_argument("--llmpulse-bin", type=Path, help="default: llmpulse beside this python")
    p.add_argument("--out-dir", type=Path, default=HERE / "results")
    p.add_argument("--work-dir", type=Path, default=HERE / ".work")
    p.add_argument("--label", default="", help="suffix of the result file names")
    p.add_argument(
        "--exact-quantiles",
        action="store_true",
        help="llmpulse latency quantiles exact (default: approx=true, the 1 %% span sketch)",
    )
    p.add_argument("--render", type=Path, help="only re-write the .md of this results JSON")
    return p.parse_args(argv)


def _spec(num_spans: int, args: argparse.Namespace, base_ns: int) -> WorkloadSpec:
    return WorkloadSpec.for_spans(
        num_spans, traces_per_request=max(1, args.spans_per_request // 3), base_ns=base_ns
    )


def llmpulse_version() -> str:
    """The installed llmpulse version and the tree's short commit."""
    version = metadata.version("llmpulse")
    rev = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return f"{version} ({rev or 'uncommitted tree'})"


def run_meta(script: str, spans: int) -> dict[str, Any]:
    """The head of a results file's ``meta``: when, the command (``script`` and this
    process's arguments, paths by their last part), the machine, llmpulse's version and
    size."""
    return {
        "stamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"benchmarks/{script} "
        + " ".join(x if not x.startswith("/") else Path(x).name for x in sys.argv[1:]),
        "machine": machine(),
        "llmpulse_version": llmpulse_version(),
        "llmpulse_spans": spans,
    }


def _measure(system: System, spec: WorkloadSpec, args: argparse.Namespace, results: Run) -> None:
    """Measure one system at one size; a failure becomes a note, not a crash."""
    try:
        system.prepare()
        source = RequestSource(spec)
        # Phoenix ingests ~70 spans/s here: a 300 spans/s stream would only queue up.
        rate = args.stream_spans_per_s if system.name == "llmpulse" else 0.0
        run = run_system(system, source, args.work_dir, args.repeat, args.concurrency, rate)
    except (OSError, RuntimeError, TimeoutError) as exc:
        reason = str(exc).replace(f"{HERE.parent}/", "")
        note = f"{system.name} @ {spec.num_spans:,} spans failed: {reason}"
        say(note)
        results["meta"]["notes"].append(note)
        return
    results["runs"].append(run.to_json())


def _workload_text(spec: WorkloadSpec, args: argparse.Namespace) -> str:
    return (
        "RAG traces of 3 spans (CHAIN root, RETRIEVER, LLM), ~3.2 kB of protobuf per span, "
        "metadata {tier, region, product_line}, session.id; "
        f"{args.spans_per_request} spans per OTLP/HTTP protobuf request, "
        f"{args.concurrency} concurrent senders; start times spread over 24 h"
    )


def _start_results(args: argparse.Namespace, base_ns: int) -> dict[str, Any]:
    """Metadata and the decode ceiling (measured on the first 30k spans of the workload)."""
    ref = _spec(30_000, args, base_ns)
    say("measuring the decode ceiling …")
    ceiling = measure_ceiling(list(RequestSource(ref)))
    return {
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "workload": _workload_text(ref, args),
            "repeat": args.repeat,
            "stream_spans_per_s": args.stream_spans_per_s,
            "query_client": CLIENT_ID,
            "argv": sys.argv[1:],
            "notes": [],
        },
        "ceiling": {k: getattr(ceiling, k) for k in ceiling.__slots__},
        "install": {},
        "runs": [],
    }


def main(argv: list[str] | None = None) -> None:
    """Run everything asked for and write ``results/<stamp>.{json,md}``."""
    args = parse_args(argv)
    if args.render:
        md = render(json.loads(args.render.read_text()))
        args.render.with_suffix(".md").write_text(md)
        print(md)
        return
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    base_ns = (time.time_ns() // HOUR_NS - 24) * HOUR_NS
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    results = _start_results(args, base_ns)
    LlmpulseSystem.approx_quantiles = not args.exact_quantiles
    results["meta"]["notes"].append(
        "llmpulse's latency_p50_p99 is exact (quantile_cont over the spans)"
        if args.exact_quantiles
        else "llmpulse's latency_p50_p99 asks approx=true: quantiles from the span sketch, "
        "within 1 % of the exact value (ADR 0021); Phoenix's are exact"
    )
    if not args.skip_llmpulse:
        lp = LlmpulseSystem(_spec(sizes[0], args, base_ns), args.llmpulse_bin)
        lp.prepare()
        results["meta"]["llmpulse_version"] = llmpulse_version()
        results["install"]["llmpulse"] = _inst(lp)
        for n in sizes:
            spec = _spec(n, args, base_ns)
            _measure(LlmpulseSystem(spec, args.llmpulse_bin), spec, args, results)
    _phoenix(results, args, base_ns)
    write_results(results, args.out_dir, "", args.label, render)


def _inst(system: LlmpulseSystem | PhoenixSystem) -> dict[str, Any]:
    s = system.install_size()
    return {"num_bytes": s.num_bytes, "num_distributions": s.num_distributions, "how": s.how}


def _phoenix(results: dict[str, Any], args: argparse.Namespace, base_ns: int) -> None:
    if args.reuse_phoenix:
        old = json.loads(args.reuse_phoenix.read_text())
        results["runs"] += [r for r in old["runs"] if r["system"] == "phoenix"]
        if "phoenix" in old.get("install", {}):
            results["install"]["phoenix"] = old["install"]["phoenix"]
        results["meta"]["phoenix_version"] = old["meta"].get("phoenix_version", "n/a")
        results["meta"]["notes"].append(
            f"Phoenix numbers reused from {args.reuse_phoenix.name} ({old['meta']['date']})."
        )
        if old["meta"].get("query_client") != CLIENT_ID:
            results["meta"]["notes"].append(
                "The reused Phoenix queries were timed with httpx, not with this run's client: "
                "their query ratios are not like for like."
            )
        return
    if args.phoenix_spans <= 0:
        return
    spec = _spec(args.phoenix_spans, args, base_ns)
    ph = PhoenixSystem(spec)
    ph.prepare()
    results["meta"]["phoenix_version"] = ph.version()
    results["install"]["phoenix"] = _inst(ph)
    _measure(ph, spec, args, results)

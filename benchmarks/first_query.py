"""The queries right after a bulk load: first, cold and cached, paired and interleaved (issue 14).

Each run starts ``llmpulse serve`` on a fresh data directory, sends the side-by-side workload
(`sidebyside`, 30,000 spans by default, four OTLP/HTTP senders) and, as soon as every span is
countable, times the four side-by-side queries: a cold series (parameters vary every run, so
no cache answers; its first run is the first query after the load), then a cached series
(one fixed question). ``--settle S`` waits S seconds before the queries instead (separates
what the load leaves running from what a first call costs); ``--restart`` stops the server
after the load and starts it again on the same directory first (the first query after a
restart; with ``--settle`` the wait comes after the start). Runs of the asked variants
alternate in every round, so load from elsewhere on the machine hits each alike:

    .venv/bin/python benchmarks/first_query.py --rounds 4 --variants on,off
    .venv/bin/python benchmarks/first_query.py --variants on,old=path/to/llmpulse

A variant is ``on`` / ``off`` (the search index, ``LLMPULSE_SEARCH_INDEX``) or ``nowarm``
(index on, ``LLMPULSE_WARMUP=false``) of this venv's ``llmpulse``, or
``NAME=EXECUTABLE[+VAR=VALUE...]`` (another build, with these environment variables). Writes
``results/<stamp>-first-query[-label].{json,md}``: per variant the medians over rounds of each
series' first run, its median, the cached median, ingest-to-queryable spans/s and the
server's CPU seconds, with the load average of each run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sidebyside.ingest import ingest
from sidebyside.llmpulse_side import LlmpulseSystem
from sidebyside.measure import time_query
from sidebyside.procmon import ServerProcess
from sidebyside.requests import RequestSource
from sidebyside.workload import WorkloadSpec

HERE = Path(__file__).resolve().parent
HOUR_NS = 3_600_000_000_000


class Variant(LlmpulseSystem):
    """`LlmpulseSystem` with the search index switched by the environment."""

    def __init__(
        self, spec: WorkloadSpec, name: str, exe: Path | None, env: dict[str, str]
    ) -> None:
        super().__init__(spec, exe)
        self.variant = name
        self.env = env

    def make_server(self, data_dir: Path, log_path: Path) -> ServerProcess:
        """As `LlmpulseSystem`, with the variant's environment."""
        server = super().make_server(data_dir, log_path)
        server.env.update(self.env)
        return server


def _variants(text: str, spec: WorkloadSpec) -> list[Variant]:
    out = []
    for item in text.split(","):
        name, _, exe = item.partition("=")
        if exe:
            path, *assignments = exe.split("+")
            env = dict(a.split("=", 1) for a in assignments)
            out.append(Variant(spec, name, Path(path), env))
        else:
            env = {"LLMPULSE_SEARCH_INDEX": "false" if name == "off" else "true"}
            if name == "nowarm":
                env["LLMPULSE_WARMUP"] = "false"
            out.append(Variant(spec, name, None, env))
    return out


def one_run(
    v: Variant, work: Path, repeat: int, settle_s: float, restart: bool = False
) -> dict[str, Any]:
    """Start, load, query, stop; the figures of one run (``restart``: the server is stopped
    after the load and started again on the same directory before the queries)."""
    source = RequestSource(v.spec)
    with tempfile.TemporaryDirectory(dir=work, prefix="first-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        log = work / f"first-query-{v.variant}.log"
        server = v.make_server(data, log)
        server.start()
        try:
            time.sleep(2.0)
            cpu0 = server.cpu_seconds()
            out = asyncio.run(ingest(v.otlp_url(), source, v.count_spans, 4, v.poll_interval_s))
            if out.errors or not out.queryable_s:
                raise RuntimeError(f"ingest failed: {out.errors[:2]}")
            load_cpu = server.cpu_seconds() - cpu0
            if restart:
                server.stop()
                server = v.make_server(data, log)
                server.start()
                # The new process's CPU from here on, the queries', adds to the load's
                # (its start-up until healthy is left out, as the first process's was).
                cpu0 = server.cpu_seconds() - load_cpu
            time.sleep(settle_s)
            run: dict[str, Any] = {
                "variant": v.variant,
                "queryable_spans_per_s": out.queryable_spans_per_s,
                "acked_spans_per_s": out.acked_spans_per_s,
                "load_cpu_s": load_cpu,
                "loadavg": os.getloadavg()[0],
                "cold": {},
                "cached": {},
            }
            for name, fn in v.queries().items():
                run["cold"][name] = time_query(fn, repeat, first_run=0).samples_ms
            for name, fn in v.queries().items():
                run["cached"][name] = time_query(fn, repeat).samples_ms
            run["total_cpu_s"] = server.cpu_seconds() - cpu0
        finally:
            server.stop()
    return run


def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def summarize(runs: list[dict[str, Any]]) -> str:
    """A markdown table: per variant, medians over rounds."""
    names = list(dict.fromkeys(r["variant"] for r in runs))
    queries = list(runs[0]["cold"])
    lines = [
        "| variant | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]

    def row(label: str, f: Any) -> None:
        vals = [_med([f(r) for r in runs if r["variant"] == n]) for n in names]
        lines.append(f"| {label} | " + " | ".join(f"{x:,.1f}" for x in vals) + " |")

    for q in queries:
        row(f"{q} first, ms", lambda r, q=q: r["cold"][q][0])
        row(f"{q} cold median, ms", lambda r, q=q: _med(r["cold"][q][1:]))
        row(f"{q} cached median, ms", lambda r, q=q: _med(r["cached"][q][1:]))
    row("ingest to queryable, spans/s", lambda r: r["queryable_spans_per_s"])
    row("ingest acked, spans/s", lambda r: r["acked_spans_per_s"])
    row("server CPU-s, load", lambda r: r["load_cpu_s"])
    row("server CPU-s, load + queries", lambda r: r["total_cpu_s"])
    row("load average (1 min) at the queries", lambda r: r["loadavg"])
    lines.append("")
    lines.append(
        f"Medians over {len(runs) // len(names)} rounds; 'cold median' and 'cached median' "
        "leave out the series' first run (the first is its own row)."
    )
    return "\n".join(lines)


def main() -> None:
    """Run the rounds and write the results."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--spans", type=int, default=30_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeat", type=int, default=20, help="runs of each query series")
    p.add_argument("--variants", default="on,off")
    p.add_argument("--settle", type=float, default=0.0, help="seconds between load and queries")
    p.add_argument(
        "--restart",
        action="store_true",
        help="stop the server after the load and start it again before the queries",
    )
    p.add_argument("--label", default="")
    p.add_argument("--work-dir", type=Path, default=HERE / ".work")
    p.add_argument("--out-dir", type=Path, default=HERE / "results")
    args = p.parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    base_ns = (time.time_ns() // HOUR_NS - 24) * HOUR_NS
    spec = WorkloadSpec.for_spans(args.spans, traces_per_request=100, base_ns=base_ns)
    variants = _variants(args.variants, spec)
    runs: list[dict[str, Any]] = []
    for i in range(args.rounds):
        order = variants if i % 2 == 0 else variants[::-1]
        for v in order:
            run = one_run(v, args.work_dir, args.repeat, args.settle, args.restart)
            runs.append(run)
            firsts = ", ".join(f"{q} {s[0]:.1f}" for q, s in run["cold"].items())
            cached = ", ".join(f"{_med(s[1:]):.1f}" for s in run["cached"].values())
            print(
                f"round {i + 1} {v.variant}: first {firsts}; cached {cached} ms; "
                f"queryable {run['queryable_spans_per_s']:,.0f} spans/s "
                f"(load {run['loadavg']:.1f})",
                flush=True,
            )
    md = summarize(runs)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    stem = f"{stamp}-first-query" + (f"-{args.label}" if args.label else "")
    meta = {
        "argv": sys.argv[1:],
        "date": stamp,
        "spans": args.spans,
        "settle_s": args.settle,
        "restart": args.restart,
    }
    (args.out_dir / f"{stem}.json").write_text(json.dumps({"meta": meta, "runs": runs}))
    after = " and a restart" if args.restart else ""
    header = f"# First queries after a {args.spans:,}-span bulk load{after} ({stamp} UTC)\n\n"
    header += f"`benchmarks/first_query.py {' '.join(sys.argv[1:])}`\n\n"
    (args.out_dir / f"{stem}.md").write_text(header + md + "\n")
    print(md)


if __name__ == "__main__":
    main()

"""Issue 14's four query kinds on llmpulse and Phoenix, both servers up, runs interleaved.

    .venv/bin/python benchmarks/paired_phoenix.py DATA_DIR [--spans 1000000]
        [--phoenix-dir benchmarks/.work/phoenix-30k] [--phoenix-spans 30000]
        [--repeat 40] [--series 3] [--offset 0] [--pause-s 0.05] [--stream 300]
        [--settle-s 15] [--llmpulse-bin PATH] [--label L]

DATA_DIR is an llmpulse data directory filled by `load_bench_dir.py` (its ``base_ns`` names
the workload; ``--spans`` is the size it was loaded with). Phoenix keeps its data in
``--phoenix-dir``: the first run sends it the side-by-side workload of ``--phoenix-spans``
spans over OTLP (~8 min for 30k) and writes ``base_ns`` there; later runs start Phoenix on
that directory and send nothing. Both servers then run side by side, and each of
``--series`` series times ``--repeat`` runs: run ``k`` asks each kind of one system and then
of the other with the parameters of run ``k`` (`sidebyside.variants`: no cache can answer),
the first system alternating (`sidebyside.paired`). One untimed run precedes the series.
``--pause-s``: a pause before every query (the whole machine idles); ``--stream``: spans/s
streamed into llmpulse meanwhile; ``--settle-s``: a wait before the untimed run. Writes
``results/<stamp>-paired[-label].{json,md}`` and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sidebyside.ingest import ingest
from sidebyside.llmpulse_side import LlmpulseSystem
from sidebyside.output import say, write_results
from sidebyside.paired import Paired, interleave, pooled
from sidebyside.phoenix import PhoenixSystem
from sidebyside.procmon import ServerProcess
from sidebyside.requests import RequestSource
from sidebyside.run import run_meta
from sidebyside.stream import IngestStream
from sidebyside.workload import WorkloadSpec

HERE = Path(__file__).resolve().parent


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data_dir", type=Path)
    p.add_argument("--spans", type=int, default=1_000_000, help="spans DATA_DIR was loaded with")
    p.add_argument("--phoenix-dir", type=Path, default=HERE / ".work" / "phoenix-30k")
    p.add_argument("--phoenix-spans", type=int, default=30_000)
    p.add_argument("--repeat", type=int, default=40, help="runs per series")
    p.add_argument("--series", type=int, default=3)
    p.add_argument("--offset", type=int, default=0, help="run number of the first run")
    p.add_argument("--pause-s", type=float, default=0.0, help="pause before every query")
    p.add_argument(
        "--settle-s",
        type=float,
        default=0.0,
        help="wait after both servers start (a 10M store builds its summaries ~10 s behind "
        "the open; queries meanwhile read the spans)",
    )
    p.add_argument(
        "--stream", type=float, default=0.0, help="llmpulse: spans/s streamed in meanwhile"
    )
    p.add_argument("--llmpulse-bin", type=Path, help="default: llmpulse beside this python")
    p.add_argument("--out-dir", type=Path, default=HERE / "results")
    p.add_argument("--label", default="")
    return p.parse_args()


def _phoenix(a: argparse.Namespace) -> tuple[PhoenixSystem, ServerProcess, dict[str, Any]]:
    """Phoenix started on ``--phoenix-dir``, loaded first if it holds no finished load."""
    a.phoenix_dir.mkdir(parents=True, exist_ok=True)
    base_file = a.phoenix_dir / "base_ns"
    loaded = base_file.exists()
    base_ns = int(base_file.read_text()) if loaded else None
    spec = WorkloadSpec.for_spans(a.phoenix_spans, traces_per_request=100, base_ns=base_ns)
    system = PhoenixSystem(spec)
    system.prepare()
    data = a.phoenix_dir / "data"
    if not loaded:  # an interrupted load's spans would be sent again on top of themselves
        shutil.rmtree(data, ignore_errors=True)
    data.mkdir(exist_ok=True)
    server = system.make_server(data, a.phoenix_dir / "phoenix.log")
    server.start()
    info: dict[str, Any] = {"spans": a.phoenix_spans, "version": system.version()}
    if not loaded:
        say(f"phoenix: sending {a.phoenix_spans:,} spans (once; kept in {a.phoenix_dir.name})")
        out = asyncio.run(
            ingest(system.otlp_url(), RequestSource(spec), system.count_spans, 4, 1.0)
        )
        if out.errors or out.queryable_s is None:
            server.stop()
            raise RuntimeError(f"phoenix load failed: {out.errors[:3]}")
        base_file.write_text(str(spec.base_ns))
        info["load_queryable_spans_per_s"] = out.queryable_spans_per_s
    return system, server, info


def _llmpulse(a: argparse.Namespace) -> tuple[LlmpulseSystem, ServerProcess]:
    base_ns = int((a.data_dir / "base_ns").read_text())
    spec = WorkloadSpec.for_spans(a.spans, traces_per_request=100, base_ns=base_ns)
    system = LlmpulseSystem(spec, a.llmpulse_bin)
    system.prepare()
    server = system.make_server(a.data_dir, a.data_dir.parent / f"{a.data_dir.name}-paired.log")
    server.start()
    return system, server


def render(res: dict[str, Any]) -> str:
    """The results as Markdown: one table per series and one of every run pooled."""
    m = res["meta"]
    lines = [
        f"# Paired cold queries: llmpulse at {m['llmpulse_spans']:,} spans, Phoenix "
        f"{m['phoenix']['version']} at {m['phoenix']['spans']:,} ({m['stamp']})",
        "",
        f"`{m['command']}`",
        "",
        f"{m['machine']}; llmpulse {_version(m)}. Both servers up at once; run k asks each "
        "kind of one system, then of the other (the first alternates), with run k's parameters. "
        "Wire times in ms. Ratio: Phoenix / llmpulse.",
    ]
    if "llmpulse_cpu_s" in m:
        lines.append(
            f"\nServer CPU over the series: Phoenix {m['phoenix_cpu_s']:.1f} s, llmpulse "
            f"{m['llmpulse_cpu_s']:.1f} s; load average (1 min) {m['load_1min'][0]:.1f} before, "
            f"{m['load_1min'][1]:.1f} after."
        )
    if m.get("pause_s"):
        lines.append(
            f"\nA pause of {m['pause_s'] * 1000:.0f} ms before every query (both servers idle)."
        )
    if m.get("stream"):
        st = m["stream"]
        lines.append(
            f"\nllmpulse took a stream of {st['spans_per_s']:.0f} spans/s meanwhile "
            f"({st['errors']} errors); Phoenix none."
        )
    for i, table in enumerate(res["series"]):
        lines += _table(f"Series {i + 1}", table)
    lines += _table("All runs", res["pooled"])
    return "\n".join(lines) + "\n"


def _version(meta: dict[str, Any]) -> str:
    """llmpulse's version in ``meta`` (results written before it was kept whole: the commit)."""
    return str(meta.get("llmpulse_version") or meta.get("llmpulse_rev"))


def _table(title: str, table: dict[str, dict[str, Any]]) -> list[str]:
    out = [
        "",
        f"## {title}",
        "",
        "| kind | Phoenix median (p95) | llmpulse median (p95) | ratio of medians | run ratios: "
        "median / lowest | runs ≥ 10x |",
        "|---|---|---|---|---|---|",
    ]
    for kind, s in table.items():
        out.append(
            f"| {kind} | {s['peer_median_ms']:.1f} ({s['peer_p95_ms']:.1f}) | "
            f"{s['ours_median_ms']:.1f} ({s['ours_p95_ms']:.1f}) | {s['ratio_of_medians']:.1f}x | "
            f"{s['run_ratio_median']:.1f}x / {s['run_ratio_min']:.1f}x | "
            f"{100 * s['runs_at_least_10x']:.0f} % |"
        )
    return out


def _series(
    a: argparse.Namespace, peer: PhoenixSystem, ours: LlmpulseSystem
) -> tuple[list[dict[str, Paired]], dict[str, float] | None]:
    """One untimed run, then the timed series (with the stream running, if asked), and what
    the stream sent."""
    time.sleep(a.settle_s)
    warm = a.offset + a.series * a.repeat  # parameters of its own
    interleave(peer.queries(), ours.queries(), [warm], a.pause_s)
    series: list[dict[str, Paired]] = []
    stream = IngestStream(ours.otlp_url(), ours.spec, a.stream) if a.stream else None
    if stream is not None:
        stream.start()
    try:
        if stream is not None:
            time.sleep(2.0)  # into its pace
        for s in range(a.series):
            first = a.offset + s * a.repeat
            say(f"series {s + 1}/{a.series}: runs {first}..{first + a.repeat - 1}")
            runs = range(first, first + a.repeat)
            series.append(interleave(peer.queries(), ours.queries(), runs, a.pause_s))
            time.sleep(1.0)
    finally:
        sent = None if stream is None else stream.stop()
    if sent is None:
        return series, None
    return series, {"asked": a.stream, "spans_per_s": sent.spans_per_s, "errors": sent.errors}


def main() -> None:
    a = _args()
    peer, peer_server, peer_info = _phoenix(a)
    try:
        ours, our_server = _llmpulse(a)
        try:
            cpu0 = (peer_server.cpu_seconds(), our_server.cpu_seconds())
            load0 = os.getloadavg()[0]
            series, stream = _series(a, peer, ours)
            cpu = {
                "phoenix_cpu_s": peer_server.cpu_seconds() - cpu0[0],
                "llmpulse_cpu_s": our_server.cpu_seconds() - cpu0[1],
                "load_1min": [load0, os.getloadavg()[0]],
            }
        finally:
            our_server.stop()
    finally:
        peer_server.stop()
    every = {name: pooled([part[name] for part in series]) for name in series[0]}
    results = {
        "meta": {
            **run_meta("paired_phoenix.py", a.spans),
            "phoenix": peer_info,
            "pause_s": a.pause_s,
            "settle_s": a.settle_s,
            "stream": stream,
            **cpu,
        },
        "series": [{name: p.summary() for name, p in part.items()} for part in series],
        "pooled": {name: p.summary() for name, p in every.items()},
        "samples": {n: {"phoenix": p.peer_ms, "llmpulse": p.ours_ms} for n, p in every.items()},
    }
    write_results(results, a.out_dir, "paired", a.label or None, render)


if __name__ == "__main__":
    main()

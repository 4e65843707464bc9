"""Issue 14's four query kinds on llmpulse alone, quiet and under a steady ingest stream:
each kind's p95 against its median in both conditions.

    .venv/bin/python benchmarks/stream_tail.py DATA_DIR [--spans 1000000] [--stream 300]
        [--repeat 60] [--blocks 4] [--pause-s 0.05] [--settle-s 15] [--label L]

`paired_phoenix.py` times the same kinds beside Phoenix, with the stream running through
the whole series; there, the two cores are shared by llmpulse's ingest, the stream's
generator and Phoenix's own work after each of its 90 to 270 ms answers. This benchmark asks
only llmpulse, in blocks of ``--repeat`` runs that alternate between no stream and
``--stream`` spans/s (the first block quiet), so that both conditions see the same phases
of the machine. Run ``k`` asks the four kinds in turn with run ``k``'s parameters
(`sidebyside.variants`: no cache can answer), ``--pause-s`` before each; a streaming block
asks the runs of the quiet block before it (the stream's commits leave the cache nothing
to answer them from), so both conditions ask the same pages, and every stream block
continues the spans of the one before (`sidebyside.stream`: they start inside the loaded
day). Keep ``--blocks`` / 2 (rounded up) times ``--repeat`` at most 156 for newest pages
that all end after the loaded data's newest span (`sidebyside.variants`). Writes
``results/<stamp>-stream-tail[-label].{json,md}`` and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sidebyside.llmpulse_side import LlmpulseSystem, iso
from sidebyside.measure import QueryTiming
from sidebyside.output import say, write_results
from sidebyside.paired import timed_runs
from sidebyside.query_client import QueryClient
from sidebyside.run import run_meta
from sidebyside.stream import IngestStream
from sidebyside.system import QueryFn

HERE = Path(__file__).resolve().parent
CONDITIONS = ("quiet", "stream")


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data_dir", type=Path)
    p.add_argument("--spans", type=int, default=1_000_000, help="spans DATA_DIR was loaded with")
    p.add_argument("--stream", type=float, default=300.0, help="spans/s in the stream blocks")
    p.add_argument("--repeat", type=int, default=60, help="runs per block")
    p.add_argument("--blocks", type=int, default=4, help="blocks, quiet and stream in turn")
    p.add_argument("--pause-s", type=float, default=0.05, help="pause before every query")
    p.add_argument("--settle-s", type=float, default=15.0, help="wait after the start")
    p.add_argument(
        "--after",
        type=int,
        default=0,
        help="stream requests an earlier run into DATA_DIR sent (spans sent again are "
        "duplicates, which ingest drops: no commit)",
    )
    p.add_argument(
        "--head",
        action="store_true",
        help="the stream's spans start after the newest span, and the newest page asks for "
        "the newest spans of all (an end far ahead, a microsecond earlier each run)",
    )
    p.add_argument("--llmpulse-bin", type=Path, help="default: llmpulse beside this python")
    p.add_argument("--out-dir", type=Path, default=HERE / "results")
    p.add_argument("--label", default="")
    return p.parse_args()


FAR_AHEAD_NS = 10 * 365 * 86_400 * 10**9
"""How far past the loaded data's newest span the ``--head`` newest page ends."""


def head_queries(ours: LlmpulseSystem) -> dict[str, QueryFn]:
    """`LlmpulseSystem.queries` with the newest page of all spans, streamed ones included:
    run ``k`` ends ``k`` microseconds before `FAR_AHEAD_NS` past the loaded data (no cache
    answers it again)."""
    spec = ours.spec

    def newest(client: QueryClient, k: int | None = None) -> int:
        end = spec.base_ns + spec.duration_ns + FAR_AHEAD_NS - 1000 * (k or 0)
        return ours.spans_page(client, [("end", iso(end))])

    return {**ours.queries(), "list_latest_100": newest}


def _streaming(
    a: argparse.Namespace,
    ours: LlmpulseSystem,
    queries: dict[str, QueryFn],
    runs: range,
    sent: dict[str, float],
) -> dict[str, list[float]]:
    """``runs`` timed while the stream runs, continuing the spans of the streams before
    (``sent``, which this adds to). A stream that stored no span (its spans were sent
    before, and ingest dropped them as duplicates) fails the run: with no commit, the cache
    would answer the quiet block's questions again."""
    before = _stored(ours)
    stream = IngestStream(ours.otlp_url(), ours.spec, a.stream, int(sent["requests"]), head=a.head)
    stream.start()
    try:
        time.sleep(2.0)  # into its pace
        block = timed_runs(queries, runs, a.pause_s)
    finally:
        done = stream.stop()
        sent["spans"] += done.spans_sent
        sent["seconds"] += done.seconds
        sent["errors"] += done.errors
        sent["requests"] += done.requests
    if _stored(ours) <= before:
        raise RuntimeError("the stream stored no span: sent before? (see --after)")
    return block


def _stored(ours: LlmpulseSystem) -> int:
    """The project's span count (`LlmpulseSystem.count_spans`)."""

    async def count() -> int:
        async with httpx.AsyncClient(timeout=30.0) as client:
            return await ours.count_spans(client)

    return asyncio.run(count())


def tail_table(samples: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, Any]]:
    """Per condition and kind: runs, median, p95 (`QueryTiming`'s) and p95 / median."""
    out: dict[str, dict[str, Any]] = {}
    for condition, kinds in samples.items():
        out[condition] = {}
        for kind, ms in kinds.items():
            t = QueryTiming(ms)
            median, p95 = t.median_ms, t.p95_ms
            out[condition][kind] = {
                "runs": len(ms),
                "median_ms": median,
                "p95_ms": p95,
                "p95_over_median": p95 / median if median and p95 is not None else None,
            }
    return out


def render(res: dict[str, Any]) -> str:
    """The results as Markdown: one row per kind, both conditions side by side."""
    m = res["meta"]
    st = m["stream"]
    lines = [
        f"# Query tails under a stream: llmpulse alone at {m['llmpulse_spans']:,} spans "
        f"({m['stamp']})",
        "",
        f"`{m['command']}`",
        "",
        f"{m['machine']}; llmpulse {m['llmpulse_version']}. {m['blocks']} blocks of "
        f"{m['repeat']} runs, quiet and streaming in turn; a pause of "
        f"{m['pause_s'] * 1000:.0f} ms before every query. The stream sent "
        f"{st['spans_per_s']:.0f} spans/s while it ran ({st['errors']} errors)"
        + (
            ", its spans starting after the newest span; the newest page asks for the newest "
            "of all spans"
            if m.get("head")
            else ", its spans starting inside the loaded day"
        )
        + ". Wire times in ms.",
        "",
        "| kind | quiet median (p95) | p95 / median | streaming median (p95) | p95 / median |",
        "|---|---|---|---|---|",
    ]
    quiet, stream = res["table"]["quiet"], res["table"]["stream"]
    for kind, q in quiet.items():
        s = stream[kind]
        lines.append(
            f"| {kind} | {q['median_ms']:.2f} ({q['p95_ms']:.2f}) | {q['p95_over_median']:.2f} | "
            f"{s['median_ms']:.2f} ({s['p95_ms']:.2f}) | {s['p95_over_median']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    a = _args()
    ours = LlmpulseSystem.on_loaded(a.data_dir, a.spans, a.llmpulse_bin)
    server = ours.make_server(a.data_dir, a.data_dir.parent / f"{a.data_dir.name}-tail.log")
    server.start()
    queries = head_queries(ours) if a.head else ours.queries()
    samples: dict[str, dict[str, list[float]]] = {c: {} for c in CONDITIONS}
    sent = {"spans": 0.0, "seconds": 0.0, "errors": 0, "requests": a.after}
    try:
        time.sleep(a.settle_s)
        timed_runs(queries, [(a.blocks + 1) // 2 * a.repeat], a.pause_s)  # untimed
        load0 = os.getloadavg()[0]
        for b in range(a.blocks):
            condition = CONDITIONS[b % 2]
            runs = range((b // 2) * a.repeat, (b // 2 + 1) * a.repeat)
            say(f"block {b + 1}/{a.blocks} ({condition}): runs {runs[0]}..{runs[-1]}")
            if not b % 2:
                block = timed_runs(queries, runs, a.pause_s)
            else:
                block = _streaming(a, ours, queries, runs, sent)
            for kind, ms in block.items():
                samples[condition].setdefault(kind, []).extend(ms)
            time.sleep(1.0)
        cpu_s = server.cpu_seconds()
    finally:
        server.stop()
    results = {
        "meta": {
            **run_meta("stream_tail.py", a.spans),
            "repeat": a.repeat,
            "blocks": a.blocks,
            "pause_s": a.pause_s,
            "head": a.head,
            "after": a.after,
            "stream": {
                "asked": a.stream,
                "spans_per_s": sent["spans"] / sent["seconds"] if sent["seconds"] else 0.0,
                "errors": sent["errors"],
            },
            "llmpulse_cpu_s": cpu_s,
            "load_1min_before": load0,
        },
        "table": tail_table(samples),
        "samples": samples,
    }
    write_results(results, a.out_dir, "stream-tail", a.label or None, render)


if __name__ == "__main__":
    main()

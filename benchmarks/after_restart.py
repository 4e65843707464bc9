"""Issue 14's four query kinds in the first seconds after llmpulse starts on a loaded data
directory: when each becomes as fast as it stays.

    .venv/bin/python benchmarks/after_restart.py DATA_DIR [--spans 10000000] [--seconds 14]
        [--every-s 0.5] [--label L] [--build-totals]

The summaries are built behind the open (ADRs 0039, 0072); until the in-memory ones are
built every query reads the spans, and until the traces' totals are built, their readers do.
A clean close keeps the totals for the next open (ADR 0074); ``--build-totals`` removes them
first, as a crash would leave the open to build them.
This starts ``llmpulse serve`` on ``DATA_DIR`` (stop any server on it first), waits for
``/healthz``, then asks the four kinds (`LlmpulseSystem.queries`, new parameters every
round: no cache answers) every ``--every-s`` seconds for ``--seconds`` after the start,
and stops the server. For each kind it reports the first round from which every answer took
at most twice the kind's median over the last third of the rounds ("settled"). Writes
``results/<stamp>-after-restart[-label].{json,md}`` and prints the table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sidebyside.llmpulse_side import LlmpulseSystem
from sidebyside.output import say, write_results
from sidebyside.query_client import QueryClient
from sidebyside.run import run_meta

HERE = Path(__file__).resolve().parent
SETTLED_FACTOR = 2.0
"""A round is settled when it took at most this many times the kind's late median."""


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data_dir", type=Path)
    p.add_argument("--spans", type=int, default=10_000_000, help="spans DATA_DIR was loaded with")
    p.add_argument("--seconds", type=float, default=14.0, help="ask until this long after start")
    p.add_argument("--every-s", type=float, default=0.5, help="pause between rounds")
    p.add_argument("--llmpulse-bin", type=Path, help="default: llmpulse beside this python")
    p.add_argument("--out-dir", type=Path, default=HERE / "results")
    p.add_argument("--label", default="")
    p.add_argument(
        "--build-totals",
        action="store_true",
        help="remove the traces' totals kept by the last clean close first: the open builds "
        "them, as after a crash (ADR 0074)",
    )
    return p.parse_args()


def drop_kept_totals(data_dir: Path) -> bool:
    """Remove the traces' totals' file (and its log) that a clean close kept in
    ``data_dir``; whether there was one."""
    found = False
    for name in ("events.duckdb.sums", "events.duckdb.sums.wal"):
        path = data_dir / name
        found |= path.exists()
        path.unlink(missing_ok=True)
    return found


def settled(rounds: list[dict[str, Any]], kind: str) -> float | None:
    """Seconds after the start of the first round from which every answer of ``kind`` took at
    most `SETTLED_FACTOR` times its median over the last third of the rounds (None: too few
    rounds)."""
    if len(rounds) < 3:
        return None
    late = statistics.median(r["ms"][kind] for r in rounds[-(len(rounds) // 3) :])
    at = None
    for r in rounds:
        if r["ms"][kind] > SETTLED_FACTOR * late:
            at = None
        elif at is None:
            at = r["t_s"]
    return at


def render(res: dict[str, Any]) -> str:
    """The results as Markdown: per kind, its first answer, when it settled and its median
    after that; then every round."""
    m = res["meta"]
    rounds = res["rounds"]
    kinds = list(rounds[0]["ms"]) if rounds else []
    lines = [
        f"# The first seconds after a start: llmpulse at {m['llmpulse_spans']:,} spans "
        f"({m['stamp']})",
        "",
        f"`{m['command']}`",
        "",
        f"{m['machine']}; llmpulse {m['llmpulse_version']}. `/healthz` answered "
        f"{m['healthy_s']:.1f} s after the start; the four kinds asked every "
        f"{m['every_s']:.1f} s from then on, new parameters every round. Wire times in ms.",
        "",
        "| kind | first answer | settled from (s after start) | median from then |",
        "|---|---|---|---|",
    ]
    for kind in kinds:
        at = settled(rounds, kind)
        after = [r["ms"][kind] for r in rounds if at is not None and r["t_s"] >= at]
        first = rounds[0]["ms"][kind]
        med = f"{statistics.median(after):.1f}" if after else "n/a"
        lines.append(f"| {kind} | {first:.1f} | {'n/a' if at is None else f'{at:.1f}'} | {med} |")
    lines += ["", "| s after start | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    for r in rounds:
        lines.append(f"| {r['t_s']:.1f} | " + " | ".join(f"{r['ms'][k]:.1f}" for k in kinds) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    a = _args()
    ours = LlmpulseSystem.on_loaded(a.data_dir, a.spans, a.llmpulse_bin)
    if a.build_totals:
        drop_kept_totals(a.data_dir)
    server = ours.make_server(a.data_dir, a.data_dir.parent / f"{a.data_dir.name}-restart.log")
    t0 = time.perf_counter()
    healthy_s = server.start()
    client, queries, rounds = QueryClient(), ours.queries(), []
    try:
        k = 0
        while time.perf_counter() - t0 < a.seconds:
            t = time.perf_counter() - t0
            ms = {}
            for kind, query in queries.items():
                client.wire_s = 0.0
                query(client, k)
                ms[kind] = 1000 * client.wire_s
            rounds.append({"t_s": t, "ms": ms})
            say(f"{t:5.1f} s  " + "  ".join(f"{kind} {v:7.1f}" for kind, v in ms.items()))
            k += 1
            time.sleep(a.every_s)
    finally:
        client.close()
        server.stop()
    results = {
        "meta": {
            **run_meta("after_restart.py", a.spans),
            "healthy_s": healthy_s,
            "every_s": a.every_s,
            "seconds": a.seconds,
            "build_totals": a.build_totals,
        },
        "rounds": rounds,
    }
    write_results(results, a.out_dir, "after-restart", a.label or None, render)


if __name__ == "__main__":
    main()

"""The search indexer's tally of a block's terms: the C extension beside Python (ADR 0061).

Usage: ``.venv/bin/python benchmarks/search_tally.py [--spans 40000] [--runs 5] [--data FILE]``

Tallies ``--spans`` spans' ``search_text`` a five-minute block at a time, as a round of the
indexer does (`search_terms.tally`, then `tally_python` on the same blocks, alternating run by
run), and prints the median seconds and microseconds per span of each, their ratio and the
terms found (both must find the same). The texts are those of a store file (``--data``, opened
read-only: its first spans in storage order) or, without it, `search.py`'s RAG-like texts
(~1.6 kB each, a 2,000-word vocabulary) in blocks of 3,000 spans. CPU only: no store is
written, nothing is cached between runs (each run tallies every block again).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llmpulse.store.events.search_terms import BLOCK_SQL, NATIVE, tally, tally_python
from search import _text, _vocabulary

Tally = Callable[[list[str | None]], tuple[list[bytes], list[int], list[int]]]


def _blocks_of_file(path: Path, spans: int) -> list[list[str | None]]:
    import duckdb  # the store's engine, read here only to take texts out of a file

    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            f"SELECT {BLOCK_SQL} AS block, search_text FROM spans LIMIT ?", [spans]
        ).fetchall()
    finally:
        con.close()
    per: dict[int, list[str | None]] = {}
    for block, text in rows:
        per.setdefault(int(block), []).append(text)
    return list(per.values())


def _blocks_generated(spans: int) -> list[list[str | None]]:
    rng = np.random.default_rng(11)
    words = _vocabulary(rng)
    texts: list[str | None] = [_text(rng, words, 250).lower() for _ in range(spans)]
    return [texts[i : i + 3000] for i in range(0, spans, 3000)]


def _run(fn: Tally, blocks: list[list[str | None]]) -> tuple[float, int]:
    began = time.perf_counter()
    terms = sum(len(fn(texts)[0]) for texts in blocks)
    return time.perf_counter() - began, terms


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, default=40_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--data", type=Path)
    args = ap.parse_args()
    if NATIVE is None:
        sys.exit("the _terms extension is not built (./scripts/setup builds it)")
    blocks = _blocks_of_file(args.data, args.spans) if args.data else _blocks_generated(args.spans)
    n = sum(map(len, blocks))
    print(f"{n:,} spans in {len(blocks)} blocks, {args.runs} runs of each, alternating")
    timed: dict[str, list[float]] = {"C": [], "Python": []}
    found: dict[str, set[int]] = {"C": set(), "Python": set()}
    for r in range(args.runs):
        order: list[tuple[str, Tally]] = [("C", tally), ("Python", tally_python)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            seconds, terms = _run(fn, blocks)
            timed[name].append(seconds)
            found[name].add(terms)
    if found["C"] != found["Python"] or len(found["C"]) != 1:
        sys.exit(f"the two found different terms: {found}")
    for name, seconds in timed.items():
        med = statistics.median(seconds)
        print(
            f"{name:7s} median {med:.3f} s ({min(seconds):.3f}-{max(seconds):.3f}), "
            f"{med / n * 1e6:.1f} us per span"
        )
    print(
        f"Python / C: {statistics.median(timed['Python']) / statistics.median(timed['C']):.1f}x"
        f" ({found['C'].pop():,} block terms)"
    )


if __name__ == "__main__":
    main()

"""Traces-table sort and export at 1M spans, uncached (issue 12, items 1 and 6).

Usage: ``.venv/bin/python benchmarks/traces_sort.py [--spans 1000000] [--runs 5]
[--data benchmarks/.work/traces-1m.duckdb] [--first N]`` (``--data``: load once into that
file, then work on a copy; ``--first``: the first bound, so repeated calls ask new queries).

Loads the synthetic traffic of ``segment_percentiles.py`` (traces of 1-4 spans, lognormal
latency) into a DuckDB store in a temporary directory, then times through `QueryService` with
no query cache, varying a latency bound each run so no run repeats a query:

* the first page (100 rows) of the spans sorted by latency, descending, and the fifth page
  reached by its keyset cursor;
* the matching count (``total``);
* a streamed CSV export of 100,000 rows of the latency-sorted view (rows per second);
* traces sorted by their total cost (first page, pages 1-5) and latency, and their count: one
  root row per trace, valued by the sums over every span of the trace. For these the spans of
  a trace are made one root and its children, with tokens and a cost.

Prints the median and the spread of ``--runs`` runs of each. The machine is shared: quote
medians, and compare runs made back to back.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from llmpulse.domain.spans import Span
from llmpulse.query.export import export_chunks
from llmpulse.query.service import QueryService
from llmpulse.store.api import SpanQuery, ValueRange
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.sql import SqlStateStore
from segment_percentiles import P, batches


def _view(run: int, sort: str = "latency") -> SpanQuery:
    low = 1.0 + run * 0.37  # a new bound each run: nothing is served from a cache
    return SpanQuery(project=P, sort=sort, ranges=(ValueRange("latency", low=low),))


def _traces(spans: list[Span]) -> list[Span]:
    """The spans of each trace as one root and its children, with tokens and a cost."""
    out, root = [], None
    for s in spans:
        root = s if root is None or root.trace_id != s.trace_id else root
        tokens = int(s.latency_ms) // 2
        out.append(
            replace(
                s,
                parent_span_id=None if s is root else root.span_id,
                total_tokens=tokens,
                cost_usd=tokens * (2e-6 if s.model == "model-3" else 5e-7),
            )
        )
    return out


def _load(path: Path, spans: int) -> None:
    events = DuckDBEventStore(path, search_index=False)
    start = time.perf_counter()
    for batch in batches(spans):
        events.append_spans(_traces(batch))
    events.close()
    print(f"loaded {spans:,} spans in {time.perf_counter() - start:.1f} s", flush=True)


async def _pages(svc: QueryService, q: SpanQuery, n: int) -> None:
    cursor = None
    for _ in range(n):
        page = await svc.list_spans(replace(q, cursor=cursor), keep=False)
        cursor = page.next_cursor


async def _export(svc: QueryService, q: SpanQuery, rows: int) -> int:
    size = 0
    async for chunk in export_chunks(svc, q, "csv", max_rows=rows):
        size += len(chunk)
    return size


def main() -> None:
    """Load, then time each operation ``--runs`` times."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument("--data", type=Path, help="load once into this file, then copy it")
    parser.add_argument("--first", type=int, default=0, help="first bound number (vary it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.data.parent if args.data else None) as tmp:
        path = Path(tmp) / "events.duckdb"
        if args.data and not args.data.exists():
            _load(args.data, args.spans)
        if args.data:
            shutil.copyfile(args.data, path)
        else:
            _load(path, args.spans)
        events = DuckDBEventStore(path, search_index=False)
        svc = QueryService(events, SqlStateStore("sqlite://"))  # no data_version: no cache
        f = args.first
        cases = {
            "first page, latency desc": lambda r: _pages(svc, _view(f + r), 1),
            "pages 1-5 by cursor": lambda r: _pages(svc, _view(f + r), 5),
            "total count": lambda r: svc.count_spans(_view(f + r)),
            "traces by total cost, page 1": lambda r: _pages(svc, _view(f + r, "trace_cost"), 1),
            "... pages 1-5 by cursor": lambda r: _pages(svc, _view(f + r, "trace_cost"), 5),
            "traces by latency, page 1": lambda r: _pages(svc, _view(f + r, "trace_latency"), 1),
            "traces: count": lambda r: svc.count_spans(_view(f + r, "trace_cost")),
            f"CSV export, {args.export_rows:,} rows": lambda r: _export(
                svc, _view(f + r), args.export_rows
            ),
        }
        for name, make in cases.items():
            times = []
            for run in range(args.runs):
                t0 = time.perf_counter()
                asyncio.run(make(run))
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            extra = f"  ({args.export_rows / med:,.0f} rows/s)" if "export" in name else ""
            print(f"{name:<32} median {med * 1000:8.1f} ms  [{min(times) * 1000:.1f}-"
                  f"{max(times) * 1000:.1f}]{extra}  load {os.getloadavg()[0]:.1f}",
                  flush=True)  # fmt: skip
        events.close()


if __name__ == "__main__":
    main()

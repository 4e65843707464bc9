"""Traces-table sort and export at 1M spans, uncached (issue 12, items 1 and 6).

Usage: ``.venv/bin/python benchmarks/traces_sort.py [--spans 1000000] [--runs 5]``.

Loads the synthetic traffic of ``segment_percentiles.py`` (traces of 1-4 spans, lognormal
latency) into a DuckDB store in a temporary directory, then times through `QueryService` with
no query cache, varying a latency bound each run so no run repeats a query:

* the first page (100 rows) of the spans sorted by latency, descending, and the fifth page
  reached by its keyset cursor;
* the matching count (``total``);
* a streamed CSV export of 100,000 rows of the latency-sorted view (rows per second).

Prints the median and the spread of ``--runs`` runs of each. The machine is shared: quote
medians, and compare runs made back to back.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from llmpulse.query.export import export_chunks
from llmpulse.query.service import QueryService
from llmpulse.store.api import SpanQuery, ValueRange
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.sql import SqlStateStore
from segment_percentiles import P, batches


def _view(run: int) -> SpanQuery:
    low = 1.0 + run * 0.37  # a new bound each run: nothing is served from a cache
    return SpanQuery(project=P, sort="latency", ranges=(ValueRange("latency", low=low),))


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        events = DuckDBEventStore(Path(tmp) / "events.duckdb")
        start = time.perf_counter()
        for batch in batches(args.spans):
            events.append_spans(batch)
        print(f"loaded {args.spans:,} spans in {time.perf_counter() - start:.1f} s")
        svc = QueryService(events, SqlStateStore("sqlite://"))  # no data_version: no cache
        cases = {
            "first page, latency desc": lambda r: _pages(svc, _view(r), 1),
            "pages 1-5 by cursor": lambda r: _pages(svc, _view(r), 5),
            "total count": lambda r: svc.count_spans(_view(r)),
            f"CSV export, {args.export_rows:,} rows": lambda r: _export(
                svc, _view(r), args.export_rows
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
                  f"{max(times) * 1000:.1f}]{extra}")  # fmt: skip
        events.close()


if __name__ == "__main__":
    main()

"""What one batch costs each summary: batch by batch against many batches at once (ADR 0039).

One process, an in-memory-catalog store in a temporary file: 50 commits of 300 spans (three
metadata keys), then the next 50 batches added to the span sketch, the trace slots and the
pair sketch one statement per batch, and the same 50 batches again as one table. Prints
milliseconds per batch for each (the summaries' rows are counted twice; only the timing is
of interest).

    .venv/bin/python benchmarks/summaries_batch_cost.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "contract"))
from store_factories import make_span, span_id, trace_id

from llmpulse.store.events import pair_sketch, sketch, trace_slots
from llmpulse.store.events.codec import spans_to_arrow
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.events.pair_sketch import PairsOfText

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _batch(b: int, n: int = 300) -> pa.Table:
    spans = []
    for i in range(b * n, (b + 1) * n):
        start = T0 + timedelta(seconds=i)
        meta = {"region": ("eu", "us", "ap")[i % 3], "tier": "ab"[i % 2], "line": str(i % 5)}
        spans.append(
            replace(
                make_span(i),
                trace_id=trace_id(i // 3),
                span_id=span_id(i),
                start_time=start,
                end_time=start + timedelta(milliseconds=50),
                metadata=meta,
            )
        )
    return spans_to_arrow(spans)


def _ms_per_batch(run: Callable[[pa.Table], None], tables: list[pa.Table], batches: int) -> float:
    t = time.perf_counter()
    for table in tables:
        run(table)
    return 1000 * (time.perf_counter() - t) / batches


def main() -> None:
    tables = [_batch(b) for b in range(100)]
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBEventStore(Path(tmp) / "events.duckdb", search_index=False)
        for t in tables[:50]:
            store.append_columns(t)
        store.catch_up()
        con, keys, texts = store._con, store.pair_keys, PairsOfText()
        rest, whole = tables[50:], [pa.concat_tables(tables[50:])]
        runs: dict[str, Callable[[pa.Table], None]] = {
            "span sketch": lambda t: sketch.add(con, t),
            "trace slots": lambda t: trace_slots.add(con, t),
            "pair sketch": lambda t: pair_sketch.add(con, keys, texts, t),
        }
        for name, run in runs.items():
            one = _ms_per_batch(run, rest, len(rest))
            many = _ms_per_batch(run, whole, len(rest))
            print(f"{name}: {one:.2f} ms per batch one by one, {many:.3f} ms per batch at once")
        store.close()
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

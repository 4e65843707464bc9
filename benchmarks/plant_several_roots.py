"""Give some traces of a loaded data directory a second root, as a trace does whose context
did not reach one of its services (ADR 0073): each picked trace's root is copied with a new
span id, starting 2 s after it.

    .venv/bin/python benchmarks/plant_several_roots.py DATA_DIR [--traces 100] [--seed 5]

The roots are picked at random among the stored ones (``--seed``), and the copies are written
through the store, so its summaries keep them. Prints how many traces gained a root. Then
time the trace sorts with `sorted_pages.py DATA_DIR --sorts trace_cost,trace_tokens,
trace_latency`.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.spans import Span
from llmpulse.store.api import SpanQuery
from llmpulse.store.events.duckdb import DuckDBEventStore

LATER = timedelta(seconds=2)


def second_roots(roots: list[Span], rng: random.Random) -> list[Span]:
    """A second root of each of ``roots``' traces: a copy with a new span id, `LATER`."""
    return [
        replace(
            r,
            span_id=SpanId(f"{rng.getrandbits(64):016x}"),
            start_time=r.start_time + LATER,
            end_time=r.end_time + LATER,
        )
        for r in roots
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--traces", type=int, default=100)
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    store = DuckDBEventStore(a.data_dir / "events.duckdb", search_index=False)
    try:
        picked = store._query(
            "SELECT project, trace_id, span_id FROM (SELECT project, trace_id, span_id "
            "FROM spans WHERE parent_span_id IS NULL) "
            f"USING SAMPLE reservoir({int(a.traces)} ROWS) REPEATABLE ({int(a.seed)})"
        )
        roots = []
        for project, trace, span in picked:
            q = SpanQuery(ProjectName(project), trace_id=TraceId(trace), limit=1000)
            roots += [s for s in store.list_spans(q).items if s.span_id == span]
        store.append_spans(second_roots(roots, random.Random(a.seed)))
    finally:
        store.close()
    print(f"{len(roots)} traces gained a second root")


if __name__ == "__main__":
    main()

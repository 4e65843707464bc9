"""Time the four benchmark query kinds on an event store file directly, cold (varying
parameters, as `sidebyside.variants`), with the store's own compiled SQL.

    .venv/bin/python benchmarks/profile_store.py DATA_DIR [--repeat 20] [--explain]

DATA_DIR is an llmpulse data directory holding ``events.duckdb`` and a ``base_ns`` file (the
workload's first start time, written by whoever loaded it). Prints the open's time (and when
the summaries built behind it were ready, ADR 0039; the queries run after that), then median
and p95 per query kind. Span pages include the trace totals of their root rows, as the
server's answer does. A profiling aid for store changes (docs/adr/0010...), no server and
no HTTP involved.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.store.api import AttrEquals, SpanFilter, SpanQuery, TimeRange
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.metric_api import MetricQuery
from sidebyside.variants import params_for
from sidebyside.workload import WorkloadSpec

P = ProjectName("rag-bench")
# Approximate quantiles from the span sketch (ADR 0021); code before it has no such option.
SKETCH = {"approximate": True} if "approximate" in MetricQuery.__dataclass_fields__ else {}


def _t(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


def _tr(w: tuple[int, int]) -> TimeRange:
    return TimeRange(_t(w[0]), _t(w[1]))


def _page(store: DuckDBEventStore, q: SpanQuery) -> object:
    """A span page as the server answers it: the page, then its root rows' trace totals."""
    page = store.list_spans(q)
    return store.trace_totals([s.trace_id for s in page.items if s.parent_span_id is None])


def queries(store: DuckDBEventStore, spec: WorkloadSpec, k: int | None) -> dict[str, object]:
    p = params_for(spec, k)
    q50, q99, count = (parse_metric(m, "m") for m in ("latency_ms:p50", "latency_ms:p99", "count"))
    meta = SpanFilter(attributes=(AttrEquals("metadata.region", p.region),))
    return {
        "list_latest_100": lambda: _page(
            store, SpanQuery(P, TimeRange(None, None if p.list_end is None else _t(p.list_end)))
        ),
        "latency_p50_p99": lambda: store.metric(
            MetricQuery(P, (q50, q99), _tr(p.latency_window), where=SpanFilter(root_only=True))
        ),
        "latency_p50_p99_sketch": lambda: store.metric(
            MetricQuery(
                P,
                (q50, q99),
                _tr(p.latency_window),
                where=SpanFilter(root_only=True),
                **SKETCH,  # type: ignore[arg-type]
            )
        ),
        "metadata_filter_100": lambda: (
            store.metric(MetricQuery(P, (count,), _tr(p.metadata_window), where=meta)),
            _page(store, SpanQuery(P, _tr(p.metadata_window), attributes=meta.attributes)),
        ),
        "hourly_counts": lambda: store.metric(
            MetricQuery(P, (count,), _tr(p.hourly_window), bucket=timedelta(hours=1))
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--offset", type=int, default=0, help="first run number")
    ap.add_argument(
        "--no-search-index",
        action="store_true",
        help="open without the search index (a file without one builds it behind the open, "
        "which at 1M spans fills the 512 MB buffer pool and fails queries meanwhile)",
    )
    a = ap.parse_args()
    base_ns = int((a.data_dir / "base_ns").read_text())
    t0 = time.perf_counter()
    store = DuckDBEventStore(a.data_dir / "events.duckdb", search_index=not a.no_search_index)
    print(f"open {1000 * (time.perf_counter() - t0):.0f} ms")
    if hasattr(store, "catch_up"):  # summaries built behind the open (ADR 0039)
        store.catch_up()
        print(f"summaries built {1000 * (time.perf_counter() - t0):.0f} ms after the open began")
    (n,) = store._query("SELECT count(*) FROM spans")[0]
    spec = WorkloadSpec.for_spans(n, traces_per_request=100, base_ns=base_ns)
    try:
        names = list(queries(store, spec, None))
        samples: dict[str, list[float]] = {name: [] for name in names}
        for i in range(a.repeat):
            runs = list(queries(store, spec, a.offset + i).items())
            # Every other run in reverse, so the sketch quantiles do not always run on the
            # buffers the exact ones (same window) just warmed, nor any kind always first.
            for name, fn in runs if i % 2 == 0 else runs[::-1]:
                t = time.perf_counter()
                fn()  # type: ignore[operator]
                samples[name].append(1000 * (time.perf_counter() - t))
        for name, s in samples.items():
            s_sorted = sorted(s)
            p95 = s_sorted[max(0, int(0.95 * len(s) + 0.999) - 1)]
            print(
                f"{name:22s} median {statistics.median(s):7.1f} ms  p95 {p95:7.1f}  "
                f"first {s[0]:7.1f}"
            )
    finally:
        store.close()


if __name__ == "__main__":
    main()

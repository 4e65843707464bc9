"""Percentile segment analysis at 1M spans, uncached (issue 15's performance target: ≤ 2 s).

Usage: ``.venv/bin/python benchmarks/segment_percentiles.py [--spans 1000000] [--runs 5]``.

Loads synthetic traffic (traces of 1-4 spans; 20 models, 12 regions in metadata, two
versions) into a DuckDB store in a temporary directory, then times through `SegmentService`
with no query cache:

* ``segments latency_ms:p95`` by a typed column (``model``) and by a metadata key
  (``metadata.region``), trace as the unit: every value that passes the minimum size is tested
  (pooled-quantile test, Woodruff intervals);
* ``segments error:rate`` and ``discover latency_ms:mean`` (delta method over traces);
* the version gate on ``latency_ms:p95`` (cluster bootstrap, B = 1000) over all spans.

Prints the median and the spread of ``--runs`` runs of each. The machine is shared: quote
medians, and compare runs made back to back.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from llmpulse.domain.ids import ProjectName, SpanId, TraceId
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span, SpanKind
from llmpulse.query.segments import Scope, SegmentService
from llmpulse.query.service import QueryService
from llmpulse.store.events.duckdb import DuckDBEventStore
from llmpulse.store.state.sql import SqlStateStore

P = ProjectName("bench-segments")
T0 = datetime(2026, 11, 1, tzinfo=UTC)
MODELS = [f"model-{i}" for i in range(20)]
REGIONS = [f"region-{i}" for i in range(12)]


def batches(total: int, seed: int = 1, size: int = 20_000) -> Iterator[list[Span]]:
    """Spans of whole traces, ``size`` at a time."""
    rng = np.random.default_rng(seed)
    made, trace = 0, 0
    while made < total:
        out: list[Span] = []
        while len(out) < size and made < total:
            k = int(rng.integers(1, 5))
            region = REGIONS[int(rng.integers(0, len(REGIONS)))]
            version = "v1" if rng.random() < 0.5 else "v2"
            base = rng.lognormal(6.0, 0.5)
            at = T0 + timedelta(seconds=trace * 0.5)
            for j in range(min(k, total - made)):
                model = MODELS[int(rng.integers(0, len(MODELS)))]
                lat = base * rng.lognormal(0.0, 0.3) * (1.5 if model == "model-3" else 1.0)
                out.append(Span(
                    project=P, trace_id=TraceId(f"{trace:032x}"),
                    span_id=SpanId(f"{trace * 8 + j + 1:016x}"), parent_span_id=None,
                    name="llm", kind=SpanKind.LLM, start_time=at,
                    end_time=at + timedelta(milliseconds=float(lat)), model=model,
                    version=version, metadata={"region": region},
                ))  # fmt: skip
                made += 1
            trace += 1
        yield out


def timed(runs: int, make: Callable[[], Awaitable[Any]]) -> list[float]:
    """Wall seconds of ``runs`` calls, each on a fresh event loop."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        asyncio.run(make())  # type: ignore[arg-type]
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    """Load, time, print."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        events = DuckDBEventStore(Path(tmp) / "events.duckdb")
        t = time.perf_counter()
        for batch in batches(args.spans):
            events.append_spans(batch)
        events.checkpoint()
        print(f"loaded {args.spans:,} spans in {time.perf_counter() - t:.1f} s")
        # no data_version: QueryService caches nothing, every run reads the store
        svc = SegmentService(QueryService(events, SqlStateStore("sqlite://")))
        p95 = parse_metric("latency_ms:p95")
        cases: dict[str, Callable[[], Awaitable[Any]]] = {
            "segments p95 by model (20 values)":
                lambda: svc.compare_key(Scope(P), p95, "model"),
            "segments p95 by metadata.region (12 values)":
                lambda: svc.compare_key(Scope(P), p95, "metadata.region"),
            "segments error:rate by metadata.region":
                lambda: svc.compare_key(Scope(P), parse_metric("error:rate"), "metadata.region"),
            "discover latency_ms:mean, model x region":
                lambda: svc.discover(Scope(P), parse_metric("latency_ms:mean"),
                                     ("model", "metadata.region")),
            "version gate p95, B = 1000 (all spans)":
                lambda: svc.compare_versions(Scope(P), "version", "v1", "v2", (p95,)),
        }  # fmt: skip
        for name, make in cases.items():
            secs = timed(args.runs, make)
            print(f"{name:48s} median {statistics.median(secs):6.2f} s  "
                  f"min {min(secs):6.2f}  max {max(secs):6.2f}  ({args.runs} runs)")  # fmt: skip
        events.close()


if __name__ == "__main__":
    main()

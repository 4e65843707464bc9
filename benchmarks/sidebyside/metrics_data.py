"""Seven-day workloads and the direct load of an llmpulse data directory (preparation step).

Loading millions of spans over OTLP/HTTP takes long (about 5-10k spans/s here), and the metrics
benchmark measures queries, not ingest. `load_data_dir` therefore fills a data directory with
the server's own per-request code path, minus HTTP: every request body of the workload goes
through ``llmpulse.ingest.decode_pool.decode_body`` (OTLP decode, OpenInference normalization,
pricing from the shipped price table, Arrow columns) in worker processes, the project is
registered with ``StateStore.ensure_projects`` and the tables are committed with
``DuckDBEventStore.append_columns`` in batches of at most 50,000 spans, as the server's writer
does. A marker file remembers which workload a directory holds, so a later run reuses it.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from llmpulse.clock import SystemClock
from llmpulse.domain.ids import ProjectName
from llmpulse.ingest.decode_pool import DecodedBatch, PriceSnapshot, decode_body
from llmpulse.ingest.price_config import PriceConfig
from llmpulse.store.datadir import open_stores
from sidebyside.requests import RequestSource
from sidebyside.workload import WorkloadSpec

DAY_NS = 86_400 * 1_000_000_000
SEVEN_DAYS_NS = 7 * DAY_NS
MARKER = "metrics-bench.json"
COMMIT_SPANS = 50_000
MAX_BODY_BYTES = 1 << 30
PROTOBUF = "application/x-protobuf"


def seven_day_spec(num_spans: int, traces_per_request: int = 100) -> WorkloadSpec:
    """The RAG workload with start times spread evenly over 7 days from 2025-01-01T00:00Z.

    The base is fixed (``WorkloadSpec.base_ns``, midnight UTC, so 5-minute buckets align on
    it) and the seed is the workload's, so every run and every system gets identical spans.
    """
    spec = WorkloadSpec.for_spans(num_spans, traces_per_request=traces_per_request)
    return replace(spec, duration_ns=SEVEN_DAYS_NS)


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What the preparation step did."""

    num_spans: int
    seconds: float
    reused: bool
    disk_bytes: int
    how: str


_SOURCE: RequestSource | None = None
_PRICES: PriceSnapshot | None = None


def _init_worker(spec: WorkloadSpec, prices: PriceSnapshot) -> None:
    global _SOURCE, _PRICES
    _SOURCE = RequestSource(spec)
    _PRICES = prices


def _decode(r: int) -> DecodedBatch:
    assert _SOURCE is not None
    assert _PRICES is not None
    body = _SOURCE.get(r)
    return decode_body(body, PROTOBUF, None, MAX_BODY_BYTES, None, _PRICES)


def _fingerprint(spec: WorkloadSpec) -> dict[str, Any]:
    return {"spec": asdict(spec), "num_spans": spec.num_spans, "loader": "decode_body/v1"}


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def is_loaded(data_dir: Path, spec: WorkloadSpec) -> bool:
    """True when ``data_dir`` already holds exactly this workload (marker written last)."""
    marker = data_dir / MARKER
    if not marker.exists():
        return False
    return bool(json.loads(marker.read_text()).get("fingerprint") == _fingerprint(spec))


class _Committer:
    """Collects decoded tables and appends them in commits of at most `COMMIT_SPANS`."""

    def __init__(self, events: Any) -> None:
        self.events = events
        self.pending: list[pa.Table] = []
        self.num_pending = 0
        self.num_written = 0

    def add(self, batch: DecodedBatch) -> None:
        if batch.rejections:
            raise RuntimeError(f"the workload was rejected: {batch.rejections[:3]}")
        if batch.table is None:
            return
        self.pending.append(batch.table)
        self.num_pending += batch.table.num_rows
        if self.num_pending >= COMMIT_SPANS:
            self.flush()

    def flush(self) -> None:
        before = self.num_written
        if self.pending:
            self.num_written += self.events.append_columns(pa.concat_tables(self.pending))
        self.pending, self.num_pending = [], 0
        if self.num_written // 500_000 != before // 500_000:
            print(f"    … {self.num_written:,} spans loaded", flush=True)


def _pump(spec: WorkloadSpec, prices: PriceSnapshot, workers: int, sink: _Committer) -> None:
    ctx = multiprocessing.get_context("spawn")
    num_requests = spec.num_requests
    window: deque[Future[DecodedBatch]] = deque()
    with ProcessPoolExecutor(workers, ctx, _init_worker, (spec, prices)) as pool:
        next_r = 0
        while next_r < num_requests or window:
            while next_r < num_requests and len(window) < 8 * workers:
                window.append(pool.submit(_decode, next_r))
                next_r += 1
            sink.add(window.popleft().result())
    sink.flush()


def load_data_dir(data_dir: Path, spec: WorkloadSpec, workers: int = 2) -> LoadResult:
    """Fill ``data_dir`` with ``spec``'s spans (or reuse it when it already holds them).

    Args:
        data_dir: the llmpulse data directory; it is wiped first unless it already matches.
        spec: the workload to load.
        workers: decode processes (the committing process is one more).

    Returns:
        Spans loaded, seconds taken, whether the directory was reused, and its size.
    """
    how = "direct load: decode_body (OTLP→Arrow, priced) in workers + append_columns"
    if is_loaded(data_dir, spec):
        return LoadResult(spec.num_spans, 0.0, True, _dir_bytes(data_dir), how)
    if data_dir.exists():
        shutil.rmtree(data_dir)
    t0 = time.perf_counter()
    events, state = open_stores(data_dir)
    try:
        state.ensure_projects([ProjectName(spec.project)], SystemClock().now())
        sink = _Committer(events)
        _pump(spec, PriceConfig(state).snapshot(), workers, sink)
        if sink.num_written != spec.num_spans:
            raise RuntimeError(f"loaded {sink.num_written} spans, expected {spec.num_spans}")
    finally:
        state.close()
        events.close()
    seconds = time.perf_counter() - t0
    marker = {"fingerprint": _fingerprint(spec), "seconds": seconds, "how": how}
    (data_dir / MARKER).write_text(json.dumps(marker, indent=1) + "\n")
    return LoadResult(spec.num_spans, seconds, False, _dir_bytes(data_dir), how)

"""One measurement of one system at one size: start, ingest, query, stop, restart."""

from __future__ import annotations

import asyncio
import math
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import Any

from sidebyside.ingest import ingest
from sidebyside.output import say
from sidebyside.procmon import RssSampler, ServerProcess, dir_size_bytes
from sidebyside.query_client import NotAvailable, QueryClient, QueryFailed
from sidebyside.requests import RequestSource
from sidebyside.stream import IngestStream
from sidebyside.system import QueryFn, System

IDLE_SETTLE_S = 3.0


@dataclass(slots=True)
class QueryTiming:
    """Latencies of one query repeated ``len(samples_ms)`` times."""

    samples_ms: list[float] = field(default_factory=list)
    num_results: int | None = None
    error: str | None = None

    @property
    def median_ms(self) -> float | None:
        """Median latency, None when the query is not available."""
        return statistics.median(self.samples_ms) if self.samples_ms else None

    @property
    def p90_ms(self) -> float | None:
        """90th percentile latency (nearest rank)."""
        return self._rank(0.9)

    @property
    def p95_ms(self) -> float | None:
        """95th percentile latency (nearest rank)."""
        return self._rank(0.95)

    def _rank(self, p: float) -> float | None:
        if not self.samples_ms:
            return None
        ordered = sorted(self.samples_ms)
        return ordered[max(0, min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1))]


@dataclass(slots=True)
class RunResult:
    """Everything measured for one system at one size."""

    system: str
    num_spans: int
    startup_s: float = 0.0
    restart_with_data_s: float | None = None
    idle_rss_bytes: int = 0
    peak_rss_bytes: int = 0
    rss_after_queries_bytes: int | None = None
    disk_bytes_running: int = 0
    disk_bytes: int = 0
    ingest: dict[str, Any] = field(default_factory=dict)
    # Cold: parameters vary on every run (no cache can answer); cached: one fixed question.
    cold: dict[str, QueryTiming] = field(default_factory=dict)
    queries: dict[str, QueryTiming] = field(default_factory=dict)
    cold_streaming: dict[str, QueryTiming] = field(default_factory=dict)
    stream: dict[str, Any] = field(default_factory=dict)
    disk_bytes_after_stream: int | None = None

    @property
    def disk_bytes_per_span(self) -> float:
        """Data directory bytes at rest divided by spans stored."""
        return self.disk_bytes / self.num_spans if self.num_spans else 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict with the derived numbers included."""
        out = asdict(self)
        out["disk_bytes_per_span"] = self.disk_bytes_per_span
        for key in ("cold", "queries", "cold_streaming"):
            for name, q in getattr(self, key).items():
                out[key][name].update(median_ms=q.median_ms, p90_ms=q.p90_ms, p95_ms=q.p95_ms)
        return out


def time_query(fn: QueryFn, repeat: int, first_run: int | None = None) -> QueryTiming:
    """Run ``fn`` ``repeat`` times, one after the other, on one keep-alive connection.

    With ``first_run`` the series is cold: run ``i`` asks with the varying parameters of
    run number ``first_run + i`` (`sidebyside.variants`), so no cache can answer; without
    it every run asks the same fixed question (the cached series).

    The client is `QueryClient` (stdlib ``http.client``), the same for every system: httpx
    added ~0.8 ms per request, more than a cached llmpulse answer takes on the server. A
    sample is the client's wire time (request sent to answer read), so decoding the JSON to
    count the results is not in it.
    """
    timing = QueryTiming()
    with QueryClient(timeout_s=600.0) as client:
        for i in range(repeat):
            client.wire_s = 0.0
            try:
                timing.num_results = fn(client, None if first_run is None else first_run + i)
            except NotAvailable as exc:
                timing.error = f"n/a: {exc}"
                timing.samples_ms.clear()
                return timing
            except (OSError, HTTPException, QueryFailed, RuntimeError, KeyError, ValueError) as exc:
                timing.error = f"failed: {exc!r}"[:300]
                timing.samples_ms.clear()
                return timing
            timing.samples_ms.append(client.wire_s * 1000.0)
    return timing


def _ingest(
    system: System, server: ServerProcess, source: RequestSource, res: RunResult, concurrency: int
) -> None:
    sampler = RssSampler(server)
    sampler.start()
    cpu0, client0 = server.cpu_seconds(), time.process_time()
    try:
        out = asyncio.run(
            ingest(
                system.otlp_url(), source, system.count_spans, concurrency, system.poll_interval_s
            )
        )
    finally:
        res.peak_rss_bytes = sampler.stop()
    res.ingest = {
        "server_cpu_s": server.cpu_seconds() - cpu0,
        "client_cpu_s": time.process_time() - client0,
        "send_s": out.send_s,
        "queryable_s": out.queryable_s,
        "acked_spans_per_s": out.acked_spans_per_s,
        "queryable_spans_per_s": out.queryable_spans_per_s,
        "retries": out.retries,
        "errors": out.errors,
        "final_count": out.final_count,
        "num_requests": out.num_requests,
        "concurrency": concurrency,
        "timeline": out.timeline[:: max(1, len(out.timeline) // 200)],
    }


def _say(name: str, what: str, q: QueryTiming) -> None:
    say(
        f"  {name} {what}: median {q.median_ms} ms, p95 {q.p95_ms} ms, "
        f"results {q.num_results} {q.error or ''}"
    )


def _time_queries(system: System, res: RunResult, repeat: int) -> None:
    """Cold series first (its first run is the first query after the bulk load), then the
    cached series of one fixed question."""
    for name, fn in system.queries().items():
        res.cold[name] = time_query(fn, repeat, first_run=0)
        _say(name, "cold", res.cold[name])
    for name, fn in system.queries().items():
        res.queries[name] = time_query(fn, repeat)
        _say(name, "cached", res.queries[name])


def _time_streaming(
    system: System, source: RequestSource, res: RunResult, repeat: int, spans_per_s: float
) -> None:
    """Cold series again (other parameters) while a steady ingest stream runs."""
    stream = IngestStream(system.otlp_url(), source.spec, spans_per_s)
    stream.start()
    try:
        time.sleep(2.0)  # let the stream settle into its pace
        for name, fn in system.queries().items():
            res.cold_streaming[name] = time_query(fn, repeat, first_run=repeat)
            _say(name, f"cold while streaming {spans_per_s:g} spans/s", res.cold_streaming[name])
    finally:
        stats = stream.stop()
    res.stream = {
        "spans_per_s_asked": stats.spans_per_s_asked,
        "spans_per_s": stats.spans_per_s,
        "spans_sent": stats.spans_sent,
        "seconds": stats.seconds,
        "errors": stats.errors,
    }
    say(f"  stream: {stats.spans_sent} spans in {stats.seconds:.1f} s, {stats.errors} errors")


def run_system(
    system: System,
    source: RequestSource,
    work_dir: Path,
    repeat: int = 20,
    concurrency: int = 4,
    stream_spans_per_s: float = 0.0,
) -> RunResult:
    """Measure ``system`` on the workload of ``source`` in a fresh data directory."""
    n = source.spec.num_spans
    res = RunResult(system.name, n)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix=f"{system.name}-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        log = work_dir / f"{system.name}-{n}.log"
        server = system.make_server(data_dir, log)
        say(f"{system.name} @ {n:,} spans: starting")
        res.startup_s = server.start()
        try:
            time.sleep(IDLE_SETTLE_S)
            res.idle_rss_bytes = server.rss_bytes()
            say(
                f"  started in {res.startup_s:.2f} s, idle RSS {res.idle_rss_bytes / 2**20:.0f} MiB"
            )
            _ingest(system, server, source, res, concurrency)
            say(f"  ingest: {res.ingest['queryable_s']} s, errors {res.ingest['errors'][:2]}")
            _time_queries(system, res, repeat)
            res.rss_after_queries_bytes = server.rss_bytes()
            res.disk_bytes_running = dir_size_bytes(data_dir)
            if stream_spans_per_s > 0:
                _time_streaming(system, source, res, repeat, stream_spans_per_s)
                res.disk_bytes_after_stream = dir_size_bytes(data_dir)
        finally:
            server.stop()
        res.disk_bytes = dir_size_bytes(data_dir)
        res.restart_with_data_s = _restart(system, data_dir, log)
    return res


def _restart(system: System, data_dir: Path, log: Path) -> float | None:
    server = system.make_server(data_dir, log)
    try:
        return server.start()
    except (RuntimeError, TimeoutError) as exc:
        say(f"  restart failed: {exc}")
        return None
    finally:
        server.stop()

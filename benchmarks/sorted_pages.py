"""Time the traces table's sorted pages on an event store file, cold, with the full span rows
and with the summary rows the table shows (ADR 0045).

    .venv/bin/python benchmarks/sorted_pages.py DATA_DIR [--repeat 20] [--offset 0]
        [--url http://127.0.0.1:7600 [--stream 300] [--kinds]] [--status OK] [--name N]
        [--sorts a,b]

DATA_DIR is an llmpulse data directory (``events.duckdb`` and ``base_ns``, as
`load_bench_dir.py` writes it). Each run asks the first page (100 rows) of every sort with a
time-range end that moves per run (as `sidebyside.variants` does), so no run repeats a query;
the root rows' trace totals are read as the server does. ``full`` and ``summary`` alternate
which goes first. Prints median and p95 per sort and fields, and the ratio of the medians.

With ``--url``, the pages are asked over HTTP (one keep-alive connection) from a server
already serving DATA_DIR (``llmpulse serve --data-dir DATA_DIR``), as the UI and the SDK
ask them; the server's query cache cannot answer, since every run asks a new end.
With ``--stream R`` (and ``--url``) a thread streams R spans/s into the server meanwhile, in
requests of 30 spans (the loaded workload continued: fresh ids and later start times; they
stay in DATA_DIR). With ``--kinds`` (and ``--url``), each run also asks issue 14's four query
kinds as `ingest_query.py` does (newest 100, root p50 + p99, metadata count + newest 100,
hourly counts; parameters varied per run by `sidebyside.variants`, run numbers after the
sorts' so that no kind asks a page a sort asked). With ``--status``,
every page filters on the span status (a trace sort: of its root rows; ranked from the
traces' totals, ADR 0053). With ``--name``, on the span name: a trace sort's view whose
filters pick the roots (ADR 0052; with ``--status ERROR``, one that few roots pass).
``--sorts`` picks the sorts (none: ``--sorts ''``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx

from llmpulse.domain.ids import ProjectName
from llmpulse.domain.spans import StatusCode
from llmpulse.store.api import SpanQuery, TimeRange
from llmpulse.store.events.duckdb import DuckDBEventStore
from sidebyside.llmpulse_side import LlmpulseSystem
from sidebyside.query_client import QueryClient
from sidebyside.stream import IngestStream
from sidebyside.system import QueryFn
from sidebyside.variants import params_for
from sidebyside.workload import WorkloadSpec

P = ProjectName("rag-bench")
SORTS = ("latency", "tokens", "cost", "trace_cost", "trace_latency", "time")
FIELDS = ("full", "summary")


def _page(store: DuckDBEventStore, q: SpanQuery) -> int:
    """A span page as the server answers it: the page, then its root rows' trace totals."""
    page = store.list_spans(q)
    if getattr(page, "totals", None) is None:  # (a trace-sorted page carries them)
        store.trace_totals([s.trace_id for s in page.items if s.parent_span_id is None])
    return len(page.items)


def _http_page(client: httpx.Client, url: str, q: SpanQuery) -> int:
    """The same page from the server: ``GET /api/v1/projects/{project}/spans``."""
    assert q.time.end is not None
    params = {"sort": q.sort, "fields": q.fields, "end": q.time.end.isoformat(), "limit": "100"}
    if q.status is not None:
        params["status"] = q.status.value
    if q.names:
        params["name"] = q.names[0]
    r = client.get(f"{url}/api/v1/projects/{P}/spans", params=params)
    r.raise_for_status()
    return len(r.json()["data"])


def _p95(s: list[float]) -> float:
    return sorted(s)[max(0, int(0.95 * len(s) + 0.999) - 1)]


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--offset", type=int, default=0, help="first run number")
    ap.add_argument("--url", help="ask a server serving DATA_DIR over HTTP instead")
    ap.add_argument("--spans", type=int, default=1_000_002, help="with --url: spans stored")
    ap.add_argument(
        "--status",
        choices=[c.value for c in StatusCode],
        help="a filtered view: only spans (for trace sorts, root rows) of this status",
    )
    ap.add_argument("--name", help="a filtered view: only spans (root rows) of this name")
    ap.add_argument(
        "--stream",
        type=float,
        default=0.0,
        help="with --url: spans/s streamed into the server meanwhile (requests of 30 spans)",
    )
    ap.add_argument(
        "--kinds",
        action="store_true",
        help="with --url: also time issue 14's four query kinds per run",
    )
    ap.add_argument("--sorts", default=",".join(SORTS), help="comma-separated sorts to time")
    return ap


def _kinds(spec: WorkloadSpec, url: str | None, wanted: bool) -> dict[str, QueryFn]:
    """Issue 14's four query kinds over HTTP, as `ingest_query.py` asks them."""
    if not (wanted and url):
        return {}
    side = LlmpulseSystem(spec)
    side.base = url.rstrip("/")
    return side.queries()


def _print(samples: dict[tuple[str, str], list[float]], kinds: dict[str, list[float]]) -> None:
    for kind, times in kinds.items():
        print(f"{kind:20s} median {statistics.median(times):7.1f} ms p95 {_p95(times):7.1f}")
    for sort in dict.fromkeys(s for s, _ in samples):
        full, summary = samples[sort, "full"], samples[sort, "summary"]
        print(
            f"{sort:14s} full median {statistics.median(full):7.1f} ms p95 {_p95(full):7.1f}"
            f"  summary median {statistics.median(summary):6.1f} ms p95 {_p95(summary):6.1f}"
            f"  ratio {statistics.median(full) / statistics.median(summary):5.1f}x"
        )


def main() -> None:
    a = _parser().parse_args()
    sorts = tuple(a.sorts.split(",")) if a.sorts else ()
    base_ns = int((a.data_dir / "base_ns").read_text())
    client = httpx.Client(timeout=60) if a.url else None
    store = None
    if client is None:
        store = DuckDBEventStore(a.data_dir / "events.duckdb", search_index=False)
        store.catch_up()
        (n,) = store._query("SELECT count(*) FROM spans")[0]
    else:
        n = a.spans
    spec = WorkloadSpec.for_spans(n, traces_per_request=100, base_ns=base_ns)
    status = None if a.status is None else StatusCode(a.status)
    names = () if a.name is None else (a.name,)
    samples: dict[tuple[str, str], list[float]] = {(s, f): [] for s in sorts for f in FIELDS}
    kinds = _kinds(spec, a.url, a.kinds)
    kind_samples: dict[str, list[float]] = {k: [] for k in kinds}
    asker = QueryClient(timeout_s=60)  # (connects on its first request only)
    stream = None
    if client is not None and a.stream:
        stream = IngestStream(f"{a.url}/v1/traces", replace(spec, traces_per_request=10), a.stream)
        stream.start()
        time.sleep(3)  # past the first commits
    try:
        for i in range(a.repeat):
            for kind, ask in kinds.items():
                t = time.perf_counter()
                # Run numbers past the sorts' own: the newest-100 kind would otherwise ask
                # the same page as the time sort's full rows, and the query cache answer it.
                ask(asker, a.offset + a.repeat + i)
                kind_samples[kind].append(1000 * (time.perf_counter() - t))
            end = params_for(spec, a.offset + i).list_end
            assert end is not None
            window = TimeRange(None, datetime.fromtimestamp(end / 1e9, tz=UTC))
            for sort in sorts:
                for fields in FIELDS if i % 2 == 0 else FIELDS[::-1]:
                    q = SpanQuery(P, window, sort=sort, fields=fields, status=status, names=names)
                    t = time.perf_counter()
                    rows = _http_page(client, a.url, q) if client else _page(store, q)  # type: ignore[arg-type]
                    samples[sort, fields].append(1000 * (time.perf_counter() - t))
                    assert rows == 100, (sort, fields, rows)
        where = "over HTTP" if client else "store level"
        view = "" if status is None else f", status {status.value}"
        view += "" if a.name is None else f", name {a.name}"
        if stream is not None:
            sent = stream.stop()
            stream = None
            view += (
                f", streaming {sent.spans_per_s:.0f} spans/s ({sent.spans_sent:,} spans, "
                f"{sent.errors} errors)"
            )
        print(f"{n:,} spans, {where}{view}, {a.repeat} runs, load {os.getloadavg()[0]:.1f}")
        _print(samples, kind_samples)
    finally:
        if stream is not None:
            stream.stop()
        if store is not None:
            store.close()
        if client is not None:
            client.close()
        asker.close()


if __name__ == "__main__":
    main()

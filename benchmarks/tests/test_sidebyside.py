"""Self-checks of the side-by-side benchmark: ``.venv/bin/pytest benchmarks/tests -q``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from sidebyside.ceiling import measure_ceiling, to_rows
from sidebyside.install_size import closure
from sidebyside.query_client import CLIENT_ID
from sidebyside.report import render
from sidebyside.requests import RequestSource
from sidebyside.system import QUERY_NAMES
from sidebyside.workload import WorkloadSpec, build_request


def test_requests_equal_direct_build_when_templates_are_patched() -> None:
    spec = WorkloadSpec.for_spans(3_000, pool_traces=200, traces_per_request=50)
    source = RequestSource(spec)
    assert len(source) == 20
    for r in (0, 3, 4, 7, 19):
        assert source.get(r) == build_request(spec, r).SerializeToString(), r


def test_requests_build_short_last_request_when_size_is_not_a_multiple() -> None:
    spec = WorkloadSpec.for_spans(1_000, pool_traces=100, traces_per_request=100)
    source = RequestSource(spec)
    spans = [len(to_rows(b)) for b in source]
    assert sum(spans) == spec.num_spans == 1_002
    assert spans[-1] == 34 * 3


def test_workload_spans_carry_unique_text_and_segments_when_cloned() -> None:
    spec = WorkloadSpec.for_spans(1_200, pool_traces=100)
    rows = [row for b in RequestSource(spec) for row in to_rows(b)]
    outputs = [r["attributes"]["output.value"] for r in rows if "output.value" in r["attributes"]]
    assert len(set(outputs)) == len(outputs) == spec.num_traces
    assert len({r["span_id"] for r in rows}) == spec.num_spans
    meta = json.loads(rows[0]["attributes"]["metadata"])
    assert set(meta) == {"tier", "region", "product_line"}
    assert rows[0]["resource"]["openinference.project.name"] == spec.project
    per_span = sum(len(b) for b in RequestSource(spec)) / spec.num_spans
    assert 2_800 < per_span < 3_800


def test_workload_times_span_the_duration_when_sizes_differ() -> None:
    for n in (300, 30_000):
        spec = WorkloadSpec.for_spans(n)
        last = build_request(spec, spec.num_requests - 1)
        start = last.resource_spans[0].scope_spans[0].spans[-1].start_time_unix_nano
        assert spec.base_ns + spec.duration_ns * 0.95 < start < spec.base_ns + spec.duration_ns


def test_ceiling_counts_every_span_of_the_requests() -> None:
    spec = WorkloadSpec.for_spans(600)
    reqs = list(RequestSource(spec))
    c = measure_ceiling(reqs, repeat=1)
    assert c.num_spans == 600
    assert c.parse_spans_per_s > c.rows_spans_per_s > 0
    assert c.rows_spans_per_s > c.store_rows_spans_per_s > 0  # the store's rows are more work
    assert ExportTraceServiceRequest.FromString(reqs[0]).resource_spans


def test_install_size_follows_dependencies_when_run_in_a_venv() -> None:
    sizes = closure(["httpx"])
    assert {"httpx", "httpcore", "anyio"} <= set(sizes)
    assert sizes["httpx"] > 100_000
    script = sys.modules["sidebyside.install_size"].__file__
    out = subprocess.run([sys.executable, str(script), "httpx"], capture_output=True, check=True)
    assert json.loads(out.stdout)["bytes"] == sum(sizes.values())


def _run(system: str, n: int, list_ms: float, rss: int) -> dict[str, Any]:
    q = {
        "median_ms": list_ms,
        "p90_ms": list_ms * 2,
        "p95_ms": list_ms * 3,
        "samples_ms": [list_ms],
        "error": None,
    }
    na = {"median_ms": None, "p90_ms": None, "samples_ms": [], "error": "n/a: 404"}
    cached = {**q, "median_ms": 0.5, "p95_ms": 0.7}
    return {
        "system": system,
        "num_spans": n,
        "startup_s": 1.0,
        "restart_with_data_s": 2.0,
        "idle_rss_bytes": rss,
        "peak_rss_bytes": rss * 2,
        "disk_bytes_per_span": 1000.0,
        "ingest": {"acked_spans_per_s": 100.0, "queryable_spans_per_s": 50.0},
        "cold": {
            "list_latest_100": q,
            "latency_p50_p99": na,
            "metadata_filter_100": q,
            "hourly_counts": q,
        },
        "queries": dict.fromkeys(QUERY_NAMES, cached),
    }


def test_report_shows_ratios_and_verdicts_when_both_systems_ran() -> None:
    results = {
        "meta": {"date": "d", "machine": "m", "workload": "w"},
        "ceiling": {"rows_spans_per_s": 80.0, "store_rows_spans_per_s": 40.0},
        "install": {"llmpulse": {"num_bytes": 2**20}, "phoenix": {"num_bytes": 8 * 2**20}},
        "runs": [
            _run("llmpulse", 30_000, 5.0, 100 * 2**20),
            _run("llmpulse", 1_000_002, 60.0, 100 * 2**20),
            _run("phoenix", 3_000, 100.0, 400 * 2**20),
        ],
    }
    md = render(results)
    row = (
        "| list_latest_100, cold, ms median (p95) | 5.0 (15.0) first 5.0 "
        "| 60.0 (180) first 60.0 | 100 (300) first 100 | 20.0x lower |"
    )
    assert row in md
    # The cached series is reported apart, and ratios are never taken from it.
    assert "| hourly_counts, cached, ms median (p95) | 0.5 (0.7) | 0.5 (0.7) | 0.5 (0.7) |" in md
    assert "| list_latest_100, cold, ingest streaming, ms median (p95) | n/a | n/a | n/a |" in md
    assert (
        "| ingest-to-queryable >= 50% of the ceiling (plain-Python decode into store rows) @ 30k "
        "| 125% of 40.0 spans/s | met |"
    ) in md
    assert (
        "| ingest-to-queryable >= 50% of the stricter floor (upb parse + dict rows) @ 30k "
        "| 62.5% of 80.0"
    ) in md
    assert "| list_latest_100 cold >= 10x faster than Phoenix cold | 20.0x | met |" in md
    assert (
        "| list_latest_100 cold <= 50 ms at 1M, p95 <= 2x median | 60.0 ms (p95 180) | **missed** |"
    ) in md
    assert "| latency_p50_p99 cold >= 10x faster than Phoenix cold | n/ax | not measured |" in md
    assert "| peak RSS <= 1/2 of Phoenix's | 0.25x | met |" in md
    assert "| install size, MiB | 1.0 | 1.0 | 8.0 | 8.0x lower |" in md
    assert "- Queries were timed with httpx.AsyncClient" in md  # results without a client id


def test_report_names_the_query_client_when_the_results_record_it() -> None:
    results = {
        "meta": {"date": "d", "machine": "m", "workload": "w", "query_client": CLIENT_ID},
        "runs": [_run("llmpulse", 30_000, 0.5, 2**20)],
    }
    md = render(results)
    assert "- Queries are timed through one client for both systems: the stdlib http.client" in md
    assert "httpx.AsyncClient, whose ~0.8 ms" in md

"""Self-checks of the metrics benchmark: ``.venv/bin/pytest benchmarks/tests -q`` (by hand)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from sidebyside.ingest import ingest
from sidebyside.llmpulse_side import LlmpulseSystem
from sidebyside.metrics_data import SEVEN_DAYS_NS, load_data_dir, seven_day_spec
from sidebyside.metrics_queries import (
    BUCKET_NS,
    LlmpulseQuestions,
    PhoenixQuestions,
    buckets,
    compare_values,
    time_question,
)
from sidebyside.metrics_report import render, size_label
from sidebyside.requests import RequestSource
from sidebyside.workload import REGIONS, build_trace


def test_seven_day_spec_spreads_start_times_over_seven_days_when_built() -> None:
    spec = seven_day_spec(3_000)
    first = build_trace(spec, 0)[0].start_time_unix_nano
    last = build_trace(spec, spec.num_traces - 1)[0].start_time_unix_nano
    assert first == spec.base_ns
    assert SEVEN_DAYS_NS - 2 * spec.interval_ns < last - first < SEVEN_DAYS_NS
    assert len(buckets(spec)) == 7 * 24 * 12
    assert spec.base_ns % BUCKET_NS == 0


def _serve(spec: Any, data_dir: Path, tmp: Path) -> tuple[LlmpulseSystem, Any]:
    system = LlmpulseSystem(spec)
    server = system.make_server(data_dir, tmp / f"{data_dir.name}.log")
    server.start()
    return system, server


def test_direct_load_answers_like_http_ingest_when_same_workload(tmp_path: Path) -> None:
    spec = seven_day_spec(1_200)
    loaded = tmp_path / "loaded"
    first = load_data_dir(loaded, spec, workers=1)
    assert (first.num_spans, first.reused) == (1_200, False)
    assert load_data_dir(loaded, spec, workers=1).reused
    answers = []
    for data_dir, via_http in ((loaded, False), (tmp_path / "http", True)):
        data_dir.mkdir(exist_ok=True)
        system, server = _serve(spec, data_dir, tmp_path)
        try:
            if via_http:
                src = RequestSource(spec)
                res = asyncio.run(ingest(system.otlp_url(), src, system.count_spans, 2, 0.1))
                assert not res.errors
            ask = LlmpulseQuestions(system.base, spec).p95_by_region
            with httpx.Client(timeout=60) as client:
                timing, values = time_question(client, ask, 2)
            assert timing.error is None
            assert len(timing.samples_ms) == 2
            answers.append(values)
        finally:
            server.stop()
    assert answers[0] == answers[1]
    assert len(answers[0]) > 300
    assert {region for _, region in answers[0]} == set(REGIONS)


def test_phoenix_documents_stay_within_its_alias_limit_when_batched() -> None:
    q = PhoenixQuestions("http://127.0.0.1:1", seven_day_spec(3_000))
    cells = list(q._cells())
    assert len(cells) == 4 * 2016
    assert len(list(PhoenixQuestions("http://x", seven_day_spec(3_000), days=1)._cells())) == 1152
    doc = q._document(cells[:50])
    assert doc.count("spanLatencyMsQuantile(") == 50
    assert "metadata['region'] == 'us-east'" in doc


def test_compare_values_counts_agreeing_cells_when_answers_overlap() -> None:
    ours = {(0, "a"): 100.0, (1, "a"): 202.0, (2, "a"): 5.0}
    theirs = {(0, "a"): 100.5, (1, "a"): 200.0, (3, "a"): 1.0}
    out = compare_values(ours, theirs)
    assert out["cells_both"] == 2
    assert out["cells_within_1pct"] == 2
    assert abs(out["max_rel_diff"] - 0.01) < 1e-12


def _timing(ms: float, runs: int = 3, requests: int = 1) -> dict[str, Any]:
    return {"samples_ms": [ms] * runs, "first_ms": ms, "median_ms": ms,
            "num_requests": requests, "num_results": 8, "error": None}  # fmt: skip


def test_report_shows_targets_and_ratio_when_both_systems_ran() -> None:
    load = {"num_spans": 1, "seconds": 1.0, "reused": False, "disk_bytes": 1, "how": "x"}
    runs = [
        {"num_spans": 30_000, "load": load,
         "p95_by_region": {"computed": _timing(10.0), "cached": _timing(1.0)}},
        {"num_spans": 1_000_002, "load": load,
         "p95_by_region": {"computed": _timing(250.0), "cached": _timing(2.0)},
         "discover": {"computed": {"error:rate": _timing(900.0)},
                      "cached": {"error:rate": _timing(3.0)}}},
    ]  # fmt: skip
    ph = {"num_spans": 30_000, "ingest": {"queryable_s": 100.0, "errors": []},
          "p95_one_request_each": _timing(50_000.0, requests=8064),
          "p95_batched": _timing(80.0, requests=162), "trace_p95_series": _timing(5.0)}  # fmt: skip
    md = render({"meta": {"date": "d", "machine": "m", "workload": "w"}, "llmpulse": runs,
                 "phoenix": ph})  # fmt: skip
    assert "| 1M | 250 | 250 (3) | 2.0 (3) | ≤ 200 ms | **missed** |" in md
    assert "| 1M | 900 | 900 (3) | 3.0 (3) | ≤ 2,000 ms | met |" in md
    assert "| 5,000x | met |" in md
    assert "| 8.0x | **missed** |" in md
    assert size_label(10_000_002) == "10M"

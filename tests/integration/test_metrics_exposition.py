"""``/metrics`` over real HTTP: parses with prometheus-client's text parser and carries the
SLO figures and ingest health (issue 11 item 5, issue 10 item 10)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from llmpulse.clock import SystemClock
from llmpulse.sdk.client import Client
from support.otlp import json_request, json_span, make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration


def _families(server: ServerProcess) -> dict[str, list[tuple[dict[str, str], float]]]:
    r = httpx.get(f"{server.url}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((dict(s.labels), s.value))
    return out


def _value(fams: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    (value,) = [v for lab, v in fams[name] if all(lab.get(k) == x for k, x in labels.items())]
    return value


def test_scrape_has_slo_and_ingest_figures(live_server: ServerProcess) -> None:
    project = f"prom-{uuid.uuid4().hex[:8]}"
    before = _families(live_server)
    accepted0 = _value(before, "llmpulse_ingest_spans_accepted_total")
    rejected0 = _value(before, "llmpulse_ingest_spans_rejected_total", reason="invalid")
    commits0 = _value(before, "llmpulse_ingest_commit_seconds_count")
    stored0 = _value(before, "llmpulse_store_spans")
    now_ns = int(SystemClock().now().timestamp() * 1e9)
    spans = [make_span("q", start_ns=now_ns - int(i * 1e9), error=i % 10 == 0) for i in range(100)]
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=make_request(spans, project).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200
    bad = json_span("bad", "0" * 32, "1" * 16, start_ns=now_ns)  # an all-zero trace id
    good = json_span("good", "ab" * 16, "cd" * 8, start_ns=now_ns)
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=json_request([bad, good], project),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200
    assert r.json()["partialSuccess"]["rejectedSpans"] == "1"
    with Client(live_server.url) as client:
        spec = {"objective": 0.95, "window": "1d", "sli": {"type": "availability"}}
        client.put_slo(project, "availability", spec)
    fams = _families(live_server)
    key = {"project": project, "slo": "availability"}
    assert _value(fams, "llmpulse_slo_objective", **key) == 0.95
    assert _value(fams, "llmpulse_slo_sli", **key) == pytest.approx(91 / 101)
    remaining = 1 - (10 / 101) / 0.05
    assert _value(fams, "llmpulse_slo_error_budget_remaining", **key) == pytest.approx(remaining)
    assert _value(fams, "llmpulse_slo_status", **key, status="breached") == 1.0
    burns = [v for lab, v in fams["llmpulse_slo_burn_rate"] if lab.get("project") == project]
    assert len(burns) >= 4
    assert _value(fams, "llmpulse_ingest_spans_accepted_total") - accepted0 >= 101
    assert _value(fams, "llmpulse_ingest_spans_rejected_total", reason="invalid") == rejected0 + 1
    assert _value(fams, "llmpulse_ingest_commit_seconds_count") >= commits0 + 2
    inf = _value(fams, "llmpulse_ingest_commit_seconds_bucket", le="+Inf")
    assert inf == _value(fams, "llmpulse_ingest_commit_seconds_count")
    assert _value(fams, "llmpulse_ingest_queue_spans") >= 0
    assert _value(fams, "llmpulse_ingest_inflight_bytes_limit") > 0
    assert _value(fams, "llmpulse_store_spans") - stored0 >= 101
    on_disk = _value(fams, "llmpulse_store_bytes_on_disk")
    assert on_disk > 0
    assert 0 <= _value(fams, "llmpulse_store_wal_bytes") <= on_disk  # 0 right after a checkpoint
    used = _value(fams, "llmpulse_store_memory_bytes")
    assert 0 < used <= _value(fams, "llmpulse_store_memory_limit_bytes") == 512e6
    pending = _value(fams, "llmpulse_search_index_pending_blocks")
    assert pending == int(pending) >= 0  # its value: test_event_store_search_index
    for flag in ("summaries_ready", "trace_totals_ready", "trace_totals_kept"):
        assert _value(fams, f"llmpulse_{flag}") in (0, 1)  # its value: test_event_store_kept_totals
    assert _value(fams, "llmpulse_summaries_backlog_spans") >= 0

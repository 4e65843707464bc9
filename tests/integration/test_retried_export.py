"""An exporter's retry (the same OTLP request sent again, even after a restart) counts once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from support.otlp import BASE_NS, make_request, make_span, new_trace_id
from support.server import ServerProcess, free_port

pytestmark = [pytest.mark.integration]
PROJECT = "retries"
METRICS = (
    "count",
    "cost_usd:sum",
    "prompt_tokens:sum",
    "completion_tokens:sum",
    "error:rate",
    "latency_ms:p95",
    "cost_usd:per_trace",
)


def _request_body() -> bytes:
    spans = []
    for t in range(6):
        trace = new_trace_id()
        root = make_span("chain", trace_id=trace, start_ns=BASE_NS + t * 10**9, error=t == 2)
        spans.append(root)
        attrs = {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": 1000 + t,
            "llm.token_count.completion": 200 + t,
        }
        spans.append(
            make_span(
                "llm",
                trace_id=trace,
                parent=root.span_id,
                start_ns=BASE_NS + t * 10**9 + 1000,
                duration_ns=(t + 1) * 100_000_000,
                attrs=attrs,
                error=t == 4,
            )
        )
    return make_request(spans, PROJECT).SerializeToString()


def _send(server: ServerProcess, body: bytes) -> None:
    r = httpx.post(
        f"{server.url}/v1/traces",
        content=body,
        headers={"content-type": "application/x-protobuf"},
        timeout=30,
    )
    assert r.status_code == 200, r.text


def _numbers(server: ServerProcess) -> dict[str, Any]:
    r = httpx.get(
        f"{server.url}/api/v1/projects/{PROJECT}/metrics",
        params=[("metric", m) for m in METRICS],
        timeout=30,
    )
    assert r.status_code == 200, r.text
    (row,) = r.json()["rows"]
    spans = httpx.get(
        f"{server.url}/api/v1/projects/{PROJECT}/spans", params={"limit": 1000}, timeout=30
    ).json()["data"]
    projects = {p["name"]: p for p in httpx.get(f"{server.url}/api/v1/projects").json()["data"]}
    return {
        "n": row["n"],
        "values": row["values"],
        "listed": len(spans),
        "project_spans": projects[PROJECT]["num_spans"],
    }


def test_same_request_twice_and_after_restart_leaves_every_number_unchanged(
    tmp_path: Path,
) -> None:
    body = _request_body()
    server = ServerProcess(tmp_path / "data", free_port(), 0).start()
    try:
        _send(server, body)
        first = _numbers(server)
        assert first["n"] == 12
        assert first["values"]["prompt_tokens:sum"] == sum(1000 + t for t in range(6))
        assert first["values"]["error:rate"] == pytest.approx(2 / 12)
        assert first["values"]["cost_usd:sum"] > 0
        _send(server, body)  # the exporter timed out and sends the same request again
        assert _numbers(server) == first
    finally:
        server.stop()
    server = ServerProcess(tmp_path / "data", free_port(), 0).start()
    try:
        _send(server, body)  # a retry that arrives after a restart
        assert _numbers(server) == first
    finally:
        server.stop()

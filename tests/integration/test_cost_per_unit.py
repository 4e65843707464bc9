"""Cost per trace and per session over OTLP, REST and the SDK: unknown costs are excluded and
reported, never counted as $0, and session-less spans stay out of the per-session mean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from llmpulse import Client
from support.otlp import BASE_NS, make_request, make_span, new_trace_id
from support.server import running_server

pytestmark = [pytest.mark.integration]
PROJECT = "costs"


def _llm(trace: bytes, model: str, start_ns: int, session: str | None) -> object:
    attrs: dict[str, object] = {
        "openinference.span.kind": "LLM",
        "llm.model_name": model,
        "llm.token_count.prompt": 1_000_000,  # $0.15 for gpt-4o-mini at the shipped price
        "llm.token_count.completion": 0,
    }
    if session:
        attrs["session.id"] = session
    return make_span("llm", trace_id=trace, start_ns=start_ns, attrs=attrs)


def _body() -> bytes:
    spans = []
    for t in range(8):
        trace = new_trace_id()
        session = f"s{t % 2}" if t < 4 else None
        if t < 7:
            spans.append(_llm(trace, "gpt-4o-mini", BASE_NS + t * 10**9, session))
        if t >= 6:  # two traces call a model nobody can price (one of them only that model)
            spans.append(_llm(trace, "in-house-llm", BASE_NS + t * 10**9 + 5, session))
    return make_request(spans, PROJECT).SerializeToString()  # type: ignore[arg-type]


def test_cost_per_trace_excludes_unpriced_traces_and_reports_them(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as server, Client(server.url) as client:
        r = httpx.post(
            f"{server.url}/v1/traces",
            content=_body(),
            headers={"content-type": "application/x-protobuf"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        body = client.get_metrics_raw(
            PROJECT, ["cost_usd:per_trace", "cost_usd:per_session", "cost_usd:sum"]
        )
        (row,) = body["rows"]
        # 6 fully priced traces of $0.15 each; 2 traces with an unpriced call left out
        assert row["values"]["cost_usd:per_trace"] == pytest.approx(0.15)
        assert row["support"]["cost_usd:per_trace"] == 6
        assert row["excluded"]["cost_usd:per_trace"] == 2
        # sessions s0 and s1 hold two $0.15 traces each; session-less traces add nothing
        assert row["values"]["cost_usd:per_session"] == pytest.approx(0.30)
        assert row["support"]["cost_usd:per_session"] == 2
        assert row["excluded"]["cost_usd:per_session"] == 0
        assert row["excluded"]["cost_usd:sum"] == 0
        df = client.get_metrics(PROJECT, ["cost_usd:per_trace"])
        assert df["excluded.cost_usd:per_trace"].tolist() == [2]
        assert df["cost_usd:per_trace"].tolist() == [pytest.approx(0.15)]
        cli = subprocess.run(
            [sys.executable, "-m", "llmpulse", "metrics", "query", PROJECT,
             "-m", "cost_usd:per_trace", "--url", server.url],
            capture_output=True, text=True, timeout=120, check=False, env=dict(os.environ),
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        header, row = cli.stdout.splitlines()[:2]
        assert "excluded.cost_usd:per_trace" in header
        assert row.split()[-1] == "2"

"""The traces' totals across restarts of the real server (ADR 0074): a clean stop (SIGTERM)
keeps them, the next start uses them (`/metrics` says so) and the traces sorted by their
cost read as before the stop and take new spans in; a crash (SIGKILL) keeps nothing, and
the next start builds them from the spans, with the same pages."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from support.otlp import BASE_NS, make_span, new_trace_id, post_spans
from support.server import ServerProcess, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PROJECT = "kept-totals"
MS = 1_000_000


def _post_traces(server: ServerProcess, first: int, n: int) -> list[tuple[str, float]]:
    """``n`` traces of a root and two LLM children, trace ``t`` costing 0.001 t + 0.0003;
    returns each root's name and its trace's cost."""
    spans, costs = [], []
    for t in range(first, first + n):
        tid = new_trace_id()
        root = make_span(f"root{t}", trace_id=tid, start_ns=BASE_NS + t * 1000 * MS)
        spans.append(root)
        for c in range(2):
            cost = 0.001 * t if c == 0 else 0.0003
            child = make_span(
                f"llm{t}.{c}",
                trace_id=tid,
                parent=root.span_id,
                start_ns=BASE_NS + t * 1000 * MS + (c + 1) * MS,
                attrs={"openinference.span.kind": "LLM", "llm.cost.total": cost},
            )
            spans.append(child)
        costs.append((f"root{t}", 0.001 * t + 0.0003))
    post_spans(server.url, spans, PROJECT)
    return costs


def _by_cost(server: ServerProcess) -> list[tuple[str, float]]:
    """Every root of the project by its trace's cost, highest first, walked 7 at a time."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"sort": "trace_cost", "order": "desc", "limit": 7}
        r = httpx.get(
            f"{server.url}/api/v1/projects/{PROJECT}/spans",
            params={**params, **({"cursor": cursor} if cursor else {})},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        rows += r.json()["data"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return [(row["name"], round(row["trace"]["cost_usd"], 9)) for row in rows]


def _gauge(server: ServerProcess, name: str) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name:
                return float(s.value)
    raise AssertionError(f"{name} is not exposed")


def _ready(server: ServerProcess) -> None:
    """Wait until the summaries and the traces' totals answer."""
    deadline = time.monotonic() + 60
    while _gauge(server, "llmpulse_trace_totals_ready") < 1 or (
        _gauge(server, "llmpulse_summaries_ready") < 1
    ):
        assert time.monotonic() < deadline, "the summaries were not built"
        time.sleep(0.1)


def _expected(costs: list[tuple[str, float]]) -> list[tuple[str, float]]:
    return sorted(((n, round(c, 9)) for n, c in costs), key=lambda x: (-x[1], x[0]))


def test_a_clean_stop_keeps_the_totals_and_a_crash_builds_them_again(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, free_port(), 0).start()
    costs = _post_traces(server, 1, 30)
    _ready(server)
    assert _gauge(server, "llmpulse_trace_totals_kept") == 0  # (a first start builds them)
    before = _by_cost(server)
    assert before == _expected(costs)
    server.stop()  # SIGTERM: a clean close stamps the totals
    assert server.proc is not None
    # A clean exit (the server re-raises SIGTERM once shut down), not the SIGKILL that
    # `stop` sends after a timeout.
    assert server.proc.returncode in (0, -signal.SIGTERM)

    server = ServerProcess(data_dir, free_port(), 0).start()
    assert _gauge(server, "llmpulse_trace_totals_kept") == 1
    assert _by_cost(server) == before
    costs += _post_traces(server, 31, 5)  # the most costly traces now
    assert _by_cost(server) == _expected(costs)
    _ready(server)
    server.kill()  # SIGKILL: no stamp

    server = ServerProcess(data_dir, free_port(), 0).start()
    try:
        assert _gauge(server, "llmpulse_trace_totals_kept") == 0
        _ready(server)
        assert _by_cost(server) == _expected(costs)
    finally:
        server.stop()

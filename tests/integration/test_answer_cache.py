"""Cached REST answers (metrics and span pages, kept serialized) are never stale.

Each check compares a repeated request, answered from the cache, with the same question asked
under another cache key (``max_groups`` or ``limit`` that cannot change the answer), which the
server must compute afresh.
"""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

import httpx
import pytest

from support.otlp import BASE_NS, make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration

MODEL = "acme/cache-llm"
_UNUSED_MAX_GROUPS = itertools.count(100)  # each call a cache key no request has used


def _post(server: ServerProcess, project: str, first: int, n: int, **attrs: Any) -> None:
    spans = [
        make_span(
            f"s{i}",
            start_ns=BASE_NS + i * 1_000_000_000,
            duration_ns=(100 + i) * 1_000_000,
            attrs={
                "metadata": json.dumps({"tier": ("free", "pro")[i % 2]}),
                **attrs,
            },
        )
        for i in range(first, first + n)
    ]
    body = make_request(spans, project).SerializeToString()
    r = httpx.post(
        f"{server.url}/v1/traces",
        content=body,
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200, r.text  # answered after the commit


def _metrics(base: str, *params: tuple[str, str], max_groups: int = 50) -> dict[str, Any]:
    r = httpx.get(f"{base}/metrics", params=(*params, ("max_groups", str(max_groups))))
    assert r.status_code == 200, r.text
    cached = httpx.get(f"{base}/metrics", params=(*params, ("max_groups", str(max_groups))))
    assert cached.content == r.content
    body: dict[str, Any] = r.json()
    return body


def _fresh_equal(base: str, *params: tuple[str, str]) -> dict[str, Any]:
    """The answer, checked against the same question under an unused cache key."""
    answer = _metrics(base, *params)
    fresh = _metrics(base, *params, max_groups=next(_UNUSED_MAX_GROUPS))
    assert fresh["rows"] == answer["rows"]
    return answer


def _span_names(base: str, limit: int) -> list[str]:
    r = httpx.get(f"{base}/spans", params={"limit": limit})
    assert r.status_code == 200, r.text
    assert httpx.get(f"{base}/spans", params={"limit": limit}).content == r.content
    return [s["name"] for s in r.json()["data"]]


def test_cached_metrics_and_span_pages_follow_each_write(live_server: ServerProcess) -> None:
    project = f"cache-{uuid.uuid4().hex[:6]}"
    base = f"{live_server.url}/api/v1/projects/{project}"
    _post(live_server, project, 0, 10)
    p50_p99 = (("metric", "latency_ms:p50"), ("metric", "latency_ms:p99"), ("root_only", "true"))
    before = _fresh_equal(base, ("metric", "count"), *p50_p99)
    assert before["rows"][0]["n"] == 10
    assert len(_span_names(base, 100)) == 10

    _post(live_server, project, 10, 5)

    after = _fresh_equal(base, ("metric", "count"), *p50_p99)
    assert after["rows"][0]["n"] == 15
    assert (
        after["rows"][0]["values"]["latency_ms:p99"] > before["rows"][0]["values"]["latency_ms:p99"]
    )
    names = _span_names(base, 100)
    assert names[0] == "s14"
    assert names == _span_names(base, 15)  # another cache key, computed afresh


def test_cached_metrics_follow_cohort_edits_and_deletes(live_server: ServerProcess) -> None:
    project = f"cache-{uuid.uuid4().hex[:6]}"
    base = f"{live_server.url}/api/v1/projects/{project}"
    _post(live_server, project, 0, 9)  # tiers: 5 free, 4 pro

    def define(expression: str) -> None:
        r = httpx.put(f"{base}/cohorts/c", json={"expression": expression})
        assert r.status_code == 200, r.text

    define("tier = 'pro'")
    assert _fresh_equal(base, ("metric", "count"), ("cohort", "c"))["rows"][0]["n"] == 4
    split = _fresh_equal(base, ("metric", "count"), ("group_by", "cohort:c"))
    assert {tuple(r["group"]): r["n"] for r in split["rows"]} == {("in",): 4, ("out",): 5}

    define("tier = 'free'")  # no write to the event store: the same data version

    assert _fresh_equal(base, ("metric", "count"), ("cohort", "c"))["rows"][0]["n"] == 5
    split = _fresh_equal(base, ("metric", "count"), ("group_by", "cohort:c"))
    assert {tuple(r["group"]): r["n"] for r in split["rows"]} == {("in",): 5, ("out",): 4}

    assert httpx.delete(f"{base}/cohorts/c").status_code == 204
    gone = httpx.get(f"{base}/metrics", params={"metric": "count", "cohort": "c"})
    assert gone.status_code == 404
    split_gone = httpx.get(f"{base}/metrics", params={"metric": "count", "group_by": "cohort:c"})
    assert split_gone.status_code == 400


def test_cached_cost_answers_agree_with_fresh_ones_across_a_price_change(
    fresh_server: ServerProcess,
) -> None:
    project = "cache-prices"
    base = f"{fresh_server.url}/api/v1/projects/{project}"
    tokens = {"llm.model_name": MODEL, "llm.token_count.prompt": 1000}
    tokens |= {"llm.token_count.completion": 0, "openinference.span.kind": "LLM"}

    def price(input_usd: float) -> None:
        table = {"prices": [{"model": MODEL, "input": input_usd, "output": 0.0}]}
        assert httpx.put(f"{fresh_server.url}/api/v1/prices", json=table).status_code == 200

    price(1e-6)
    _post(fresh_server, project, 0, 2, **tokens)
    cost = ("metric", "cost_usd:sum")
    assert _fresh_equal(base, cost)["rows"][0]["values"]["cost_usd:sum"] == pytest.approx(2e-3)

    price(5e-6)  # prices apply at ingest: stored costs, and so the answers, stay as they were

    assert _fresh_equal(base, cost)["rows"][0]["values"]["cost_usd:sum"] == pytest.approx(2e-3)
    _post(fresh_server, project, 2, 1, **tokens)
    assert _fresh_equal(base, cost)["rows"][0]["values"]["cost_usd:sum"] == pytest.approx(7e-3)

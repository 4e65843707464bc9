"""The planted demo incidents are found by the metrics and segment analyses (issue #3)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from llmpulse.ingest.pricing import shipped_price_table
from support.otlp import make_request, make_span
from support.server import ServerProcess, running_demo_server

pytestmark = [pytest.mark.integration, pytest.mark.slow]
H = timedelta(hours=1)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # A fixed end: the findings are statistical decisions on one dataset, and the demo's
    # spans depend on where its end falls in the day (traffic has a daily pattern).
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    with running_demo_server(data_dir, days=4, end="2026-12-04T16:00:00+0000") as server:
        yield server


def _get(server: ServerProcess, path: str, **params: Any) -> Any:
    r = httpx.get(f"{server.url}/api/v1/projects/rag-demo/{path}", params=params, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def _end(server: ServerProcess) -> datetime:
    projects = httpx.get(f"{server.url}/api/v1/projects").json()["data"]
    last = next(p for p in projects if p["name"] == "rag-demo")["last_seen"]
    return datetime.fromisoformat(last)


def test_error_burst_shows_in_the_error_rate_series(demo_server: ServerProcess) -> None:
    end = _end(demo_server)
    frame = _get(demo_server, "metrics", metric="error:rate", bucket="1h", root_only="true")
    rows = [r for r in frame["rows"] if r["support"]["error:rate"] >= 20]
    worst = max(rows, key=lambda r: r["values"]["error:rate"])
    at = datetime.fromisoformat(worst["bucket"])
    assert end - 83 * H <= at <= end - 79 * H
    assert worst["values"]["error:rate"] > 0.15
    typical = sorted(r["values"]["error:rate"] for r in rows)[len(rows) // 2]
    assert typical < 0.05


def test_cost_jump_is_found_in_enterprise_sales_by_change_discovery(
    demo_server: ServerProcess,
) -> None:
    end = _end(demo_server)
    cut = end - 47 * H
    report = _get(
        demo_server,
        "segments/changes",
        metric="cost_usd:mean",
        key=["metadata.tier", "metadata.region", "metadata.product_line"],
        start=cut.isoformat(),
        baseline_start=(end - 96 * H).isoformat(),
        baseline_end=cut.isoformat(),
        kind="LLM",
    )
    top = report["data"][0]
    assert top["rank"] == 1
    assert top["keys"] == {"metadata.tier": "enterprise", "metadata.product_line": "sales"}
    assert top["significant"]


def test_latency_spike_ranks_eu_west_first_on_p95(demo_server: ServerProcess) -> None:
    end = _end(demo_server)
    report = _get(
        demo_server,
        "segments",
        metric="latency_ms:p95",
        key="metadata.region",
        kind="LLM",
        # a p95 comparison needs n·(1 - 0.95) ≥ 10 spans a side (METHODS §4.1): 4 hours around
        # the 2-hour spike hold too few eu-west LLM spans, 10 hours enough
        start=(end - 34 * H).isoformat(),
        end=(end - 24 * H).isoformat(),
    )
    top = report["data"][0]
    assert top["rank"] == 1
    assert top["keys"] == {"metadata.region": "eu-west"}
    assert top["test"] == "quantile_test"
    assert report["unit"] == "trace"


def test_cost_of_a_known_span_is_the_price_table_arithmetic(live_server: ServerProcess) -> None:
    project = "cost-check"
    span = make_span(
        "llm",
        attrs={
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": 1200,
            "llm.token_count.completion": 300,
            "llm.token_count.prompt_details.cache_read": 200,
        },
    )
    mystery = make_span(
        "llm2", attrs={"llm.model_name": "mystery-llm-9", "llm.token_count.prompt": 50}
    )
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=make_request([span, mystery], project).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200
    price = next(
        p for p in shipped_price_table().prices if p.match and re.fullmatch(p.match, "gpt-4o-mini")
    )
    expected = (
        Decimal(1000) * price.input
        + Decimal(200) * (price.cache_read if price.cache_read is not None else price.input)
        + Decimal(300) * price.output
    )
    got = httpx.get(f"{live_server.url}/api/v1/spans/{span.span_id.hex()}").json()
    assert Decimal(str(got["cost_usd"])) == pytest.approx(expected, rel=Decimal("1e-9"))
    unpriced = httpx.get(f"{live_server.url}/api/v1/projects/{project}/unpriced-models").json()
    assert unpriced["data"] == [{"model": "mystery-llm-9", "spans": 1}]
    other = httpx.get(f"{live_server.url}/api/v1/spans/{mystery.span_id.hex()}").json()
    assert other["cost_usd"] is None
    assert other["attributes"]["llmpulse.cost.unpriced"] is True

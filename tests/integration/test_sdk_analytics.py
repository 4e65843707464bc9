"""The SDK's analytics calls (metrics, segments, discovery, fairness, versions, prices) against a
real `llmpulse serve` process, on traffic with planted problems whose answers we know.

`load_traffic` posts 480 LLM spans over OTLP/JSON, balanced over region, tier, product line
and version, with three planted effects: region ``eu-west`` fails far more often, product line
``sales`` answers with ten times the tokens (so costs more), and version ``v2`` is twice as
slow. The CLI tests import it too.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from llmpulse import Client
from llmpulse.clock import SystemClock, to_unix_ns
from llmpulse.sdk.errors import LlmpulseApiError
from support.server import ServerProcess

pytestmark = pytest.mark.integration

REGIONS = ("eu-west", "us-east", "ap-south", "us-west")
TIERS = ("free", "pro")
LINES = ("sales", "support", "docs")
N_SPANS = 480
PRICED_MODEL = "gpt-4o-mini"


@dataclass
class Traffic:
    """What was posted, span by span, so tests can compute the expected answers."""

    project: str
    region: list[str] = field(default_factory=list)
    tier: list[str] = field(default_factory=list)
    line: list[str] = field(default_factory=list)
    version: list[str] = field(default_factory=list)
    error: list[bool] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """The posted spans as a DataFrame (the oracle)."""
        return pd.DataFrame(
            {
                "region": self.region,
                "tier": self.tier,
                "line": self.line,
                "version": self.version,
                "error": self.error,
                "latency_ms": self.latency_ms,
            }
        )


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, int):
        return {"intValue": str(v)}
    return {"stringValue": str(v)}


def otlp_span(start_ns: int, latency_ms: int, attrs: dict[str, Any], error: bool) -> dict[str, Any]:
    """One root LLM span in the OTLP/JSON mapping."""
    return {
        "traceId": secrets.token_hex(16),
        "spanId": secrets.token_hex(8),
        "name": "chat",
        "kind": "SPAN_KIND_CLIENT",
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": str(start_ns + latency_ms * 1_000_000),
        "attributes": [{"key": k, "value": _value(v)} for k, v in attrs.items()],
        "status": {"code": 2, "message": "upstream failed"} if error else {"code": 1},
    }


def post_spans(url: str, project: str, spans: list[dict[str, Any]]) -> None:
    """POST spans as OTLP/JSON and require every one to be accepted."""
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "openinference.project.name", "value": {"stringValue": project}}
                    ]
                },
                "scopeSpans": [{"scope": {"name": "tests"}, "spans": spans}],
            }
        ]
    }
    r = httpx.post(
        f"{url}/v1/traces",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    assert not r.json().get("partialSuccess"), r.text


def llm_attrs(model: str, prompt: int, completion: int, **metadata: str) -> dict[str, Any]:
    """OpenInference attributes of an LLM call."""
    attrs: dict[str, Any] = {
        "openinference.span.kind": "LLM",
        "llm.model_name": model,
        "llm.provider": "openai",
        "llm.token_count.prompt": prompt,
        "llm.token_count.completion": completion,
        "llm.token_count.total": prompt + completion,
    }
    version = metadata.pop("version", None)
    if version:
        attrs["model.version"] = version
    if metadata:
        attrs["metadata"] = json.dumps(metadata)
    return attrs


def load_traffic(url: str, project: str) -> Traffic:
    """Post the 480 planted spans of the module docstring, spread over the last 45 minutes."""
    t = Traffic(project)
    start_ns = to_unix_ns(SystemClock().now() - timedelta(minutes=45))
    spans = []
    for i in range(N_SPANS):
        j = i // 4
        region, tier, line = REGIONS[i % 4], TIERS[j % 2], LINES[(i // 8) % 3]
        version = ("v1", "v2")[(i // 24) % 2]
        error = j % 10 < 3 if region == "eu-west" else j % 25 == 0
        latency = (200 + (i % 11) * 10) * (2 if version == "v2" else 1)
        completion = (2000 if line == "sales" else 200) + (i % 7) * 10
        attrs = llm_attrs(PRICED_MODEL, 300 + (i % 5) * 10, completion, tier=tier,
                          region=region, product_line=line, version=version)  # fmt: skip
        spans.append(otlp_span(start_ns + i * 5_000_000_000, latency, attrs, error))
        for name, value in (("region", region), ("tier", tier), ("line", line),
                            ("version", version), ("error", error)):  # fmt: skip
            getattr(t, name).append(value)
        t.latency_ms.append(float(latency))
    post_spans(url, project, spans)
    return t


def unique(prefix: str) -> str:
    """A project name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def traffic(live_server: ServerProcess) -> Traffic:
    return load_traffic(live_server.url, unique("sdk-analytics"))


@pytest.fixture
def client(live_server: ServerProcess) -> Iterator[Client]:
    with Client(live_server.url, timeout=60.0) as c:
        yield c


def test_sdk_get_metrics_matches_the_oracle_when_grouped_by_region(
    client: Client, traffic: Traffic
) -> None:
    df = client.get_metrics(
        traffic.project, ["latency_ms:p95", "error:rate"], group_by="metadata.region"
    )
    truth = traffic.frame().groupby("region")
    assert list(df.columns) == [
        "bucket", "metadata.region", "n", "latency_ms:p95", "error:rate",
        "support.latency_ms:p95", "support.error:rate",
    ]  # fmt: skip
    assert sorted(df["metadata.region"]) == sorted(REGIONS)
    got = df.set_index("metadata.region")
    for region, rows in truth:
        assert got.loc[region, "n"] == len(rows)
        assert got.loc[region, "error:rate"] == pytest.approx(rows["error"].mean())
        p95 = float(np.percentile(rows["latency_ms"], 95))
        assert got.loc[region, "latency_ms:p95"] == pytest.approx(p95, abs=0.01)
        assert got.loc[region, "support.error:rate"] == len(rows)
    assert df["bucket"].isna().all()
    assert df.attrs["group_by"] == ["metadata.region"]


def test_sdk_get_metrics_returns_utc_buckets_when_a_bucket_is_given(
    client: Client, traffic: Traffic
) -> None:
    df = client.get_metrics(traffic.project, "count", bucket=timedelta(minutes=10))
    assert str(df["bucket"].dtype).startswith("datetime64")
    assert str(df["bucket"].dt.tz) == "UTC"
    assert df["n"].sum() == N_SPANS
    assert (df["bucket"].dt.minute % 10 == 0).all()
    assert df["bucket"].is_monotonic_increasing
    assert df.attrs["bucket_s"] == 600


def test_sdk_get_metrics_approx_answers_quantiles_within_one_percent_from_the_sketch(
    client: Client, traffic: Traffic
) -> None:
    """ADR 0021: ``approx=true`` reads latency quantiles from the span sketch (REST and SDK)."""
    metrics = ["latency_ms:p50", "latency_ms:p99", "count"]
    approx = client.get_metrics(traffic.project, metrics, approx=True)
    exact = client.get_metrics(traffic.project, metrics)
    latency = np.array(traffic.latency_ms)
    assert int(approx["n"].iloc[0]) == int(exact["n"].iloc[0]) == N_SPANS
    assert approx["count"].iloc[0] == N_SPANS
    for name, q in (("latency_ms:p50", 0.5), ("latency_ms:p99", 0.99)):
        want = float(np.quantile(latency, q))
        assert exact[name].iloc[0] == pytest.approx(want, abs=0.01)
        assert abs(approx[name].iloc[0] - want) <= 0.01 * want + 0.01


def test_sdk_get_metrics_applies_attr_and_time_filters_when_given(
    client: Client, traffic: Traffic
) -> None:
    df = client.get_metrics(
        traffic.project, "error:rate", attr={"metadata.region": "eu-west"}, kind="LLM"
    )
    truth = traffic.frame().query("region == 'eu-west'")
    assert int(df["n"].iloc[0]) == len(truth)
    assert df["error:rate"].iloc[0] == pytest.approx(truth["error"].mean())
    future = SystemClock().now() + timedelta(days=1)
    empty = client.get_metrics(traffic.project, "count", start=future)
    assert empty.empty
    assert list(empty.columns) == ["bucket", "n", "count", "support.count"]


def test_sdk_get_segments_ranks_the_planted_region_first_when_it_fails_more(
    client: Client, traffic: Traffic
) -> None:
    df = client.get_segments(traffic.project, "error:rate", "metadata.region")
    assert len(df) == len(REGIONS)
    top = df.sort_values("rank").iloc[0]
    assert top["metadata.region"] == "eu-west"
    assert top["slice"] == "metadata.region=eu-west"
    assert top["rank"] == 1
    assert bool(top["significant"])
    assert bool(top["worse"])
    truth = traffic.frame()
    eu = truth["region"] == "eu-west"
    assert top["value"] == pytest.approx(truth[eu]["error"].mean())
    assert top["rest_value"] == pytest.approx(truth[~eu]["error"].mean())
    assert df.attrs["metric"] == "error:rate"
    assert df.attrs["total_n"] == N_SPANS
    others = df[df["metadata.region"] != "eu-west"]
    assert others["rank"].isna().all()


def test_sdk_discover_slices_puts_the_planted_product_line_on_top(
    client: Client, traffic: Traffic
) -> None:
    df = client.discover_slices(
        traffic.project,
        "cost_usd:mean",
        ["metadata.tier", "metadata.region", "metadata.product_line"],
        k=5,
    )
    assert len(df) >= 1
    top = df.iloc[0]
    assert top["slice"] == "metadata.product_line=sales"
    assert top["rank"] == 1
    assert pd.isna(top["metadata.tier"])
    assert pd.isna(top["metadata.region"])
    assert top["diff"] > 0
    assert list(df["rank"]) == list(range(1, len(df) + 1))
    assert df.attrs["keys"] == ["metadata.tier", "metadata.region", "metadata.product_line"]


def test_sdk_fairness_gives_group_rates_and_parity_when_asked(
    client: Client, traffic: Traffic
) -> None:
    df = client.fairness(traffic.project, "error:rate", "metadata.tier", min_support=10)
    truth = traffic.frame().groupby("tier")["error"]
    got = df.set_index("group")
    rates = truth.mean()
    for tier in TIERS:
        assert got.loc[tier, "n"] == truth.size()[tier]
        assert got.loc[tier, "selected"] == truth.sum()[tier]
        assert got.loc[tier, "selection_rate"] == pytest.approx(rates[tier])
    assert df.attrs["parity_difference"] == pytest.approx(rates.max() - rates.min())
    # errors are a bad outcome: the ratio is on 1 - error rate, the fewest errors most favoured
    good = 1 - rates
    assert df.attrs["parity_ratio"] == pytest.approx(good.min() / good.max())
    assert df.attrs["most_favoured"] == rates.idxmin()
    assert got.loc[rates.idxmin(), "four_fifths"] == "pass"
    assert df.attrs["min_support"] == 10
    assert "parity_ratio" not in df.columns
    csv = client.fairness_csv(traffic.project, "error:rate", "metadata.tier", min_support=10)
    assert csv.splitlines()[0].startswith("group,n,selected,selection_rate")
    assert len(csv.strip().splitlines()) == 1 + len(TIERS)


def test_sdk_compare_versions_holds_when_the_candidate_is_slower(
    client: Client, traffic: Traffic
) -> None:
    df = client.compare_versions(traffic.project, "v1", "v2")
    assert df.attrs["signal"] == "hold"
    assert df.attrs["baseline"] == "v1"
    assert df.attrs["candidate"] == "v2"
    assert df.attrs["windowed"] is True
    assert df.attrs["unit"] == "trace"
    latency = df.set_index("name").loc["latency_ms:p95"]
    assert latency["verdict"] == "worse"
    assert latency["test"] == "cluster_bootstrap"
    assert 0 < latency["baseline_n"] <= N_SPANS // 2  # only while both versions were live
    whole = client.compare_versions(traffic.project, "v1", "v2", overlap=False)
    assert whole.attrs["windowed"] is False
    latency = whole.set_index("name").loc["latency_ms:p95"]
    assert latency["baseline_n"] == N_SPANS // 2
    assert latency["candidate_n"] == N_SPANS // 2
    assert set(df["name"]) == {"latency_ms:p95", "error:rate", "cost_usd:mean"}


def test_sdk_compare_versions_promotes_when_the_candidate_is_faster(
    client: Client, traffic: Traffic
) -> None:
    df = client.compare_versions(
        traffic.project, "v2", "v1", key="version", metrics=["latency_ms:p95"]
    )
    assert df.attrs["signal"] == "promote"
    assert df["verdict"].tolist() == ["better"]


def test_sdk_raises_with_the_field_when_the_metric_is_unknown(
    client: Client, traffic: Traffic
) -> None:
    with pytest.raises(LlmpulseApiError) as caught:
        client.get_metrics(traffic.project, ["latency_ms:p95", "bogus:p95"])
    assert caught.value.status == 400
    assert [e.path for e in caught.value.errors] == ["metric[1]"]
    with pytest.raises(LlmpulseApiError) as missing:
        client.get_segments_raw(unique("no-such-project"), "error:rate", "metadata.tier")
    assert missing.value.status == 404


def test_sdk_raw_variants_return_the_json_when_called(client: Client, traffic: Traffic) -> None:
    body = client.get_metrics_raw(traffic.project, "count", group_by=["metadata.tier"])
    assert body["metrics"] == ["count"]
    assert sorted(r["group"][0] for r in body["rows"]) == sorted(TIERS)
    seg = client.discover_slices_raw(traffic.project, "error:rate", "metadata.region", k=1)
    assert seg["data"][0]["keys"] == {"metadata.region": "eu-west"}


def test_sdk_prices_override_then_clear_when_a_model_is_unpriced(
    client: Client, live_server: ServerProcess
) -> None:
    project, model = unique("sdk-unpriced"), f"acme-llm-{uuid.uuid4().hex[:6]}"
    start_ns = to_unix_ns(SystemClock().now() - timedelta(minutes=5))
    old = [otlp_span(start_ns + i, 100, llm_attrs(model, 100, 50), False) for i in range(5)]
    post_spans(live_server.url, project, old)
    unpriced = client.unpriced_models(project)
    assert unpriced.to_dict("records") == [{"model": model, "spans": 5}]

    after = client.set_price_overrides(
        {"prices": [{"model": model, "input": "0.000001", "output": 2e-6}]}
    )
    assert after["overrides"]["prices"][0]["model"] == model
    assert client.get_prices()["overrides"]["prices"][0]["model"] == model
    new = otlp_span(start_ns + 99, 100, llm_attrs(model, 1000, 500), False)
    post_spans(live_server.url, project, [new])
    cost = client.get_metrics(project, "cost_usd:sum", model=model)
    assert cost["cost_usd:sum"].iloc[0] == pytest.approx(1000 * 1e-6 + 500 * 2e-6)
    assert client.unpriced_models(project)["spans"].tolist() == [5]

    cleared = client.clear_price_overrides()
    assert cleared["overrides"] is None
    assert client.get_prices()["overrides"] is None
    assert cleared["shipped"]["prices"], "the shipped table stays"


def test_sdk_set_price_overrides_reports_the_field_when_a_price_is_per_million(
    client: Client,
) -> None:
    with pytest.raises(LlmpulseApiError) as caught:
        client.set_price_overrides({"prices": [{"model": "x", "input": 2.5, "output": 10}]})
    assert caught.value.status in (400, 422)
    assert any("prices" in e.path for e in caught.value.errors)

"""Explanations end to end on a real server (issue 13, items 3-7): SDK → REST → records.

A real ``llmpulse serve`` on loopback with ``LLMPULSE_EXPLAIN_BASE_URL`` pointing at the fake
OpenAI-compatible server; predictions logged through the SDK, a RAG trace over OTLP/JSON.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from browser.rag_traces import post_spans
from fakes.openai_compat import OpenAICompatFake
from integration.explain.credit_data import credit_records
from integration.explain.rag_otlp import planted_rag_trace
from llmpulse import Client
from support.server import ServerProcess, free_port

N = 300


@pytest.fixture(scope="module")
def fake() -> Iterator[OpenAICompatFake]:
    server = OpenAICompatFake()
    with server.receiver:
        yield server


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake: OpenAICompatFake
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("explain") / "data"
    env = {"LLMPULSE_EXPLAIN_BASE_URL": fake.url, "LLMPULSE_EXPLAIN_MODEL": "cache-lm"}
    proc = ServerProcess(data_dir, free_port(), 0, env=env).start()
    try:
        client = Client(proc.url)
        assert not client.log_records(credit_records(N), project="credit").rejected
        shap_records = credit_records(N, seed=2, with_shap=True)
        assert not client.log_records(shap_records, project="credit-shap").rejected
        client.close()
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[Client]:
    c = Client(server.url)
    yield c
    c.close()


def test_surrogate_explanation_sums_and_gives_the_configured_reason(client: Client) -> None:
    client.put_reason_codes("credit", [
        {"feature": "income", "direction": "decrease", "code": "R01", "text": "Income too low"},
        {"feature": "income", "direction": "increase", "code": "P01", "text": "Income is high"},
    ])  # fmt: skip
    denied = next(r for r in credit_records(N) if r["prediction_score"] < 0.1)
    out = client.explain_prediction(
        "credit", denied["prediction_id"], external_ids={"case_id": "C-17"}
    )
    exp = out["explanation"]
    assert exp["method"] == "shap.surrogate"
    total = sum(c["contribution"] for c in exp["contributions"])
    assert total == pytest.approx(exp["output"] - exp["base_value"], abs=1e-6)
    assert exp["decision"] is False
    assert exp["contributions"][0]["feature"] == "income"
    assert exp["reasons"][0] == {
        "feature": "income", "code": "R01", "text": "Income too low",
        "contribution": exp["contributions"][0]["contribution"],
    }  # fmt: skip
    found = client.search_explanations("credit", external_id=("case_id", "C-17"))
    assert [r["record_id"] for r in found] == [out["record_id"]]
    assert found[0]["body"]["subject"] == {"kind": "prediction", "id": denied["prediction_id"]}
    why = client.why_prediction("credit", denied["prediction_id"])
    assert why["record_id"] == out["record_id"]
    assert why["reasons"][0]["code"] == "R01"


def test_counterfactual_flips_the_decision_by_raising_income(client: Client) -> None:
    denied = next(r for r in credit_records(N) if r["prediction_score"] < 0.2)
    out = client.counterfactual("credit", denied["prediction_id"], actionable=["income", "tenure"])
    exp = out["explanation"]
    assert exp["found"] is True
    assert exp["original_decision"] is False
    assert exp["new_decision"] is True
    assert [c["feature"] for c in exp["changes"]] == ["income"]
    assert exp["changes"][0]["to"] > exp["changes"][0]["from"]


def test_importance_ranks_the_driver_first_per_segment_and_bucket(client: Client) -> None:
    out = client.feature_importance("credit", segment="region", bucket="1h")
    assert out["method"] == "shap.surrogate"
    assert next(iter(out["overall"])) == "income"
    assert set(out["segments"]) == {"eu", "us"}
    assert all(next(iter(s["importance"])) == "income" for s in out["segments"].values())
    assert len(out["buckets"]) == 2
    assert {c["feature"] for c in out["change"]} == {"income", "tenure", "region", "debt"}


def test_client_shap_values_are_used_when_logged(client: Client) -> None:
    out = client.explain_prediction("credit-shap", "p-3", record=False)
    assert out["record_id"] is None
    assert out["explanation"]["method"] == "shap.client"
    imp = client.feature_importance("credit-shap")
    assert imp["method"] == "shap.client"
    assert next(iter(imp["overall"])) == "debt"


def test_policy_explains_exactly_the_low_confidence_predictions(client: Client) -> None:
    records = credit_records(N, seed=2, with_shap=True)
    low = {r["prediction_id"] for r in records if r["prediction_score"] < 0.3}
    out = client.explain_triggered("credit-shap", {"confidence_below": 0.3})
    assert out["seen"] == N
    assert out["selected"] == len(low)
    assert out["explained"] == len(low)
    assert out["skipped"] == {"confidence": N - len(low)}
    subjects = {
        client.get_explanation("credit-shap", rid)["body"]["subject"]["id"]
        for rid in out["records"]
    }
    assert subjects == low


def test_policy_routes_exactly_the_low_confidence_predictions_to_review_with_the_why(
    client: Client,
) -> None:
    records = credit_records(N, seed=2, with_shap=True)
    low = {r["prediction_id"] for r in records if r["prediction_score"] < 0.2}
    out = client.explain_triggered("credit-shap", {"confidence_below": 0.2},
                                   review_queue="low-conf")  # fmt: skip
    assert out["selected"] == out["routed"] == len(low) > 0
    items = client.review_items("credit-shap", queue="low-conf")
    assert {i["explanation"]["id"] for i in items} == low
    assert {i["explanation"]["record_id"] for i in items} == set(out["records"])
    for item in items:
        assert item["status"] == "open"
        assert item["verdict"]["rule"] == "explain.policy"
        assert item["explanation"]["kind"] == "prediction"
        assert item["explanation"]["method"] == "shap.client"
        assert "reasons" in item["explanation"]
        decision = item["explanation"]["decision"]
        assert item["verdict"]["label"] == (str(decision).lower() if decision is not None else None)


def test_rag_trace_attribution_why_and_what_if(client: Client, server: ServerProcess) -> None:
    trace, spans, key_doc = planted_rag_trace(seed=5)
    post_spans(server.url, "rag", spans)
    out = client.explain_rag("rag", trace_id=trace.trace_id, external_ids={"ticket": "T-9"})
    exp = out["explanation"]
    assert exp["method"] == "contextcite"
    assert exp["span_id"] == trace.llm_id
    assert exp["chunks"][0]["id"] == key_doc
    why = client.why_span("rag", trace.llm_id)
    assert why["record_id"] == out["record_id"]
    assert why["sources"][0]["id"] == key_doc
    assert [
        r["record_id"] for r in client.search_explanations("rag", external_id=("ticket", "T-9"))
    ] == [out["record_id"]]
    what = client.rag_what_if("rag", trace_id=trace.trace_id, drop=[exp["chunks"][0]["index"]])
    assert what["explanation"]["evaluation_delta"] < 0
    # A newer what-if record does not hide the attribution from the end-user answer.
    assert client.why_span("rag", trace.llm_id)["record_id"] == out["record_id"]


def test_why_span_without_a_record_uses_the_offline_method(
    client: Client, server: ServerProcess
) -> None:
    trace, spans, key_doc = planted_rag_trace(seed=6)
    post_spans(server.url, "rag-offline", spans)
    why = client.why_span("rag-offline", trace.llm_id)
    assert why["record_id"] is None
    assert why["method"] == "lexical"
    assert why["sources"][0]["id"] == key_doc


def test_bad_input_is_a_400_naming_the_field(server: ServerProcess) -> None:
    base = f"{server.url}/api/v1/projects/credit"
    r = httpx.get(f"{base}/explanations", params={"external_id": "no-colon"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["path"] == "external_id"
    r = httpx.post(f"{base}/explanations/rag", json={"answer": "x", "chunks": []})
    assert r.status_code == 400
    assert r.json()["errors"][0]["path"] == "chunks"
    r = httpx.put(
        f"{base}/explanations/reason-codes",
        json={
            "reasons": [
                {"feature": "a", "code": "1", "text": "t"},
                {"feature": "a", "code": "2", "text": "u"},
            ]
        },
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["path"] == "reasons"
    r = httpx.post(f"{base}/explanations/predictions/nope", json={})
    assert r.status_code == 404
    r = httpx.post(
        f"{base}/explanations/predictions/p-1/counterfactual", json={"actionable": ["zzz"]}
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["path"] == "actionable"


def test_tampering_with_a_stored_record_is_detected_by_rest_and_cli(
    client: Client, server: ServerProcess
) -> None:
    a = client.explain_prediction("credit", "p-1")["record_id"]
    b = client.explain_prediction("credit", "p-2")["record_id"]
    assert client.verify_explanations("credit")["ok"] is True
    cli = [
        sys.executable,
        "-m",
        "llmpulse",
        "explanations",
        "verify",
        "credit",
        "--url",
        server.url,
    ]
    ok = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    con = sqlite3.connect(server.data_dir / "state.sqlite", timeout=10)
    try:
        con.execute(
            "UPDATE explanation_records SET body = replace(body, '\"model_version\":\"v1\"', "
            "'\"model_version\":\"v2\"') WHERE record_id = ?", (a,),
        )  # fmt: skip
        con.commit()
    finally:
        con.close()
    check = client.verify_explanations("credit")
    assert check["ok"] is False
    assert check["first_bad_record"] == a
    broken = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1
    assert a in broken.stderr
    assert b not in broken.stderr

"""The Python SDK against a real `llmpulse serve` process on loopback."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from llmpulse import Client, Schema, register
from llmpulse.sdk.errors import LlmpulseApiError
from support.server import ServerProcess

pytestmark = pytest.mark.integration


def _project(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client(live_server: ServerProcess) -> Iterator[Client]:
    with Client(live_server.url, timeout=30.0) as c:
        yield c


def _wait_for(
    fetch: Callable[[], list[dict[str, Any]]], n: int, timeout_s: float = 15.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    items = fetch()
    while len(items) < n and time.monotonic() < deadline:
        time.sleep(0.1)
        items = fetch()
    return items


def test_sdk_log_stores_a_prediction_span_when_logged(client: Client) -> None:
    project = _project("sdk-log")
    result = client.log(
        prediction_id="p-1",
        model_id="fraud-model",
        model_version="v2",
        environment="production",
        features={"amount": 120.5, "country": "FR"},
        tags={"tier": "pro"},
        prediction_label="fraud",
        prediction_score=0.93,
        latency_ms=42.0,
        timestamp=1_740_826_800,
        project=project,
    )
    assert (result.accepted, result.rejected) == (1, [])
    (span,) = client.get_spans(project, kind="PREDICTION")
    assert span["prediction_id"] == "p-1"
    assert span["model"] == "fraud-model"
    assert span["version"] == "v2"
    assert span["kind"] == "PREDICTION"
    assert span["metadata"] == {"tier": "pro"}
    assert span["attributes"]["features.amount"] == 120.5
    assert span["attributes"]["prediction.score"] == 0.93
    assert span["output_value"] == "fraud"
    assert span["latency_ms"] == pytest.approx(42.0, abs=0.01)
    assert span["end_time"].startswith("2025-03-01T11:00:00")
    filtered = client.get_spans(project, kind="PREDICTION", attr="metadata.tier:pro")
    assert [s["span_id"] for s in filtered] == [span["span_id"]]


def test_sdk_log_records_reports_the_bad_record_and_keeps_the_others(client: Client) -> None:
    project = _project("sdk-bad")
    records = [
        {"prediction_id": "ok-1"},
        {"prediction_id": "bad", "prediction_score": "high"},
        {"prediction_id": "ok-2"},
    ]
    result = client.log_records(records, project)
    assert result.accepted == 2
    assert [(r.index, r.path) for r in result.rejected] == [(1, "records[1].prediction_score")]
    stored = {s["prediction_id"] for s in client.get_spans(project)}
    assert stored == {"ok-1", "ok-2"}


def test_sdk_log_dataframe_stores_every_row_in_batches(client: Client) -> None:
    project = _project("sdk-df")
    n = 1000
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "id": [f"row-{i}" for i in range(n)],
            "ts": pd.Timestamp("2025-03-01T00:00:00Z") + pd.to_timedelta(np.arange(n), unit="s"),
            "amount": rng.gamma(2.0, 50.0, n),
            "tier": rng.choice(["free", "pro", "enterprise"], n),
            "label": rng.choice(["fraud", "ok"], n),
            "score": rng.random(n),
            "latency": rng.gamma(2.0, 20.0, n),
            "emb": list(rng.random((n, 4))),
        }
    )
    df.loc[[10, 777], "score"] = np.inf  # two rows the server must reject by path
    schema = Schema(
        prediction_id_column_name="id",
        timestamp_column_name="ts",
        feature_column_names=["amount"],
        tag_column_names=["tier"],
        prediction_label_column_name="label",
        prediction_score_column_name="score",
        latency_ms_column_name="latency",
        embedding_feature_column_names={"emb": ("emb", None)},
    )
    result = client.log_dataframe(df, schema, project=project, batch_size=300)
    assert result.accepted == n - 2
    assert [(r.index, r.path) for r in result.rejected] == [
        (10, "records[10].prediction_score"),
        (777, "records[777].prediction_score"),
    ]
    spans = client.get_spans(project, limit=5000, kind="PREDICTION")
    assert len(spans) == n - 2
    assert {s["prediction_id"] for s in spans} == set(df["id"]) - {"row-10", "row-777"}
    assert len(spans[0]["attributes"]["embedding.emb.vector"]) == 4


def test_sdk_log_feedback_and_actuals_attach_to_the_logged_prediction(client: Client) -> None:
    project = _project("sdk-fb")
    client.log(prediction_id="p-9", model_id="m", prediction_label="yes", project=project)
    fb = client.log_feedback("p-9", label="thumbs_down", score=0.0, project=project)
    act = client.log_actuals("p-9", label="no", project=project)
    assert (fb.inserted, act.inserted) == (1, 1)
    (span,) = client.get_spans(project)
    notes = _wait_for(lambda: client.get_span_annotations(span["span_id"]), 2)
    by_name = {a["name"]: a for a in notes}
    assert by_name["feedback"]["label"] == "thumbs_down"
    assert by_name["feedback"]["score"] == 0.0
    assert by_name["actual"]["label"] == "no"


def test_sdk_log_evaluations_attaches_a_dataframe_of_verdicts_to_spans(client: Client) -> None:
    project = _project("sdk-eval")
    client.log(prediction_id="q-1", model_id="m", project=project)
    (span,) = client.get_spans(project)
    df = pd.DataFrame(
        {"label": ["factual"], "score": [1.0], "explanation": ["all claims cited"]},
        index=pd.Index([span["span_id"]], name="context.span_id"),
    )
    result = client.log_evaluations(df, eval_name="hallucination")
    assert (result.inserted, len(result.ids), result.rejected) == (1, 1, [])
    (note,) = _wait_for(lambda: client.get_span_annotations(span["span_id"]), 1)
    assert (note["name"], note["annotator_kind"], note["label"]) == (
        "hallucination",
        "LLM",
        "factual",
    )


def test_sdk_raises_api_error_with_status_when_server_refuses(client: Client) -> None:
    with pytest.raises(LlmpulseApiError) as info:
        client.request("POST", "/api/v1/projects/x/predictions", json={"records": "nope"})
    assert info.value.status == 400
    assert info.value.errors
    with pytest.raises(LlmpulseApiError) as missing:  # an id no test sends to the shared server
        client.get_span(secrets.token_hex(8))
    assert missing.value.status == 404


def test_sdk_register_sends_real_otel_spans_to_the_server(live_server: ServerProcess) -> None:
    project = _project("sdk-otel")
    provider = register(live_server.url, project, batch=False, set_global=False)
    tracer = provider.get_tracer("llmpulse-tests")
    with tracer.start_as_current_span(
        "chat", attributes={"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini"}
    ):
        pass
    provider.shutdown()
    with Client(live_server.url) as c:
        spans = _wait_for(lambda: c.get_spans(project) if _known(c, project) else [], 1)
        assert [(s["name"], s["kind"], s["model"]) for s in spans] == [
            ("chat", "LLM", "gpt-4o-mini")
        ]
        assert spans[0]["resource_attributes"]["openinference.project.name"] == project


def _known(c: Client, project: str) -> bool:
    return project in {p.get("name") for p in c.get_projects()}


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 with Retry-After twice, then 200: the back-pressure contract."""

    calls: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        _Flaky.calls.append(self.path)
        if len(_Flaky.calls) <= 2:
            self._send(503, {"title": "Overloaded", "status": 503, "detail": "queue full"}, "1")
        else:
            self._send(200, {"accepted": 1, "rejected": []})

    def _send(self, status: int, body: dict[str, Any], retry_after: str | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(raw)))
        if retry_after:
            self.send_header("retry-after", retry_after)
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        return


def test_sdk_retries_back_pressure_answers_honouring_retry_after() -> None:
    _Flaky.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    slept: list[float] = []
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with Client(url, sleep=slept.append) as c:
            result = c.log(prediction_id="p", project="retry")
        with Client(url, sleep=slept.append, max_retries=0) as c:
            _Flaky.calls = []
            with pytest.raises(LlmpulseApiError) as info:
                c.log(prediction_id="p", project="retry")
    finally:
        server.shutdown()
        server.server_close()
    assert result.accepted == 1
    assert slept == [1.0, 1.0]
    assert info.value.status == 503

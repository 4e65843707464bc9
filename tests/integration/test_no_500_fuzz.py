"""Nothing a user sends produces a 500: fuzzed bodies and parameters against every route."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.server import ServerProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
annotation_like = st.fixed_dictionaries(
    {},
    optional={
        "span_id": st.text(max_size=20) | st.just("00000000000000ab"),
        "prediction_id": st.text(max_size=10) | st.integers(),
        "project": st.text(max_size=10) | st.none(),
        "name": st.text(max_size=10) | st.integers(),
        "label": st.text(max_size=10) | st.none(),
        "score": st.floats() | st.text(max_size=5),
        "annotator_kind": st.sampled_from(["HUMAN", "LLM", "X"]),
    },
)
prediction_like = st.fixed_dictionaries(
    {},
    optional={
        "prediction_id": st.text(max_size=10) | st.integers() | st.none(),
        "timestamp": st.text(max_size=25) | st.floats() | st.integers(),
        "features": json_values,
        "tags": json_values,
        "prediction_score": st.floats() | st.text(max_size=5),
        "latency_ms": st.floats() | st.integers(),
        "embeddings": json_values,
        "shap_values": json_values,
    },
)


def _post_json(url: str, doc: Any) -> httpx.Response:
    # json.dumps writes NaN/Infinity tokens, which Python's parser accepts: worth sending.
    return httpx.post(url, content=json.dumps(doc), headers={"content-type": "application/json"})


def _ok(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:500])


@FUZZ
@given(
    body=st.binary(max_size=300),
    ctype=st.sampled_from(["application/x-protobuf", "application/json", "text/plain", ""]),
    encoding=st.sampled_from([None, "gzip", "br"]),
)
def test_otlp_endpoint_never_answers_500(
    live_server: ServerProcess, body: bytes, ctype: str, encoding: str | None
) -> None:
    headers = {"content-type": ctype}
    if encoding:
        headers["content-encoding"] = encoding
    _ok(httpx.post(f"{live_server.url}/v1/traces", content=body, headers=headers))


@FUZZ
@given(doc=json_values | st.fixed_dictionaries({"resourceSpans": json_values}))
def test_otlp_json_never_answers_500(live_server: ServerProcess, doc: Any) -> None:
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=json.dumps(doc),
        headers={"content-type": "application/json"},
    )
    _ok(r)


@FUZZ
@given(items=st.lists(annotation_like | json_values, max_size=4), raw=json_values)
def test_annotations_endpoint_never_answers_500(
    live_server: ServerProcess, items: list[Any], raw: Any
) -> None:
    _ok(_post_json(f"{live_server.url}/api/v1/annotations", {"data": items}))
    _ok(_post_json(f"{live_server.url}/api/v1/annotations", raw))


@FUZZ
@given(records=st.lists(prediction_like | json_values, max_size=4), raw=json_values)
def test_predictions_endpoint_never_answers_500(
    live_server: ServerProcess, records: list[Any], raw: Any
) -> None:
    url = f"{live_server.url}/api/v1/projects/fuzz/predictions"
    _ok(_post_json(url, {"records": records}))
    _ok(_post_json(url, raw))


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["start", "end", "kind", "status", "model", "attr", "q", "limit", "cursor", "trace_id"]
        ),
        st.text(max_size=30),
        max_size=5,
    ),
    ident=st.text(max_size=40),
)
def test_read_routes_never_answer_500(
    live_server: ServerProcess, params: dict[str, str], ident: str
) -> None:
    httpx.post(
        f"{live_server.url}/api/v1/projects/fuzzread/predictions",
        json={"records": [{"prediction_id": "p"}]},
    )
    _ok(httpx.get(f"{live_server.url}/api/v1/projects/fuzzread/spans", params=params))
    safe = quote(ident, safe="") or "x"
    for path in ("/api/v1/traces/", "/api/v1/spans/", "/ui/traces/", "/ui/projects/"):
        _ok(httpx.get(f"{live_server.url}{path}{safe}"))
    _ok(httpx.get(f"{live_server.url}/ui/projects/fuzzread/traces", params=params))

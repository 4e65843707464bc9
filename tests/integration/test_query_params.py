"""Query strings read by one validation (ADR 0068) answer as FastAPI's own parameters do.

The span listing, its export, metrics and the segment routes read their query through a
`QueryParams` model. Over real HTTP: repeated parameters, the last value of a repeated scalar,
unknown parameters ignored, a refused value as the same 400 naming the parameter as a
parameter FastAPI reads itself, and every field of the model documented once per route.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from llmpulse.server.routes.metrics import MetricParams
from llmpulse.server.routes.params import ScopeParams
from llmpulse.server.routes.query_models import QueryParams
from llmpulse.server.routes.span_params import ViewParams
from llmpulse.server.routes.spans import SpanListParams
from support.otlp import BASE_NS, make_span, post_spans
from support.server import ServerProcess

pytestmark = pytest.mark.integration

PROJECT = "query-params"
MS = 1_000_000


@pytest.fixture(scope="module")
def seeded(live_server: ServerProcess) -> ServerProcess:
    """12 spans: kinds LLM and CHAIN in turn, models a and b in turn."""
    spans = [
        make_span(
            f"s{i}",
            start_ns=BASE_NS + i * 1000 * MS,
            duration_ns=(10 + i) * MS,
            attrs={
                "openinference.span.kind": "LLM" if i % 2 else "CHAIN",
                "llm.model_name": "a" if i % 2 else "b",
            },
        )
        for i in range(12)
    ]
    post_spans(live_server.url, spans, PROJECT)
    return live_server


def _get(server: ServerProcess, suffix: str, params: list[tuple[str, str]]) -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/projects/{PROJECT}{suffix}", params=params)


def _names(body: dict[str, Any]) -> list[str]:
    return [row["name"] for row in body["data"]]


def test_repeated_parameters_are_lists(seeded: ServerProcess) -> None:
    both = _get(seeded, "/spans", [("model", "a"), ("model", "b")])
    one = _get(seeded, "/spans", [("model", "a")])
    assert both.status_code == one.status_code == 200, (both.text, one.text)
    assert len(_names(both.json())) == 12
    assert sorted(_names(one.json())) == sorted(f"s{i}" for i in range(1, 12, 2))
    metric = _get(seeded, "/metrics", [("metric", "count"), ("metric", "latency_ms:max")])
    assert metric.status_code == 200, metric.text
    assert metric.json()["metrics"] == ["count", "latency_ms:max"]
    assert metric.json()["rows"][0]["n"] == 12


def test_a_repeated_scalar_takes_its_last_value_as_fastapi_does(seeded: ServerProcess) -> None:
    page = _get(seeded, "/spans", [("limit", "5"), ("limit", "2")])
    assert page.status_code == 200, page.text
    assert _names(page.json()) == ["s11", "s10"]
    # ``max_rows`` is a parameter FastAPI reads itself: the same rule
    export = _get(seeded, "/spans/export", [("format", "jsonl"), ("max_rows", "5")])
    again = _get(
        seeded, "/spans/export", [("format", "jsonl"), ("max_rows", "5"), ("max_rows", "2")]
    )
    assert len(export.text.splitlines()) == 5
    assert len(again.text.splitlines()) == 2


def test_unknown_parameters_are_ignored(seeded: ServerProcess) -> None:
    page = _get(seeded, "/spans", [("limit", "3"), ("no_such", "x")])
    assert page.status_code == 200, page.text
    assert len(_names(page.json())) == 3


@pytest.mark.parametrize(
    ("suffix", "ours", "fastapis"),
    [
        ("/spans", ("limit", "abc"), ("max_rows", "abc")),  # not an integer
        ("/spans", ("limit", "0"), ("max_rows", "0")),  # below the bound
        ("/spans", ("start", "yesterday"), None),
        ("/spans", ("sort", "size"), ("format", "xml")),  # not one of the choices
        ("/metrics", ("max_groups", "0"), ("max_rows", "0")),
        ("/metrics", ("root_only", "maybe"), None),
    ],
)
def test_a_refused_value_is_a_400_naming_it(
    seeded: ServerProcess,
    suffix: str,
    ours: tuple[str, str],
    fastapis: tuple[str, str] | None,
) -> None:
    params = [ours] if suffix == "/spans" else [("metric", "count"), ours]
    r = _get(seeded, suffix, params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert [e["path"] for e in body["errors"]] == [f"query.{ours[0]}"]
    assert body["detail"].startswith(f"query.{ours[0]}: ")
    if fastapis is not None:  # the same words as FastAPI's own reading of such a value
        theirs = _get(seeded, "/spans/export", [fastapis]).json()
        assert theirs["errors"][0]["path"] == f"query.{fastapis[0]}"
        assert _kind_of(theirs["errors"][0]["message"]) == _kind_of(body["errors"][0]["message"])


def _kind_of(message: str) -> str:
    """The message without the choices it lists (``'desc' or 'asc'``)."""
    return message.split("'")[0]


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/api/v1/projects/{project}/spans", SpanListParams),
        ("/api/v1/projects/{project}/spans/export", ViewParams),
        ("/api/v1/projects/{project}/metrics", MetricParams),
        ("/api/v1/projects/{project}/segments", ScopeParams),
        ("/api/v1/projects/{project}/segments/discover", ScopeParams),
        ("/api/v1/projects/{project}/segments/changes", ScopeParams),
        ("/api/v1/projects/{project}/fairness", ScopeParams),
        ("/api/v1/projects/{project}/compare", ScopeParams),
    ],
)
def test_every_field_is_documented_once(
    live_server: ServerProcess, path: str, model: type[QueryParams]
) -> None:
    op = httpx.get(f"{live_server.url}/openapi.json").json()["paths"][path]["get"]
    names = [p["name"] for p in op["parameters"] if p["in"] == "query"]
    assert len(names) == len(set(names)), names
    assert set(model.model_fields) <= set(names)
    assert "400" in op["responses"]
    documented = {p["name"]: p for p in op["parameters"]}
    for name, field in model.model_fields.items():
        assert documented[name]["required"] is False
        if field.description:
            assert documented[name]["description"] == field.description

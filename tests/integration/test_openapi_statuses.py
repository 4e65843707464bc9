"""Walk every route of the OpenAPI document and provoke its error answers (issue 9, item 14).

Each operation gets a request naming things that do not exist, and one with a malformed body or
query value; the status the server sends must be one the document lists for that operation,
and the document must list what FastAPI would otherwise get wrong: 400 (never 422) for bad
input and 404 where a path names a missing project, trace, span or cohort.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration
MISSING = {"span_id": "0123456789abcdef", "trace_id": "0" * 31 + "1"}


def _operations(server: ServerProcess) -> list[tuple[str, str, dict[str, Any]]]:
    doc = httpx.get(f"{server.url}/openapi.json").json()
    return [
        (method, path, op)
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if path != "/v1/traces"  # OTLP has its own bad-input suite
    ]


def _url(server: ServerProcess, path: str, project: str = "no-such-thing") -> str:
    names = {**MISSING, "project": project}
    filled = re.sub(r"\{(\w+)\}", lambda m: names.get(m.group(1), "no-such-thing"), path)
    return server.url + filled


@pytest.fixture(scope="module")
def project(live_server: ServerProcess) -> str:
    """A project that exists, so that a malformed query is checked before anything is found."""
    name = f"walk-{uuid.uuid4().hex[:8]}"
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=make_request([make_span("s")], name).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200
    return name


def _required_query(op: dict[str, Any]) -> dict[str, str]:
    out = {}
    for p in op.get("parameters", []):
        if p["in"] == "query" and p.get("required"):
            schema = p.get("schema", {})
            out[p["name"]] = str((schema.get("enum") or [schema.get("default", "x")])[0])
    return out


def test_no_operation_documents_422(live_server: ServerProcess) -> None:
    for method, path, op in _operations(live_server):
        assert "422" not in op["responses"], (method, path)


def test_missing_things_in_the_path_are_a_documented_404(live_server: ServerProcess) -> None:
    probed = 0
    for method, path, op in _operations(live_server):
        if "{" not in path or method != "get":
            continue
        r = httpx.request(method, _url(live_server, path), params=_required_query(op))
        assert str(r.status_code) in op["responses"], (method, path, r.status_code, r.text)
        if _required_query(op):
            continue
        probed += 1
        if "404" in op["responses"]:
            assert r.status_code == 404, (path, r.text)
            assert r.headers["content-type"] == "application/problem+json"
        else:  # documented as never 404: it lists or creates what the path names
            assert r.status_code < 300, (path, r.text)
    assert probed >= 8


def test_malformed_bodies_and_queries_are_a_documented_400(
    live_server: ServerProcess, project: str
) -> None:
    probed = 0
    for method, path, op in _operations(live_server):
        int_params = [
            p["name"]
            for p in op.get("parameters", [])
            if p["in"] == "query" and p.get("schema", {}).get("type") == "integer"
        ]
        if op.get("requestBody"):
            url = _url(live_server, path, project)
            r = httpx.request(method, url, json=[["not", "an", "object"]])
        elif int_params:
            params = {**_required_query(op), int_params[0]: "not-a-number"}
            r = httpx.request(method, _url(live_server, path, project), params=params)
        else:
            continue
        probed += 1
        assert r.status_code == 400, (method, path, r.status_code, r.text)
        assert "400" in op["responses"], (method, path)
        assert r.json()["errors"], (method, path)
    assert probed >= 4


def test_docs_pages_load_their_assets_from_the_server(live_server: ServerProcess) -> None:
    for page in ("/docs", "/redoc"):
        html = httpx.get(live_server.url + page).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), (page, asset)
            assert httpx.get(live_server.url + asset).status_code == 200, asset

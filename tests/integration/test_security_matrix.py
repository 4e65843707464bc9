"""The security matrix: every route of the app x (no key, wrong key, ingest, read, admin).

The routes are walked from the app itself (`flat_routes`, what the access layer matches on),
so a route added later is in the matrix without editing this file. A refusal must be the
access layer's (problem+json; 401 with ``WWW-Authenticate``, UI pages redirect to the login
page), and an allowed call must get past it (neither 401 nor 403) without a 5xx.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from llmpulse.server.access import INGEST_ROUTES, is_public
from llmpulse.server.app import create_app
from llmpulse.server.security import flat_routes, is_ui
from llmpulse.server.settings import ServerSettings
from support.keys import create_keys, otlp_body, post_otlp, wait_for_span
from support.server import ServerProcess, free_port

pytestmark = pytest.mark.integration
WRONG = "lp_000000000000_" + "x" * 43
CREDENTIALS = ("none", "wrong", "ingest", "read", "admin")


@dataclass
class Secured:
    """A server with keys, and the ids of data stored in it."""

    server: ServerProcess
    tokens: dict[str, str]
    trace_id: str
    span_id: str
    other_trace_id: str
    other_span_id: str


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    data_dir = tmp_path_factory.mktemp("secured") / "data"
    tokens = create_keys(
        data_dir,
        {
            "admin": ("admin", None),
            "read": ("read", None),
            "ingest": ("ingest", None),
            "shop-read": ("read", "shop"),
            "shop-ingest": ("ingest", "shop"),
        },
    )
    server = ServerProcess(data_dir, free_port(), free_port()).start()
    try:
        body, trace_id, spans = otlp_body("shop")
        assert post_otlp(server.url, tokens["admin"], body).status_code == 200
        other, other_trace, other_spans = otlp_body("other")
        assert post_otlp(server.url, tokens["admin"], other).status_code == 200
        wait_for_span(server.url, tokens["admin"], spans[-1])
        wait_for_span(server.url, tokens["admin"], other_spans[-1])
        r = httpx.put(
            f"{server.url}/api/v1/projects/shop/cohorts/c1",
            json={"expression": "model = 'x'"},
            headers={"authorization": f"Bearer {tokens['admin']}"},
        )
        assert r.status_code == 200, r.text
        yield Secured(server, tokens, trace_id, spans[0], other_trace, other_spans[0])
    finally:
        server.stop()


def app_routes() -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves (HEAD aside)."""
    app = create_app(ServerSettings(data_dir=None))
    out = []
    for info in flat_routes(app.router.routes):
        for method in sorted(info.methods or {"GET"}):
            if method != "HEAD":
                out.append((method, info.path))
    return out


ROUTES = app_routes()


def test_the_walk_finds_every_documented_route() -> None:
    app = create_app(ServerSettings(data_dir=None))
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert documented <= set(ROUTES)
    assert ("POST", "/ui/projects/{project}/cohorts") in ROUTES  # UI routes too
    assert len(ROUTES) >= 45


def fill(template: str, s: Secured) -> str:
    values = {
        "project": "shop",
        "trace_id": s.trace_id,
        "span_id": s.span_id,
        "name": "c1",
        "key_id": "000000000000",  # no such key: DELETE answers 404 past the access layer
        "rest:path": "style.css" if template.startswith("/ui/static") else "nowhere",
    }
    # A parameter no route had when this was written gets a value anyway, so new routes stay in.
    return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "unknown"), template)


def expected_allowed(credential: str, method: str, template: str) -> bool:
    if credential in ("none", "wrong"):
        return False
    if credential == "admin":
        return True
    if credential == "ingest":
        return (method, template) in INGEST_ROUTES
    return method == "GET"  # read


def call(s: Secured, credential: str, method: str, template: str) -> httpx.Response:
    headers = {}
    if credential == "wrong":
        headers["authorization"] = f"Bearer {WRONG}"
    elif credential != "none":
        headers["authorization"] = f"Bearer {s.tokens[credential]}"
    kwargs: dict[str, object] = {}
    if method in ("POST", "PUT"):
        if template.startswith("/ui/"):
            headers["content-type"] = "application/x-www-form-urlencoded"
            kwargs["content"] = b"name=&expression="
        else:
            kwargs["json"] = {}
    url = s.server.url + fill(template, s)
    if (method, template) == ("DELETE", "/api/v1/projects/{project}"):
        url = s.server.url + "/api/v1/projects/doomed"  # the walk must not delete "shop"
    return httpx.request(method, url, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("credential", CREDENTIALS)
@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_answers_each_credential_as_its_scope_says(
    secured: Secured, method: str, template: str, credential: str
) -> None:
    r = call(secured, credential, method, template)
    assert r.status_code < 500, r.text
    media = r.headers.get("content-type", "")
    refused_by_access = r.status_code in (401, 403) and (
        media.startswith("application/problem+json")
        or (template == "/v1/traces" and r.json()["code"] in (7, 16))  # google.rpc.Status
    )
    if is_public(fill(template, secured)):
        if credential == "none" and method == "POST" and is_ui(template):
            assert r.status_code == 403  # a browser's post: refused without the CSRF token
            assert "CSRF" in r.json()["detail"]
        else:
            assert not refused_by_access, r.text
        return
    if expected_allowed(credential, method, template):
        assert r.status_code not in (401, 403), r.text
        return
    if credential == "none" and method == "GET" and is_ui(template):
        assert r.status_code == 303, r.text
        assert r.headers["location"].startswith("/ui/login?next=")
        return
    want = 401 if credential in ("none", "wrong") else 403
    assert r.status_code == want, r.text
    assert refused_by_access, r.headers
    if want == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")
    else:
        assert "scope" in r.json()["detail"]


def _get(s: Secured, token: str, path: str) -> httpx.Response:
    return httpx.get(s.server.url + path, headers={"authorization": f"Bearer {token}"})


def test_project_key_sees_only_its_project(secured: Secured) -> None:
    token = secured.tokens["shop-read"]
    names = [p["name"] for p in _get(secured, token, "/api/v1/projects").json()["data"]]
    assert names == ["shop"]
    assert _get(secured, token, "/api/v1/projects/shop/spans").status_code == 200
    assert _get(secured, token, "/api/v1/projects/other/spans").status_code == 403
    assert _get(secured, token, f"/api/v1/traces/{secured.trace_id}").status_code == 200
    assert _get(secured, token, f"/api/v1/traces/{secured.other_trace_id}").status_code == 404
    assert _get(secured, token, f"/api/v1/spans/{secured.other_span_id}").status_code == 404
    other_annotations = f"/api/v1/spans/{secured.other_span_id}/annotations"
    assert _get(secured, token, other_annotations).status_code == 404
    assert _get(secured, token, f"/ui/traces/{secured.other_trace_id}").status_code == 404
    page = _get(secured, token, "/ui/projects").text
    assert "/ui/projects/shop" in page
    assert "/ui/projects/other" not in page
    prices = _get(secured, token, "/api/v1/prices")
    assert prices.status_code == 403
    assert "all projects" in prices.json()["detail"]


def test_project_key_reads_full_values_of_its_project_only(secured: Secured) -> None:
    """The ``truncated`` links of a listing work for a project key, on its project alone."""
    token = secured.tokens["shop-read"]
    own = _get(secured, token, f"/api/v1/spans/{secured.span_id}/value?field=attributes")
    assert own.status_code == 200, own.text
    assert own.json()["openinference.span.kind"] == "LLM"
    other = f"/api/v1/spans/{secured.other_span_id}/value?field=attributes"
    assert _get(secured, token, other).status_code == 404


def test_project_ingest_key_writes_only_its_project(secured: Secured) -> None:
    token = secured.tokens["shop-ingest"]
    body, _, _ = otlp_body("other")
    r = post_otlp(secured.server.url, token, body)
    assert r.status_code == 403
    assert "'shop'" in r.json()["detail"]
    unnamed, _, spans = otlp_body(None)
    assert post_otlp(secured.server.url, token, unnamed).status_code == 200
    stored = wait_for_span(secured.server.url, secured.tokens["read"], spans[0])
    assert stored["project"] == "shop"


def test_revoked_key_is_refused_within_the_cache_ttl(secured: Secured, tmp_path: Path) -> None:
    from llmpulse.clock import SystemClock
    from llmpulse.governance.keys import KeyService, key_id_of
    from llmpulse.store.datadir import DataDir
    from llmpulse.store.state.sql import SqlStateStore

    extra = create_keys(secured.server.data_dir, {"temp": ("read", None)})["temp"]
    assert _get(secured, extra, "/api/v1/projects").status_code == 200
    state = SqlStateStore(DataDir(secured.server.data_dir).state_url)
    try:
        key_id = key_id_of(extra)
        assert key_id is not None
        KeyService(state, SystemClock()).revoke(key_id)
    finally:
        state.close()
    deadline = time.monotonic() + 5
    while _get(secured, extra, "/api/v1/projects").status_code == 200:
        assert time.monotonic() < deadline, "revoked key still accepted after 5 s"
        time.sleep(0.2)
    assert _get(secured, extra, "/api/v1/projects").status_code == 401


def test_otlp_refusals_are_google_rpc_status_in_the_request_encoding(secured: Secured) -> None:
    from google.rpc import status_pb2

    url = f"{secured.server.url}/v1/traces"
    proto = {"content-type": "application/x-protobuf"}
    r = httpx.post(url, content=b"", headers=proto)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/x-protobuf"
    assert r.headers["www-authenticate"].startswith("Bearer")
    status = status_pb2.Status.FromString(r.content)
    assert status.code == 16  # UNAUTHENTICATED
    assert "API key" in status.message
    read = {**proto, "authorization": f"Bearer {secured.tokens['read']}"}
    r = httpx.post(url, content=b"", headers=read)
    assert r.status_code == 403
    assert status_pb2.Status.FromString(r.content).code == 7  # PERMISSION_DENIED
    r = httpx.post(url, json={}, headers={"authorization": f"Bearer {WRONG}"})
    assert r.status_code == 401
    assert r.json()["code"] == 16
    assert r.json()["detail"] == "the API key is unknown or revoked"

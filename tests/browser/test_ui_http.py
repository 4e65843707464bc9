"""UI pages over plain HTTP against a real server: redirects, statuses, escaping, assets."""

from __future__ import annotations

import secrets
from importlib import resources

import httpx
import pytest
from rag_traces import post_spans, rag_trace_spans

from support.server import ServerProcess

pytestmark = pytest.mark.integration

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def hostile_trace(live_server: ServerProcess) -> tuple[str, str]:
    """A trace whose question is markup, in a project of its own."""
    project = f"ui-http-{secrets.token_hex(4)}"
    ids, spans = rag_trace_spans("hostile-root", HOSTILE, "eu-west", 0)
    post_spans(live_server.url, project, spans)
    return project, ids.trace_id


def test_root_redirects_to_projects_when_requested(live_server: ServerProcess) -> None:
    r = httpx.get(live_server.url + "/", follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "/ui/projects"


def test_pages_escape_markup_when_spans_carry_html(
    live_server: ServerProcess, hostile_trace: tuple[str, str]
) -> None:
    project, trace_id = hostile_trace
    pages = [f"/ui/projects/{project}/traces", f"/ui/traces/{trace_id}"]
    for path in pages:
        r = httpx.get(live_server.url + path)
        assert r.status_code == 200, path
        assert HOSTILE not in r.text, path
        assert "&lt;script&gt;" in r.text, path


def test_trace_page_is_html_404_when_trace_unknown(live_server: ServerProcess) -> None:
    r = httpx.get(f"{live_server.url}/ui/traces/{secrets.token_hex(16)}")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Not found" in r.text


def test_traces_page_is_html_404_when_project_unknown(live_server: ServerProcess) -> None:
    r = httpx.get(f"{live_server.url}/ui/projects/no-such-{secrets.token_hex(4)}/traces")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "query",
    [
        "status=BROKEN",
        "kind=NOPE",
        "limit=0",
        "limit=abc",
        "cursor=not-a-cursor",
        "start=2025-13-01",
    ],
)
def test_traces_page_shows_error_when_filter_bad(
    live_server: ServerProcess, hostile_trace: tuple[str, str], query: str
) -> None:
    project, _ = hostile_trace
    r = httpx.get(f"{live_server.url}/ui/projects/{project}/traces?{query}")
    assert r.status_code == 400, r.text[:500]
    assert 'id="filter-errors"' in r.text


def test_static_assets_served_from_package_when_requested(live_server: ServerProcess) -> None:
    css = httpx.get(live_server.url + "/ui/static/style.css")
    js = httpx.get(live_server.url + "/ui/static/app.js")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert js.status_code == 200
    assert "DOMContentLoaded" in js.text


def test_package_resources_include_templates_and_static_when_installed() -> None:
    root = resources.files("llmpulse.ui")
    for name in ("base.html", "projects.html", "traces.html", "trace.html", "not_found.html"):
        assert (root / "templates" / name).is_file(), name
    for name in ("style.css", "app.js"):
        assert (root / "static" / name).is_file(), name

"""A real Chromium signs in with an API key, uses a form, and is not fooled by another origin."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import Page, expect

from support.keys import create_keys, otlp_body, post_otlp
from support.server import ServerProcess, free_port, running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def keyed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("ui-login") / "data"
    tokens = create_keys(data_dir, {"admin": ("admin", None), "read": ("read", None)})
    with running_server(data_dir) as server:
        yield server, tokens


def _project(server: ServerProcess, token: str) -> str:
    project = f"login-{uuid.uuid4().hex[:8]}"
    assert post_otlp(server.url, token, otlp_body(project)[0]).status_code == 200
    return project


def _cohorts(server: ServerProcess, token: str, project: str) -> set[str]:
    r = httpx.get(
        f"{server.url}/api/v1/projects/{project}/cohorts",
        headers={"authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    return {c["name"] for c in r.json()["data"]}


def _sign_in(page: Page, key: str) -> int:
    page.fill("#login-key", key)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("#login-form button[type=submit]")
    page.wait_for_load_state()
    return posted.value.status


def test_browser_signs_in_with_a_key_and_saves_a_cohort(
    page: Page, keyed: tuple[ServerProcess, dict[str, str]]
) -> None:
    server, tokens = keyed
    project = _project(server, tokens["admin"])
    cohorts_url = f"{server.url}/ui/projects/{project}/cohorts"
    page.goto(cohorts_url)
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    assert _sign_in(page, "lp_000000000000_" + "q" * 43) == 401
    expect(page.locator("#login-error")).to_contain_text("unknown or revoked")
    assert _sign_in(page, tokens["admin"]) == 303
    expect(page).to_have_url(cohorts_url)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["llmpulse_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    assert cookies["llmpulse_csrf"]["httpOnly"] is True
    page.fill("#c-name", "signed-in")
    page.fill("#c-expression", "model = 'gpt-4o'")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("#save-cohort")
    page.wait_for_load_state()
    assert posted.value.status == 303
    expect(page.locator("#cohorts-table tr[data-cohort=signed-in]")).to_have_count(1)
    assert _cohorts(server, tokens["admin"], project) == {"signed-in"}
    page.click("#logout-form button")
    expect(page).to_have_url(re.compile(r"/ui/login"))
    page.goto(cohorts_url)
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))


def test_read_key_session_sees_pages_but_cannot_save(
    page: Page, keyed: tuple[ServerProcess, dict[str, str]]
) -> None:
    server, tokens = keyed
    project = _project(server, tokens["admin"])
    page.goto(f"{server.url}/ui/login?next=/ui/projects/{project}/cohorts")
    assert _sign_in(page, tokens["read"]) == 303
    page.fill("#c-name", "not-allowed")
    page.fill("#c-expression", "model = 'x'")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("#save-cohort")
    assert posted.value.status == 403
    expect(page.locator("#forbidden-reason")).to_contain_text("lacks the 'admin' scope")
    assert _cohorts(server, tokens["admin"], project) == set()


@pytest.fixture
def evil_site() -> Iterator[tuple[str, list[str]]]:
    """A page on another origin (same host, other port) whose form posts to llmpulse."""
    pages: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages[0].encode()
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", pages
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_signed_in_browser_cannot_be_made_to_post_from_another_origin(
    page: Page, keyed: tuple[ServerProcess, dict[str, str]], evil_site: tuple[str, list[str]]
) -> None:
    server, tokens = keyed
    project = _project(server, tokens["admin"])
    page.goto(f"{server.url}/ui/login?next=/ui/projects/{project}/cohorts")
    assert _sign_in(page, tokens["admin"]) == 303
    evil_url, pages = evil_site
    pages.append(
        f"""<!doctype html><form id="f" method="post"
        action="{server.url}/ui/projects/{project}/cohorts">
        <input name="name" value="pwned"><input name="expression" value="model = 'x'">
        </form><script>document.getElementById('f').submit()</script>"""
    )
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.goto(evil_url)
    assert posted.value.status == 403
    assert _cohorts(server, tokens["admin"], project) == set()

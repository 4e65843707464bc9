"""The sessions and users pages in a real Chromium, on the demo data (issue 12, item 4)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from support.server import ServerProcess, running_demo_server

pytestmark = pytest.mark.browser
P = "rag-demo"
END = "2026-11-30T12:00:00+0000"  # the same spans on every run


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_demo_server(
        tmp_path_factory.mktemp("ui-sessions") / "data", days=1, end=END
    ) as server:
        yield server


def _api(server: ServerProcess, path: str, **params: Any) -> Any:
    r = httpx.get(f"{server.url}/api/v1/projects/{P}/{path}", params=params, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def _column(page: Page, cls: str) -> list[int]:
    return [int(t) for t in page.locator(f"#sessions-table tbody td.{cls}").all_inner_texts()]


def test_sessions_list_sorts_by_clicked_column_both_ways(page: Page, demo: ServerProcess) -> None:
    page.goto(f"{demo.url}/ui/projects/{P}/traces")
    page.locator("#nav-sessions").click()
    expect(page).to_have_url(re.compile(r"/sessions$"))
    rows = page.locator("#sessions-table tbody tr")
    expect(rows.first).to_be_visible()
    page.locator("a.sort-link[data-sort=turns]").click()
    expect(page).to_have_url(re.compile(r"sort=turns&order=desc"))
    turns = _column(page, "turns")
    assert turns == sorted(turns, reverse=True)
    assert turns[0] == _api(demo, "sessions", sort="turns", limit=1)["data"][0]["turns"]
    page.locator("a.sort-link[data-sort=turns]").click()  # a second click reverses
    expect(page).to_have_url(re.compile(r"sort=turns&order=asc"))
    assert _column(page, "turns") == sorted(_column(page, "turns"))
    page.locator("a.sort-link[data-sort=tokens]").click()
    expect(page).to_have_url(re.compile(r"sort=tokens&order=desc"))
    tokens = _column(page, "tokens")
    assert tokens == sorted(tokens, reverse=True)


def test_session_page_shows_the_conversation_with_links_to_traces(
    page: Page, demo: ServerProcess
) -> None:
    top = _api(demo, "sessions", sort="turns", limit=1)["data"][0]
    turns = _api(demo, f"sessions/{top['session_id']}")["turns"]
    page.goto(f"{demo.url}/ui/projects/{P}/sessions?sort=turns")
    page.locator("#sessions-table tbody tr").first.locator("a.session-link").click()
    expect(page.locator("#session-id")).to_have_text(top["session_id"])
    items = page.locator("#turns li.turn")
    expect(items).to_have_count(top["turns"])
    for i, t in enumerate(turns):
        # A failed turn has no output (null in the API, empty on the page).
        expect(items.nth(i).locator(".turn-input pre")).to_have_text(t["input_value"] or "")
        expect(items.nth(i).locator(".turn-output pre")).to_have_text(t["output_value"] or "")
    expect(page.locator("#session-summary")).to_contain_text(f"{top['total_tokens']} tokens")
    items.nth(0).locator("a.trace-link").click()
    expect(page).to_have_url(re.compile(rf"/ui/traces/{turns[0]['trace_id']}"))
    page.locator("#span-session-link").click()  # and back from the trace to its session
    expect(page.locator("#session-id")).to_have_text(top["session_id"])
    page.locator("#turns li.turn").nth(0).locator("a.trace-link").click()
    page.locator("#span-user-link").click()
    expect(page.locator("#user-id")).to_have_text(top["user_id"])


def test_users_page_and_a_users_sessions(page: Page, demo: ServerProcess) -> None:
    page.goto(f"{demo.url}/ui/projects/{P}/sessions")
    page.locator("#nav-users").click()
    page.locator("a.sort-link[data-sort=cost]").click()
    expect(page).to_have_url(re.compile(r"/users\?sort=cost&order=desc"))
    top = _api(demo, "users", sort="cost", limit=1)["data"][0]
    first = page.locator("#users-table tbody tr").first
    expect(first.locator("a.user-link")).to_have_text(top["user_id"])
    expect(first.locator("td.sessions")).to_have_text(str(top["sessions"]))
    first.locator("a.user-link").click()
    expect(page.locator("#user-id")).to_have_text(top["user_id"])
    expect(page.locator("#sessions-table tbody tr")).to_have_count(top["sessions"])
    expect(page.locator("#user-summary")).to_contain_text(f"{top['traces']} traces")


def test_unknown_session_and_user_are_friendly_404s(page: Page, demo: ServerProcess) -> None:
    for path in ("sessions/no-such-session", "users/no-such-user"):
        response = page.goto(f"{demo.url}/ui/projects/{P}/{path}")
        assert response is not None
        assert response.status == 404
        expect(page.locator("body")).to_contain_text("no-such-")

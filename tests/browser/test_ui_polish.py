"""What a daily user notices (issue 12 item 10): dark mode that follows the system, keyboard
navigation in tables, a favicon, and every page usable at 1280 px wide."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, Response, expect

from support.server import running_demo_server

pytestmark = pytest.mark.browser
PROJECT = "rag-demo"
END = "2026-12-04T16:00:00+0000"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server on one day of demo data ending at a fixed instant; yields its base URL."""
    with running_demo_server(
        tmp_path_factory.mktemp("ui-polish") / "data", days=1, end=END
    ) as server:
        yield server.url


def _pages(base: str) -> list[str]:
    """Every kind of UI page, with the variants that draw the widest content."""
    p = f"{base}/ui/projects/{PROJECT}"
    r = httpx.get(
        f"{base}/api/v1/projects/{PROJECT}/spans", params={"root_only": "true", "limit": 1}
    )
    span = r.json()["data"][0]
    sessions = httpx.get(f"{base}/api/v1/projects/{PROJECT}/sessions", params={"limit": 1})
    session = sessions.json()["data"][0]
    return [
        f"{base}/ui/projects",
        f"{p}/traces",
        f"{p}/traces?all=1&window=1h",
        f"{base}/ui/traces/{span['trace_id']}",
        f"{p}/dashboard",
        f"{p}/dashboard?split=model&split_metric=latency_ms:p95",
        f"{p}/segments",
        f"{p}/segments?discover=1&key=metadata.tier&key=metadata.region&key=model",
        f"{p}/changes",
        f"{p}/fairness",
        f"{p}/compare",
        f"{p}/cohorts",
        f"{p}/sessions",
        f"{p}/sessions/{session['session_id']}",
        f"{p}/users",
        f"{p}/users/{session['user_id']}",
    ]


def test_every_page_fits_1280_px_without_horizontal_scrolling(browser: Browser, demo: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        wide = {}
        for url in _pages(demo):
            response = page.goto(url)
            assert response is not None, url
            assert response.status == 200, url
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 1280:
                wide[url] = width
        assert not wide, wide
    finally:
        context.close()


def _background(page: Page, selector: str) -> str:
    color: str = page.locator(selector).first.evaluate("e => getComputedStyle(e).backgroundColor")
    return color


def _luminance(rgb: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", rgb)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_colours_follow_the_system_colour_scheme(browser: Browser, demo: str, scheme: str) -> None:
    context = browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.goto(f"{demo}/ui/projects/{PROJECT}/traces")
        for selector in ("body", "#traces", "#filters", "#f-model", ".grid thead th"):
            lum = _luminance(_background(page, selector))
            assert (lum < 60) if scheme == "dark" else (lum > 200), (selector, lum)
        ink = page.locator("body").evaluate("e => getComputedStyle(e).color")
        assert (_luminance(ink) > 180) if scheme == "dark" else (_luminance(ink) < 80)
    finally:
        context.close()


def test_favicon_is_served_and_no_page_asset_is_missing(page: Page, demo: str) -> None:
    r = httpx.get(f"{demo}/favicon.ico")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert r.content.startswith(b"<svg")
    failed: list[str] = []

    def note(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.status} {response.url}")

    page.on("response", note)
    page.goto(f"{demo}/ui/projects/{PROJECT}/dashboard")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon is not None
    assert httpx.get(f"{demo}{icon}").status_code == 200
    page.wait_for_load_state("networkidle")
    assert not failed, failed


def test_j_k_move_the_selection_enter_opens_and_esc_comes_back(page: Page, demo: str) -> None:
    page.goto(f"{demo}/ui/projects/{PROJECT}/traces")
    rows = page.locator("#traces tbody tr")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    selected = page.locator("#traces tbody tr.kb-selected")
    expect(selected).to_have_count(1)
    expect(rows.nth(1)).to_have_attribute("aria-selected", "true")
    href = rows.nth(1).get_attribute("data-href")
    assert href is not None
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(href.split("?")[0])))
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(rf"/ui/projects/{PROJECT}/traces$"))
    page.keyboard.press("j")
    expect(rows.first).to_have_class(re.compile(r"kb-selected"))
    page.keyboard.press("Escape")
    expect(page.locator("#traces tbody tr.kb-selected")).to_have_count(0)


def test_typing_in_a_filter_field_does_not_move_the_selection(page: Page, demo: str) -> None:
    page.goto(f"{demo}/ui/projects/{PROJECT}/traces")
    page.locator("#f-model").type("jk")
    expect(page.locator("#f-model")).to_have_value("jk")
    expect(page.locator("#traces tbody tr.kb-selected")).to_have_count(0)


def test_keyboard_works_in_the_sessions_table_too(page: Page, demo: str) -> None:
    page.goto(f"{demo}/ui/projects/{PROJECT}/sessions")
    page.keyboard.press("j")
    first = page.locator("#sessions-table tbody tr").first
    expect(first).to_have_class(re.compile(r"kb-selected"))
    session = first.get_attribute("data-session")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/sessions/{session}$"))

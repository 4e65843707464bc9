"""The project dashboard in a real headless Chromium against a real `llmpulse serve` process."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
import pytest
from analytics_data import AnalyticsProject, post_analytics_project
from playwright.sync_api import Page, expect

from support.server import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def data(live_server: ServerProcess) -> AnalyticsProject:
    """Twelve hours of traffic over three tiers, in a project of its own."""
    return post_analytics_project(live_server.url, "ui-dash")


def _url(d: AnalyticsProject, query: str = "") -> str:
    return f"{d.url}/ui/projects/{d.project}/dashboard" + (f"?{query}" if query else "")


def test_dashboard_draws_one_line_per_tier_when_split_by_tier(
    page: Page, data: AnalyticsProject, tmp_path: Path
) -> None:
    page.goto(_url(data, "split=metadata.tier&split_metric=latency_ms:p95"))
    split = page.locator("#chart-split")
    expect(split.locator("g.series")).to_have_count(3)
    expect(split.locator("path.line")).to_have_count(3)
    names = split.locator("g.series").evaluate_all("gs => gs.map(g => g.dataset.name).sort()")
    assert names == ["enterprise", "free", "pro"]
    expect(page.locator("#panel-split .legend li")).to_have_count(3)
    assert split.locator("text.xlabel").count() >= 3
    assert split.locator("text.ylabel").count() >= 3
    expect(page.locator("#panel-split h3")).to_contain_text("by metadata.tier")
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)


def test_dashboard_charts_every_panel_and_says_no_data_when_metric_is_empty(
    page: Page, data: AnalyticsProject
) -> None:
    page.goto(_url(data))
    expect(page.locator("#chart-latency g.series")).to_have_count(3)
    for panel in ("volume", "errors", "tokens", "cost", "feedback"):
        expect(page.locator(f"#chart-{panel} path.line")).to_have_count(1)
    evals = page.locator("#panel-evals")
    expect(evals.locator(".nodata")).to_have_text("no data")
    expect(evals.locator("svg")).to_have_count(0)
    expect(page.locator("#chart-split")).to_have_count(0)
    expect(page.locator("#window-facts")).to_contain_text("5m buckets")


def test_dashboard_uses_chosen_bucket_when_form_is_applied(
    page: Page, data: AnalyticsProject
) -> None:
    page.goto(_url(data))
    page.select_option("#d-bucket", "1h")
    page.click("#apply-dashboard")
    expect(page).to_have_url(re.compile(r"bucket=1h"))
    assert "split=" not in page.url  # app.js leaves blank fields out
    expect(page.locator("#window-facts")).to_contain_text("1h buckets")
    expect(page.locator("#chart-volume circle")).to_have_count(12)  # 00:00 … 11:00
    labels = page.locator("#chart-volume circle title").evaluate_all(
        "ts => ts.map(t => t.textContent)"
    )
    assert all(label.endswith(": 30") for label in labels), labels  # 30 traces per hour


def test_dashboard_is_reached_from_traces_and_links_to_segments(
    page: Page, data: AnalyticsProject
) -> None:
    page.goto(f"{data.url}/ui/projects/{data.project}/traces")
    page.click("#nav-dashboard")
    expect(page).to_have_url(re.compile(rf"/ui/projects/{data.project}/dashboard$"))
    page.locator("#panel-errors a.seglink").click()
    expect(page).to_have_url(re.compile(r"/segments\?metric=error%3Arate&key=metadata.tier"))
    # issue 15: the chart counts trace roots, so the linked page does too (same overall value)
    expect(page).to_have_url(re.compile(r"root_only=1"))
    expect(page.locator("#a-roots")).to_be_checked()
    expect(page.locator("#segments-table tbody tr")).to_have_count(3)


def test_dashboard_shows_error_with_400_when_window_is_unknown(
    live_server: ServerProcess, data: AnalyticsProject
) -> None:
    r = httpx.get(_url(data, "window=2w&split_metric=nope"))
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert "window" in r.text
    assert "page-errors" in r.text


def test_dashboard_is_404_page_when_project_unknown(live_server: ServerProcess) -> None:
    r = httpx.get(f"{live_server.url}/ui/projects/no-such-{secrets.token_hex(4)}/dashboard")
    assert r.status_code == 404
    assert "Not found" in r.text

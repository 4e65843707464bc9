"""The monitor page (chart with baseline, bounds and fired points; backtest form; history)
and the incidents page, in a real Chromium against a real server on demo data."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from support.demo_monitor import running_latency_monitor_server
from support.server import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_latency_monitor_server(tmp_path_factory.mktemp("ui-monitors")) as srv:
        deadline = time.monotonic() + 60  # the scheduler's first tick stores the series
        while time.monotonic() < deadline:
            rows = httpx.get(f"{srv.url}/api/v1/projects/rag-demo/incidents", timeout=30).json()
            if rows["data"]:
                break
            time.sleep(0.5)
        yield srv


def test_backtest_form_draws_the_spike_with_baseline_bounds_and_fired_points(
    server: ServerProcess, page: Page
) -> None:
    page.goto(f"{server.url}/ui/projects/rag-demo/monitors/llm-latency")
    expect(page.locator("#monitor-definition")).to_contain_text("latency_ms:p95 where kind=llm")
    page.fill("#b-start", "2026-11-19T12:00")
    page.fill("#b-end", "2026-11-20T00:00")
    page.select_option("#b-segment", "metadata.region=eu-west")
    page.click("#run-backtest")
    # The form is a GET: the range is in the URL, so the view can be shared.
    expect(page).to_have_url(re.compile(r"start=2026-11-19T12%3A00"))
    rows = page.locator("#would-fire tbody tr")
    spike = rows.filter(has_text="metadata.region=eu-west").filter(has_text="2026-11-19 18:")
    expect(spike).to_have_count(1)
    # The chart shows the segment that fired, with every line of the evidence.
    expect(page.locator("#b-segment")).to_have_value("metadata.region=eu-west")
    for name in ("value", "baseline", "upper bound", "fired"):
        expect(page.locator(f"#monitor-chart g.series[data-name='{name}']")).to_have_count(1)
    fired = page.locator("#monitor-chart g.series[data-name='fired'] circle title")
    expect(fired.filter(has_text="Nov 19 18:")).to_have_count(1)


def test_choosing_another_segment_redraws_it_without_fired_points(
    server: ServerProcess, page: Page
) -> None:
    page.goto(
        f"{server.url}/ui/projects/rag-demo/monitors/llm-latency"
        "?start=2026-11-19T17:00&end=2026-11-19T21:00&segment=metadata.region%3Dap-south"
    )
    expect(page.locator("#b-segment")).to_have_value("metadata.region=ap-south")
    expect(page.locator("#monitor-chart g.series[data-name='value'] circle")).not_to_have_count(0)
    expect(page.locator("#monitor-chart g.series[data-name='fired']")).to_have_count(0)


def test_a_bad_date_is_reported_on_the_page_not_a_500(server: ServerProcess, page: Page) -> None:
    response = page.goto(f"{server.url}/ui/projects/rag-demo/monitors/llm-latency?start=yesterday")
    assert response is not None
    assert response.status == 400
    expect(page.locator("#page-errors")).to_contain_text("start")


def test_incidents_page_lists_transitions_and_links_the_monitor(
    server: ServerProcess, page: Page
) -> None:
    page.goto(f"{server.url}/ui/projects/rag-demo/traces")
    page.click("#nav-incidents")
    expect(page.locator("#monitor-states")).to_contain_text("llm-latency")
    rows = page.locator("#incidents-table tbody tr")
    expect(rows.first).to_have_attribute("data-state", "no_data")  # the demo ended in November
    page.select_option("#i-state", "firing")
    page.click("#incidents-form button")
    expect(page.locator("#no-incidents")).to_be_visible()
    page.click("#monitor-states a")
    expect(page.locator("h1")).to_contain_text("llm-latency")
    expect(page.locator("#history tbody tr").first).to_contain_text("no_data")

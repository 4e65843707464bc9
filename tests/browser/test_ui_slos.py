"""SLO pages in a real Chromium against a real server (issue 11 item 8): the list sorted by
budget remaining, an SLO's attainment, burn-down chart, burn rates and alerts, the report."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from llmpulse.clock import SystemClock
from llmpulse.sdk.client import Client
from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def project(live_server: ServerProcess) -> str:
    """A request a second from 10 minutes ago to 10 minutes ahead, every other one failing
    (spans count once their start has passed, so the short windows never run dry while the
    tests run); three SLOs."""
    name = f"ui-slo-{uuid.uuid4().hex[:6]}"
    now_ns = int(SystemClock().now().timestamp() * 1e9)
    spans = [
        make_span("answer", start_ns=now_ns + int((i - 600) * 1e9), error=i % 2 == 0,
                  duration_ns=int(0.1e9))
        for i in range(1200)
    ]  # fmt: skip
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=make_request(spans, name).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200
    with Client(live_server.url) as client:
        client.put_slo(
            name,
            "fast",
            {"objective": 0.99, "window": "1d", "sli": {"type": "latency", "threshold_ms": 500}},
        )
        client.put_slo(
            name,
            "available",
            {
                "objective": 0.99,
                "window": "1d",
                "sli": {"type": "availability"},
                "description": "answers without errors",
            },
        )
        client.put_slo(
            name,
            "judged",
            {
                "objective": 0.9,
                "window": "1d",
                "sli": {"type": "quality", "annotation": "correctness", "min_score": 0.5},
            },
        )
    return name  # fmt: skip


def test_list_is_sorted_by_budget_remaining(
    page: Page, live_server: ServerProcess, project: str
) -> None:
    page.goto(f"{live_server.url}/ui/projects/{project}/slos")
    rows = page.locator("#slos-table tbody tr")
    expect(rows).to_have_count(3)
    # available: 50 % errors, far past its budget; fast: every request under 500 ms;
    # judged: no annotations, so no data (last).
    assert [rows.nth(i).get_attribute("data-slo") for i in range(3)] == [
        "available",
        "fast",
        "judged",
    ]
    available = page.locator("tr[data-slo='available']")
    expect(available.locator(".slo-status")).to_have_text("breached")
    expect(available.locator(".slo-firing")).to_contain_text("page")
    expect(page.locator("tr[data-slo='fast'] .slo-status")).to_have_text("healthy")
    expect(page.locator("tr[data-slo='fast'] .slo-remaining")).to_have_text("100.0 %")
    expect(page.locator("tr[data-slo='judged'] .slo-status")).to_have_text("insufficient data")
    expect(page.locator("#nav-slos")).to_have_class("on")


def test_slo_page_shows_attainment_chart_burn_rates_and_alerts(
    page: Page, live_server: ServerProcess, project: str
) -> None:
    page.goto(f"{live_server.url}/ui/projects/{project}/slos")
    page.locator("tr[data-slo='available'] .slo-link").click()
    expect(page.locator("#slo-status")).to_have_text("breached")
    # Half the requests failed so far (give or take the one still to come of a pair).
    expect(page.locator("#slo-attainment")).to_have_text(re.compile(r"^(49\.9|50\.0)\d\d %$"))
    expect(page.locator("#slo-remaining")).to_have_text(re.compile(r"^-4[89]\d\d\.\d %$"))
    expect(page.locator("svg#burn-down .series path.line")).to_have_count(1)
    windows = page.locator("#burn-windows tbody tr")
    assert windows.count() >= 4
    # 50 % errors against a 1 % budget: burn rate 50 (± one request in the 1-minute window)
    expect(windows.first.locator("td").nth(1)).to_have_text(
        re.compile(r"^(4[6-9](\.\d+)?|5[0-4](\.\d+)?)$")
    )
    expect(page.locator("#burn-rules tr[data-rule='page_quick'] .rule-firing")).to_be_visible()
    expect(page.locator("#slo-episodes tbody tr").first).to_contain_text("firing")
    page.locator("#report-link").click()
    expect(page.locator("#report-table tbody tr")).to_have_count(4)  # months: 3 back + now
    last = page.locator("#report-table tbody tr").last
    expect(last.locator("td").nth(1)).to_have_text(re.compile(r"^(49\.9|50\.0)\d\d %$"))
    expect(last.locator("td").nth(2)).to_have_text("no")
    expect(page.locator("#report-incidents tbody tr").first).to_contain_text("page")


def test_unknown_slo_is_a_404_page(page: Page, live_server: ServerProcess, project: str) -> None:
    response = page.goto(f"{live_server.url}/ui/projects/{project}/slos/nope")
    assert response is not None
    assert response.status == 404

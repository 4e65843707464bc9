"""Live refresh of the traces table and the dashboard, with spans ingested over real HTTP while
the page is open (issue 12 item 8)."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from rag_traces import post_spans

from support.server import ServerProcess

pytestmark = pytest.mark.browser
BASE_NS = 1_764_000_000_000_000_000  # 2025-11-24T16:00:00Z
S = 1_000_000_000


def _span(i: int, name: str = "answer") -> dict[str, Any]:
    """A single-span trace starting ``i`` seconds after BASE_NS."""
    start = BASE_NS + i * S
    return {
        "traceId": secrets.token_hex(16),
        "spanId": secrets.token_hex(8),
        "name": f"{name}-{i}",
        "kind": "SPAN_KIND_CLIENT",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 250_000_000),
        "attributes": [
            {"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
            {"key": "input.value", "value": {"stringValue": f"question {i}"}},
        ],
        "status": {"code": 1},
    }


def _names(page: Page) -> list[str]:
    return page.locator("#traces tbody tr .trace-link").all_inner_texts()


def test_new_spans_appear_on_top_and_what_the_reader_looks_at_stays_put(
    page: Page, live_server: ServerProcess
) -> None:
    project = f"ui-live-{secrets.token_hex(4)}"
    post_spans(live_server.url, project, [_span(i) for i in range(80)])
    page.goto(f"{live_server.url}/ui/projects/{project}/traces")
    rows = page.locator("#traces tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator("#match-count strong")).to_have_text("80")
    page.locator("#live-toggle").check()
    expect(page).to_have_url(re.compile(r"live=1"))
    page.evaluate("document.activeElement.blur()")  # j/k are not for the checkbox
    for _ in range(20):
        page.keyboard.press("j")  # select the 20th row
    selected = page.locator("#traces tbody tr.kb-selected")
    expect(selected).to_have_count(1)
    expect(selected.locator(".trace-link")).to_have_text("answer-60")
    page.evaluate("window.scrollTo(0, 500)")
    anchor = rows.filter(has=page.get_by_text("answer-49", exact=True))  # the 31st row
    before = anchor.evaluate("r => r.getBoundingClientRect().top")

    post_spans(live_server.url, project, [_span(i, "late") for i in (100, 101, 102)])

    expect(rows).to_have_count(53, timeout=15_000)
    assert _names(page)[:4] == ["late-102", "late-101", "late-100", "answer-79"]
    after = anchor.evaluate("r => r.getBoundingClientRect().top")
    assert abs(after - before) <= 1, (before, after)
    assert page.evaluate("window.scrollY") > 500  # scrolled by the height of the new rows
    expect(selected.locator(".trace-link")).to_have_text("answer-60")  # the selection stayed
    expect(page.locator("#match-count strong")).to_have_text("83")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ui/traces/"))
    expect(page.locator("h1")).to_have_text("answer-60")


def test_rows_arrive_at_the_top_when_the_reader_is_at_the_top(
    page: Page, live_server: ServerProcess
) -> None:
    project = f"ui-live-top-{secrets.token_hex(4)}"
    post_spans(live_server.url, project, [_span(i) for i in range(5)])
    page.goto(f"{live_server.url}/ui/projects/{project}/traces?live=1")
    expect(page.locator("#live-toggle")).to_be_checked()
    post_spans(live_server.url, project, [_span(50, "late")])
    expect(page.locator("#traces tbody tr").first.locator(".trace-link")).to_have_text(
        "late-50", timeout=15_000
    )
    assert page.evaluate("window.scrollY") == 0
    page.locator("#live-toggle").uncheck()
    expect(page).not_to_have_url(re.compile(r"live=1"))


def test_a_row_that_arrived_live_ticks_its_box_and_opens_like_the_others(
    page: Page, live_server: ServerProcess
) -> None:
    project = f"ui-live-tick-{secrets.token_hex(4)}"
    post_spans(live_server.url, project, [_span(i) for i in range(3)])
    page.goto(f"{live_server.url}/ui/projects/{project}/traces?live=1")
    post_spans(live_server.url, project, [_span(50, "late")])
    new_row = page.locator("#traces tbody tr.new-row")
    expect(new_row.locator(".trace-link")).to_have_text("late-50", timeout=15_000)
    page.locator("#live-toggle").uncheck()
    new_row.locator("input.row-select").click()  # ticks the box, does not open the trace
    expect(new_row.locator("input.row-select")).to_be_checked()
    expect(page).to_have_url(re.compile(r"/ui/projects/.+/traces"))
    new_row.locator("td").nth(2).click()  # a cell: the whole row opens its trace
    expect(page).to_have_url(re.compile(r"/ui/traces/"))
    expect(page.locator("h1")).to_have_text("late-50")


def test_dashboard_redraws_with_spans_ingested_while_it_is_open(
    page: Page, live_server: ServerProcess
) -> None:
    project = f"ui-live-dash-{secrets.token_hex(4)}"
    post_spans(live_server.url, project, [_span(i * 60) for i in range(30)])  # 30 minutes
    page.goto(f"{live_server.url}/ui/projects/{project}/dashboard")
    total = "ts => ts.reduce((n, t) => n + Number(t.textContent.split(': ').pop()), 0)"
    volume = page.locator("#chart-volume circle title")
    assert volume.evaluate_all(total) == 30
    facts = page.locator("#window-facts").inner_text()
    page.locator("#live-toggle").check()
    post_spans(live_server.url, project, [_span(1800 + i * 60) for i in range(10)])
    expect(page.locator("#window-facts")).not_to_have_text(facts, timeout=15_000)
    assert page.locator("#chart-volume circle title").evaluate_all(total) == 40

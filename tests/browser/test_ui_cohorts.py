"""The cohorts page and the what-changed page in a real Chromium against a real server."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from analytics_data import BASE_NS, MS, AnalyticsProject, post_analytics_project
from playwright.sync_api import Page, expect
from rag_traces import post_spans

from support.server import ServerProcess

pytestmark = pytest.mark.browser
CHANGE_SPANS = 720
CHANGE_STEP_MS = 40_000  # 720 spans over 8 hours
RECENT_FROM = 540  # the last 2 hours: spans 540..719
CHANGE_QUERY = (
    "metric=error:rate&key=metadata.tier&key=metadata.region&baseline=6h&current=2h&min_support=20"
)


@pytest.fixture(scope="module")
def data(live_server: ServerProcess) -> AnalyticsProject:
    """A project whose free tier is planted worse (30 % errors against about 2 %)."""
    return post_analytics_project(live_server.url, "ui-cohort")


def _attr(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _change_span(salt: str, i: int) -> dict[str, Any]:
    tier, region = ("free", "pro", "enterprise")[i % 3], ("us-east", "eu-west")[i % 2]
    planted = i >= RECENT_FROM and tier == "pro" and region == "eu-west"
    failed = (i // 6) % 2 == 0 if planted else i % 47 == 5
    start = BASE_NS + i * CHANGE_STEP_MS * MS
    return {
        "traceId": secrets.token_hex(16),
        "spanId": f"{salt}{i + 1:08x}",
        "name": f"answer-{tier}",
        "kind": "SPAN_KIND_CLIENT",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 500 * MS),
        "attributes": [
            _attr("openinference.span.kind", "LLM"),
            _attr("metadata", json.dumps({"tier": tier, "region": region})),
        ],
        "status": {"code": 2, "message": "upstream 500"} if failed else {"code": 1},
    }


@pytest.fixture(scope="module")
def changed(live_server: ServerProcess) -> AnalyticsProject:
    """Eight hours of spans; in the last two, ``pro`` ∧ ``eu-west`` fails half its requests."""
    salt = secrets.token_hex(4)
    project = f"ui-changes-{salt}"
    post_spans(live_server.url, project, [_change_span(salt, i) for i in range(CHANGE_SPANS)])
    return AnalyticsProject(live_server.url, project)


def _url(d: AnalyticsProject, page: str, query: str = "") -> str:
    return f"{d.url}/ui/projects/{d.project}/{page}" + (f"?{query}" if query else "")


def _saved(d: AnalyticsProject) -> set[str]:
    r = httpx.get(f"{d.url}/api/v1/projects/{d.project}/cohorts", timeout=10.0)
    assert r.status_code == 200, r.text
    return {c["name"] for c in r.json()["data"]}


def _save(page: Page, name: str, expression: str, description: str = "") -> int:
    page.fill("#c-name", name)
    page.fill("#c-expression", expression)
    page.fill("#c-description", description)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("#save-cohort")
    page.wait_for_load_state()
    return posted.value.status


def test_cohorts_form_saves_and_lists_cohort_when_expression_is_valid(
    page: Page, data: AnalyticsProject, tmp_path: Path
) -> None:
    page.goto(_url(data, "cohorts"))
    expect(page.locator("#nav-cohorts")).to_have_class(re.compile(r"\bon\b"))
    assert _save(page, "eu-free", "tier = 'free' and region in (eu-west)", "free EU users") == 303
    expect(page).to_have_url(_url(data, "cohorts"))
    row = page.locator("#cohorts-table tr[data-cohort=eu-free]")
    expect(row.locator(".cohort-expression")).to_have_text("tier = 'free' and region in (eu-west)")
    expect(row.locator(".cohort-conditions .chip")).to_have_text(
        ["metadata.tier = free", "metadata.region in (eu-west)"]
    )
    expect(row).to_contain_text("free EU users")
    assert "eu-free" in _saved(data)
    page.screenshot(path=str(tmp_path / "cohorts.png"), full_page=True)


def test_cohorts_form_shows_parse_error_and_saves_nothing_when_expression_is_bad(
    page: Page, data: AnalyticsProject
) -> None:
    page.goto(_url(data, "cohorts"))
    assert _save(page, "broken", "tier in free") == 400
    expect(page.locator("#page-errors")).to_contain_text("expression")
    expect(page.locator("#c-expression")).to_have_value("tier in free")
    expect(page.locator("#cohorts-table tr[data-cohort=broken]")).to_have_count(0)
    assert "broken" not in _saved(data)


def test_cohorts_delete_button_removes_cohort_when_clicked(
    page: Page, data: AnalyticsProject
) -> None:
    page.goto(_url(data, "cohorts"))
    assert _save(page, "short-lived", "version = v2") == 303
    row = page.locator("#cohorts-table tr[data-cohort=short-lived]")
    expect(row).to_have_count(1)
    row.locator("button.delete-cohort").click()
    expect(page).to_have_url(_url(data, "cohorts"))
    expect(page.locator("#cohorts-table tr[data-cohort=short-lived]")).to_have_count(0)
    assert "short-lived" not in _saved(data)


def test_cohort_segments_link_ranks_cohort_worse_when_its_error_rate_is_planted(
    page: Page, data: AnalyticsProject
) -> None:
    page.goto(_url(data, "cohorts"))
    assert _save(page, "free-tier", "tier = free") == 303
    page.locator("#cohorts-table tr[data-cohort=free-tier] a.segments-link").click()
    expect(page).to_have_url(re.compile(r"/segments\?metric=error%3Arate&key=cohort%3Afree-tier$"))
    first = page.locator("#segments-table tbody tr").first
    expect(first.locator("td.slice")).to_have_text("cohort:free-tier=in")
    expect(first.locator(".badge")).to_have_text("worse")
    expect(first.locator("td").nth(4)).to_have_text("30%")
    page.go_back()
    page.locator("#cohorts-table tr[data-cohort=free-tier] a.changes-link").click()
    expect(page).to_have_url(re.compile(r"/changes\?metric=error%3Arate&key=cohort%3Afree-tier$"))
    expect(page.locator("#current-window")).to_contain_text("360 spans")
    expect(page.locator("#page-errors")).to_have_count(0)


def test_changes_page_ranks_planted_slice_first_when_it_got_worse_recently(
    page: Page, changed: AnalyticsProject, tmp_path: Path
) -> None:
    page.goto(_url(changed, "changes", CHANGE_QUERY))
    expect(page.locator("#current-window")).to_contain_text("180 spans")
    expect(page.locator("#baseline-window")).to_contain_text("540 spans")
    rows = page.locator("#changes-table tbody tr")
    first = rows.first
    expect(first.locator("td").first).to_have_text("1")
    chips = first.locator("td.slice .chip")
    expect(chips).to_have_count(2)
    assert set(chips.all_inner_texts()) == {"metadata.tier=pro", "metadata.region=eu-west"}
    expect(first.locator(".badge")).to_have_text("worse")
    expect(first.locator("td").nth(4)).to_have_text("50%")  # 15 of its 30 recent spans fail
    parents = page.locator("#changes-table tbody tr.explained")
    expect(parents.first.locator(".explained-by")).to_contain_text("metadata.tier=pro")
    findings = page.locator("#changes-table tbody tr.flagged, #changes-table tbody tr.explained")
    assert not any("free" in t or "enterprise" in t for t in findings.all_inner_texts())
    # the other slices are listed too (issue 15: never silently skipped), none as a finding
    assert rows.count() > findings.count()
    page.screenshot(path=str(tmp_path / "changes.png"), full_page=True)


def test_changes_page_shows_error_when_duration_is_unreadable(
    page: Page, changed: AnalyticsProject
) -> None:
    response = page.goto(_url(changed, "changes", "metric=error:rate&current=soon"))
    assert response is not None
    assert response.status == 400
    expect(page.locator("#page-errors")).to_contain_text("current")


def test_segments_what_changed_link_keeps_metric_and_keys_when_clicked(
    page: Page, changed: AnalyticsProject
) -> None:
    page.goto(_url(changed, "segments", "metric=error:rate&key=metadata.region"))
    page.click("#what-changed")
    expect(page).to_have_url(re.compile(r"/changes\?metric=error%3Arate&key=metadata.region$"))
    expect(page.locator("#a-key")).to_have_value("metadata.region")
    expect(page.locator("#current-window")).to_be_visible()

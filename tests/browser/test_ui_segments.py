"""Segments, fairness and version comparison pages in a real Chromium against a real server."""

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
THUMBS_UP = "annotation.feedback.label%3Dthumbs_up%3Arate"


@pytest.fixture(scope="module")
def data(live_server: ServerProcess) -> AnalyticsProject:
    """A project whose free tier is planted worse, with two versions."""
    return post_analytics_project(live_server.url, "ui-seg")


def _url(d: AnalyticsProject, page: str, query: str = "") -> str:
    return f"{d.url}/ui/projects/{d.project}/{page}" + (f"?{query}" if query else "")


def test_segments_rank_planted_slice_first_when_comparing_error_rate(
    page: Page, data: AnalyticsProject, tmp_path: Path
) -> None:
    page.goto(_url(data, "segments", "metric=error:rate&key=metadata.tier"))
    rows = page.locator("#segments-table tbody tr")
    expect(rows).to_have_count(3)
    first = rows.first
    expect(first.locator("td.slice")).to_have_text("metadata.tier=free")
    expect(first.locator(".badge")).to_have_text("worse")
    expect(first.locator("td").first).to_have_text("1")
    expect(first.locator("td").nth(4)).to_have_text("30%")  # 36 of 120 fail
    bars = page.locator("#segment-chart g.bar")
    expect(bars).to_have_count(3)
    expect(bars.first).to_have_class(re.compile(r"\bworse\b"))
    expect(page.locator("#segment-chart line.reference")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "segments.png"), full_page=True)


def test_segments_drill_down_opens_traces_of_the_slice_when_row_link_clicked(
    page: Page, data: AnalyticsProject
) -> None:
    page.goto(_url(data, "segments", "metric=error:rate&key=metadata.tier"))
    page.locator("#segments-table tbody tr").first.locator("a.drill").click()
    expect(page).to_have_url(re.compile(r"/traces\?all=1&attr=metadata.tier%3Afree$"))
    names = page.locator("#traces tbody tr .trace-link")
    expect(names).to_have_count(50)
    assert set(names.all_inner_texts()) == {"answer-free"}


def test_segments_discovery_finds_planted_slice_when_given_several_keys(
    page: Page, data: AnalyticsProject
) -> None:
    query = "discover=1&metric=error:rate&key=metadata.tier&key=metadata.region&key=version"
    page.goto(_url(data, "segments", query))
    expect(page.locator("#a-discover")).to_be_checked()
    first = page.locator("#segments-table tbody tr").first
    expect(first.locator("td.slice")).to_contain_text("metadata.tier=free")
    expect(first.locator(".badge")).to_have_text("worse")


def test_fairness_flags_planted_group_when_it_fails_four_fifths(
    page: Page, data: AnalyticsProject, tmp_path: Path
) -> None:
    page.goto(_url(data, "fairness", f"metric={THUMBS_UP}&key=metadata.tier"))
    free = page.locator("#fairness-table tbody tr[data-group=free]")
    expect(free).to_have_class(re.compile(r"\bflagged\b"))
    expect(free.locator(".badge")).to_have_text("fails 4/5")
    expect(free.locator("td").nth(3)).to_have_text("40%")
    expect(page.locator("#fairness-table tr.flagged")).to_have_count(1)
    expect(page.locator("#four-fifths")).to_contain_text("fails: free")
    expect(page.locator("#fairness-table circle.point")).to_have_count(3)
    with page.expect_download() as info:
        page.click("#download-csv")
    csv_path = tmp_path / "fairness.csv"
    info.value.save_as(csv_path)
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("group,n,selected,selection_rate")
    assert len(lines) == 4
    assert any(line.startswith("free,120,48,0.4") for line in lines)


def test_fairness_marks_groups_suppressed_when_below_min_support(
    page: Page, data: AnalyticsProject
) -> None:
    page.goto(_url(data, "fairness", f"metric={THUMBS_UP}&key=metadata.tier&min_support=121"))
    badges = page.locator("#fairness-table tbody .badge")
    expect(badges).to_have_count(3)
    assert set(badges.all_inner_texts()) == {"suppressed (low n)"}
    expect(page.locator("#fairness-table tr.flagged")).to_have_count(0)


def test_fairness_json_link_returns_the_rest_report(page: Page, data: AnalyticsProject) -> None:
    page.goto(_url(data, "fairness", f"metric={THUMBS_UP}&key=metadata.tier"))
    href = page.locator("#download-json").get_attribute("href")
    assert href is not None
    body = httpx.get(data.url + href).json()
    assert body["key"] == "metadata.tier"
    assert {g["group"] for g in body["groups"] if g["passes_four_fifths"] is False} == {"free"}


def test_compare_shows_hold_signal_when_candidate_is_slower(
    page: Page, data: AnalyticsProject, tmp_path: Path
) -> None:
    page.goto(_url(data, "compare"))
    expect(page.locator("#a-baseline")).to_have_value("v1")
    expect(page.locator("#a-candidate")).to_have_value("v2")
    # 180 requests per version hold 9 beyond a p95: too few to compare it (METHODS §4.5)
    p95 = page.locator("#compare-table tr[data-metric='latency_ms:p95']")
    expect(p95.locator(".verdict")).to_have_text("insufficient data")
    expect(page.locator("#signal")).to_have_attribute("data-signal", "insufficient_data")
    expect(page.locator("#compare-window")).to_contain_text("unit of analysis: trace")
    metrics = "metric=latency_ms:p90&metric=error:rate&metric=cost_usd:mean"
    page.goto(_url(data, "compare", f"key=version&baseline=v1&candidate=v2&{metrics}"))
    expect(page.locator("#signal")).to_have_attribute("data-signal", "hold")
    expect(page.locator("#signal .word")).to_have_text(re.compile("hold", re.I))
    latency = page.locator("#compare-table tr[data-metric='latency_ms:p90']")
    expect(latency.locator(".verdict")).to_have_text("worse")
    expect(page.locator("#compare-table tbody tr")).to_have_count(3)
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)


def test_compare_swapped_versions_promote_when_candidate_is_faster(
    page: Page, data: AnalyticsProject
) -> None:
    page.goto(_url(data, "compare", "key=version&baseline=v2&candidate=v1&metric=latency_ms:p90"))
    expect(page.locator("#signal")).to_have_attribute("data-signal", "promote")
    row = page.locator("#compare-table tr[data-metric='latency_ms:p90']")
    expect(row.locator(".verdict")).to_have_text("better")


@pytest.mark.parametrize(
    ("page_name", "query", "field"),
    [
        ("segments", "metric=latency_ms:p42", "metric"),
        ("segments", "metric=error:rate&min_support=0", "min_support"),
        ("segments", "metric=error:rate&window=2w", "window"),
        ("fairness", "metric=latency_ms:p95&key=metadata.tier", "metric"),
        ("fairness", f"metric={THUMBS_UP}&threshold=2", "threshold"),
        ("compare", "baseline=v1&candidate=v1", "candidate"),
        ("compare", "baseline=v1&candidate=v2&metric=nope:mean", "metric[0]"),
    ],
)
def test_analysis_pages_show_error_with_400_when_parameters_are_bad(
    data: AnalyticsProject, page_name: str, query: str, field: str
) -> None:
    r = httpx.get(_url(data, page_name, query))
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert 'id="page-errors"' in r.text
    assert f"{field}:" in r.text


@pytest.mark.parametrize("page_name", ["segments", "fairness", "compare"])
def test_analysis_pages_are_404_when_project_unknown(
    live_server: ServerProcess, page_name: str
) -> None:
    r = httpx.get(f"{live_server.url}/ui/projects/nope-{secrets.token_hex(4)}/{page_name}")
    assert r.status_code == 404
    assert "Not found" in r.text

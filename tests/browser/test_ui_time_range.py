"""The time-range picker, chart zoom and chart drill-down in a real browser on the demo data.

Issue 12 item 2 and its acceptance: the range is chosen once and every page honours it; a
drag across a chart zooms to what was dragged; a click on a chart point opens the traces of
that bucket; the planted latency spike is one click from its point on the dashboard and the
slowest trace of the last day two clicks from the home page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from analytics_data import post_analytics_project
from playwright.sync_api import Page, expect

from llmpulse.demo.incidents import plan_incidents
from support.server import ServerProcess, running_demo_server

pytestmark = pytest.mark.browser
PROJECT = "rag-demo"
END = "2026-12-04T16:00:00+0000"
PAGES = ("traces", "sessions", "users", "dashboard", "segments", "fairness", "cohorts", "compare")


@dataclass(frozen=True)
class Demo:
    """The server and the demo's last span time."""

    url: str
    last_seen: datetime

    def page(self, name: str, query: str = "") -> str:
        return f"{self.url}/ui/projects/{PROJECT}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Two days of demo data ending at a fixed instant (the spike is 30 h before it)."""
    data_dir = tmp_path_factory.mktemp("ui-range") / "data"
    with running_demo_server(data_dir, days=2, end=END) as server:
        projects = httpx.get(f"{server.url}/api/v1/projects").json()["data"]
        last = next(p for p in projects if p["name"] == PROJECT)["last_seen"]
        yield Demo(server.url, datetime.fromisoformat(last))


def _count(demo: Demo, start: datetime | None, end: datetime | None, **params: str) -> int:
    query: dict[str, Any] = {"total": "true", "limit": 1, **params}
    if start is not None:
        query["start"] = start.isoformat()
    if end is not None:
        query["end"] = end.isoformat()
    r = httpx.get(f"{demo.url}/api/v1/projects/{PROJECT}/spans", params=query, timeout=30)
    assert r.status_code == 200, r.text
    total: int = r.json()["total"]
    return total


def _last(demo: Demo, hours: float) -> tuple[datetime, datetime]:
    """The bounds of the preset ``hours`` window: it ends just after the last span."""
    end = demo.last_seen + timedelta(milliseconds=1)
    return end - timedelta(hours=hours), end


def _int(text: str) -> int:
    return int(text.replace(",", "").strip())


def _titles(page: Page, selector: str) -> list[str]:
    """The text of SVG ``<title>``s (not HTML elements, so no inner text)."""
    texts: list[str] = page.locator(selector).evaluate_all("ts => ts.map(t => t.textContent)")
    return texts


def _volume(page: Page) -> int:
    """The sum of the request-volume chart's points."""
    return sum(_int(t.rsplit(":", 1)[1]) for t in _titles(page, "#chart-volume circle title"))


def _numbers(texts: list[str]) -> int:
    """The sum of every whole number in the texts (``1,234 / 987`` counts both)."""
    return sum(_int(n) for t in texts for n in re.findall(r"\d[\d,]*", t))


def test_picker_is_on_every_project_page_and_the_tabs_carry_the_range(
    page: Page, demo: Demo
) -> None:
    page.goto(demo.page("traces"))
    page.locator("#range-6h").click()
    expect(page).to_have_url(re.compile(r"window=6h"))
    expect(page.locator("#range-6h")).to_have_attribute("aria-current", "true")
    for name in PAGES[1:]:
        page.locator(f"#nav-{name}").click()
        expect(page).to_have_url(re.compile(rf"/{name}\?window=6h$"))
        expect(page.locator("#time-picker")).to_be_visible()
        expect(page.locator("#range-6h")).to_have_attribute("aria-current", "true")
    page.goto(f"{demo.url}/ui/projects")
    expect(page.locator("#time-picker")).to_be_visible()


def test_traces_table_counts_only_the_chosen_range(page: Page, demo: Demo) -> None:
    page.goto(demo.page("traces"))
    everything = _int(page.locator("#match-count strong").inner_text())
    page.locator("#range-1h").click()
    start, end = _last(demo, 1)
    expected = _count(demo, start, end, root_only="true")
    expect(page.locator("#match-count strong")).to_have_text(str(expected))
    assert 0 < expected < everything
    page.locator("#range-all").click()
    expect(page.locator("#match-count strong")).to_have_text(str(everything))


def test_absolute_range_is_typed_in_the_picker_and_kept_with_other_filters(
    page: Page, demo: Demo
) -> None:
    page.goto(demo.page("traces", "status=ERROR"))
    page.locator("#range-start").fill("2026-12-03T10:00:00.000")
    page.locator("#range-end").fill("2026-12-03T12:00:00.000")
    page.locator("#range-apply").click()
    expect(page).to_have_url(re.compile(r"status=ERROR"))
    expect(page).to_have_url(re.compile(r"start=2026-12-03T10%3A00"))
    start = datetime.fromisoformat("2026-12-03T10:00:00+00:00")
    expected = _count(demo, start, start + timedelta(hours=2), root_only="true", status="ERROR")
    expect(page.locator("#match-count strong")).to_have_text(str(expected))
    expect(page.locator("#f-start")).to_have_value(re.compile(r"^2026-12-03T10:00"))


def test_dashboard_volume_adds_up_to_the_traces_of_the_chosen_range(page: Page, demo: Demo) -> None:
    page.goto(demo.page("dashboard"))
    page.locator("#range-6h").click()
    expect(page.locator("#window-facts")).to_contain_text("5m buckets")
    shown = _volume(page)
    start, end = _last(demo, 6)
    assert shown == _count(demo, start, end, root_only="true")
    page.locator("#range-24h").click()
    expect(page.locator("#window-facts")).to_contain_text("5m buckets")
    more = _volume(page)
    assert more == _count(demo, *_last(demo, 24), root_only="true") > shown


@pytest.mark.parametrize(
    ("name", "figure"),
    [
        ("segments", "#segments-table tbody tr td:nth-child(3)"),
        ("fairness", "#fairness-table tbody tr td:nth-child(2)"),
        ("compare", "#compare-table tbody tr td:nth-child(11)"),
        ("sessions", "#sessions-table tbody tr td.turns"),
        ("users", "#users-table tbody tr td.traces"),
    ],
)
def test_analysis_page_figures_shrink_with_the_range(
    page: Page, demo: Demo, name: str, figure: str
) -> None:
    """The same page over the whole window and over the last hour: smaller counts."""
    page.goto(demo.page(name))
    cells = page.locator(figure)
    expect(cells.first).to_be_visible()
    everything = _numbers(cells.all_inner_texts())
    page.locator("#range-1h").click()
    expect(page).to_have_url(re.compile(r"window=1h"))
    expect(page.locator("#range-resolved")).to_contain_text(
        (demo.last_seen - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    )
    recent = _numbers(page.locator(figure).all_inner_texts())
    assert 0 < recent < everything


def test_segments_total_is_the_span_count_of_the_range(page: Page, demo: Demo) -> None:
    page.goto(demo.page("segments", "window=6h"))
    total = page.locator(".stat", has_text="Spans with the field").locator(".v")
    expect(total).to_have_text(f"{_count(demo, *_last(demo, 6)):,}")


def test_changes_compares_the_chosen_range_with_the_baseline_before_it(
    page: Page, demo: Demo
) -> None:
    page.goto(demo.page("changes", "start=2026-12-03T09:00:00&end=2026-12-03T13:00:00"))
    expect(page.locator("#current-window")).to_contain_text(
        "2026-12-03 09:00 UTC → 2026-12-03 13:00 UTC"
    )
    expect(page.locator("#baseline-window")).to_contain_text("→ 2026-12-03 09:00 UTC")
    start = datetime.fromisoformat("2026-12-03T09:00:00+00:00")
    n = _count(demo, start, start + timedelta(hours=4))
    expect(page.locator("#current-window")).to_contain_text(f"{n:,} spans")


def test_dragging_across_a_chart_zooms_every_chart_to_the_dragged_span(
    page: Page, demo: Demo
) -> None:
    page.goto(demo.page("dashboard"))
    svg = page.locator("#chart-volume")
    box = svg.bounding_box()
    assert box is not None
    left, right = (
        float(svg.get_attribute("data-x-left") or 0),
        float(svg.get_attribute("data-x-right") or 0),
    )
    scale = box["width"] / float((svg.get_attribute("viewBox") or "").split()[2])
    t_left = datetime.fromisoformat(svg.get_attribute("data-t-left") or "")
    t_right = datetime.fromisoformat(svg.get_attribute("data-t-right") or "")
    x_from = box["x"] + (left + (right - left) * 0.25) * scale
    x_to = box["x"] + (left + (right - left) * 0.5) * scale
    y = box["y"] + box["height"] / 2
    page.mouse.move(x_from, y)
    page.mouse.down()
    page.mouse.move(x_to, y, steps=8)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"start=.*end="))
    query = parse_qs(urlparse(page.url).query)
    start = datetime.fromisoformat(query["start"][0] + "+00:00")
    end = datetime.fromisoformat(query["end"][0] + "+00:00")
    quarter = (t_right - t_left) / 4
    assert abs(start - (t_left + quarter)) < timedelta(minutes=30)
    assert abs(end - (t_left + 2 * quarter)) < timedelta(minutes=30)
    expect(page.locator("#range-start")).to_have_value(query["start"][0])
    assert _volume(page) == _count(demo, start, end, root_only="true")


def test_planted_latency_spike_is_one_click_from_its_point(page: Page, demo: Demo) -> None:
    spike = next(i for i in plan_incidents(datetime.fromisoformat(END)) if i.kind == "latency")
    page.goto(demo.page("dashboard"))
    p99 = page.locator('#chart-latency g.series[data-name="p99"] a.point')
    ys = p99.locator("circle").evaluate_all("cs => cs.map(c => Number(c.getAttribute('cy')))")
    top = p99.nth(ys.index(min(ys)))  # the highest point (SVG y grows downwards)
    label = top.locator("title").evaluate("t => t.textContent")
    at = datetime.strptime(f"2026 {label.split(' · ')[0]} +0000", "%Y %b %d %H:%M %z")
    assert spike.start <= at < spike.end, label
    top.click()
    expect(page).to_have_url(re.compile(r"/traces\?.*start=.*sort=latency&order=desc"))
    rows = page.locator("#traces tbody tr")
    expect(rows.first).to_be_visible()
    # The slowest traces of that bucket are the spike's: their LLM span ran in eu-west.
    slow = rows.evaluate_all("rs => rs.slice(0, 10).map(r => r.dataset.traceId)")
    r = httpx.get(
        f"{demo.url}/api/v1/projects/{PROJECT}/spans",
        params={"name": "generate", "attr": "metadata.region:eu-west", "limit": 1000,
                "start": spike.start.isoformat(), "end": spike.end.isoformat()},
        timeout=30,
    )  # fmt: skip
    spiked = {s["trace_id"] for s in r.json()["data"]}
    assert len(slow) == 10
    assert set(slow) <= spiked


def test_slowest_trace_of_the_last_day_is_two_clicks_from_home(page: Page, demo: Demo) -> None:
    start, end = _last(demo, 24)
    r = httpx.get(
        f"{demo.url}/api/v1/projects/{PROJECT}/spans",
        params={"root_only": "true", "sort": "latency", "limit": 1,
                "start": start.isoformat(), "end": end.isoformat()},
    )  # fmt: skip
    slowest = r.json()["data"][0]["trace_id"]
    page.goto(demo.url)
    page.locator("#projects tr", has_text=PROJECT).locator(".slowest-link").click()  # 1
    page.locator("#traces tbody tr").first.locator(".trace-link").click()  # 2
    expect(page).to_have_url(re.compile(rf"/ui/traces/{slowest}"))


def test_a_split_chart_point_opens_its_segments_traces_in_its_bucket(
    page: Page, live_server: ServerProcess
) -> None:
    data = post_analytics_project(live_server.url, "ui-drill")
    page.goto(
        f"{data.url}/ui/projects/{data.project}/dashboard"
        "?window=6h&split=metadata.tier&split_metric=latency_ms:p95"  # free: 3x slower, apart
    )
    free = page.locator('#chart-split g.series[data-name="free"] a.point')
    expect(free.first).to_be_visible()
    point = free.nth(2)
    point.click()
    expect(page).to_have_url(re.compile(r"/traces\?.*attr=metadata.tier%3Afree.*start="))
    query = parse_qs(urlparse(page.url).query)
    start = datetime.fromisoformat(query["start"][0] + "+00:00")
    end = datetime.fromisoformat(query["end"][0] + "+00:00")
    assert end - start == timedelta(minutes=5)
    names = set(page.locator("#traces tbody tr .trace-link").all_inner_texts())
    assert names == {"answer-free"}
    r = httpx.get(
        f"{data.url}/api/v1/projects/{data.project}/spans",
        params={"attr": "metadata.tier:free", "start": start.isoformat(),
                "end": end.isoformat(), "total": "true", "limit": 1},
    )  # fmt: skip
    expect(page.locator("#match-count strong")).to_have_text(str(r.json()["total"]))


def test_page_forms_keep_the_range_when_applied(page: Page, demo: Demo) -> None:
    page.goto(demo.page("dashboard", "window=6h"))
    page.select_option("#d-bucket", "1h")
    page.click("#apply-dashboard")
    expect(page).to_have_url(re.compile(r"window=6h.*bucket=1h|bucket=1h.*window=6h"))
    expect(page.locator("#window-facts")).to_contain_text("1h buckets")
    page.goto(demo.page("segments", "window=1h"))
    page.locator("#a-metric").fill("latency_ms:p95")
    page.click("#run-segments")
    expect(page).to_have_url(re.compile(r"window=1h"))
    expect(page.locator("#range-1h")).to_have_attribute("aria-current", "true")


@pytest.mark.parametrize("name", [*(p for p in PAGES if p != "cohorts"), "changes"])
@pytest.mark.parametrize(
    ("query", "field"),
    [("window=2w", "window"), ("start=yesterday", "start"),
     ("start=2026-12-04T10:00&end=2026-12-04T09:00", "end")],
)  # fmt: skip
def test_an_unreadable_range_is_a_400_page_naming_the_field(
    demo: Demo, name: str, query: str, field: str
) -> None:
    r = httpx.get(demo.page(name, query), timeout=30)
    assert r.status_code == 400, (name, query, r.status_code)
    assert r.headers["content-type"].startswith("text/html")
    assert f"{field}:" in r.text or f"{field} " in r.text, r.text[-2000:]


def test_the_traces_page_shows_the_bounds_of_a_preset(page: Page, demo: Demo) -> None:
    page.goto(demo.page("traces", "window=15m"))
    start, end = _last(demo, 0.25)
    expect(page.locator("#range-resolved")).to_have_text(
        f"{start.strftime('%Y-%m-%d %H:%M:%S')}.{start.microsecond // 1000:03d} UTC → "
        f"{end.strftime('%Y-%m-%d %H:%M:%S')}.{end.microsecond // 1000:03d} UTC"
    )


def test_export_of_a_preset_range_exports_that_range(page: Page, demo: Demo) -> None:
    page.goto(demo.page("traces", "window=1h&status=OK"))
    href = page.locator("#export-jsonl").get_attribute("href")
    assert href is not None
    assert "window=" not in href
    r = httpx.get(f"{demo.url}{href}", timeout=60)
    assert r.status_code == 200, r.text
    lines = [line for line in r.text.splitlines() if line.strip()]
    expect(page.locator("#match-count strong")).to_have_text(str(len(lines)))
    assert len(lines) < _count(demo, None, None, root_only="true")

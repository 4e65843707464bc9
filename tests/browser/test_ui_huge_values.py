"""A span with 20 MB values: its trace page and listings stay small, and link to the full value.

Issue 9, item 11.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, expect

from llmpulse.query.clip import MAX_CHARS
from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.browser
HUGE = 20 * 1024 * 1024


@dataclass(frozen=True)
class Huge:
    url: str
    project: str
    trace_id: str
    span_id: str


@pytest.fixture(scope="module")
def huge(live_server: ServerProcess) -> Huge:
    """One trace whose LLM span has a 20 MB attribute and a 5 MB input value."""
    project = f"ui-huge-{secrets.token_hex(4)}"
    span = make_span(
        "llm",
        attrs={
            "big.blob": "b" * HUGE,
            "input.value": "i" * (5 * 1024 * 1024),
            "session.id": "s" * 1_000_000,
            "small": "ok",
        },
    )
    r = httpx.post(
        f"{live_server.url}/v1/traces",
        content=make_request([span], project).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return Huge(live_server.url, project, span.trace_id.hex(), span.span_id.hex())


def test_trace_page_of_a_20mb_attribute_is_small_and_links_to_the_full_value(
    page: Page, huge: Huge
) -> None:
    response = page.goto(f"{huge.url}/ui/traces/{huge.trace_id}")
    assert response is not None
    assert response.status == 200
    assert len(response.body()) < 200_000
    cell = page.locator("#attributes tr", has_text="big.blob")
    expect(cell).to_have_count(1)
    link = cell.locator("a.more-link")
    expect(link).to_have_attribute("data-full-value", "attributes/big.blob")
    expect(page.locator("#input-value a.more-link")).to_have_count(1)
    expect(page.locator("#attributes tr", has_text="small").locator("a.more-link")).to_have_count(0)
    expect(page.locator("#span-summary a.more-link")).to_have_attribute(
        "data-full-value", "session_id"
    )
    href = link.get_attribute("href")
    assert href is not None
    full = httpx.get(huge.url + href, timeout=60)
    assert full.status_code == 200
    assert full.headers["content-type"].startswith("text/plain")
    assert len(full.text) == HUGE


def test_json_listings_cut_huge_values_and_say_where_the_full_value_is(huge: Huge) -> None:
    r = httpx.get(f"{huge.url}/api/v1/projects/{huge.project}/spans", timeout=60)
    assert r.status_code == 200
    assert len(r.content) < 100_000
    (span,) = r.json()["data"]
    assert span["attributes"]["big.blob"] == "b" * MAX_CHARS + "…"
    assert span["attributes"]["small"] == "ok"
    cut = {(t["field"], t["key"]): t["url"] for t in span["truncated"]}
    assert set(cut) == {
        ("attributes", "big.blob"),
        ("attributes", "session.id"),  # the attribute is kept beside the typed column
        ("input_value", None),
        ("session_id", None),
    }
    full = httpx.get(huge.url + cut[("input_value", None)], timeout=60)
    assert len(full.text) == 5 * 1024 * 1024
    trace = httpx.get(f"{huge.url}/api/v1/traces/{huge.trace_id}", timeout=60)
    assert trace.status_code == 200
    assert len(trace.content) < 100_000
    assert trace.json()["roots"][0]["span"]["truncated"] == span["truncated"]


def test_full_value_route_answers_404_and_400_naming_the_problem(huge: Huge) -> None:
    base = f"{huge.url}/api/v1/spans/{huge.span_id}/value"
    missing = httpx.get(base, params={"field": "attributes", "key": "nope"})
    assert missing.status_code == 404
    bad = httpx.get(base, params={"field": "password"})
    assert bad.status_code == 400
    assert "field" in bad.json()["detail"]
    whole = httpx.get(base, params={"field": "attributes", "key": "small"})
    assert whole.text == "ok"


def test_traces_list_page_stays_small(page: Page, huge: Huge) -> None:
    response = page.goto(f"{huge.url}/ui/projects/{huge.project}/traces")
    assert response is not None
    assert response.status == 200
    assert len(response.body()) < 200_000
    expect(page.locator("#traces tbody tr")).to_have_count(1)

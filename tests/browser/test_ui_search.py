"""Search in a real browser on the demo data: type a phrase, see the matches marked, drill in."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from support.server import running_demo_server

pytestmark = pytest.mark.browser
PROJECT = "rag-demo"
END = "2026-11-30T12:00:00+0000"
PHRASE = "reverse-charge"  # in one knowledge-base passage: retrieved documents (and answers)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server on one day of demo data; yields its base URL."""
    with running_demo_server(tmp_path_factory.mktemp("demo-search") / "data", 1, END) as server:
        yield server.url


def test_search_marks_the_match_in_the_table_and_in_the_span_detail(page: Page, demo: str) -> None:
    page.goto(f"{demo}/ui/projects/{PROJECT}/traces?all=1")
    page.locator("#f-q").fill(PHRASE.upper())  # any case matches
    page.locator("#f-q").press("Enter")
    expect(page).to_have_url(re.compile(r"q=REVERSE-CHARGE"))
    shown = page.locator("#match-count strong").inner_text()
    count = int(shown.rstrip("+"))
    exact = httpx.get(
        f"{demo}/api/v1/projects/{PROJECT}/spans", params={"q": PHRASE, "total": "true"}
    ).json()["total"]
    assert count > 0
    # The table counts a search up to 1,000 (ADR 0038): "1000+" beyond that.
    assert (shown, count) == ((f"{exact}", exact) if exact <= 1000 else ("1000+", 1000))
    rows = page.locator("#traces tbody tr")
    n = rows.count()
    assert n == min(count, 50)
    for i in range(n):  # every row shows where its match is, marked
        hit = rows.nth(i).locator("td.preview mark.hit")
        expect(hit.first).to_have_text(re.compile(PHRASE, re.IGNORECASE))
    # Summary rows (ADR 0051): the input preview when the match is there, else the store's
    # lower-cased excerpt of the searched text (a retriever's documents, an answer).
    where = rows.locator(".match-where").all_inner_texts()
    assert "text:" in where, where
    retrieved = rows.filter(has=page.locator(".k-retriever")).filter(
        has=page.locator(".match-where", has_text="text:")
    )
    retrieved.first.locator("a.trace-link").click()
    expect(page).to_have_url(re.compile(r"/ui/traces/[0-9a-f]{32}\?span=[0-9a-f]{16}&q="))
    marked = page.locator("#documents mark.hit")
    expect(marked.first).to_have_text(re.compile(PHRASE, re.IGNORECASE))
    # The match is shown in its own case, inside the unchanged passage text.
    passage = page.locator("#documents .doc-content", has=page.locator("mark.hit")).first
    expect(passage).to_contain_text("reverse-charge invoices")


def test_search_with_no_match_says_so(page: Page, demo: str) -> None:
    page.goto(f"{demo}/ui/projects/{PROJECT}/traces?q=zz-no-such-phrase-zz")
    expect(page.locator("#no-rows")).to_contain_text("match these filters")
    expect(page.locator("#match-count strong")).to_have_text("0")

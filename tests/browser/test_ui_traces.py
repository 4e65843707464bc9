"""The web UI in a real headless Chromium against a real `llmpulse serve` process."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from rag_traces import RagTrace, post_spans, rag_trace_spans

from support.server import ServerProcess

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Seeded:
    """What the module posted: one good and one failing RAG trace in a project of its own."""

    url: str
    project: str
    good: RagTrace
    failing: RagTrace


@pytest.fixture(scope="module")
def seeded(live_server: ServerProcess) -> Seeded:
    """Post two RAG traces (the failing one newer) under a unique project name."""
    project = f"ui-traces-{secrets.token_hex(4)}"
    good, good_spans = rag_trace_spans("answer-question", "What is llmpulse?", "eu-west", 0)
    failing, failing_spans = rag_trace_spans(
        "answer-question-failing", "Why did it <b>fail</b>?", "us-east", 5_000, failing=True
    )
    post_spans(live_server.url, project, good_spans + failing_spans)
    return Seeded(live_server.url, project, good, failing)


def _traces_url(s: Seeded, query: str = "") -> str:
    return f"{s.url}/ui/projects/{s.project}/traces" + (f"?{query}" if query else "")


def _trace_rows(page: Page) -> list[str]:
    return page.locator("#traces tbody tr .trace-link").all_inner_texts()


def test_projects_page_lists_project_when_spans_ingested(page: Page, seeded: Seeded) -> None:
    page.goto(seeded.url + "/")
    expect(page).to_have_url(re.compile(r"/ui/projects$"))
    row = page.locator("#projects tbody tr", has_text=seeded.project)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("6")
    expect(row.locator("td").nth(2)).to_have_text("2")
    row.locator("a.project-link").click()
    expect(page).to_have_url(re.compile(rf"/ui/projects/{seeded.project}/traces$"))


def test_traces_table_lists_roots_newest_first_when_unfiltered(
    page: Page, seeded: Seeded, tmp_path: Path
) -> None:
    page.goto(_traces_url(seeded))
    expect(page.locator("#traces tbody tr")).to_have_count(2)
    assert _trace_rows(page) == ["answer-question-failing", "answer-question"]
    failing_row = page.locator("#traces tbody tr").first
    expect(failing_row).to_contain_text("ERROR")
    expect(failing_row).to_contain_text("Why did it <b>fail</b>?")  # shown as text, escaped
    expect(failing_row).to_contain_text("sess-ui-1")
    page.screenshot(path=str(tmp_path / "traces.png"), full_page=True)


def test_traces_filter_by_status_narrows_rows_when_error_chosen(page: Page, seeded: Seeded) -> None:
    page.goto(_traces_url(seeded))
    page.select_option("#f-status", "ERROR")
    page.click("#apply-filters")
    expect(page.locator("#traces tbody tr")).to_have_count(1)
    assert _trace_rows(page) == ["answer-question-failing"]
    expect(page.locator("#f-status")).to_have_value("ERROR")


def test_traces_filter_by_kind_lists_llm_spans_when_all_spans_shown(
    page: Page, seeded: Seeded
) -> None:
    page.goto(_traces_url(seeded))
    page.select_option("#f-kind", "LLM")
    page.check("#f-all")
    page.click("#apply-filters")
    expect(page.locator("#traces tbody tr")).to_have_count(2)
    assert _trace_rows(page) == ["chat-completion", "chat-completion"]
    expect(page.locator("#traces tbody tr").first).to_contain_text("gpt-4o-mini")
    expect(page.locator("#traces tbody tr").first).to_contain_text("500")


def test_traces_filter_by_attribute_narrows_rows_when_metadata_matches(
    page: Page, seeded: Seeded
) -> None:
    page.goto(_traces_url(seeded))
    page.fill("#f-attr", "metadata.region:eu-west")
    page.click("#apply-filters")
    expect(page.locator("#traces tbody tr")).to_have_count(1)
    assert _trace_rows(page) == ["answer-question"]


def test_traces_next_page_shows_older_trace_when_limit_is_one(page: Page, seeded: Seeded) -> None:
    page.goto(_traces_url(seeded, "limit=1"))
    assert _trace_rows(page) == ["answer-question-failing"]
    page.click("#next-page")
    expect(page.locator("#traces tbody tr")).to_have_count(1)
    assert _trace_rows(page) == ["answer-question"]
    expect(page.locator("#next-page")).to_have_count(0)


def test_traces_page_shows_error_when_filter_unreadable(page: Page, seeded: Seeded) -> None:
    response = page.goto(_traces_url(seeded, "start=yesterday&attr=no-colon"))
    assert response is not None
    assert response.status == 400
    errors = page.locator("#filter-errors")
    expect(errors).to_contain_text("start")
    expect(errors).to_contain_text("key:value")
    expect(page.locator("#f-start")).to_be_visible()


def test_trace_detail_shows_span_tree_when_row_clicked(page: Page, seeded: Seeded) -> None:
    page.goto(_traces_url(seeded))
    page.locator("#traces tbody tr", has_text="answer-question-failing").locator("td").nth(
        1
    ).click()  # a cell, not the link: the whole row opens the trace
    expect(page).to_have_url(re.compile(rf"/ui/traces/{seeded.failing.trace_id}"))
    tree = page.locator("#span-tree .tree-row")
    expect(tree).to_have_count(3)
    assert tree.locator(".span-name").all_inner_texts() == [
        "answer-question-failing",
        "retrieve-docs",
        "chat-completion",
    ]
    expect(tree.first).to_have_class(re.compile("selected"))
    bar = tree.nth(2).locator(".bar")
    style = bar.get_attribute("style") or ""
    assert re.search(r"left: 2[0-9]\.\d+%", style), style  # 310 ms into a 1200 ms trace
    expect(page.locator("#span-error")).to_contain_text("429 Too Many Requests")


def test_trace_detail_shows_messages_when_llm_span_selected(page: Page, seeded: Seeded) -> None:
    page.goto(f"{seeded.url}/ui/traces/{seeded.good.trace_id}")
    page.locator("#span-tree .tree-row", has_text="chat-completion").click()
    expect(page.locator("#span-detail")).to_have_attribute("data-span-id", seeded.good.llm_id)
    messages = page.locator("#messages .message")
    expect(messages).to_have_count(3)
    expect(messages.nth(0).locator(".role")).to_have_text("system")
    expect(messages.nth(1)).to_contain_text("What is llmpulse?")
    expect(messages.nth(2)).to_contain_text("It is an observability platform.")
    expect(page.locator("#span-model")).to_contain_text("gpt-4o-mini")
    expect(page.locator("#span-tokens")).to_contain_text("500")


def test_trace_detail_shows_documents_with_scores_when_retriever_selected(
    page: Page, seeded: Seeded
) -> None:
    page.goto(f"{seeded.url}/ui/traces/{seeded.good.trace_id}")
    page.locator("#span-tree .tree-row", has_text="retrieve-docs").click()
    docs = page.locator("#documents tr.document")
    expect(docs).to_have_count(2)
    expect(docs.nth(0)).to_contain_text("llmpulse stores spans in DuckDB.")
    expect(docs.nth(0).locator(".score")).to_have_text("0.9100")
    expect(docs.nth(1).locator(".score")).to_have_text("0.4200")


def test_trace_detail_shows_annotation_when_posted_for_span(page: Page, seeded: Seeded) -> None:
    body = {
        "data": [
            {
                "span_id": seeded.good.llm_id,
                "name": "quality",
                "label": "good",
                "score": 1,
                "explanation": "grounded in doc-alpha",
                "annotator_kind": "HUMAN",
            }
        ]
    }
    r = httpx.post(f"{seeded.url}/api/v1/annotations", json=body, timeout=30.0)
    assert r.status_code == 200, r.text
    page.goto(f"{seeded.url}/ui/traces/{seeded.good.trace_id}")
    llm_row = page.locator("#span-tree .tree-row", has_text="chat-completion")
    expect(llm_row.locator(".badge")).to_contain_text("1")
    llm_row.click()
    row = page.locator("#annotations tr.annotation")
    expect(row).to_have_count(1)
    for text in ("quality", "good", "1.0", "grounded in doc-alpha", "HUMAN"):
        expect(row).to_contain_text(text)


def test_trace_page_shows_friendly_404_when_trace_unknown(page: Page, seeded: Seeded) -> None:
    response = page.goto(f"{seeded.url}/ui/traces/{secrets.token_hex(16)}")
    assert response is not None
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("Not found")
    page.click("text=Back to projects")
    expect(page).to_have_url(re.compile(r"/ui/projects$"))

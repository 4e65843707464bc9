"""The explanations page and the "Why this answer?" panel in a real Chromium (issue 13, item 6).

Predictions whose score is driven by ``income`` and a RAG trace whose answer copies one known
document are logged to a real server; the page must show income first in global importance
and in the waterfall, the configured reason code, the copied chunk as the hottest cell of the
heat-map, and the trace view's panel must list that document first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from browser.rag_traces import post_spans
from integration.explain.credit_data import credit_records
from integration.explain.rag_otlp import planted_rag_trace
from llmpulse import Client
from support.server import ServerProcess, running_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def loaded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    with running_server(tmp_path_factory.mktemp("ui-explain") / "data") as server:
        client = Client(server.url)
        records = credit_records(200)
        assert not client.log_records(records, project="credit").rejected
        client.put_reason_codes("credit", [
            {"feature": "income", "direction": "decrease", "code": "R01", "text": "Income too low"},
        ])  # fmt: skip
        client.close()
        trace, spans, key_doc = planted_rag_trace(seed=21)
        post_spans(server.url, "rag", spans)
        denied = next(r["prediction_id"] for r in records if r["prediction_score"] < 0.1)
        yield server, {"trace": trace.trace_id, "llm": trace.llm_id, "doc": key_doc,
                       "denied": denied}  # fmt: skip


def test_global_importance_and_waterfall_show_the_driver_and_reason(
    page: Page, loaded: tuple[ServerProcess, dict[str, str]]
) -> None:
    server, ids = loaded
    page.goto(f"{server.url}/ui/projects/credit/traces")
    page.locator("#nav-explanations").click()
    expect(page).to_have_url(re.compile(r"/explanations$"))
    rows = page.locator("#importance-bars tr.importance-row")
    expect(rows.first).to_have_attribute("data-feature", "income")
    page.fill("#x-prediction", ids["denied"])
    page.fill("#x-segment", "region")
    page.locator("#run-explain").click()
    expect(page.locator("#waterfall-steps tr.step").first).to_have_attribute(
        "data-feature", "income"
    )
    expect(page.locator("#waterfall-steps tr.step").first).to_have_class(re.compile(r"\bdown\b"))
    expect(page.locator("#decision")).to_have_text("negative")
    expect(page.locator("#reasons li").first).to_have_attribute("data-code", "R01")
    expect(page.locator("#reasons li").first).to_contain_text("Income too low")
    expect(page.locator(".segment-importance")).to_have_count(2)
    expect(page.locator("#counterfactual .cf-change").first).to_have_attribute(
        "data-feature", "income"
    )
    expect(page.locator("#counterfactual")).to_contain_text("decision positive")


def test_records_are_searchable_by_case_and_the_chain_status_shown(
    page: Page, loaded: tuple[ServerProcess, dict[str, str]]
) -> None:
    server, ids = loaded
    with Client(server.url) as client:
        rec = client.explain_prediction("credit", ids["denied"], external_ids={"case_id": "UI-1"})
        client.explain_prediction("credit", "p-1", external_ids={"case_id": "UI-2"})
    page.goto(f"{server.url}/ui/projects/credit/explanations")
    expect(page.locator("#chain-status")).to_have_attribute("data-ok", "true")
    page.fill("#x-external", "case_id:UI-1")
    page.locator("#search-records").click()
    rows = page.locator("#records-table tr.record-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-record-id", rec["record_id"])


def test_heatmap_marks_the_copied_chunk_hottest(
    page: Page, loaded: tuple[ServerProcess, dict[str, str]]
) -> None:
    server, ids = loaded
    page.goto(f"{server.url}/ui/projects/rag/explanations?trace={ids['trace']}")
    cells = page.locator("#heatmap tr.chunk-total td.heat")
    expect(cells).to_have_count(5)
    scores = [float(s) for s in [c.get_attribute("data-score") or "0" for c in cells.all()]]
    key_index = int(ids["doc"].split("-")[1])
    assert max(range(5), key=lambda j: scores[j]) == key_index
    sentence_cells = page.locator("#heatmap tr.sentence-row").first.locator("td.heat")
    shades = [float(c.get_attribute("data-shade") or "0") for c in sentence_cells.all()]
    assert shades[key_index] == 1.0


def test_trace_view_panel_lists_the_supporting_document_first(
    page: Page, loaded: tuple[ServerProcess, dict[str, str]]
) -> None:
    server, ids = loaded
    page.goto(f"{server.url}/ui/traces/{ids['trace']}?span={ids['llm']}")
    panel = page.locator("#why-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("tr.why-source").first).to_have_attribute("data-doc-id", ids["doc"])
    panel.locator("#why-explore").click()
    expect(page.locator("#heatmap")).to_be_visible()

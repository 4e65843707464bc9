"""The evaluations page in a real Chromium against a real server: save a rule, backfill it."""

from __future__ import annotations

import secrets

import httpx
import pytest
from playwright.sync_api import Page, expect

from support.rag_evals import send_rag_traces
from support.server import ServerProcess

pytestmark = pytest.mark.browser


def test_save_a_rule_backfill_it_and_see_the_job_finish(
    live_server: ServerProcess, page: Page
) -> None:
    project = f"ui-evals-{secrets.token_hex(3)}"
    planted = send_rag_traces(live_server.url, project, 12)
    page.goto(f"{live_server.url}/ui/projects/{project}/evals")
    expect(page.locator("#no-rules")).to_be_visible()
    expect(page.locator("#judge-status")).to_contain_text("No judge endpoint configured")
    page.fill("#r-name", "grounding")
    page.select_option("#r-kind", "lexical_grounding")
    page.fill("#r-kind-filter", "LLM")
    page.uncheck("#r-online")
    page.click("#save-rule")
    row = page.locator("#rules-table tr[data-rule='grounding']")
    expect(row).to_contain_text("lexical_grounding")
    expect(row.locator(".rule-picks")).to_have_text("LLM spans")
    row.locator(".backfill-rule").click()
    job = page.locator("#jobs-table tbody tr").first
    expect(job).to_have_attribute("data-state", "done", timeout=30_000)
    expect(job.locator(".job-evaluated")).to_have_text("12")
    span = planted[0].llm_span_id
    notes = httpx.get(f"{live_server.url}/api/v1/spans/{span}/annotations").json()
    names = [a["name"] for a in (notes["data"] if isinstance(notes, dict) else notes)]
    assert names == ["lexical_grounding"]


def test_a_bad_rule_is_shown_with_its_field_and_saves_nothing(
    live_server: ServerProcess, page: Page
) -> None:
    project = f"ui-evals-bad-{secrets.token_hex(3)}"
    send_rag_traces(live_server.url, project, 1)
    page.goto(f"{live_server.url}/ui/projects/{project}/evals")
    page.fill("#r-name", "bad")
    page.select_option("#r-kind", "custom")
    page.fill("#r-prompt", "Judge {nonsense}")
    page.fill("#r-rails", "yes, no")
    response = None
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        page.click("#save-rule")
    response = info.value
    assert response.status == 400
    expect(page.locator("body")).to_contain_text("unknown variable {nonsense}")
    assert httpx.get(f"{live_server.url}/api/v1/projects/{project}/eval-rules").json()["data"] == []

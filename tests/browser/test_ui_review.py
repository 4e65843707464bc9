"""The review page in a real Chromium against a real server judged by the fake endpoint.

A rule routes the spans the judge flagged to a queue; the page lists them with the verdict and
the "why this answer" sources; a reviewer resolves one through the form, which lands as a
HUMAN annotation, and the evaluations page then shows judge-versus-human agreement.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from fakes.openai_compat import OpenAICompatFake
from support.rag_evals import send_rag_traces
from support.server import ServerProcess, free_port

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration" / "evals"))
from judges import grounding_judge

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def judged_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    fake = OpenAICompatFake(responder=grounding_judge, api_key="sk-judge")
    env = {
        "LLMPULSE_JUDGE_BASE_URL": fake.url, "LLMPULSE_JUDGE_MODEL": "gpt-4o-mini",
        "LLMPULSE_JUDGE_API_KEY_ENV": "TEST_JUDGE_KEY", "TEST_JUDGE_KEY": "sk-judge",
    }  # fmt: skip
    with fake.receiver:
        s = ServerProcess(tmp_path_factory.mktemp("uireview") / "data", free_port(), 0, env=env)
        s.start()
        try:
            yield s
        finally:
            s.stop()


def test_review_flagged_spans_resolve_one_and_see_agreement(
    judged_server: ServerProcess, page: Page
) -> None:
    url, project = judged_server.url, "ui-review"
    planted = send_rag_traces(url, project, 10)
    rule = {"name": "flag", "evaluator": {"kind": "hallucination"},
            "policy": {"span_kinds": ["LLM"]}, "online": False,
            "review": {"queue": "flagged", "labels": ["hallucinated"]}}  # fmt: skip
    httpx.put(f"{url}/api/v1/projects/{project}/eval-rules/flag", json=rule).raise_for_status()
    job = httpx.post(f"{url}/api/v1/projects/{project}/eval-rules/flag/backfill", json={}).json()
    deadline = time.monotonic() + 60
    while (
        httpx.get(f"{url}/api/v1/projects/{project}/eval-jobs/{job['id']}").json()["state"]
        == "running"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    flagged = {p.llm_span_id for p in planted if not p.grounded}
    page.goto(f"{url}/ui/projects/{project}/review")
    expect(page.locator("#nav-review")).to_have_class("on")
    items = page.locator(".review-item")
    expect(items).to_have_count(len(flagged))
    assert {items.nth(k).get_attribute("data-span") for k in range(len(flagged))} == flagged
    first = items.first
    expect(first.locator(".verdict-label")).to_have_text("hallucinated")
    expect(first.locator(".why-sources li").first).to_be_visible()
    span_id = first.get_attribute("data-span")
    # an empty reviewer is refused with the reason, nothing resolved
    first.locator(".rv-resolve").click()
    expect(page.locator("body")).to_contain_text("reviewer")
    first = page.locator(f".review-item[data-span='{span_id}']")
    first.locator(".rv-reviewer").fill("alice")
    first.locator(".rv-note").fill("judge is right")
    first.locator(".rv-resolve").click()
    expect(page.locator(".review-item")).to_have_count(len(flagged) - 1)
    page.goto(f"{url}/ui/projects/{project}/review?status=resolved")
    done = page.locator(f".review-item[data-span='{span_id}']")
    expect(done.locator(".review-resolution")).to_contain_text("alice")
    expect(done.locator(".review-resolution")).to_contain_text("agrees")
    notes = httpx.get(f"{url}/api/v1/spans/{span_id}/annotations").json()
    human = [a for a in (notes["data"] if isinstance(notes, dict) else notes)
             if a["annotator_kind"] == "HUMAN"]  # fmt: skip
    assert [(a["name"], a["label"], a["explanation"]) for a in human] == [
        ("hallucination", "hallucinated", "judge is right")
    ]
    page.goto(f"{url}/ui/projects/{project}/evals")
    row = page.locator("#agreement-table tr[data-annotation='hallucination']")
    expect(row.locator(".agree-items")).to_have_text("1")
    expect(row.locator(".agree-raw")).to_have_text("100%")
    expect(row.locator(".agree-kappa")).to_have_text("1.00")

"""Annotating from the UI on the demo data: configure labels, annotate a span, edit and delete
it, bulk-annotate ticked rows; as a user clicks and types."""

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


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server on one day of demo data; yields its base URL."""
    with running_demo_server(tmp_path_factory.mktemp("demo-annotate") / "data", 1, END) as server:
        yield server.url


def _configure(page: Page, demo: str) -> None:
    page.goto(f"{demo}/ui/projects/{PROJECT}/traces")
    page.locator("#nav-settings").click()
    page.locator("#annotation-config").fill("correctness: correct|incorrect\nhelpfulness:")
    page.locator("#save-annotation-config").click()
    expect(page.locator("#annotation-config")).to_have_value(
        "correctness: correct|incorrect\nhelpfulness: "
    )


def test_annotate_a_trace_then_edit_and_delete_it(page: Page, demo: str) -> None:
    _configure(page, demo)
    page.locator("#nav-traces").click()
    page.locator("#traces tbody tr a.trace-link").first.click()
    expect(page).to_have_url(re.compile(r"/ui/traces/"))
    expect(page.locator("#a-name option")).to_have_text(["correctness", "helpfulness"])
    page.locator("#a-name").select_option("correctness")
    page.locator("#a-label").fill("correct")
    page.locator("#a-score").fill("1")
    page.locator("#a-note").fill("cites the right passage")
    page.locator("#add-annotation").click()
    row = page.locator("#annotations tr.annotation")
    expect(row).to_have_count(1)
    expect(row.locator(".annotation-label")).to_have_text("correct")
    expect(row.locator(".annotation-note")).to_have_text("cites the right passage")
    me = page.locator("#annotator-name").inner_text()
    expect(row.locator(".annotation-who")).to_contain_text(me)
    expect(row.locator(".annotation-when")).to_contain_text("2026")  # when: a date is shown

    row.locator(".edit-annotation summary").click()
    row.locator(".annotation-edit-form input[name=label]").fill("incorrect")
    row.locator(".annotation-edit-form input[name=note]").fill("wrong passage")
    row.locator(".save-annotation").click()
    row = page.locator("#annotations tr.annotation")
    expect(row.locator(".annotation-label")).to_have_text("incorrect")
    expect(row.locator(".annotation-when")).to_contain_text("edited")

    row.locator(".edit-annotation summary").click()
    row.locator(".annotation-edit-form input[name=label]").fill("incorect")
    row.locator(".save-annotation").click()
    expect(page.locator("#annotation-error")).to_contain_text(
        "unknown 'incorect'; did you mean 'incorrect'"
    )
    expect(page.locator("#annotations tr.annotation .annotation-label")).to_have_text("incorrect")

    page.locator("#annotations .delete-annotation").click()
    expect(page.locator("#annotations tr.annotation")).to_have_count(0)


def test_bulk_annotate_the_ticked_rows(page: Page, demo: str) -> None:
    _configure(page, demo)
    page.goto(f"{demo}/ui/projects/{PROJECT}/traces?status=ERROR")
    rows = page.locator("#traces tbody tr")
    assert rows.count() >= 3
    ticked = [rows.nth(i).locator("input.row-select") for i in range(3)]
    for box in ticked:
        box.check()
    span_ids = [box.get_attribute("value") for box in ticked]
    page.locator("#bulk-annotate summary").click()
    page.locator("#bulk-form #a-name").select_option("correctness")
    page.locator("#bulk-form #a-label").fill("incorrect")
    page.locator("#bulk-annotate-button").click()
    expect(page.locator("#annotated")).to_have_text("Annotated 3 rows.")
    expect(page).to_have_url(re.compile(r"status=ERROR"))  # back on the same view
    for sid in span_ids:
        got = httpx.get(f"{demo}/api/v1/spans/{sid}/annotations").json()["data"]
        assert [(a["name"], a["label"]) for a in got] == [("correctness", "incorrect")]
    page.locator("#select-all").check()
    expect(page.locator("input.row-select:not(:checked)")).to_have_count(0)


def test_set_retention_and_see_its_last_run(page: Page, demo: str) -> None:
    page.goto(f"{demo}/ui/projects/{PROJECT}/settings")
    expect(page.locator("#retention-last-run")).to_have_text("not yet run")
    page.locator("#retention-days").fill("abc")
    page.locator("#save-retention").click()
    expect(page.locator("#page-errors")).to_contain_text("whole number")
    page.locator("#retention-days").fill("3650")
    page.locator("#save-retention").click()
    expect(page.locator("#retention-policy")).to_have_text("spans older than 3650 days are dropped")
    r = httpx.post(f"{demo}/api/v1/admin/retention/run")
    assert r.status_code == 200
    assert r.json()["runs"][PROJECT]["spans_dropped"] == 0
    page.reload()
    expect(page.locator("#retention-dropped")).to_have_text("0")

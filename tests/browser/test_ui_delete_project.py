"""Deleting a project from its settings page, confirmed by typing its name."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from support.server import running_demo_server

pytestmark = pytest.mark.browser
PROJECT = "rag-demo"
END = "2026-11-30T12:00:00+0000"


@pytest.fixture
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of its own on one day of demo data (this test deletes it); yields its URL."""
    with running_demo_server(tmp_path_factory.mktemp("demo-delete") / "data", 1, END) as server:
        yield server.url


def test_delete_the_project_after_typing_its_name(page: Page, demo: str) -> None:
    page.goto(f"{demo}/ui/projects/{PROJECT}/settings")
    spans = int(httpx.get(f"{demo}/api/v1/projects").json()["data"][0]["num_spans"])
    expect(page.locator("#delete-project")).to_contain_text(f"Deletes all {spans} spans")
    page.locator("#delete-confirm").fill("rag-dem")  # a typo deletes nothing
    page.locator("#delete-project-button").click()
    expect(page.locator("#page-errors")).to_contain_text("type the project's name")
    assert httpx.get(f"{demo}/api/v1/projects").json()["data"][0]["num_spans"] == spans
    page.locator("#delete-confirm").fill(PROJECT)
    page.locator("#delete-project-button").click()
    expect(page).to_have_url(f"{demo}/ui/projects")
    expect(page.locator("body")).not_to_contain_text(PROJECT)
    assert httpx.get(f"{demo}/api/v1/projects").json()["data"] == []
    page.goto(f"{demo}/ui/projects/{PROJECT}/traces")
    expect(page.locator("body")).to_contain_text("There is no project named")

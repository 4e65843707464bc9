"""The monitors page lists the monitors of ``LLMPULSE_MONITORS_FILE`` beside the stored ones,
marked read-only with their source and without edit or delete buttons (real Chromium)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Page, expect

from llmpulse import Client
from support.server import ServerProcess, running_server

pytestmark = pytest.mark.browser


def monitor(name: str) -> dict[str, Any]:
    return {"apiVersion": "llmpulse/v1", "kind": "Monitor",
            "metadata": {"name": name, "project": "shop"},
            "spec": {"metric": "latency_ms:p95", "every": "5m", "window": "30m"}}  # fmt: skip


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    path = tmp_path / "monitors.yaml"
    path.write_text(yaml.safe_dump(monitor("from-file")), encoding="utf-8")
    with running_server(tmp_path / "data", "--monitors-file", str(path)) as srv:
        with Client(srv.url) as client:
            client.apply([monitor("stored")])
        yield srv


def test_file_monitors_are_listed_read_only(server: ServerProcess, page: Page) -> None:
    page.goto(f"{server.url}/ui/projects/shop/monitors")
    rows = page.locator("#monitors-table tbody tr")
    expect(rows).to_have_count(2)
    stored = page.locator('tr[data-monitor="stored"]')
    expect(stored).to_have_attribute("data-source", "stored")
    expect(stored.locator(".edit-monitor")).to_have_count(1)
    expect(stored.locator(".monitor-source")).to_have_count(0)
    from_file = page.locator('tr[data-monitor="from-file"]')
    expect(from_file).to_have_attribute("data-source", "file")
    expect(from_file.locator(".monitor-source")).to_have_text("read-only · monitors file")
    expect(from_file.locator(".monitor-metric")).to_have_text("latency_ms:p95")
    expect(from_file.locator(".edit-monitor")).to_have_count(0)
    expect(from_file.locator(".delete-monitor")).to_have_count(0)
    # the scheduler runs it: its state is shown (no spans in the project: ok, then no_data)
    expect(from_file.locator(".monitor-state")).to_have_text(re.compile(r"^\s*(ok|no_data)\s*$"))

"""The UI shows what /readyz reports: nothing when all is well, a banner otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from support.faults import send
from support.server import ServerProcess, free_port

pytestmark = [pytest.mark.browser, pytest.mark.integration]
WORKERS = ["--decode-workers", "0"]


def test_no_banner_on_a_healthy_server(page: Page, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", free_port(), 0, WORKERS).start()
    try:
        assert send(server, "ok", 5)[0] == 200
        page.goto(f"{server.url}/ui/projects")
        expect(page.get_by_role("link", name="ok")).to_be_visible()
        page.wait_for_load_state("networkidle")
        expect(page.locator("#server-status")).to_be_hidden()
    finally:
        server.stop()


def test_banner_says_what_a_damaged_log_cost(page: Page, tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data, free_port(), 0, WORKERS).start()
    for _ in range(10):
        assert send(server, "cut", 100)[0] == 200
    server.kill()
    (data / "events.duckdb.journal").unlink()
    wal = data / "events.duckdb.wal"
    os.truncate(wal, wal.stat().st_size // 2)
    server = ServerProcess(data, free_port(), 0, WORKERS).start()
    try:
        page.goto(f"{server.url}/ui/projects")
        banner = page.locator("#server-status")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("Server warning")
        expect(banner).to_contain_text("write-ahead log was damaged")
    finally:
        server.stop()

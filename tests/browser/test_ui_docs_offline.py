"""``/docs`` and ``/redoc`` render with no request leaving the server (issue 9, item 14).

Swagger UI and ReDoc used to load from a public CDN, so the pages were blank offline. The
browser here may reach only the server: any other request is recorded and refused.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, Route, expect

from support.server import ServerProcess

pytestmark = pytest.mark.browser

# The Swagger UI and ReDoc bundles are megabytes of JavaScript: on a loaded 2-core machine
# parsing them alone can outlast the default 5 s.
RENDER_MS = 30_000


def _offline(page: Page, server: ServerProcess) -> list[str]:
    """Refuse every request not addressed to ``server``; return the list of refused URLs."""
    refused: list[str] = []
    own = urlparse(server.url).netloc

    def handle(route: Route) -> None:
        if urlparse(route.request.url).netloc == own:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    return refused


def test_swagger_ui_renders_the_api_offline(page: Page, live_server: ServerProcess) -> None:
    refused = _offline(page, live_server)
    page.goto(f"{live_server.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("llmpulse", timeout=RENDER_MS)
    exact = re.compile(r"^/api/v1/annotations$")  # not /api/v1/annotations/{annotation_id}
    expect(page.locator(".opblock-summary-path", has_text=exact)).to_have_count(1)
    assert refused == []


def test_redoc_renders_the_api_offline(page: Page, live_server: ServerProcess) -> None:
    refused = _offline(page, live_server)
    page.goto(f"{live_server.url}/redoc")
    expect(page.locator("h1", has_text="llmpulse")).to_have_count(1, timeout=RENDER_MS)
    assert refused == []

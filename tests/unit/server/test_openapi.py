"""The checked-in OpenAPI document matches the app (regenerate with ./scripts/docs)."""

from __future__ import annotations

import json
from pathlib import Path

from llmpulse.server.openapi_dump import render_openapi

CHECKED_IN = Path(__file__).resolve().parents[3] / "docs" / "reference" / "openapi.json"


def test_openapi_document_matches_the_app() -> None:
    assert CHECKED_IN.read_text() == render_openapi(), "run ./scripts/docs"


def test_openapi_documents_every_rest_route() -> None:
    paths = json.loads(render_openapi())["paths"]
    for route in (
        "/v1/traces",
        "/healthz",
        "/readyz",
        "/api/v1/admin/backup",
        "/api/v1/projects",
        "/api/v1/projects/{project}/spans",
        "/api/v1/traces/{trace_id}",
        "/api/v1/spans/{span_id}",
        "/api/v1/spans/{span_id}/annotations",
        "/api/v1/annotations",
        "/api/v1/projects/{project}/predictions",
    ):
        assert route in paths, route

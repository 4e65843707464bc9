"""The app resolves its routing at start, not on the first request of each endpoint."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from llmpulse.server.app import create_app
from llmpulse.server.route_warmup import endpoints
from llmpulse.server.settings import ServerSettings


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    out: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        inner = getattr(route, "original_router", route)
        children = getattr(inner, "routes", None)
        if isinstance(children, list) and children is not routes:
            out.extend(_api_routes(children))
    return out


def test_endpoints_reaches_every_operation_of_the_api(tmp_path: Path) -> None:
    app = create_app(ServerSettings(data_dir=tmp_path))
    found = set(endpoints(app.routes))
    api = _api_routes(app.routes)
    assert len(api) > 100  # every router is walked, included ones too
    missing = [r.path for r in api if r.endpoint not in found]
    assert missing == []


def test_the_first_requests_after_start_do_not_read_endpoint_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(ServerSettings(data_dir=tmp_path))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        reads: list[Any] = []
        real = inspect.getsourcelines

        def recording(obj: Any) -> Any:
            reads.append(obj)
            return real(obj)

        monkeypatch.setattr(inspect, "getsourcelines", recording)
        for path in ("/api/v1/projects", "/api/v1/projects/none/spans", "/api/v1/slos"):
            assert client.get(path).status_code < 500
        assert [getattr(r, "__name__", r) for r in reads] == []

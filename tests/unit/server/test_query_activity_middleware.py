"""`MarkQueries` marks each request (but ingest and health probes) while it runs (ADR 0041)."""

from __future__ import annotations

import contextlib

from starlette.types import Message, Receive, Scope, Send

from llmpulse.server.query_activity import MarkQueries
from llmpulse.store.activity import QueryActivity
from support.aio import run


def _request(path: str) -> Scope:
    return {"type": "http", "method": "GET", "path": path, "headers": []}


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Message) -> None:
    return None


def test_a_request_is_query_activity_while_it_runs() -> None:
    activity = QueryActivity()
    seen: list[tuple[str, int]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope.get("path", scope["type"]), activity.inflight))
        if scope.get("path") == "/boom":
            raise RuntimeError("a failing route")

    marked = MarkQueries(app, activity)

    async def requests() -> None:
        for path in ("/api/v1/projects/p/spans", "/v1/traces", "/healthz", "/ui/"):
            await marked(_request(path), _receive, _send)
        with contextlib.suppress(RuntimeError):
            await marked(_request("/boom"), _receive, _send)
        await marked({"type": "lifespan"}, _receive, _send)

    run(requests())
    assert seen == [
        ("/api/v1/projects/p/spans", 1),
        ("/v1/traces", 0),
        ("/healthz", 0),
        ("/ui/", 1),
        ("/boom", 1),
        ("lifespan", 0),
    ]
    assert activity.started == 3
    assert activity.inflight == 0  # ended, even when the route raised

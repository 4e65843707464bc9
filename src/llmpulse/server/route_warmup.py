"""Resolve the app's routing before the first request instead of during it (issue 14).

FastAPI builds some of its routing lazily, on the first request that reaches it: the
effective routes of every included router (the first request walks them all), and for each
endpoint the source context it puts in validation errors (``inspect.getsourcelines``, whose
first call scans every loaded module). Measured on this app in one process, the first request
of each endpoint took 23 to 37 ms where the second took 5 to 7 ms; after `warm_routes`, 8 to 10 ms.
That cost fell on the first query of each kind after a start, which is what
users see first (during a bulk load, the benchmark's count polls paid it instead).

`warm_routes` sends a request without a host to the app (which Starlette answers by building
its middleware stack, and access control by refusing it), one for a path no route matches
straight to the router (no endpoint runs, nothing is read or written), then has FastAPI
take every endpoint's context into its cache.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import fastapi.routing
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import Message

WARM_PATH = "/__llmpulse_route_warmup__"
"""A path no route matches: resolving it walks every router."""


def endpoints(routes: list[BaseRoute]) -> Iterator[Callable[..., Any]]:
    """Every endpoint function under ``routes``, in included routers and mounts too."""
    for route in routes:
        endpoint = getattr(route, "endpoint", None)
        if inspect.isfunction(endpoint):
            yield endpoint
        inner = getattr(route, "original_router", route)  # FastAPI's included routers
        children = getattr(inner, "routes", None)
        if isinstance(children, list) and children is not routes:
            yield from endpoints(children)


async def warm_routes(app: Starlette) -> int:
    """Resolve ``app``'s routing once; returns how many endpoints were looked at. The app is
    called once with a request its access control refuses (it carries no host), which builds
    the middleware stack; its router once without the middleware stack."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": WARM_PATH,
        "raw_path": WARM_PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": None,
        "server": None,
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    await app(dict(scope), receive, send)
    await app.router(scope, receive, send)
    # FastAPI keeps each endpoint's context (from ``inspect.getsourcelines``) in a cache of its
    # own, filled by this function on an endpoint's first request; versions before it do
    # not look at the source at all.
    context = getattr(fastapi.routing, "_extract_endpoint_context", None)
    seen = 0
    for endpoint in endpoints(app.routes):
        seen += 1
        if context is not None:
            context(endpoint)
    return seen

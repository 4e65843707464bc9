"""Route dependencies are coroutines, so no request hops to a worker thread for them.

FastAPI runs a plain ``def`` dependency through anyio's worker threads: a hop on every
request, and the first hop in a process cost ~20 ms (measured: the first span listing after
a bulk load spent 21 ms between the middleware and the handler, 1 ms once `view_query` was
async; ADR 0041).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from llmpulse.server.app import create_app
from llmpulse.server.settings import ServerSettings


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, FastAPI's lazily included routers opened up."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)
        elif isinstance(r, APIRoute):
            yield r


def _calls(dependant: Dependant) -> Iterator[object]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def _is_coroutine(call: object) -> bool:
    """A coroutine function, or an object whose ``__call__`` is one (FastAPI awaits both)."""
    method = type(call).__dict__.get("__call__") if not inspect.isfunction(call) else None
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(method)


def test_every_route_dependency_is_a_coroutine_function() -> None:
    app = create_app(ServerSettings(data_dir=None, grpc_port=0))
    routes = list(_api_routes(app.routes))
    sync = {
        f"{r.path}: {getattr(call, '__qualname__', call)}"
        for r in routes
        for call in _calls(r.dependant)
        if not _is_coroutine(call)
    }
    assert len(routes) > 50
    assert sync == set()

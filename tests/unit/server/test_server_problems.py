"""Every 503 the problem handlers send carries Retry-After (the exporters' retry contract)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi import FastAPI
from starlette.exceptions import HTTPException

from llmpulse.domain.errors import (
    LlmpulseError,
    NotFound,
    Overloaded,
    RateLimited,
    StoreDamaged,
    Unavailable,
)
from llmpulse.server.problems import install_problem_handlers

ERRORS: dict[str, Exception] = {
    "overloaded": Overloaded("queue full", retry_after_s=7),
    "rate": RateLimited("slow down", retry_after_s=2),
    "unavailable": Unavailable("the store could not commit"),
    "disk": Unavailable("disk is full", retry_after_s=10),
    "damaged": StoreDamaged("the event store is damaged"),
    "http503": HTTPException(503, "down"),
    "notfound": NotFound("no such thing"),
}


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/raise/{name}")
    async def raise_it(name: str) -> None:
        raise ERRORS[name]

    return app


def _get(path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    # On a thread of its own: a browser test may leave an event loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(go())).result()


@pytest.mark.parametrize(
    ("name", "status", "retry_after"),
    [
        ("overloaded", 503, "7"),
        ("rate", 429, "2"),
        ("unavailable", 503, "5"),
        ("disk", 503, "10"),
        ("damaged", 503, "5"),
        ("http503", 503, "5"),
        ("notfound", 404, None),
    ],
)
def test_retry_after_comes_with_every_503_and_429(
    name: str, status: int, retry_after: str | None
) -> None:
    r = _get(f"/raise/{name}")
    assert r.status_code == status
    assert r.headers.get("retry-after") == retry_after
    error = ERRORS[name]
    if isinstance(error, LlmpulseError):
        assert r.json()["detail"] == error.detail

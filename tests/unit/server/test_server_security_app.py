"""The access layer in process (httpx over ASGI): https cookies, a locked exposed server."""

from __future__ import annotations

import re
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from llmpulse.domain.errors import Unavailable
from llmpulse.governance.keys import key_id_of
from llmpulse.server.app import create_app
from llmpulse.server.settings import ServerSettings
from support.aio import run as run_coro
from support.keys import create_keys

Body = Callable[[httpx.AsyncClient], Awaitable[None]]


def run(
    data_dir: Path, base_url: str, body: Body, host: str = "127.0.0.1", insecure: bool = False
) -> None:
    """Start the app's lifespan, run ``body`` against it over ASGI, stop it."""
    settings = ServerSettings(
        data_dir=data_dir, grpc_port=0, decode_workers=0, host=host, insecure=insecure
    )
    app = create_app(settings)

    async def main() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
                await body(client)

    # On a thread of its own: the browser tests leave Playwright's event loop on this one.
    failures: list[BaseException] = []

    def target() -> None:
        try:
            run_coro(main())
        except BaseException as exc:  # noqa: BLE001 - re-raised on the test's thread
            failures.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def _admin(tmp_path: Path) -> tuple[Path, str]:
    data_dir = tmp_path / "data"
    return data_dir, create_keys(data_dir, {"admin": ("admin", None)})["admin"]


def test_cookies_are_secure_over_https(tmp_path: Path) -> None:
    data_dir, token = _admin(tmp_path)

    async def body(client: httpx.AsyncClient) -> None:
        page = await client.get("/ui/login")
        assert "Secure" in page.headers["set-cookie"]
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        client.cookies.set("llmpulse_csrf", csrf.group(1))  # a browser sends it back on https
        r = await client.post(
            "/ui/login",
            data={"key": token, "next": "/ui/projects", "csrf_token": csrf.group(1)},
            headers={"origin": "https://localhost"},
        )
        assert r.status_code == 303, r.text
        session = r.headers["set-cookie"]
        assert session.startswith("llmpulse_session=")
        assert "Secure" in session
        assert "HttpOnly" in session

    run(data_dir, "https://localhost", body)


def test_revoking_the_last_key_of_an_exposed_server_locks_it_instead_of_opening_it(
    tmp_path: Path,
) -> None:
    data_dir, token = _admin(tmp_path)
    auth = {"authorization": f"Bearer {token}"}

    async def body(client: httpx.AsyncClient) -> None:
        assert (await client.get("/api/v1/projects")).status_code == 401
        assert (await client.get("/api/v1/projects", headers=auth)).status_code == 200
        r = await client.delete(f"/api/v1/keys/{key_id_of(token)}", headers=auth)
        assert r.status_code == 200, r.text
        assert (await client.get("/api/v1/projects")).status_code == 401
        assert (await client.get("/api/v1/projects", headers=auth)).status_code == 401

    run(data_dir, "http://10.0.0.5", body, host="10.0.0.5")


def test_loopback_server_opens_again_when_its_last_key_is_revoked(tmp_path: Path) -> None:
    data_dir, token = _admin(tmp_path)
    auth = {"authorization": f"Bearer {token}"}

    async def body(client: httpx.AsyncClient) -> None:
        assert (await client.get("/api/v1/projects")).status_code == 401
        await client.delete(f"/api/v1/keys/{key_id_of(token)}", headers=auth)
        assert (await client.get("/api/v1/projects")).status_code == 200

    run(data_dir, "http://127.0.0.1", body)


def test_exposed_server_runs_open_only_with_insecure(tmp_path: Path) -> None:
    async def body(client: httpx.AsyncClient) -> None:
        assert (await client.get("/api/v1/projects")).status_code == 200

    run(tmp_path / "a", "http://10.0.0.5", body, host="10.0.0.5", insecure=True)
    with pytest.raises(Unavailable, match=r"refusing to serve 10\.0\.0\.5"):
        run(tmp_path / "b", "http://10.0.0.5", body, host="10.0.0.5")

"""API keys made, listed and revoked three ways: the CLI (data directory), REST and the SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from llmpulse import Client
from llmpulse.sdk.errors import LlmpulseApiError
from support.keys import otlp_body, post_otlp
from support.server import ServerProcess, free_port

pytestmark = pytest.mark.integration


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", *args],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_cli_creates_lists_and_revokes_keys_on_a_running_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, free_port(), 0).start()
    try:
        # Open while no key exists; a key made by the CLI locks it within the cache TTL.
        assert httpx.get(f"{server.url}/api/v1/projects").status_code == 200
        made = _cli("keys", "create", "--scope", "admin", "--name", "ops",
                    "--data-dir", str(data_dir), "--json")  # fmt: skip
        assert made.returncode == 0, made.stderr
        admin = json.loads(made.stdout)
        assert admin["scopes"] == ["admin"]
        assert admin["project"] is None
        token = admin["token"]
        deadline = time.monotonic() + 5
        while httpx.get(f"{server.url}/api/v1/projects").status_code != 401:
            assert time.monotonic() < deadline, "server still open 5 s after the first key"
            time.sleep(0.2)
        assert httpx.get(f"{server.url}/api/v1/projects", headers=_auth(token)).status_code == 200
        plain = _cli("keys", "create", "--scope", "read,ingest", "--project", "shop",
                     "--name", "shop app", "--data-dir", str(data_dir))  # fmt: skip
        assert plain.returncode == 0, plain.stderr
        assert "read,ingest" in plain.stdout.replace("ingest,read", "read,ingest")
        assert plain.stdout.strip().splitlines()[-1].startswith("lp_")
        listed = _cli("keys", "list", "--data-dir", str(data_dir), "--json")
        rows = json.loads(listed.stdout)
        assert [(r["name"], r["project"]) for r in rows] == [("ops", None), ("shop app", "shop")]
        assert "token" not in listed.stdout
        assert token not in listed.stdout
        revoked = _cli("keys", "revoke", admin["key_id"], "--data-dir", str(data_dir))
        assert revoked.returncode == 0, revoked.stderr
        deadline = time.monotonic() + 5
        while httpx.get(f"{server.url}/api/v1/projects", headers=_auth(token)).status_code != 401:
            assert time.monotonic() < deadline, "revoked key accepted 5 s later"
            time.sleep(0.2)
        again = _cli("keys", "revoke", admin["key_id"], "--data-dir", str(data_dir))
        assert again.returncode == 1
        assert "no active API key" in again.stderr
    finally:
        server.stop()


def test_cli_names_a_bad_scope(tmp_path: Path) -> None:
    out = _cli("keys", "create", "--scope", "write", "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 2
    assert "'write'" in out.stderr


@pytest.fixture
def admin_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, str]]:
    data_dir = tmp_path / "data"
    made = _cli("keys", "create", "--scope", "admin", "--data-dir", str(data_dir), "--json")
    token = json.loads(made.stdout)["token"]
    server = ServerProcess(data_dir, free_port(), 0).start()
    try:
        yield server, token
    finally:
        server.stop()


def test_sdk_and_rest_manage_keys_and_the_sdk_reads_llmpulse_api_key(
    admin_server: tuple[ServerProcess, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, admin = admin_server
    monkeypatch.delenv("LLMPULSE_API_KEY", raising=False)
    with Client(server.url, max_retries=0) as anonymous, pytest.raises(LlmpulseApiError) as err:
        anonymous.list_keys()
    assert err.value.status == 401
    monkeypatch.setenv("LLMPULSE_API_KEY", admin)
    with Client(server.url) as client:
        created = client.create_key("sdk-made", ["ingest"], project="p1")
        assert created["token"].startswith("lp_")
        assert [k["name"] for k in client.list_keys()] == ["key", "sdk-made"]
        ingest = created["token"]
        project = f"p{uuid.uuid4().hex[:6]}"
        assert post_otlp(server.url, ingest, otlp_body(project)[0]).status_code == 403
        assert post_otlp(server.url, ingest, otlp_body("p1")[0]).status_code == 200
        r = httpx.get(f"{server.url}/api/v1/keys", headers=_auth(ingest))
        assert r.status_code == 403
        revoked = client.revoke_key(created["key_id"])
        assert revoked["revoked_at"] is not None
        assert post_otlp(server.url, ingest, otlp_body("p1")[0]).status_code == 401
        with pytest.raises(LlmpulseApiError) as bad:
            client.create_key("x", ["write"])
        assert bad.value.status == 400
        assert any("scopes" in e.path for e in bad.value.errors)


def test_cli_admin_commands_send_the_key(admin_server: tuple[ServerProcess, str]) -> None:
    server, admin = admin_server
    without = _cli("prices", "show", "--url", server.url, env={"LLMPULSE_API_KEY": ""})
    assert without.returncode != 0
    assert "401" in without.stderr or "API key" in without.stderr
    flag = _cli("prices", "show", "--url", server.url, "--api-key", admin)
    assert flag.returncode == 0, flag.stderr
    env = _cli("prices", "show", "--url", server.url, env={"LLMPULSE_API_KEY": admin})
    assert env.returncode == 0, env.stderr

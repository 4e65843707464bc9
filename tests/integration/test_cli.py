"""The `llmpulse` command line, run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.server import ServerProcess, free_port

pytestmark = pytest.mark.integration


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def _projects(url: str) -> dict[str, dict[str, object]]:
    return {p["name"]: p for p in httpx.get(f"{url}/api/v1/projects").json()["data"]}


def test_cli_help_lists_the_commands() -> None:
    out = _run("--help")
    assert out.returncode == 0
    assert "serve" in out.stdout
    assert "demo" in out.stdout


def test_demo_command_fills_the_rag_demo_project(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    out = _run("demo", "--data-dir", str(data_dir), "--days", "1", "--quiet")
    assert out.returncode == 0, out.stderr
    server = ServerProcess(data_dir, free_port(), 0).start()
    try:
        demo = _projects(server.url)["rag-demo"]
        assert int(str(demo["num_spans"])) > 5000
        assert int(str(demo["num_traces"])) > 1500
        errors = httpx.get(
            f"{server.url}/api/v1/projects/rag-demo/spans",
            params={"status": "ERROR", "limit": 5},
        ).json()["data"]
        assert errors, "the demo has failing traces"
    finally:
        server.stop()


def test_serve_reads_its_settings_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "LLMPULSE_HOST": "127.0.0.1",
        "LLMPULSE_PORT": str(port),
        "LLMPULSE_GRPC_PORT": "0",
        "LLMPULSE_DATA_DIR": str(tmp_path / "envdata"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmpulse", "serve"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start from env settings"
            time.sleep(0.1)
        assert (tmp_path / "envdata").is_dir()
    finally:
        proc.terminate()
        proc.wait(20)


def _gauge(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exposed")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [(None, 512 * 1000**2), ("300MB", 300 * 1000**2), ("1.5GiB", 1.5 * 2**30)],
)
def test_the_event_stores_buffer_pool_takes_the_memory_limit_setting(
    tmp_path: Path, setting: str | None, expected: float
) -> None:
    env = {} if setting is None else {"LLMPULSE_MEMORY_LIMIT": setting}
    server = ServerProcess(tmp_path / "data", free_port(), 0, env=env).start()
    try:
        limit = _gauge(server.url, "llmpulse_store_memory_limit_bytes")
        assert limit == expected
        assert 0 <= _gauge(server.url, "llmpulse_store_memory_bytes") <= limit
        assert _gauge(server.url, "llmpulse_store_spans") == 0
    finally:
        server.stop()


def test_serve_demo_populates_the_demo_project_in_the_background(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", free_port(), 0, ["--demo"]).start()
    try:
        deadline = time.monotonic() + 120
        while int(str(_projects(server.url).get("rag-demo", {}).get("num_spans", 0))) < 1000:
            assert time.monotonic() < deadline, server.log_text()
            time.sleep(0.5)
    finally:
        server.stop()


def test_second_server_on_the_same_data_dir_fails_with_a_clear_message(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, free_port(), 0).start()
    try:
        out = _run(
            "serve", "--port", str(free_port()), "--grpc-port", "0", "--data-dir", str(data_dir)
        )
        assert out.returncode != 0
        assert "lock" in (out.stdout + out.stderr).lower()
    finally:
        server.stop()


def test_serve_refuses_a_bad_price_file_with_the_field_path(tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("api_version: llmpulse/v1\nkind: PriceTable\nprices:\n  - model: x\n")
    out = _run("serve", "--prices", str(prices), "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 1
    assert "prices[0]" in out.stderr


def test_demo_refuses_a_data_dir_a_server_holds(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, free_port(), 0).start()
    try:
        out = _run("demo", "--data-dir", str(data_dir), "--days", "1", "--quiet")
        assert out.returncode == 1
        assert "error:" in out.stderr
        assert "Traceback" not in out.stderr
    finally:
        server.stop()

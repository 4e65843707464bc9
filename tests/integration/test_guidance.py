"""Guidance: unknown names answer with the nearest known ones (4xx, never an empty success or
a 500), and the CLI and SDK say how to start a server when none answers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from llmpulse.sdk.client import Client
from llmpulse.sdk.errors import ServerUnreachable
from support.server import free_port, running_demo_server

pytestmark = pytest.mark.integration
END = "2026-11-30T12:00:00+0000"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server on one day of demo data; yields its API base for project rag-demo."""
    with running_demo_server(tmp_path_factory.mktemp("guidance") / "data", 1, END) as server:
        yield f"{server.url}/api/v1/projects/rag-demo"


def _problem(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = r.json()
    return body


@pytest.mark.parametrize("route", ["segments", "segments/discover", "fairness"])
def test_an_unknown_key_names_the_nearest_keys(demo: str, route: str) -> None:
    r = httpx.get(f"{demo}/{route}", params={"key": "metadata.tiers", "metric": "error:rate"})
    body = _problem(r, 400)
    assert "unknown key 'metadata.tiers'; did you mean 'metadata.tier'" in str(body["detail"])
    errors = body["errors"]
    assert isinstance(errors, list)
    assert [e["path"] for e in errors] == ["key"]
    assert "did you mean 'metadata.tier'" in errors[0]["message"]


def test_a_known_key_still_analyses(demo: str) -> None:
    r = httpx.get(
        f"{demo}/segments", params={"key": "metadata.tier", "metric": "error:rate"}, timeout=120
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]


def test_group_by_an_unknown_key_is_refused_not_one_null_group(demo: str) -> None:
    r = httpx.get(f"{demo}/metrics", params={"metric": "count", "group_by": "regoin"})
    body = _problem(r, 400)
    assert body["errors"][0]["path"] == "group_by[0]"  # type: ignore[index]
    assert "did you mean 'metadata.region'?" in str(body["detail"])


def test_an_unknown_version_names_the_versions_there_are(demo: str) -> None:
    r = httpx.get(
        f"{demo}/compare",
        params={"baseline": "v9", "candidate": "v2", "metric": "error:rate", "key": "version"},
        timeout=120,
    )
    body = _problem(r, 400)
    assert body["errors"][0]["path"] == "baseline"  # type: ignore[index]
    assert "known: v1, v2" in str(body["detail"])


def test_an_unknown_project_names_the_nearest_project(demo: str) -> None:
    r = httpx.get(demo.replace("rag-demo", "rag-dmeo") + "/spans")
    body = _problem(r, 404)
    assert "did you mean 'rag-demo'?" in str(body["detail"])


def test_sdk_says_how_to_start_a_server_when_none_answers() -> None:
    port = free_port()
    with Client(f"http://127.0.0.1:{port}") as client, pytest.raises(ServerUnreachable) as err:
        client.get_projects()
    assert f"start one with `llmpulse serve --port {port}`" in str(err.value)
    assert isinstance(err.value, httpx.ConnectError)  # callers catching httpx still do


def test_cli_prints_one_line_with_the_command_that_starts_a_server() -> None:
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "llmpulse", "cohorts", "list", "p",
         "--url", f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=60, check=False, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        f"error: cannot reach the server: no llmpulse server answers at http://127.0.0.1:{port}"
    )
    assert f"llmpulse serve --port {port}" in lines[0]


@pytest.mark.parametrize("key", ["metadata.tier", "metadata.region", "model"])
def test_discover_says_why_when_it_finds_nothing(demo: str, key: str) -> None:
    r = httpx.get(
        f"{demo}/segments/discover", params={"key": key, "metric": "error:rate"}, timeout=120
    )
    assert r.status_code == 200, r.text
    body = r.json()
    found = [row for row in body["data"] if row["significant"] and row["worse"]]
    if found:
        assert body["nothing_found"] is None
    else:
        assert "affects all segments equally" in body["nothing_found"]

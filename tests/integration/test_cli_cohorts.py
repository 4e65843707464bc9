"""`llmpulse cohorts apply` (config-as-code) and `segments changes`, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from llmpulse.sdk.client import Client
from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data" / "cohorts" / "rag-demo.yaml"


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", *args],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "LLMPULSE_URL": server.url},
    )  # fmt: skip


def _create_project(server: ServerProcess, project: str) -> None:
    body = make_request([make_span("first")], project).SerializeToString()
    r = httpx.post(
        f"{server.url}/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
    )
    assert r.status_code == 200


def test_cohorts_apply_plans_then_applies_then_reports_nothing(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    project = f"cli-cohorts-{uuid.uuid4().hex[:6]}"
    _create_project(live_server, project)
    file = tmp_path / "cohorts.yaml"
    file.write_text(DATA.read_text().replace("PROJECT", project))
    dry = _cli(live_server, "cohorts", "apply", "-f", str(file), "--dry-run")
    assert dry.returncode == 3, dry.stderr
    assert f"create    {project}/eu-enterprise" in dry.stdout
    with Client(live_server.url) as client:
        assert client.list_cohorts(project) == []
    done = _cli(live_server, "cohorts", "apply", "-f", str(file))
    assert done.returncode == 0, done.stderr
    with Client(live_server.url) as client:
        names = [c["name"] for c in client.list_cohorts(project)]
    assert names == ["eu-enterprise", "not-free"]
    again = _cli(live_server, "cohorts", "apply", "-f", str(file), "--dry-run")
    assert again.returncode == 0
    assert "unchanged" in again.stdout


def test_cohorts_apply_rejects_a_bad_file_offline_with_the_field_path(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(DATA.read_text().replace("tier != 'free'", "tier = 'a' or b = 'c'"))
    out = _cli(live_server, "cohorts", "apply", "-f", str(file))
    assert out.returncode == 1
    assert "cohorts.1.expression" in out.stderr


def test_cohorts_apply_refuses_repeated_names_offline_and_unknown_projects(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    twice = tmp_path / "twice.yaml"
    twice.write_text(DATA.read_text().replace("name: not-free", "name: eu-enterprise"))
    out = _cli(live_server, "cohorts", "apply", "-f", str(twice))
    assert out.returncode == 1
    assert "cohorts[1].name 'eu-enterprise' repeats cohorts[0]" in out.stderr
    nowhere = tmp_path / "nowhere.yaml"
    nowhere.write_text(DATA.read_text().replace("PROJECT", "no-such-project"))
    out = _cli(live_server, "cohorts", "apply", "-f", str(nowhere))
    assert out.returncode != 0
    assert "no-such-project" in out.stderr
    with Client(live_server.url) as client:
        assert client.list_cohorts("no-such-project") == []

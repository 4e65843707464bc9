"""`llmpulse cohorts apply` (config-as-code) and `segments changes`, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from llmpulse.sdk.client import Client
from support.server import ServerProcess

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data" / "cohorts" / "rag-demo.yaml"


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", *args],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "LLMPULSE_URL": server.url},
    )  # fmt: skip


def test_cohorts_apply_plans_then_applies_then_reports_nothing(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    project = f"cli-cohorts-{uuid.uuid4().hex[:6]}"
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

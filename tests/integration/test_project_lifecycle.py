"""Project lifecycle over REST and the SDK: retention on demand and its report, deletion."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from llmpulse.clock import SystemClock, to_unix_us
from llmpulse.sdk.client import Client
from llmpulse.sdk.errors import LlmpulseApiError
from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration
DATA = Path(__file__).parent.parent / "data"


def _load(server: ServerProcess, project: str, ages_days: list[float]) -> None:
    now = SystemClock().now()
    spans = [
        make_span(f"s{i}", start_ns=to_unix_us(now - timedelta(days=age)) * 1000)
        for i, age in enumerate(ages_days)
    ]
    r = httpx.post(
        f"{server.url}/v1/traces",
        content=make_request(spans, project).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200, r.text


def _count(server: ServerProcess, project: str) -> int:
    r = httpx.get(f"{server.url}/api/v1/projects/{project}/metrics", params={"metric": "count"})
    assert r.status_code == 200, r.text
    return int(sum(row["n"] for row in r.json()["rows"]))


def test_retention_drops_old_spans_and_reports_its_run(live_server: ServerProcess) -> None:
    project = f"keep-{uuid.uuid4().hex[:6]}"
    other = f"keep-all-{uuid.uuid4().hex[:6]}"
    _load(live_server, project, [10, 9, 5, 2, 1, 0.1])
    _load(live_server, other, [10, 0.1])
    base = f"{live_server.url}/api/v1/projects/{project}/retention"
    assert httpx.get(base).json() == {"project": project, "days": None, "last_run": None}
    r = httpx.put(base, json={"days": 3})
    assert r.status_code == 200, r.text
    assert r.json()["days"] == 3
    run = httpx.post(f"{live_server.url}/api/v1/admin/retention/run")
    assert run.status_code == 200, run.text
    assert run.json()["runs"][project]["spans_dropped"] == 3
    assert other not in run.json()["runs"]  # no policy: untouched
    assert _count(live_server, project) == 3
    assert _count(live_server, other) == 2
    last = httpx.get(base).json()["last_run"]
    assert last["spans_dropped"] == 3
    assert last["error"] is None
    assert httpx.put(base, json={"days": None}).json()["days"] is None


def test_retention_refuses_bad_days_naming_the_field(live_server: ServerProcess) -> None:
    project = f"keep-bad-{uuid.uuid4().hex[:6]}"
    _load(live_server, project, [0.1])
    r = httpx.put(f"{live_server.url}/api/v1/projects/{project}/retention", json={"days": 0})
    assert r.status_code in (400, 422)
    assert "days" in r.text
    r = httpx.put(f"{live_server.url}/api/v1/projects/nope-{project}/retention", json={"days": 1})
    assert r.status_code == 404


def test_delete_project_removes_everything_of_it(live_server: ServerProcess) -> None:
    project = f"gone-{uuid.uuid4().hex[:6]}"
    kept = f"kept-{uuid.uuid4().hex[:6]}"
    _load(live_server, project, [0.1, 0.2, 0.3])
    _load(live_server, kept, [0.1])
    cohort = f"{live_server.url}/api/v1/projects/{project}/cohorts/slow"
    assert httpx.put(cohort, json={"expression": "tier = 'free'"}).status_code == 200
    r = httpx.delete(f"{live_server.url}/api/v1/projects/{project}")
    assert r.status_code == 200, r.text
    assert r.json() == {"project": project, "spans_deleted": 3}
    names = [p["name"] for p in httpx.get(f"{live_server.url}/api/v1/projects").json()["data"]]
    assert project not in names
    assert kept in names
    assert httpx.get(f"{live_server.url}/api/v1/projects/{project}/spans").status_code == 404
    assert _count(live_server, kept) == 1
    assert httpx.delete(f"{live_server.url}/api/v1/projects/{project}").status_code == 404
    _load(live_server, project, [0.1])  # ingest after a delete starts the project afresh
    assert _count(live_server, project) == 1
    assert httpx.get(f"{live_server.url}/api/v1/projects/{project}/cohorts").json()["data"] == []


def test_sdk_sets_retention_and_deletes_a_project(live_server: ServerProcess) -> None:
    project = f"sdk-life-{uuid.uuid4().hex[:6]}"
    _load(live_server, project, [8, 0.1])
    with Client(live_server.url) as client:
        assert client.set_retention(project, 7)["days"] == 7
        assert client.run_retention()[project]["spans_dropped"] == 1
        assert client.retention(project)["last_run"]["spans_dropped"] == 1
        assert client.delete_project(project) == 1
        with pytest.raises(LlmpulseApiError) as err:
            client.retention(project)
        assert err.value.status == 404


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_cli_applies_an_annotation_config_file_sets_retention_and_deletes(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    project = f"cli-life-{uuid.uuid4().hex[:6]}"
    _load(live_server, project, [0.1, 0.2])
    url = ("--url", live_server.url)
    text = (DATA / "annotations" / "rag-demo.yaml").read_text().replace("PROJECT", project)
    good = tmp_path / "annotations.yaml"
    good.write_text(text)
    done = _cli("projects", "annotations", project, "-f", str(good), *url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["correctness: correct|incorrect", "helpfulness: "]
    with Client(live_server.url) as client:
        assert client.annotation_config(project) == {
            "correctness": ["correct", "incorrect"],
            "helpfulness": [],
        }
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("annotations:", "annotation:"))
    refused = _cli("projects", "annotations", project, "-f", str(bad), *url)
    assert refused.returncode == 1
    assert "annotation: Extra inputs are not permitted" in refused.stderr

    done = _cli("projects", "retention", project, "--days", "30", *url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{project}: spans kept 30 days; not run"

    unconfirmed = _cli("projects", "delete", project, *url)
    assert unconfirmed.returncode == 2
    assert "--yes" in unconfirmed.stderr
    done = _cli("projects", "delete", project, "--yes", *url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"deleted {project} (2 spans)"

"""`llmpulse apply` / `export` and the configuration REST routes, against a real server.

Covers issue 10 item 7: a multi-document file is validated (errors name the document and
field), planned as a diff, applied, exported back, and applying the export (or the file
again) changes nothing; every change lands in the audit log with who made it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from llmpulse.sdk.client import Client
from llmpulse.sdk.errors import LlmpulseApiError
from support.server import ServerProcess

pytestmark = pytest.mark.integration
STACK = Path(__file__).resolve().parents[1] / "data" / "config" / "stack.yaml"


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", *args],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "LLMPULSE_URL": server.url},
    )  # fmt: skip


def _stack(tmp_path: Path, tag: str) -> tuple[Path, str]:
    """The example stack with its project and receivers renamed for this test."""
    project = f"cfg-{tag}-{uuid.uuid4().hex[:6]}"
    text = STACK.read_text().replace("rag-demo", project)
    text = text.replace("oncall-slack", f"slack-{project}").replace("oncall-pager", f"pd-{project}")
    file = tmp_path / "stack.yaml"
    file.write_text(text)
    return file, project


def test_apply_plans_applies_exports_and_reapplying_the_export_changes_nothing(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    file, project = _stack(tmp_path, "rt")
    dry = _cli(live_server, "apply", "-f", str(file), "--dry-run")
    assert dry.returncode == 3, dry.stderr
    assert f"+ create Monitor {project}/checkout-latency" in dry.stdout
    assert f"+ create AlertRoute {project}/default" in dry.stdout
    assert "plan: 6 to create, 0 to update, 0 to delete, 0 unchanged" in dry.stdout
    with Client(live_server.url) as client:
        assert client.list_monitors(project) == []  # a dry run writes nothing

    done = _cli(live_server, "apply", "-f", str(file))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("applied")

    out = tmp_path / "export.yaml"
    exported = _cli(live_server, "export", "--project", project, "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    docs = list(yaml.safe_load_all(out.read_text()))
    mine = [
        d
        for d in docs
        if d["metadata"].get("project") == project or project in d["metadata"]["name"]
    ]
    assert sorted(d["kind"] for d in mine) == [
        "AlertRoute", "Monitor", "Monitor", "Receiver", "Receiver", "Silence",
    ]  # fmt: skip
    slack = next(d for d in mine if d["kind"] == "Receiver" and d["spec"]["type"] == "slack")
    assert slack["spec"]["settings"] == {"urlFromEnv": "SLACK_URL"}

    for again in (out, file):
        plan = _cli(live_server, "apply", "-f", str(again), "--dry-run")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert "0 to create, 0 to update, 0 to delete" in plan.stdout


def test_a_changed_field_is_shown_as_an_update_with_before_and_after(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    file, project = _stack(tmp_path, "upd")
    assert _cli(live_server, "apply", "-f", str(file)).returncode == 0
    file.write_text(file.read_text().replace("window: 30m", "window: 15m"))
    dry = _cli(live_server, "apply", "-f", str(file), "--dry-run")
    assert dry.returncode == 3
    assert f"~ update Monitor {project}/errors" in dry.stdout
    assert "    spec.window: 30m -> 15m" in dry.stdout
    assert "1 to update" in dry.stdout
    assert _cli(live_server, "apply", "-f", str(file)).returncode == 0
    with Client(live_server.url) as client:
        assert client.get_monitor(project, "errors")["spec"]["window"] == "15m"
        entries = client.audit_log(kind="Monitor", project=project, name="errors")
    assert [e["action"] for e in entries] == ["update", "create"]
    assert entries[0]["actor"] == "cli"
    assert entries[0]["before"]["window"] == "30m"
    assert entries[0]["after"]["window"] == "15m"


def test_prune_deletes_only_left_out_objects_of_the_files_kinds_and_projects(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    file, project = _stack(tmp_path, "prune")
    assert _cli(live_server, "apply", "-f", str(file)).returncode == 0
    only_monitor = [d for d in yaml.safe_load_all(file.read_text()) if d["kind"] == "Monitor"][:1]
    small = tmp_path / "one-monitor.yaml"
    small.write_text(yaml.safe_dump_all(only_monitor))
    plain = _cli(live_server, "apply", "-f", str(small), "--dry-run")
    assert "0 to delete" in plain.stdout  # nothing is deleted without --prune
    pruned = _cli(live_server, "apply", "-f", str(small), "--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert f"- delete Monitor {project}/errors" in pruned.stdout
    assert "1 to delete" in pruned.stdout
    with Client(live_server.url) as client:
        assert [m["metadata"]["name"] for m in client.list_monitors(project)] == [
            "checkout-latency"
        ]
        assert client.get_route(project)["spec"]["receiver"] == f"slack-{project}"  # other kind


def test_a_bad_file_is_refused_offline_naming_the_document_and_field(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    file, _ = _stack(tmp_path, "bad")
    file.write_text(file.read_text().replace("window: 10m", "window: ten minutes"))
    got = _cli(live_server, "apply", "-f", str(file))
    assert got.returncode == 1
    assert "doc 3: spec.window:" in got.stderr
    bad_secret = tmp_path / "secret.yaml"
    bad_secret.write_text(
        "apiVersion: llmpulse/v1\nkind: Receiver\nmetadata: {name: leak}\n"
        "spec: {type: slack, settings: {url: 'https://hooks.slack.com/services/T/B/X'}}\n"
    )
    leak = _cli(live_server, "apply", "-f", str(bad_secret))
    assert leak.returncode == 1
    assert "doc 1: spec.settings.url: a secret" in leak.stderr


def test_rest_apply_names_documents_and_checks_receivers_exist(live_server: ServerProcess) -> None:
    project = f"cfg-ref-{uuid.uuid4().hex[:6]}"
    route = {
        "apiVersion": "llmpulse/v1", "kind": "AlertRoute",
        "metadata": {"name": "default", "project": project},
        "spec": {"receiver": "nobody-here"},
    }  # fmt: skip
    monitor = {
        "apiVersion": "llmpulse/v1", "kind": "Monitor",
        "metadata": {"name": "m", "project": project},
        "spec": {"metric": "latency_ms:p95", "window": "-5m"},
    }  # fmt: skip
    r = httpx.post(f"{live_server.url}/api/v1/apply", json={"documents": [route, monitor]})
    assert r.status_code == 400
    paths = [e["path"] for e in r.json()["errors"]]
    assert paths == ["documents[1].spec.window"]
    r = httpx.post(f"{live_server.url}/api/v1/apply", json={"documents": [route]})
    assert r.status_code == 400
    assert r.json()["errors"] == [
        {"path": "documents[0].spec", "message": "receiver 'nobody-here' does not exist"}
    ]
    unknown = {"apiVersion": "llmpulse/v1", "kind": "Nope", "metadata": {}, "spec": {}}
    r = httpx.post(f"{live_server.url}/api/v1/apply", json={"documents": [monitor, unknown]})
    assert r.status_code == 400
    assert "documents[1].kind" in [e["path"] for e in r.json()["errors"]]


def _monitor(window: str = "10m") -> dict[str, Any]:
    return {"spec": {"metric": "error:rate", "every": "1m", "window": window, "min_samples": 20}}


def test_monitor_crud_over_rest_with_field_errors_and_audit(live_server: ServerProcess) -> None:
    project = f"cfg-crud-{uuid.uuid4().hex[:6]}"
    base = f"{live_server.url}/api/v1/projects/{project}/monitors"
    created = httpx.post(base, json={"metadata": {"name": "err"}, **_monitor()})
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["min_samples"] == 20
    again = httpx.post(base, json={"metadata": {"name": "err"}, **_monitor()})
    assert again.status_code == 409
    bad = httpx.put(f"{base}/err", json=_monitor("soon"))
    assert bad.status_code == 400
    assert [e["path"] for e in bad.json()["errors"]] == ["spec.window"]
    other = httpx.put(f"{base}/err", json={"metadata": {"name": "x"}, **_monitor()})
    assert other.status_code == 400
    assert other.json()["errors"][0]["path"] == "metadata.name"
    assert httpx.put(f"{base}/err", json=_monitor("20m")).status_code == 200
    assert httpx.get(f"{base}/err").json()["spec"]["window"] == "20m"
    assert [m["metadata"]["name"] for m in httpx.get(base).json()["data"]] == ["err"]
    assert httpx.delete(f"{base}/err").status_code == 204
    assert httpx.get(f"{base}/err").status_code == 404
    audit = httpx.get(
        f"{live_server.url}/api/v1/audit", params={"project": project, "kind": "Monitor"}
    ).json()["data"]
    assert [(e["action"], e["actor"]) for e in audit] == [
        ("delete", "api"), ("update", "api"), ("create", "api"),
    ]  # fmt: skip
    assert audit[0]["after"] is None
    assert audit[0]["before"]["window"] == "20m"


def test_sdk_silences_add_list_expire_and_cli(live_server: ServerProcess) -> None:
    project = f"cfg-sil-{uuid.uuid4().hex[:6]}"
    with Client(live_server.url) as client:
        s = client.create_silence(project, ['monitor="checkout-latency"'], duration="2h",
                                  comment="deploy")  # fmt: skip
        assert s["state"] == "active"
        assert s["created_by"] == "api"
        with pytest.raises(LlmpulseApiError) as bad:
            client.create_silence(project, ['monitor=~"("'], duration="1h")
        assert bad.value.status == 400
        assert bad.value.errors[0].path.startswith("spec.matchers")
        with pytest.raises(LlmpulseApiError) as empty:
            client.create_silence(project, ['team=""'], duration="1h")
        assert empty.value.errors[0].path == "spec.matchers"
        assert [x["name"] for x in client.list_silences(project, "active")] == [s["name"]]
    added = _cli(live_server, "silences", "add", project, "-m", 'severity="info"',
                 "--duration", "30m", "--comment", "noisy")  # fmt: skip
    assert added.returncode == 0, added.stderr
    name = added.stdout.split()[0]
    assert "by cli: noisy" in added.stdout
    expired = _cli(live_server, "silences", "expire", project, name)
    assert expired.returncode == 0, expired.stderr
    assert " expired " in expired.stdout
    listed = _cli(live_server, "silences", "list", project, "--state", "expired")
    assert listed.stdout.split()[0] == name
    twice = _cli(live_server, "silences", "expire", project, name)
    assert twice.returncode == 1
    assert "expired already" in twice.stderr
    with Client(live_server.url) as client:
        actions = [e["action"] for e in client.audit_log(kind="Silence", project=project)]
    assert actions == ["expire", "create", "create"]


def test_monitors_cli_list_get_delete(live_server: ServerProcess, tmp_path: Path) -> None:
    file, project = _stack(tmp_path, "cli")
    assert _cli(live_server, "apply", "-f", str(file)).returncode == 0
    listed = _cli(live_server, "monitors", "list", project)
    assert listed.returncode == 0
    assert (
        "checkout-latency  latency_ms:p95  every 1m window 10m  adaptive  warning" in listed.stdout
    )
    assert "errors  error:rate  every 5m window 30m  p_chart  critical" in listed.stdout
    got = _cli(live_server, "monitors", "get", project, "errors")
    assert yaml.safe_load(got.stdout)["spec"]["segment_by"] == "metadata.region"
    assert _cli(live_server, "monitors", "delete", project, "errors").returncode == 0
    missing = _cli(live_server, "monitors", "get", project, "errors")
    assert missing.returncode == 1
    assert "HTTP 404" in missing.stderr

"""SLOs through `llmpulse apply` / `export` (issue 11 item 4), against a real server.

A file mixing monitors and SLOs, and the OpenSLO README examples (SLI, AlertPolicy and
AlertCondition in other documents), apply with a diff and ``--dry-run``; the SLOs land where
`SloService` reads them; export writes them back and apply → export → apply changes nothing;
invalid files are refused naming the document (by its index in the whole file) and field;
each SLO change has an audit entry.
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

from llmpulse.clock import SystemClock
from llmpulse.config.bundle import load_documents
from llmpulse.sdk.client import Client
from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data"
OPENSLO = DATA / "slos" / "openslo_readme.yaml"


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", *args],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "LLMPULSE_URL": server.url},
    )  # fmt: skip


def _seed(server: ServerProcess, project: str) -> None:
    """One span, so that the project exists for the SLO routes."""
    now_ns = int(SystemClock().now().timestamp() * 1e9)
    body = make_request([make_span("answer", start_ns=now_ns, duration_ns=10**8)], project)
    r = httpx.post(
        f"{server.url}/v1/traces",
        content=body.SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200


def _mixed(tmp_path: Path) -> tuple[Path, str]:
    """The config example stack plus our SLO examples, in one file of a fresh project."""
    project = f"slocfg-{uuid.uuid4().hex[:6]}"
    stack = (DATA / "config" / "stack.yaml").read_text()
    stack = stack.replace("oncall-slack", f"slack-{project}").replace(
        "oncall-pager", f"pd-{project}"
    )
    slos = (DATA / "slos" / "llmpulse_slos.yaml").read_text()
    text = (stack.rstrip() + "\n---\n" + slos).replace("rag-demo", project)
    file = tmp_path / "mixed.yaml"
    file.write_text(text)
    return file, project


def _names(docs: list[dict[str, Any]]) -> list[str]:
    """Names of manifests (``metadata.name``) or of SLO statuses (``name``)."""
    return sorted(str(d["metadata"]["name"] if "metadata" in d else d["name"]) for d in docs)


def test_a_mixed_file_applies_slos_with_a_diff_and_round_trips(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    file, project = _mixed(tmp_path)
    _seed(live_server, project)
    want = _names([d for d in yaml.safe_load_all(file.read_text()) if d["kind"] == "SLO"])
    assert len(want) >= 3
    dry = _cli(live_server, "apply", "-f", str(file), "--dry-run")
    assert dry.returncode == 3, dry.stdout + dry.stderr
    assert f"+ create SLO {project}/answer-availability" in dry.stdout
    assert f"+ create Monitor {project}/checkout-latency" in dry.stdout
    with Client(live_server.url) as client:
        assert client.list_slos(project) == []  # a dry run writes nothing

    done = _cli(live_server, "apply", "-f", str(file))
    assert done.returncode == 0, done.stdout + done.stderr
    with Client(live_server.url) as client:
        assert _names(client.list_slos(project)) == want  # the SLO service sees them
        entries = client.audit_log(kind="SLO", project=project, name="answer-availability")
    assert [e["action"] for e in entries] == ["create"]
    assert entries[0]["actor"] == "cli"
    assert entries[0]["after"]["objective"] == 0.995

    out = tmp_path / "export.yaml"
    exported = _cli(live_server, "export", "--project", project, "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    slo_docs = [d for d in yaml.safe_load_all(out.read_text()) if d["kind"] == "SLO"]
    assert _names(slo_docs) == want
    assert all(d["apiVersion"] == "llmpulse/v1" for d in slo_docs)
    for again in (out, file):
        plan = _cli(live_server, "apply", "-f", str(again), "--dry-run")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert "0 to create, 0 to update, 0 to delete" in plan.stdout


def test_a_changed_slo_is_an_update_with_before_after_and_audit(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    file, project = _mixed(tmp_path)
    _seed(live_server, project)
    assert _cli(live_server, "apply", "-f", str(file)).returncode == 0
    file.write_text(file.read_text().replace("objective: 0.995", "objective: 0.99"))
    dry = _cli(live_server, "apply", "-f", str(file), "--dry-run")
    assert dry.returncode == 3
    assert f"~ update SLO {project}/answer-availability" in dry.stdout
    assert "    spec.objective: 0.995 -> 0.99" in dry.stdout
    assert "1 to update" in dry.stdout
    assert _cli(live_server, "apply", "-f", str(file)).returncode == 0
    with Client(live_server.url) as client:
        slo = next(
            d for d in client.export(project) if d["metadata"]["name"] == "answer-availability"
        )
        assert slo["spec"]["objective"] == 0.99
        entries = client.audit_log(kind="SLO", project=project, name="answer-availability")
    assert [e["action"] for e in entries] == ["update", "create"]
    assert (entries[0]["before"]["objective"], entries[0]["after"]["objective"]) == (0.995, 0.99)
    pruned = tmp_path / "pruned.yaml"
    kept = [
        d
        for d in yaml.safe_load_all(file.read_text())
        if d["kind"] == "SLO" and d["metadata"]["name"] != "answer-availability"
    ]
    pruned.write_text(yaml.safe_dump_all(kept))
    got = _cli(live_server, "apply", "-f", str(pruned), "--prune")
    assert got.returncode == 0, got.stdout + got.stderr
    assert f"- delete SLO {project}/answer-availability" in got.stdout
    with Client(live_server.url) as client:
        assert "answer-availability" not in _names(client.list_slos(project))
        entries = client.audit_log(kind="SLO", project=project, name="answer-availability")
    assert entries[0]["action"] == "delete"


def test_the_openslo_readme_examples_apply_export_and_reapply_without_changes(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    project = f"openslo-{uuid.uuid4().hex[:6]}"
    _seed(live_server, project)
    docs = list(yaml.safe_load_all(OPENSLO.read_text()))
    slo_names = _names([d for d in docs if d["kind"] == "SLO"])
    dry = _cli(live_server, "apply", "-f", str(OPENSLO), "--project", project, "--dry-run")
    assert dry.returncode == 3, dry.stdout + dry.stderr
    for name in slo_names:
        assert f"+ create SLO {project}/{name}" in dry.stdout
    done = _cli(live_server, "apply", "-f", str(OPENSLO), "--project", project)
    assert done.returncode == 0, done.stdout + done.stderr
    with Client(live_server.url) as client:
        assert _names(client.list_slos(project)) == slo_names
    out = tmp_path / "export.yaml"
    assert _cli(live_server, "export", "--project", project, "-o", str(out)).returncode == 0
    assert _names([d for d in yaml.safe_load_all(out.read_text()) if d["kind"] == "SLO"]) == (
        slo_names
    )
    for args in (["-f", str(out)], ["-f", str(OPENSLO), "--project", project]):
        plan = _cli(live_server, "apply", *args, "--dry-run")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert "0 to create, 0 to update, 0 to delete" in plan.stdout


def test_invalid_slo_documents_are_refused_naming_the_file_document_and_field(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    file, project = _mixed(tmp_path)
    docs = list(yaml.safe_load_all(file.read_text()))
    at = next(i for i, d in enumerate(docs) if d["kind"] == "SLO")
    docs[at]["spec"]["objective"] = 1.5
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump_all(docs))
    got = _cli(live_server, "apply", "-f", str(bad))
    assert got.returncode == 1
    assert f"doc {at + 1}: spec.objective" in got.stderr, got.stderr
    with Client(live_server.url) as client:
        assert client.list_monitors(project) == []  # nothing of a bad file is applied

    openslo = load_documents(OPENSLO.read_text())  # YAML timestamps as text, as the CLI sends
    ref = next(i for i, d in enumerate(openslo) if "indicatorRef" in d.get("spec", {}))
    openslo[ref]["spec"]["indicatorRef"] = "no-such-sli"
    monitor = next(d for d in docs if d["kind"] == "Monitor")
    body = {"documents": [monitor, *openslo], "project": project, "dry_run": True}
    r = httpx.post(f"{live_server.url}/api/v1/apply", json=body)
    assert r.status_code == 400, r.text
    assert [e["path"] for e in r.json()["errors"]] == [f"documents[{ref + 1}].spec.indicatorRef"]

    r = httpx.post(f"{live_server.url}/api/v1/apply", json={"documents": openslo[:1]})
    assert r.status_code == 400  # an OpenSLO SLO needs a project: from the file or the request
    assert r.json()["errors"][0]["path"].startswith("documents[0].")

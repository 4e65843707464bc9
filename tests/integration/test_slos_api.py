"""SLOs over REST, the SDK and the CLI against a real server (issue 11 items 2, 4, 5)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from llmpulse.clock import SystemClock
from llmpulse.sdk.client import Client
from llmpulse.sdk.errors import LlmpulseApiError
from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration
DATA = Path(__file__).parents[1] / "data" / "slos"


def _send(server: ServerProcess, project: str) -> None:
    """300 requests over the last 50 minutes: every 20th fails, every 5th takes 3 s."""
    now_ns = int(SystemClock().now().timestamp() * 1e9)
    spans = [
        make_span(
            "answer",
            start_ns=now_ns - int((3000 - 10 * i) * 1e9),
            duration_ns=int((3.0 if i % 5 == 0 else 0.1) * 1e9),
            attrs={"openinference.span.kind": "CHAIN", "metadata": '{"tier": "pro"}'},
            error=i % 20 == 0,
        )
        for i in range(300)
    ]
    body = make_request(spans, project).SerializeToString()
    r = httpx.post(
        f"{server.url}/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
    )
    assert r.status_code == 200


def _docs(project: str) -> list[dict[str, object]]:
    return [
        {"apiVersion": "llmpulse/v1", "kind": "SLO", "metadata": {"name": "availability"},
         "spec": {"objective": 0.9, "window": "1d", "sli": {"type": "availability"}}},
        {"apiVersion": "llmpulse/v1", "kind": "SLO", "metadata": {"name": "latency"},
         "spec": {"objective": 0.99, "window": "1d",
                  "sli": {"type": "latency", "threshold_ms": 1000}}},
    ]  # fmt: skip


@pytest.fixture
def project(live_server: ServerProcess) -> str:
    name = f"slo-{uuid.uuid4().hex[:8]}"
    _send(live_server, name)
    return name


def test_apply_list_get_and_reapply(live_server: ServerProcess, project: str) -> None:
    with Client(live_server.url) as client:
        plan = client.apply_slos(project, _docs(project))
        assert plan["create"] == ["availability", "latency"]
        assert plan["applied"] is True
        again = client.apply_slos(project, _docs(project))
        assert again["unchanged"] == ["availability", "latency"]
        assert again["create"] == again["update"] == []
        slos = client.list_slos(project)
        # 95 % available against 90 %: half the budget left; 80 % fast against 99 %: breached
        assert [s["name"] for s in slos] == ["latency", "availability"]
        latency, availability = slos
        assert latency["status"] == "breached"
        assert latency["sli"] == pytest.approx(0.8)
        assert availability["sli"] == pytest.approx(0.95)
        assert availability["budget_remaining"] == pytest.approx(0.5)
        assert availability["valid"] == 300
        detail = client.get_slo(project, "availability")
        assert detail["spec"]["spec"]["sli"] == {"type": "availability"}
        assert [w["window"] for w in detail["windows"]][:2] == ["1m", "2m"]  # 1 d: scaled rules
        assert detail["burn_down"][-1][1] == pytest.approx(0.5)


def test_export_openslo_and_apply_back_changes_nothing(
    live_server: ServerProcess, project: str
) -> None:
    with Client(live_server.url) as client:
        client.apply_slos(project, _docs(project))
        for fmt in ("openslo", "llmpulse"):
            docs = client.export_slos(project, fmt)
            plan = client.apply_slos(project, docs, prune=True)
            assert plan["unchanged"] == ["availability", "latency"]
            assert plan["create"] == plan["update"] == plan["delete"] == []


def test_invalid_documents_get_400_naming_the_field(
    live_server: ServerProcess, project: str
) -> None:
    bad = _docs(project)
    bad[1]["spec"] = {"objective": 0.99, "sli": {"type": "latency"}}
    with Client(live_server.url) as client, pytest.raises(LlmpulseApiError) as err:
        client.apply_slos(project, bad)
    assert err.value.status == 400
    assert "documents[1].spec.sli.threshold_ms" in [e.path for e in err.value.errors]
    with Client(live_server.url) as client:
        assert client.list_slos(project) == []  # nothing of the file was applied
        with pytest.raises(LlmpulseApiError) as put_err:
            client.put_slo(project, "x", {"objective": 1.5, "sli": {"type": "availability"}})
        assert put_err.value.status == 400
        assert [e.path for e in put_err.value.errors] == ["spec.objective"]
        with pytest.raises(LlmpulseApiError) as missing:
            client.get_slo(project, "nope")
        assert missing.value.status == 404


def test_report_json_csv_and_status_feed(live_server: ServerProcess, project: str) -> None:
    now = SystemClock().now()
    with Client(live_server.url) as client:
        client.apply_slos(project, _docs(project))
        start = (now - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        report = client.slo_report(project, "availability", start=start, end=now, period="day")
        total = sum(p["valid"] for p in report["periods"])
        bad = sum(p["valid"] - p["good"] for p in report["periods"])
        assert (total, bad) == (300, 15)
        text = client.slo_report(
            project, "availability", start=start, end=now, period="day", format="csv"
        )
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["period"] for r in rows] == [p["period"] for p in report["periods"]]
        assert sum(float(r["valid"] or 0) for r in rows) == 300
        feed = client.slo_status_feed(project)
        assert feed["indicator"] == "major"  # the latency SLO is breached
        assert {s["name"]: s["status"] for s in feed["slos"]}["latency"] == "breached"


def test_cli_apply_list_report_export(
    live_server: ServerProcess, project: str, tmp_path: Path
) -> None:
    path = tmp_path / "slos.yaml"
    docs = yaml.safe_load_all((DATA / "openslo_readme.yaml").read_text())
    path.write_text(yaml.safe_dump_all(list(docs)))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "llmpulse", "slos", *args, "--url", live_server.url],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    dry = cli("apply", "-f", str(path), "--project", project, "--dry-run")
    assert dry.returncode == 3, dry.stderr
    assert f"create    {project}/foo-slo" in dry.stdout
    applied = cli("apply", "-f", str(path), "--project", project)
    assert applied.returncode == 0, applied.stderr
    assert cli("apply", "-f", str(path), "--project", project, "--dry-run").returncode == 0
    listed = cli("list", project)
    assert listed.returncode == 0
    assert "foo-slo" in listed.stdout
    assert "p95-latency" in listed.stdout
    exported = cli("export", project, "--format", "openslo")
    (tmp_path / "out.yaml").write_text(exported.stdout)
    again = cli("apply", "-f", str(tmp_path / "out.yaml"), "--dry-run")
    assert again.returncode == 0, again.stdout + again.stderr
    report = cli("report", project, "foo-slo", "--format", "csv")
    assert report.stdout.startswith("period,start,end")
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: llmpulse/v1\nkind: SLO\nmetadata: {name: a}\n"
                      "spec: {objective: 2, sli: {type: availability}}\n")  # fmt: skip
    refused = cli("apply", "-f", str(broken), "--project", project)
    assert refused.returncode == 1
    assert "documents[0].spec.objective" in refused.stderr


def test_digest_over_rest_sdk_and_cli(live_server: ServerProcess, project: str) -> None:
    with Client(live_server.url) as client:
        client.apply_slos(project, _docs(project))
        d = client.slo_digest(project)
    assert d["requests"] == 300
    assert {s["name"]: s["status"] for s in d["slos"]} == {
        "availability": "healthy", "latency": "breached"
    }  # fmt: skip
    assert d["worst_segments"][0]["key"] == "metadata.tier"
    assert d["worst_segments"][0]["error_rate"] == pytest.approx(15 / 300)
    assert "latency: breached" in d["text"]
    out = subprocess.run(
        [sys.executable, "-m", "llmpulse", "slos", "digest", project, "--url", live_server.url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"llmpulse digest for {project}")

"""Evaluation rules through the SDK and the CLI, as a user runs them (no judge: offline rules)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from llmpulse.sdk.client import Client
from llmpulse.sdk.errors import LlmpulseApiError
from support.rag_evals import send_rag_traces
from support.server import ServerProcess

pytestmark = pytest.mark.integration

RULES = """\
api_version: llmpulse/v1
kind: EvalRuleList
project: PROJECT
rules:
  - name: lexical
    evaluator: {kind: lexical_grounding, name: grounding}
    policy: {span_kinds: [LLM], workflows: [refunds]}
    online: false
  - name: judge-later
    evaluator: {kind: hallucination}
    online: false
"""


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpulse", *args],
        capture_output=True, text=True, timeout=180, check=False,
        env={**os.environ, "LLMPULSE_URL": server.url},
    )  # fmt: skip


def test_yaml_apply_then_cli_backfill_with_progress_lines(
    live_server: ServerProcess, tmp_path: Path
) -> None:
    project = f"cli-evals-{uuid.uuid4().hex[:6]}"
    planted = send_rag_traces(live_server.url, project, 20)
    file = tmp_path / "rules.yaml"
    file.write_text(RULES.replace("PROJECT", project))
    dry = _cli(live_server, "evals", "apply", "-f", str(file), "--dry-run")
    assert dry.returncode == 3, dry.stderr
    assert f"create    {project}/lexical" in dry.stdout
    assert _cli(live_server, "evals", "apply", "-f", str(file)).returncode == 0
    again = _cli(live_server, "evals", "apply", "-f", str(file), "--dry-run")
    assert again.returncode == 0
    assert f"unchanged {project}/lexical" in again.stdout
    run = _cli(live_server, "evals", "backfill", project, "lexical")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[-1].startswith("done: 40/40 spans, 2 picked, 2 evaluated, 0 errors")
    with Client(live_server.url) as client:
        jobs = client.list_eval_jobs(project)
        assert [j["state"] for j in jobs] == ["done"]
        refunds = [p for p in planted if p.workflow == "refunds"]
        for p in refunds:
            notes = client.request("GET", f"/api/v1/spans/{p.llm_span_id}/annotations")
            data = notes["data"] if isinstance(notes, dict) else notes
            assert [n["name"] for n in data] == ["grounding"]


def test_sdk_rule_crud_backfill_and_wait(live_server: ServerProcess) -> None:
    project = f"sdk-evals-{uuid.uuid4().hex[:6]}"
    send_rag_traces(live_server.url, project, 6)
    seen: list[float] = []
    with Client(live_server.url) as client:
        rule = {"name": "g", "evaluator": {"kind": "lexical_grounding"},
                "policy": {"span_kinds": ["LLM"]}, "online": False}  # fmt: skip
        assert client.put_eval_rule(project, rule)["name"] == "g"
        assert [r["name"] for r in client.list_eval_rules(project)] == ["g"]
        job = client.backfill_eval_rule(project, "g", limit=8)
        done = client.wait_eval_job(project, job["id"], poll_s=0.05,
                                    on_progress=lambda j: seen.append(j["progress"]))  # fmt: skip
        assert done["state"] == "done"
        assert done["report"]["considered"] == 8
        assert seen[-1] == 1.0
        status = client.eval_online_status(project)
        assert status["judge_configured"] is False
        with pytest.raises(LlmpulseApiError) as err:
            client.backfill_eval_rule(project, "g", limit=0)
        assert err.value.status == 400
        assert err.value.errors[0].path.endswith("limit")
        client.put_eval_rule(project, {"name": "j", "evaluator": {"kind": "hallucination"}})
        with pytest.raises(LlmpulseApiError) as err:
            client.backfill_eval_rule(project, "j")
        assert err.value.status == 400
        assert "LLMPULSE_JUDGE_BASE_URL" in err.value.detail
        client.delete_eval_rule(project, "g")
        assert [r["name"] for r in client.list_eval_rules(project)] == ["j"]

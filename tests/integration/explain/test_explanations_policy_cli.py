"""Stored explanation policies pick exactly their spans; the CLI and the SDK's local what-if.

Planted: a third of the predictions carry the ``workflow`` tag ``triage``; a stored policy
naming that workflow must explain exactly those, a 25 % sample exactly the spans whose
deterministic sample point is below 0.25, and the default policy every prediction.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.explain.credit_data import credit_records
from llmpulse import Client
from llmpulse.domain.ids import PredictionId, ProjectName
from llmpulse.domain.triggering import sample_point
from llmpulse.ingest.predictions import prediction_span_ids
from support.server import ServerProcess, running_server

N = 120


def _records() -> list[dict[str, object]]:
    out = credit_records(N, seed=9, with_shap=True)
    for i, rec in enumerate(out):
        tags = dict(rec["tags"])  # type: ignore[call-overload]
        tags["workflow"] = "triage" if i % 3 == 0 else "auto"
        rec["tags"] = tags
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("explain-policy") / "data") as proc:
        with Client(proc.url) as client:
            assert not client.log_records(_records(), project="loans").rejected
        yield proc


def _subjects(client: Client, out: dict[str, object]) -> set[str]:
    ids = out["records"]
    assert isinstance(ids, list)
    return {client.get_explanation("loans", r)["body"]["subject"]["id"] for r in ids}


def test_a_stored_workflow_policy_explains_exactly_that_workflow(server: ServerProcess) -> None:
    triage = {str(r["prediction_id"]) for r in _records() if r["tags"]["workflow"] == "triage"}  # type: ignore[index]
    with Client(server.url) as client:
        assert client.get_explain_policy("loans")["policy"]["sample_rate"] == 1.0
        client.put_explain_policy("loans", {"workflows": ["triage"]})
        out = client.explain_triggered("loans")
        assert out["selected"] == len(triage)
        assert out["skipped"] == {"workflow": N - len(triage)}
        assert _subjects(client, out) == triage


def test_a_sample_policy_picks_the_deterministic_sample(server: ServerProcess) -> None:
    expected = set()
    for r in _records():
        _, span_id = prediction_span_ids(
            ProjectName("loans"), PredictionId(str(r["prediction_id"]))
        )
        if sample_point("s1", span_id) < 0.25:
            expected.add(str(r["prediction_id"]))
    assert 10 < len(expected) < 50
    with Client(server.url) as client:
        out = client.explain_triggered("loans", {"sample_rate": 0.25, "seed": "s1"})
        assert _subjects(client, out) == expected
        assert out["skipped"] == {"sample": N - len(expected)}


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "llmpulse", "explanations", *args, "--url", server.url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_cli_applies_yaml_tables_and_policies_and_searches(
    server: ServerProcess, tmp_path: Path
) -> None:
    codes = tmp_path / "codes.yaml"
    codes.write_text(
        "api_version: llmpulse/v1\nkind: ReasonCodes\nproject: loans\nreasons:\n"
        "  - {feature: debt, direction: increase, code: D1, text: Debt is high}\n"
    )
    assert _cli(server, "reason-codes", "apply", "-f", str(codes)).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ReasonCodes\nproject: loans\nreasons:\n  - {feature: debt}\n")
    refused = _cli(server, "reason-codes", "apply", "-f", str(bad))
    assert refused.returncode == 1
    assert "reasons.0.code" in refused.stderr
    policy = tmp_path / "policy.yaml"
    policy.write_text("kind: ExplainPolicy\nproject: loans\npolicy: {confidence_below: 0.2}\n")
    assert _cli(server, "policy", "apply", "-f", str(policy)).returncode == 0
    shown = _cli(server, "policy", "show", "loans")
    assert "confidence_below: 0.2" in shown.stdout
    explained = _cli(server, "explain", "loans", "p-4", "--external-id", "case_id=K-4")
    assert explained.returncode == 0, explained.stderr
    found = _cli(server, "search", "loans", "--external-id", "case_id:K-4")
    assert "prediction:p-4" in found.stdout
    why = _cli(server, "why", "loans", "--prediction", "p-4")
    assert '"record_id"' in why.stdout


def test_sdk_what_if_with_the_callers_own_model_is_recorded(server: ServerProcess) -> None:
    def generate(question: str, chunks: list[str]) -> str:
        return chunks[0] if chunks else "unknown."

    def evaluate(question: str, chunks: list[str], answer: str) -> float:
        return 1.0 if any(answer in c for c in chunks) else 0.0

    with Client(server.url) as client:
        out = client.what_if_local(
            "loans", question="q?", answer="alpha.", chunks=["alpha.", "beta."],
            generate=generate, evaluate=evaluate, drop=[0], external_ids={"case_id": "W-1"},
        )  # fmt: skip
        assert out["explanation"]["new_answer"] == "beta."
        assert out["explanation"]["evaluation_delta"] == 0.0
        rec = client.get_explanation("loans", out["record_id"])
        assert rec["body"]["method"] == "rag.what_if"
        assert client.verify_explanations("loans")["ok"] is True

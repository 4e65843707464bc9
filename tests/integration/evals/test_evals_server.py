"""Evaluation rules on a real server, judged by the fake OpenAI-compatible endpoint.

Backfill over stored spans and online evaluation as spans arrive both write annotations that
the annotations API and the metrics engine read back; the rules pick exactly the planted spans.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from judges import grounding_judge

from fakes.openai_compat import OpenAICompatFake, rate_limited
from support.rag_evals import send_rag_traces
from support.server import ServerProcess, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def judge() -> Iterator[OpenAICompatFake]:
    fake = OpenAICompatFake(responder=grounding_judge, api_key="sk-judge")
    with fake.receiver:
        yield fake


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, judge: OpenAICompatFake
) -> Iterator[ServerProcess]:
    env = {
        "LLMPULSE_JUDGE_BASE_URL": judge.url, "LLMPULSE_JUDGE_MODEL": "gpt-4o-mini",
        "LLMPULSE_JUDGE_API_KEY_ENV": "TEST_JUDGE_KEY", "TEST_JUDGE_KEY": "sk-judge",
    }  # fmt: skip
    s = ServerProcess(tmp_path_factory.mktemp("evals") / "data", free_port(), 0, env=env)
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _wait_job(url: str, project: str, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/api/v1/projects/{project}/eval-jobs/{job_id}").json()
        if job["state"] != "running":
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still running")


def _annotations(url: str, span_id: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{url}/api/v1/spans/{span_id}/annotations")
    assert r.status_code == 200, r.text
    return list(r.json()["data"] if isinstance(r.json(), dict) else r.json())


def test_backfill_judges_exactly_the_workflow_spans_and_annotations_feed_metrics(
    server: ServerProcess,
) -> None:
    url, project = server.url, "evals-backfill"
    planted = send_rag_traces(url, project, 40)
    rule = {
        "name": "refund-grounding",
        "evaluator": {"kind": "hallucination"},
        "policy": {"workflows": ["refunds"], "span_kinds": ["LLM"]},
        "online": False,
    }
    put = httpx.put(f"{url}/api/v1/projects/{project}/eval-rules/refund-grounding", json=rule)
    assert put.status_code == 200, put.text
    started = httpx.post(
        f"{url}/api/v1/projects/{project}/eval-rules/refund-grounding/backfill", json={}
    )
    assert started.status_code == 202, started.text
    assert started.json()["total"] == 80
    job = _wait_job(url, project, started.json()["id"])
    refunds = [p for p in planted if p.workflow == "refunds"]
    assert job["state"] == "done"
    assert job["progress"] == 1.0
    assert job["report"]["considered"] == 80
    assert job["report"]["selected"] == len(refunds) == 4
    assert job["report"]["evaluated"] == 4
    assert job["report"]["cost_usd"] > 0
    for p in planted:
        notes = [a for a in _annotations(url, p.llm_span_id) if a["name"] == "hallucination"]
        if p.workflow != "refunds":
            assert notes == []
            continue
        (note,) = notes
        assert note["label"] == ("factual" if p.grounded else "hallucinated")
        assert note["annotator_kind"] == "LLM"
        assert note["metadata"]["judge_model"] == "gpt-4o-mini"
        assert note["metadata"]["rule"] == "refund-grounding"
        assert note["explanation"]
    m = httpx.get(
        f"{url}/api/v1/projects/{project}/metrics",
        params={"metric": "annotation.hallucination.score:mean"},
    )
    assert m.status_code == 200, m.text
    value = m.json()["rows"][0]["values"]["annotation.hallucination.score:mean"]
    assert value == pytest.approx(sum(p.grounded for p in refunds) / len(refunds))


def test_online_rule_evaluates_low_confidence_spans_as_they_arrive(server: ServerProcess) -> None:
    url, project = server.url, "evals-online"
    send_rag_traces(url, project, 2, seed=9)  # creates the project
    rule = {
        "name": "lex",
        "evaluator": {"kind": "lexical_grounding", "name": "grounding"},
        "policy": {"span_kinds": ["LLM"], "confidence_below": 0.5},
    }
    assert (
        httpx.put(f"{url}/api/v1/projects/{project}/eval-rules/lex", json=rule).status_code == 200
    )
    planted = send_rag_traces(url, project, 30, seed=3, offset_s=100)
    low = [p for p in planted if p.confidence < 0.5]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        st = httpx.get(f"{url}/api/v1/projects/{project}/eval-online").json()
        if st["queued"] == 0 and st["rules"].get("lex", {}).get("considered", 0) >= 60:
            break
        time.sleep(0.1)
    assert st["rules"]["lex"]["selected"] == len(low)
    assert st["rules"]["lex"]["evaluated"] == len(low)
    for p in planted:
        notes = [a for a in _annotations(url, p.llm_span_id) if a["name"] == "grounding"]
        if p.confidence >= 0.5:
            assert notes == []
            continue
        (note,) = notes
        assert note["annotator_kind"] == "CODE"
        assert (note["score"] > 0.9) is p.grounded


def test_cost_cap_stops_a_backfill_and_reports_it(server: ServerProcess) -> None:
    url, project = server.url, "evals-cap"
    send_rag_traces(url, project, 30, seed=5)
    rule = {"name": "all", "evaluator": {"kind": "hallucination"},
            "policy": {"span_kinds": ["LLM"]}, "online": False}  # fmt: skip
    httpx.put(f"{url}/api/v1/projects/{project}/eval-rules/all", json=rule).raise_for_status()
    r = httpx.post(f"{url}/api/v1/projects/{project}/eval-rules/all/backfill",
                   json={"max_cost_usd": 0.0003})  # fmt: skip
    job = _wait_job(url, project, r.json()["id"])
    assert job["state"] == "stopped"
    assert "cost cap" in job["detail"]
    assert 0 < job["report"]["evaluated"] < 30
    assert job["report"]["cost_usd"] <= 0.0003


def test_backfill_retries_a_rate_limited_judge(
    server: ServerProcess, judge: OpenAICompatFake
) -> None:
    url, project = server.url, "evals-retry"
    planted = send_rag_traces(url, project, 3, seed=8)
    rule = {"name": "r", "evaluator": {"kind": "toxicity"}, "policy": {"span_kinds": ["LLM"]},
            "online": False}  # fmt: skip
    httpx.put(f"{url}/api/v1/projects/{project}/eval-rules/r", json=rule).raise_for_status()
    judge.receiver.script += [rate_limited(0.05), rate_limited(0.05)]
    r = httpx.post(f"{url}/api/v1/projects/{project}/eval-rules/r/backfill", json={})
    job = _wait_job(url, project, r.json()["id"])
    assert job["state"] == "done"
    assert job["report"]["evaluated"] == 3
    # the toxicity template's rails are non-toxic/toxic; the grounding judge answers neither
    assert job["report"]["errors"] == 3
    note = next(a for a in _annotations(url, planted[0].llm_span_id) if a["name"] == "toxicity")
    assert note["label"] is None
    assert "not one of the rails" in note["metadata"]["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "evaluator": {"kind": "nope"}}, "evaluator"),
        ({"name": "x", "evaluator": {"kind": "custom", "prompt": "{oops}", "rails": ["a", "b"]}},
         "evaluator.prompt"),
        ({"name": "x", "evaluator": {"kind": "toxicity"}, "policy": {"sample_rate": 2}}, "policy"),
    ],
)  # fmt: skip
def test_bad_rules_are_4xx_naming_the_field(
    server: ServerProcess, body: dict[str, Any], field: str
) -> None:
    send_rag_traces(server.url, "evals-bad", 1)
    r = httpx.put(f"{server.url}/api/v1/projects/evals-bad/eval-rules/x", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert field in r.text


def test_backfill_of_an_unknown_rule_is_404(server: ServerProcess) -> None:
    send_rag_traces(server.url, "evals-404", 1)
    r = httpx.post(f"{server.url}/api/v1/projects/evals-404/eval-rules/none/backfill", json={})
    assert r.status_code == 404

"""Review queues and judge-versus-human agreement on a real server (issue 13, item 8).

An online rule picks the planted low-confidence spans, the fake judge flags the ungrounded
ones, and exactly those land in the review queue with the span's "why this answer" attached.
Reviewers claim and resolve items through the SDK; their labels are HUMAN annotations, and the
agreement endpoint's Cohen's kappa matches a hand computation on planted disagreements.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from judges import grounding_judge

from fakes.openai_compat import OpenAICompatFake
from llmpulse.sdk.client import Client
from llmpulse.sdk.errors import LlmpulseApiError
from support.rag_evals import send_rag_traces
from support.server import ServerProcess, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    fake = OpenAICompatFake(responder=grounding_judge, api_key="sk-judge")
    env = {
        "LLMPULSE_JUDGE_BASE_URL": fake.url, "LLMPULSE_JUDGE_MODEL": "gpt-4o-mini",
        "LLMPULSE_JUDGE_API_KEY_ENV": "TEST_JUDGE_KEY", "TEST_JUDGE_KEY": "sk-judge",
    }  # fmt: skip
    with fake.receiver:
        s = ServerProcess(tmp_path_factory.mktemp("review") / "data", free_port(), 0, env=env)
        s.start()
        try:
            yield s
        finally:
            s.stop()


def _wait_online(url: str, project: str, rule: str, considered: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        st = httpx.get(f"{url}/api/v1/projects/{project}/eval-online").json()
        if st["queued"] == 0 and st["rules"].get(rule, {}).get("considered", 0) >= considered:
            return dict(st["rules"][rule])
        time.sleep(0.1)
    raise AssertionError("online evaluation did not finish")


def _wait_job(url: str, project: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/api/v1/projects/{project}/eval-jobs/{job_id}").json()
        if job["state"] != "running":
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still running")


def test_queue_receives_exactly_the_low_confidence_flagged_spans_with_their_why(
    server: ServerProcess,
) -> None:
    url, project = server.url, "review-online"
    send_rag_traces(url, project, 2, seed=9)  # creates the project
    rule = {
        "name": "triage",
        "evaluator": {"kind": "hallucination"},
        "policy": {"span_kinds": ["LLM"], "confidence_below": 0.5},
        "review": {"queue": "flagged", "labels": ["hallucinated"]},
    }
    put = httpx.put(f"{url}/api/v1/projects/{project}/eval-rules/triage", json=rule)
    assert put.status_code == 200, put.text
    planted = send_rag_traces(url, project, 40, seed=4, offset_s=100)
    report = _wait_online(url, project, "triage", 80)
    low = [p for p in planted if p.confidence < 0.5]
    flagged = {p.llm_span_id for p in low if not p.grounded}
    assert 0 < len(flagged) < len(low) < len(planted)  # the plant has every case
    assert report["selected"] == len(low)
    assert report["routed"] == len(flagged)
    with Client(url) as client:
        items = client.review_items(project, queue="flagged", status="open")
    assert {i["span_id"] for i in items} == flagged
    for item in items:
        assert item["verdict"]["label"] == "hallucinated"
        assert item["verdict"]["rule"] == "triage"
        assert item["verdict"]["reason"]
        why = item["explanation"]
        assert why["kind"] == "span"
        assert why["id"] == item["span_id"]
        assert why["answer"]
        assert why["method"]
        assert "sources" in why
    # another queue name and another status are empty
    assert httpx.get(f"{url}/api/v1/projects/{project}/review-items",
                     params={"queue": "other"}).json()["data"] == []  # fmt: skip


def test_claim_and_resolve_write_a_human_annotation(server: ServerProcess) -> None:
    url, project = server.url, "review-resolve"
    send_rag_traces(url, project, 1, seed=2)
    rule = {"name": "all", "evaluator": {"kind": "hallucination"},
            "policy": {"span_kinds": ["LLM"]}, "online": False,
            "review": {"queue": "q"}}  # fmt: skip
    httpx.put(f"{url}/api/v1/projects/{project}/eval-rules/all", json=rule).raise_for_status()
    planted = send_rag_traces(url, project, 6, seed=3, offset_s=50)
    job = httpx.post(f"{url}/api/v1/projects/{project}/eval-rules/all/backfill", json={}).json()
    assert _wait_job(url, project, job["id"])["report"]["routed"] == 7
    with Client(url) as client:
        items = client.review_items(project, queue="q")
        assert len(items) == 7
        item = next(i for i in items if i["span_id"] == planted[0].llm_span_id)
        claimed = client.claim_review_item(project, item["id"], "alice")
        assert claimed["status"] == "claimed"
        assert claimed["claimed_by"] == "alice"
        with pytest.raises(LlmpulseApiError) as taken:
            client.claim_review_item(project, item["id"], "bob")
        assert taken.value.status == 409
        with pytest.raises(LlmpulseApiError) as empty:
            client.resolve_review_item(project, item["id"], "alice", "")
        assert empty.value.status == 400
        assert any("label" in e.path for e in empty.value.errors)
        judge_label = item["verdict"]["label"]
        human_label = "hallucinated" if judge_label == "factual" else "factual"
        done = client.resolve_review_item(project, item["id"], "alice", human_label, "wrong")
        assert done["status"] == "resolved"
        assert done["resolution"]["label"] == human_label
        assert done["resolution"]["agrees"] is False
        with pytest.raises(LlmpulseApiError) as again:
            client.resolve_review_item(project, item["id"], "alice", human_label)
        assert again.value.status == 409
        assert [i["id"] for i in client.review_items(project, status="resolved")] == [item["id"]]
    notes = httpx.get(f"{url}/api/v1/spans/{item['span_id']}/annotations").json()
    notes = notes["data"] if isinstance(notes, dict) else notes
    human = [a for a in notes if a["annotator_kind"] == "HUMAN"]
    assert len(human) == 1
    assert human[0]["name"] == "hallucination"
    assert human[0]["label"] == human_label
    assert human[0]["explanation"] == "wrong"
    assert human[0]["metadata"]["reviewer"] == "alice"
    assert httpx.get(f"{url}/api/v1/projects/{project}/review-items/nope").status_code == 404


def _kappa(pairs: list[tuple[str, str]]) -> float:
    """Cohen's kappa by hand: (p_o - p_e) / (1 - p_e) for two labels."""
    n = len(pairs)
    p_o = sum(j == h for j, h in pairs) / n
    labels = {"factual", "hallucinated"}
    p_e = sum(
        (sum(j == c for j, _ in pairs) / n) * (sum(h == c for _, h in pairs) / n) for c in labels
    )
    return (p_o - p_e) / (1 - p_e)


def test_agreement_is_one_when_humans_agree_and_drops_with_planted_flips(
    server: ServerProcess,
) -> None:
    url, project = server.url, "review-agree"
    send_rag_traces(url, project, 40, seed=6)
    rule = {"name": "all", "evaluator": {"kind": "hallucination"},
            "policy": {"span_kinds": ["LLM"]}, "online": False,
            "review": {"queue": "audit"}}  # fmt: skip
    httpx.put(f"{url}/api/v1/projects/{project}/eval-rules/all", json=rule).raise_for_status()
    job = httpx.post(f"{url}/api/v1/projects/{project}/eval-rules/all/backfill", json={}).json()
    assert _wait_job(url, project, job["id"])["state"] == "done"
    flip = {"factual": "hallucinated", "hallucinated": "factual"}
    with Client(url) as client:
        items = client.review_items(project, queue="audit")
        assert len(items) == 40
        nothing = client.eval_agreement(project, "hallucination")
        assert nothing["items"] == 0
        assert nothing["kappa"] is None
        # first half: humans agree with the judge
        for item in items[:20]:
            client.resolve_review_item(project, item["id"], "r", item["verdict"]["label"])
        same = client.eval_agreement(project, "hallucination")
        assert same["items"] == 20
        assert same["agreement"] == 1.0
        assert same["kappa"] == pytest.approx(1.0)
        # second half: 30 % of all 40 verdicts (12 items) flipped by the human
        pairs = [(i["verdict"]["label"], i["verdict"]["label"]) for i in items[:20]]
        for k, item in enumerate(items[20:]):
            judge = item["verdict"]["label"]
            human = flip[judge] if k < 12 else judge
            client.resolve_review_item(project, item["id"], "r", human)
            pairs.append((judge, human))
        out = client.eval_agreement(project, "hallucination")
    assert out["items"] == 40
    assert out["agreement"] == pytest.approx(28 / 40)
    assert out["kappa"] == pytest.approx(_kappa(pairs))
    assert out["kappa"] < 0.7
    assert sum(map(sum, out["confusion"])) == 40
    diag = sum(out["confusion"][i][i] for i in range(len(out["labels"])))
    assert diag == 28
    bad = httpx.get(f"{url}/api/v1/projects/{project}/eval-agreement")
    assert bad.status_code == 400
    assert "name" in bad.text

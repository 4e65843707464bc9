"""Fault: an annotation whose metadata nests deeper than can be stored, among busy ingest.

Issue 9, item 3. The bad annotation is reported in ``rejected`` (naming its item and field)
before it reaches a write batch; the good annotation of the same request is stored, and OTLP
requests committed at the same time all get 200 and are all stored. The SDK's prediction path
reports a record whose token count cannot be stored in the same way.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from llmpulse.sdk.client import Client
from support.otlp import make_request, make_span
from support.server import ServerProcess

pytestmark = pytest.mark.integration


def deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


async def _burst(server: ServerProcess, project: str, span_id: str) -> tuple[list[int], Any]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        bodies = [
            make_request([make_span(f"s{i}-{j}") for j in range(20)], project).SerializeToString()
            for i in range(20)
        ]
        otlp = [
            client.post("/v1/traces", content=b, headers={"content-type": "application/x-protobuf"})
            for b in bodies
        ]
        annotations = client.post(
            "/api/v1/annotations",
            json={
                "data": [
                    {"span_id": span_id, "name": "bad", "score": 1.0, "metadata": deep(300)},
                    {"span_id": span_id, "name": "good", "score": 0.5, "metadata": deep(10)},
                ]
            },
        )
        *answers, annotated = await asyncio.gather(*otlp, annotations)
        return [a.status_code for a in answers], annotated


def test_deep_annotation_metadata_is_rejected_and_poisons_nothing(
    fresh_server: ServerProcess,
) -> None:
    project = f"ann-{uuid.uuid4().hex[:8]}"
    target = make_span("target")
    r = httpx.post(
        f"{fresh_server.url}/v1/traces",
        content=make_request([target], project).SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert r.status_code == 200
    # A loop of its own, on its own thread: this xdist worker may already run one (the
    # browser tests' Playwright sync API).
    with ThreadPoolExecutor(1) as pool:
        statuses, annotated = pool.submit(
            asyncio.run, _burst(fresh_server, project, target.span_id.hex())
        ).result()
    assert statuses == [200] * 20
    assert annotated.status_code == 200, annotated.text
    body = annotated.json()
    assert body["inserted"] == 1
    assert [(x["index"], x["path"]) for x in body["rejected"]] == [(0, "data[0].metadata")]
    spans = httpx.get(
        f"{fresh_server.url}/api/v1/projects/{project}/spans", params={"limit": 1000}
    ).json()["data"]
    assert len({s["span_id"] for s in spans}) == len(spans) == 401
    stored = httpx.get(f"{fresh_server.url}/api/v1/spans/{target.span_id.hex()}/annotations")
    assert stored.status_code == 200
    assert [a["name"] for a in stored.json()["data"]] == ["good"]


def test_prediction_with_unstorable_token_count_is_rejected_alone(
    live_server: ServerProcess,
) -> None:
    project = f"pred-{uuid.uuid4().hex[:8]}"
    records = [
        {"prediction_id": "p0", "prediction_label": "a", "prompt_tokens": 10},
        {"prediction_id": "p1", "prediction_label": "a", "prompt_tokens": 10**30},
        {"prediction_id": "p2", "prediction_label": "b", "completion_tokens": 3},
    ]
    r = httpx.post(
        f"{live_server.url}/api/v1/projects/{project}/predictions", json={"records": records}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 2
    assert [(x["index"], x["path"]) for x in body["rejected"]] == [(1, "records[1].prompt_tokens")]
    spans = httpx.get(f"{live_server.url}/api/v1/projects/{project}/spans").json()["data"]
    assert len(spans) == 2


def test_sdk_feedback_and_predictions_report_the_unstorable_item(
    live_server: ServerProcess,
) -> None:
    project = f"sdk-{uuid.uuid4().hex[:8]}"
    with Client(live_server.url) as client:
        logged = client.log_records(
            [
                {"prediction_id": "p0", "prediction_label": "a"},
                {"prediction_id": "p1", "prediction_label": "a", "total_tokens": 10**30},
            ],
            project=project,
        )
        assert logged.accepted == 1
        assert [(r.index, r.path) for r in logged.rejected] == [(1, "records[1].total_tokens")]
        result = client.log_annotations(
            [
                {
                    "prediction_id": "p0",
                    "project": project,
                    "name": "bad",
                    "score": 1.0,
                    "metadata": deep(300),
                },
                {"prediction_id": "p0", "project": project, "name": "good", "score": 1.0},
            ]
        )
    assert result.inserted == 1
    assert [r.index for r in result.rejected] == [0]
    assert result.rejected[0].path.endswith("metadata")

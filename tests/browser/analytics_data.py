"""A deterministic project for the dashboard and analysis pages, posted as OTLP/JSON.

360 single-span LLM traces, one every two minutes over 12 hours, round-robin over three tiers
(``free``, ``pro``, ``enterprise``) and two versions (``v1``, ``v2``). Planted: the ``free``
tier fails 30 % of its requests (others about 2 %), is three times slower and gets a thumbs up
on 40 % of its feedback (others 90 %); ``v2`` is 150 ms slower than ``v1``. Every span has a
``feedback`` annotation and none has a ``hallucination`` one. Span names say the tier
(``answer-free``) so drill-down pages can be checked by name.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from rag_traces import post_spans

BASE_NS = 1_763_596_800_000_000_000  # 2025-11-20T00:00:00Z
MS = 1_000_000
NUM_TRACES = 360
STEP_MS = 120_000
TIERS = ("free", "pro", "enterprise")
VERSIONS = ("v1", "v2")


@dataclass(frozen=True)
class AnalyticsProject:
    """Where the data went."""

    url: str
    project: str


def _attr(key: str, value: object) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _is_error(i: int, tier: str) -> bool:
    if tier == "free":
        return (i // 3) % 10 < 3
    return i % 53 == 1


def _span(salt: str, i: int) -> dict[str, Any]:
    tier, version = TIERS[i % 3], VERSIONS[i % 2]
    latency_ms = (400 + (i * 37) % 200) * (3 if tier == "free" else 1)
    latency_ms += 150 if version == "v2" else 0
    start = BASE_NS + i * STEP_MS * MS
    attrs = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.provider": "openai",
        "llm.token_count.prompt": 300 + i % 50,
        "llm.token_count.completion": 60 + i % 20,
        "llm.token_count.total": 360 + i % 50 + i % 20,
        "input.value": f"question {i}",
        "service.version": version,
        "metadata": json.dumps({"tier": tier, "region": ("us-east", "eu-west")[i % 2]}),
    }
    span: dict[str, Any] = {
        "traceId": secrets.token_hex(16),
        "spanId": f"{salt}{i + 1:08x}",
        "name": f"answer-{tier}",
        "kind": "SPAN_KIND_CLIENT",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + latency_ms * MS),
        "attributes": [_attr(k, v) for k, v in attrs.items()],
        "status": {"code": 2, "message": "upstream 500"} if _is_error(i, tier) else {"code": 1},
    }
    return span


def _feedback(project: str, salt: str, i: int) -> dict[str, Any]:
    tier = TIERS[i % 3]
    up = (i // 3) % 10 < (4 if tier == "free" else 9)
    return {
        "span_id": f"{salt}{i + 1:08x}",
        "project": project,
        "name": "feedback",
        "label": "thumbs_up" if up else "thumbs_down",
        "annotator_kind": "HUMAN",
    }


def post_analytics_project(base_url: str, prefix: str) -> AnalyticsProject:
    """Post the spans and their feedback under a new project name."""
    salt = secrets.token_hex(4)
    project = f"{prefix}-{salt}"
    post_spans(base_url, project, [_span(salt, i) for i in range(NUM_TRACES)])
    notes = [_feedback(project, salt, i) for i in range(NUM_TRACES)]
    r = httpx.post(f"{base_url}/api/v1/annotations", json={"data": notes}, timeout=30.0)
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == NUM_TRACES, r.text
    return AnalyticsProject(base_url, project)

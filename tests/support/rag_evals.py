"""Planted RAG traces for evaluation tests: a retriever span and an LLM span per trace.

Half the answers are copied from the retrieved context (grounded), half name facts the context
does not hold (ungrounded); a tenth of the traces carry ``metadata.workflow = refunds``; the LLM
span's ``prediction.score`` is its confidence.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import httpx

from support.otlp import BASE_NS, make_request, make_span, new_span_id, new_trace_id

CITIES = ["Paris", "Lisbon", "Oslo", "Vienna", "Dublin", "Prague", "Madrid", "Athens"]
THINGS = ["bridge", "museum", "library", "tower", "market", "garden", "station", "harbour"]


@dataclass(frozen=True)
class Planted:
    """What was planted in one trace."""

    llm_span_id: str
    grounded: bool
    workflow: str | None
    confidence: float


def context_and_answers(rng: random.Random) -> tuple[str, str, str]:
    city, thing, year = rng.choice(CITIES), rng.choice(THINGS), rng.randint(1800, 2000)
    context = f"The {thing} of {city} opened in {year}. It is one of the oldest in the region."
    grounded = f"The {thing} of {city} opened in {year}."
    other = rng.choice([c for c in CITIES if c != city])
    ungrounded = f"Engineers from {other} rebuilt it completely after a flood and a fire."
    return context, grounded, ungrounded


def send_rag_traces(
    base_url: str, project: str, n: int, seed: int = 1, offset_s: int = 0
) -> list[Planted]:
    rng = random.Random(seed)
    spans, planted = [], []
    for i in range(n):
        context, good, bad = context_and_answers(rng)
        grounded = i % 2 == 0
        workflow = "refunds" if i % 10 == 0 else None
        confidence = round(rng.random(), 3)
        trace, root = new_trace_id(), new_span_id()
        start = BASE_NS + (offset_s + i) * 1_000_000_000
        spans.append(make_span("retrieve", trace_id=trace, parent=root, start_ns=start, attrs={
            "openinference.span.kind": "RETRIEVER", "input.value": "When did it open?",
            "retrieval.documents.0.document.content": context,
        }))  # fmt: skip
        llm_id = new_span_id()
        attrs = {
            "openinference.span.kind": "LLM", "input.value": "When did it open?",
            "output.value": good if grounded else bad, "llm.model_name": "gpt-4o-mini",
            "prediction.score": confidence,
        }  # fmt: skip
        if workflow:
            attrs["metadata"] = json.dumps({"workflow": workflow})
        spans.append(make_span("generate", trace_id=trace, span_id=llm_id, parent=root,
                               start_ns=start + 1_000_000, attrs=attrs))  # fmt: skip
        planted.append(Planted(llm_id.hex(), grounded, workflow, confidence))
    body = make_request(spans, project).SerializeToString()
    r = httpx.post(f"{base_url}/v1/traces", content=body,
                   headers={"Content-Type": "application/x-protobuf"}, timeout=30)  # fmt: skip
    assert r.status_code == 200, r.text
    return planted

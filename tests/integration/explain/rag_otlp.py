"""A planted RAG trace in OTLP/JSON: the LLM's answer copies one retrieved document."""

from __future__ import annotations

import random
import secrets
from typing import Any

from browser.rag_traces import BASE_NS, MS, RagTrace
from integration.explain.rag_cases import planted_case


def _attrs(values: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for k, v in values.items():
        value = {"doubleValue": v} if isinstance(v, float) else {"stringValue": str(v)}
        out.append({"key": k, "value": value})
    return out


def _span(
    name: str, trace: str, span: str, parent: str, at_ms: int, attrs: dict[str, Any]
) -> dict[str, Any]:
    return {
        "traceId": trace, "spanId": span, "parentSpanId": parent, "name": name,
        "kind": "SPAN_KIND_INTERNAL", "startTimeUnixNano": str(BASE_NS + at_ms * MS),
        "endTimeUnixNano": str(BASE_NS + (at_ms + 100) * MS), "attributes": _attrs(attrs),
        "status": {"code": 1},
    }  # fmt: skip


def planted_rag_trace(seed: int) -> tuple[RagTrace, list[dict[str, Any]], str]:
    """A CHAIN root, a RETRIEVER with five documents and an LLM span whose answer copies one;
    returns the ids, the spans and the id of the copied document."""
    case, key = planted_case(random.Random(seed))
    ids = RagTrace(secrets.token_hex(16), secrets.token_hex(8), secrets.token_hex(8),
                   secrets.token_hex(8), "rag-query", case.question)  # fmt: skip
    docs: dict[str, Any] = {}
    for i, text in enumerate(case.chunks):
        docs[f"retrieval.documents.{i}.document.id"] = f"doc-{i}"
        docs[f"retrieval.documents.{i}.document.content"] = text
        docs[f"retrieval.documents.{i}.document.score"] = 0.5
    root = _span("rag-query", ids.trace_id, ids.root_id, "", 0, {
        "openinference.span.kind": "CHAIN", "input.value": case.question,
        "output.value": case.answer})  # fmt: skip
    retriever = _span("retrieve", ids.trace_id, ids.retriever_id, ids.root_id, 10, {
        "openinference.span.kind": "RETRIEVER", "input.value": case.question, **docs})  # fmt: skip
    llm = _span("generate", ids.trace_id, ids.llm_id, ids.root_id, 200, {
        "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
        "output.value": case.answer})  # fmt: skip
    return ids, [root, retriever, llm], f"doc-{key}"

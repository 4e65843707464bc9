""" "Why this answer?": a compact, end-user-facing summary of an explanation (issue 13, item 6).

For a prediction: the decision and its top reasons (reason codes with their weights). For a
span: the answer's supporting sources (document id, snippet, score) and, per answer sentence,
the sources that support it. The newest stored record is used when there is one (so the user
sees what was audited); otherwise it is computed offline (client SHAP or surrogate TreeSHAP;
lexical attribution for RAG) and not stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmpulse.domain.explanations import ExplanationRecord, SubjectKind
from llmpulse.domain.ids import SpanId, TraceId
from llmpulse.explain.rag_case import case_from_trace
from llmpulse.explain.wiring import Explainers
from llmpulse.query.service import QueryService

TOP_SOURCES = 5
SHAP_METHODS = ("shap.client", "shap.surrogate")
RAG_METHODS = ("rag.contextcite", "rag.embedding", "rag.lexical")
SNIPPET = 240


def _prediction_why(out: Mapping[str, Any], rec: ExplanationRecord | None) -> dict[str, Any]:
    return {
        "kind": "prediction",
        "id": out.get("prediction_id"),
        "prediction": out.get("prediction"),
        "decision": out.get("decision"),
        "method": out.get("method"),
        "reasons": [
            {"code": r["code"], "text": r["text"], "weight": r["contribution"]}
            for r in out.get("reasons", [])
        ],
        "record_id": rec.record_id if rec else None,
    }


def _span_why(
    span_id: str, out: Mapping[str, Any], rec: ExplanationRecord | None
) -> dict[str, Any]:
    chunks = [c for c in out.get("chunks", []) if c.get("score", 0) > 0][:TOP_SOURCES]
    return {
        "kind": "span",
        "id": span_id,
        "answer": out.get("answer"),
        "method": out.get("method"),
        "sources": [
            {
                "index": c["index"],
                "id": c.get("id"),
                "score": c["score"],
                "snippet": str(c.get("text", ""))[:SNIPPET],
            }
            for c in chunks
        ],
        "sentences": [
            {"text": s["text"], "sources": [c["index"] for c in s.get("chunks", [])]}
            for s in out.get("sentences", [])
        ],
        "record_id": rec.record_id if rec else None,
    }


async def why_prediction(ex: Explainers, project: str, prediction_id: str) -> dict[str, Any]:
    """The why of a prediction: the newest SHAP record, else computed (not stored)."""
    rec = await ex.records.latest(project, SubjectKind.PREDICTION, prediction_id, SHAP_METHODS)
    if rec is not None:
        return _prediction_why(rec.body.get("outputs", {}), rec)
    out, _ = await ex.structured.explain(project, prediction_id, record=False)
    return _prediction_why(out, None)


async def why_span(
    ex: Explainers, query: QueryService, project: str, span_id: str
) -> dict[str, Any]:
    """The why of a span's answer: the newest RAG record, else lexical attribution."""
    rec = await ex.records.latest(project, SubjectKind.SPAN, span_id, RAG_METHODS)
    if rec is not None:
        return _span_why(span_id, rec.body.get("outputs", {}), rec)
    span = await query.get_span(SpanId(span_id))
    trace = await query.get_trace(TraceId(span.trace_id))
    case = case_from_trace(trace.spans, span_id).check()
    out = ex.rag.lexical(case)
    out["answer"] = case.answer
    return _span_why(span_id, out, None)

"""`RagCase`: the question, answer and retrieved chunks of one RAG trace (or given directly)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.spans import Span, SpanKind

MAX_CHUNKS = 50
MAX_TEXT = 100_000


@dataclass(frozen=True)
class RagCase:
    """What a RAG answer is explained from.

    Attributes:
        question: The user's question.
        answer: The answer to explain.
        chunks: Retrieved chunk texts, in retrieval order.
        chunk_ids: Document ids (None where unknown), aligned with ``chunks``.
        span_id: The span the answer came from (the LLM span), when from a trace.
        trace_id: Its trace.
    """

    question: str
    answer: str
    chunks: tuple[str, ...]
    chunk_ids: tuple[str | None, ...] = ()
    span_id: str | None = None
    trace_id: str | None = None
    model: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def check(self) -> RagCase:
        """Validate sizes (400 naming the field otherwise)."""
        errors = []
        if not self.answer.strip():
            errors.append(FieldError("answer", "must not be empty"))
        if not self.chunks:
            errors.append(FieldError("chunks", "at least one retrieved chunk is needed"))
        if len(self.chunks) > MAX_CHUNKS:
            errors.append(FieldError("chunks", f"at most {MAX_CHUNKS}"))
        for i, c in enumerate(self.chunks):
            if len(c) > MAX_TEXT:
                errors.append(FieldError(f"chunks[{i}]", f"at most {MAX_TEXT} characters"))
        if len(self.answer) > MAX_TEXT or len(self.question) > MAX_TEXT:
            errors.append(FieldError("answer", f"at most {MAX_TEXT} characters"))
        if errors:
            raise InvalidInput("cannot explain this answer", errors)
        return self


def _output_of(span: Span) -> str:
    if span.output_value:
        return span.output_value
    return "".join(m.content for m in span.output_messages if m.role == "assistant")


def _question_of(spans: Sequence[Span], llm: Span) -> str:
    for s in spans:
        if s.kind == SpanKind.RETRIEVER and s.input_value:
            return s.input_value
    roots = [s for s in spans if s.parent_span_id is None and s.input_value]
    if roots:
        return roots[0].input_value or ""
    users = [m.content for m in llm.input_messages if m.role == "user"]
    return users[-1] if users else ""


def case_from_trace(spans: Sequence[Span], span_id: str | None = None) -> RagCase:
    """The RAG case of a trace: chunks of its retriever spans, the answer of its LLM span.

    Args:
        spans: Every span of the trace.
        span_id: Which span's answer (an LLM span, or the root); default the last LLM span.

    Raises:
        InvalidInput: the trace has no retrieved documents or no answer.
    """
    ordered = sorted(spans, key=lambda s: (s.start_time, s.span_id))
    if span_id is not None:
        chosen = next((s for s in ordered if s.span_id == span_id), None)
        if chosen is None:
            raise InvalidInput("no such span", [FieldError("span_id", f"{span_id} not in trace")])
    else:
        llms = [s for s in ordered if s.kind == SpanKind.LLM and _output_of(s)]
        chosen = llms[-1] if llms else next((s for s in ordered if s.parent_span_id is None), None)
    if chosen is None:
        raise InvalidInput("no answer", [FieldError("span_id", "the trace has no LLM span")])
    docs = [d for s in ordered if s.kind == SpanKind.RETRIEVER for d in s.documents]
    if not docs:
        docs = list(chosen.documents)
    return RagCase(
        question=_question_of(ordered, chosen),
        answer=_output_of(chosen),
        chunks=tuple(d.content for d in docs),
        chunk_ids=tuple(d.id for d in docs),
        span_id=chosen.span_id,
        trace_id=chosen.trace_id,
        model=chosen.model,
    )


def chunk_rows(case: RagCase, scores: Sequence[float]) -> list[dict[str, Any]]:
    """One row per chunk (index, id, score, text preview), best score first."""
    rows = [
        {
            "index": i,
            "id": case.chunk_ids[i] if i < len(case.chunk_ids) else None,
            "score": float(scores[i]),
            "text": case.chunks[i][:500],
        }
        for i in range(len(case.chunks))
    ]
    return sorted(rows, key=lambda r: (-r["score"], r["index"]))

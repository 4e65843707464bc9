"""What an evaluator reads from a span: question, answer, retrieved context, reference.

* input: ``input.value``, else the last user message;
* output: ``output.value``, else the last output message;
* context: the span's own retrieved documents, else those of the RETRIEVER spans in its trace;
* reference: the attribute named by the evaluator's ``reference_key`` (``metadata.reference``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmpulse.domain.spans import Span, SpanKind
from llmpulse.domain.triggering import attribute_of


@dataclass(frozen=True)
class Material:
    """The texts of one span an evaluator may use."""

    input: str
    output: str
    documents: tuple[str, ...]
    reference: str

    def values(self) -> dict[str, str]:
        """Template variables (``document`` is filled per document by the relevance judge)."""
        return {
            "input": self.input,
            "output": self.output,
            "context": "\n\n".join(self.documents),
            "reference": self.reference,
        }


def material_of(span: Span, trace: Sequence[Span] = (), reference_key: str = "") -> Material:
    """Gather the material of ``span``; ``trace`` are the other spans of its trace."""
    question = span.input_value or next(
        (m.content for m in reversed(span.input_messages) if m.role == "user"), ""
    )
    answer = span.output_value or (span.output_messages[-1].content if span.output_messages else "")
    docs = [d.content for d in span.documents if d.content]
    if not docs:
        docs = [
            d.content
            for s in trace
            if s.kind is SpanKind.RETRIEVER and s.span_id != span.span_id
            for d in s.documents
            if d.content
        ]
    ref = attribute_of(span, reference_key) if reference_key else None
    return Material(question or "", answer or "", tuple(docs), "" if ref is None else str(ref))

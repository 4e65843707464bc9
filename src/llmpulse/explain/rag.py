"""`RagExplainer`: which retrieved chunk carried a RAG answer, per answer and per sentence.

Two methods (issue 13, item 4):

* ``contextcite`` (METHODS.md §5.5): random ablation masks over the chunks; for each mask the
  fixed answer is scored under the reduced prompt by an OpenAI-compatible endpoint that returns
  prompt log-probs (`endpoint.LogprobsEndpoint`); a LASSO surrogate of the answer's logit on
  the masks gives each chunk's weight, and the same masks with the token sum restricted to one
  answer sentence give that sentence's supporting chunks (one endpoint call per mask in all);
* ``lexical`` (§5.6): ROUGE-L precision of each answer sentence against each chunk, offline,
  used when no endpoint is configured.

What-if (§5.7 for RAG): drop or replace chunks, regenerate the answer (the endpoint, or any
async callable the caller registers) and evaluate it before and after (lexical grounding by
default, or any callable), so a record says how the answer and its evaluation changed.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import numpy as np

from llmpulse.analysis.explain.contextcite import (
    ablation_masks,
    fit_surrogate,
    response_logit,
)
from llmpulse.analysis.explain.lexical import chunk_scores, sentence_support, split_sentences
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.explanations import ExplanationDraft, ExplanationRecord, SubjectKind
from llmpulse.explain.endpoint import LogprobsEndpoint, ScoredToken
from llmpulse.explain.rag_case import RagCase, chunk_rows
from llmpulse.explain.rag_embedding import embedding_attribution
from llmpulse.explain.rag_prompt import chat_messages, scoring_prefix
from llmpulse.explain.records import ExplanationRecords, inputs_hash

Generate = Callable[[str, Sequence[str]], Awaitable[str]]
"""(question, chunks kept) → a new answer."""
Evaluate = Callable[[str, Sequence[str], str], Awaitable[float]]
"""(question, chunks kept, answer) → a score (higher is better)."""

DEFAULT_ABLATIONS = 32
TOP_SENTENCE_CHUNKS = 3


def sentence_ranges(continuation: str, sentences: Sequence[str]) -> list[tuple[int, int]]:
    """Character range of each sentence inside the scored continuation, in order."""
    out, pos = [], 0
    for s in sentences:
        at = continuation.find(s, pos)
        if at < 0:
            at = pos
        out.append((at, at + len(s)))
        pos = at + len(s)
    return out


def _logit_of(tokens: Sequence[ScoredToken], lo: int, hi: int) -> tuple[float, int]:
    picked = [t.logprob for t in tokens if lo <= t.offset < hi]
    if not picked:
        return 0.0, 0
    return response_logit(picked), len(picked)


def _case_inputs(case: RagCase) -> dict[str, Any]:
    return {"question": case.question, "answer": case.answer, "chunks": list(case.chunks)}


async def lexical_grounding(question: str, chunks: Sequence[str], answer: str) -> float:
    """Mean over answer sentences of the best ROUGE-L precision against the chunks (0..1)."""
    if not chunks:
        return 0.0
    support = sentence_support(answer, list(chunks))
    if not support:
        return 0.0
    return math.fsum(s.chunks[0][1] for s in support) / len(support)


class RagExplainer:
    """Attribution and what-if of RAG answers; every result can become a record."""

    def __init__(
        self, records: ExplanationRecords, endpoint: LogprobsEndpoint | None = None
    ) -> None:
        """``endpoint`` enables ``contextcite`` and endpoint what-ifs."""
        self._records = records
        self.endpoint = endpoint

    def lexical(self, case: RagCase) -> dict[str, Any]:
        """Offline attribution: ROUGE-L precision per answer sentence and chunk (§5.6)."""
        scores = chunk_scores(case.answer, list(case.chunks))
        sentences = [
            {
                "text": s.sentence,
                "chunks": [
                    {"index": j, "score": v} for j, v in s.chunks[:TOP_SENTENCE_CHUNKS] if v > 0
                ],
            }
            for s in sentence_support(case.answer, list(case.chunks))
        ]
        return {"method": "lexical", "chunks": chunk_rows(case, scores), "sentences": sentences}

    async def contextcite(
        self, case: RagCase, n_ablations: int = DEFAULT_ABLATIONS, seed: int = 0
    ) -> dict[str, Any]:
        """Ablation attribution with response log-probs from the endpoint (§5.5).

        Raises:
            InvalidInput: no endpoint is configured.
            EndpointError: the endpoint failed.
        """
        if self.endpoint is None:
            raise InvalidInput(
                "no log-prob endpoint is configured",
                [FieldError("method", "contextcite needs LLMPULSE_EXPLAIN_BASE_URL")],
            )
        endpoint = self.endpoint
        m = len(case.chunks)
        masks = ablation_masks(m, n_ablations, seed=seed)
        continuation = " " + case.answer.strip()
        sentences = split_sentences(case.answer)
        ranges = sentence_ranges(continuation, sentences)

        async def run(row: np.ndarray[Any, Any]) -> list[ScoredToken]:
            kept = [int(j) for j in np.flatnonzero(row)]
            return await endpoint.score(scoring_prefix(case.question, case.chunks, kept),
                                        continuation)  # fmt: skip

        scored = await asyncio.gather(*(run(row) for row in masks))
        whole = [_logit_of(t, 0, len(continuation)) for t in scored]
        sur = fit_surrogate(masks, [y for y, _ in whole], num_tokens=max(1, whole[0][1]))
        per_sentence = []
        for text, (lo, hi) in zip(sentences, ranges, strict=True):
            ys = [_logit_of(t, lo, hi) for t in scored]
            if ys[0][1] == 0:
                continue
            s_sur = fit_surrogate(masks, [y for y, _ in ys], num_tokens=ys[0][1])
            ranked = s_sur.ranking()[:TOP_SENTENCE_CHUNKS]
            per_sentence.append(
                {
                    "text": text,
                    "chunks": [
                        {"index": j, "score": s_sur.weights[j]}
                        for j in ranked
                        if s_sur.weights[j] > 0
                    ],
                }
            )
        return {
            "method": "contextcite",
            "chunks": chunk_rows(case, sur.weights),
            "sentences": per_sentence,
            "intercept": sur.intercept,
            "n_ablations": int(n_ablations),
            "endpoint_model": endpoint.model,
        }

    async def attribute(
        self,
        project: str,
        case: RagCase,
        *,
        method: str = "auto",
        n_ablations: int = DEFAULT_ABLATIONS,
        external_ids: Mapping[str, str] | None = None,
        record: bool = True,
    ) -> tuple[dict[str, Any], ExplanationRecord | None]:
        """Attribute an answer to its chunks (``contextcite``, ``lexical`` or ``auto``).

        ``auto`` uses ContextCite when an endpoint is configured, else the lexical proxy;
        ``embedding`` ranks chunks by the cosine of the endpoint's embeddings (§5.6).
        """
        case.check()
        if method not in ("auto", "contextcite", "embedding", "lexical"):
            raise InvalidInput(
                "bad method", [FieldError("method", "auto, contextcite, embedding, lexical")]
            )
        use_cc = method == "contextcite" or (method == "auto" and self.endpoint is not None)
        if not 2 <= n_ablations <= 512:
            raise InvalidInput("bad n_ablations", [FieldError("n_ablations", "2..512")])
        if method == "embedding":
            if self.endpoint is None:
                raise InvalidInput(
                    "no embedding endpoint is configured",
                    [FieldError("method", "embedding needs LLMPULSE_EXPLAIN_BASE_URL")],
                )
            out = await embedding_attribution(case, self.endpoint)
        elif use_cc:
            out = await self.contextcite(case, n_ablations)
        else:
            out = self.lexical(case)
        out.update(question=case.question, answer=case.answer, span_id=case.span_id,
                   trace_id=case.trace_id)  # fmt: skip
        stored = None
        if record:
            stored = await self._record(project, case, f"rag.{out['method']}", out, external_ids)
        return out, stored

    async def _record(
        self,
        project: str,
        case: RagCase,
        method: str,
        out: Mapping[str, Any],
        external_ids: Mapping[str, str] | None,
    ) -> ExplanationRecord:
        versions = {"answer_model": case.model or ""}
        if self.endpoint is not None and method != "rag.lexical":
            versions["endpoint_model"] = self.endpoint.model
        draft = ExplanationDraft(
            project=project,
            subject_kind=SubjectKind.SPAN if case.span_id else SubjectKind.PROJECT,
            subject_id=case.span_id or project,
            method=method,
            inputs_hash=inputs_hash(_case_inputs(case)),
            outputs=dict(out),
            model_versions=versions,
            external_ids=dict(external_ids or {}),
        )
        return await self._records.add(draft)

    async def what_if(
        self,
        project: str,
        case: RagCase,
        *,
        drop: Sequence[int] = (),
        replace: Mapping[int, str] | None = None,
        generate: Generate | None = None,
        evaluate: Evaluate | None = None,
        external_ids: Mapping[str, str] | None = None,
    ) -> tuple[dict[str, Any], ExplanationRecord]:
        """Drop or replace chunks, regenerate the answer and evaluate it before and after.

        Args:
            project: The project.
            case: The original case.
            drop: Chunk indices to remove.
            replace: Chunk index → replacement text.
            generate: Regenerates an answer (default: the endpoint's chat completion).
            evaluate: Scores an answer (default: lexical grounding in the kept chunks).
            external_ids: External record ids for the record.

        Raises:
            InvalidInput: a chunk index out of range, or no way to regenerate.
        """
        case.check()
        replace = dict(replace or {})
        bad = [i for i in [*drop, *replace] if not 0 <= i < len(case.chunks)]
        if bad:
            raise InvalidInput("chunk index out of range", [FieldError("drop", f"{bad}")])
        gen = generate or self._endpoint_generate()
        judge = evaluate or lexical_grounding
        new_chunks = [replace.get(i, c) for i, c in enumerate(case.chunks) if i not in set(drop)]
        baseline_answer = await gen(case.question, list(case.chunks))
        new_answer = await gen(case.question, new_chunks)
        out: dict[str, Any] = {
            "method": "rag.what_if",
            "dropped": sorted(set(drop)),
            "replaced": {str(k): v for k, v in sorted(replace.items())},
            "original_answer": case.answer,
            "regenerated_answer": baseline_answer,
            "new_answer": new_answer,
            "answer_changed": new_answer.strip() != baseline_answer.strip(),
            "evaluation_before": await judge(case.question, list(case.chunks), case.answer),
            "evaluation_after": await judge(case.question, new_chunks, new_answer),
        }
        out["evaluation_delta"] = out["evaluation_after"] - out["evaluation_before"]
        stored = await self._record(project, case, "rag.what_if", out, external_ids)
        return out, stored

    def _endpoint_generate(self) -> Generate:
        endpoint = self.endpoint
        if endpoint is None:
            raise InvalidInput(
                "no endpoint to regenerate the answer",
                [FieldError("generate", "configure LLMPULSE_EXPLAIN_BASE_URL or pass a callable")],
            )

        async def gen(question: str, chunks: Sequence[str]) -> str:
            return await endpoint.generate(chat_messages(question, chunks, range(len(chunks))))

        return gen

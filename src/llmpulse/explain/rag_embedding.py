"""Embedding-similarity attribution of a RAG answer (METHODS.md §5.6), without log-probs.

Each answer sentence and each chunk is embedded by the endpoint's ``/embeddings``; a sentence's
supporting chunks are ranked by cosine similarity and a chunk's score is its best sentence's
cosine. Similarity is not use (a chunk may be similar and ignored), and raw cosines of one model
sit high for everything, so the scores rank chunks within one answer; they are not comparable
across answers.
"""

from __future__ import annotations

from typing import Any

from llmpulse.analysis.explain.lexical import chunk_scores, sentence_support, split_sentences
from llmpulse.analysis.explain.lexical import cosine as cosine_of
from llmpulse.explain.endpoint import LogprobsEndpoint
from llmpulse.explain.rag_case import RagCase, chunk_rows

TOP_SENTENCE_CHUNKS = 3


async def embedding_attribution(case: RagCase, endpoint: LogprobsEndpoint) -> dict[str, Any]:
    """Chunk scores and per-sentence supporting chunks by embedding cosine."""
    sentences = split_sentences(case.answer)
    texts = list(dict.fromkeys([*sentences, *case.chunks]))
    vectors = dict(zip(texts, await endpoint.embed(texts), strict=True))

    def score(chunk: str, sentence: str) -> float:
        return cosine_of(vectors[chunk], vectors[sentence])

    chunks = list(case.chunks)
    scores = chunk_scores(case.answer, chunks, score)
    per_sentence = [
        {
            "text": s.sentence,
            "chunks": [
                {"index": j, "score": v} for j, v in s.chunks[:TOP_SENTENCE_CHUNKS] if v > 0
            ],
        }
        for s in sentence_support(case.answer, chunks, score)
    ]
    return {"method": "embedding", "chunks": chunk_rows(case, scores), "sentences": per_sentence,
            "endpoint_model": endpoint.model}  # fmt: skip

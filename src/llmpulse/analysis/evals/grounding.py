"""Offline grounding scores: how much of an answer its retrieved context supports, no LLM.

* `lexical_grounding`: the mean, over the answer's sentences, of the best ROUGE-L precision of
  the sentence against any context chunk (METHODS.md §5.6): the share of each sentence's words
  found, in order, in one chunk. 1 for an extractive answer, near 0 for an invented one.
  Blind to paraphrase.
* `similarity_grounding`: the mean, over answer sentences, of the best cosine similarity
  between the sentence's embedding and a chunk's (embeddings from a local model, or any
  vectors the caller supplies). Catches paraphrase; similar is not the same as supported.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmpulse.analysis.explain.lexical import cosine, sentence_support, split_sentences


def lexical_grounding(answer: str, chunks: Sequence[str]) -> float | None:
    """Mean best ROUGE-L precision of the answer's sentences; None without answer or chunks."""
    if not chunks:
        return None
    support = sentence_support(answer, chunks)
    if not support:
        return None
    return sum(s.chunks[0][1] for s in support) / len(support)


def similarity_grounding(
    sentence_vectors: Sequence[Sequence[float]], chunk_vectors: Sequence[Sequence[float]]
) -> float | None:
    """Mean over sentences of the best cosine against a chunk; None if either side is empty."""
    if not sentence_vectors or not chunk_vectors:
        return None
    best = [max(cosine(s, c) for c in chunk_vectors) for s in sentence_vectors]
    return sum(best) / len(best)


def answer_sentences(answer: str) -> list[str]:
    """The sentences `similarity_grounding` expects vectors for, in order."""
    return split_sentences(answer)


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """Area under the ROC curve: P(score of a positive > a negative), ties counting half."""
    if not positive or not negative:
        raise ValueError("auc needs at least one positive and one negative score")
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))

"""Offline grounding scores: how much of an answer its retrieved context supports, no LLM.

* `lexical_grounding`: the mean, over the answer's sentences, of the best ROUGE-L precision of
  the sentence against any context chunk (METHODS.md §5.6): the share of each sentence's words
  found, in order, in one chunk. 1 for an extractive answer, near 0 for an invented one.
  Blind to paraphrase, and high for a sentence that copies the context but changes one fact.
* `key_token_support`: the share of the answer's key tokens (numbers and capitalised names,
  less a few function words) that occur in the context. Wrong years, amounts, people and places
  are the most common unsupported facts (entity-level factual consistency, Nan et al. 2021), and
  they are exactly the tokens ROUGE-L weighs no more than any other word.
* `grounding_score` = lexical grounding times key-token support: the offline evaluator's score.
* `similarity_grounding`: the mean, over answer sentences, of the best cosine similarity
  between the sentence's embedding and a chunk's (embeddings from a local model, or any
  vectors the caller supplies). Catches paraphrase; similar is not the same as supported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from llmpulse.analysis.explain.lexical import cosine, sentence_support, split_sentences, tokenize


def lexical_grounding(answer: str, chunks: Sequence[str]) -> float | None:
    """Mean best ROUGE-L precision of the answer's sentences; None without answer or chunks."""
    if not chunks:
        return None
    support = sentence_support(answer, chunks)
    if not support:
        return None
    return sum(s.chunks[0][1] for s in support) / len(support)


_KEY = re.compile(r"\b(?:\d[\d.,]*\d|\d|[A-Z][\w-]*)\b")
_FUNCTION = frozenset(
    "the a an it its this that these those he she they we i you in on at for of and but or "  # noqa: SIM905
    "our their his her yes no there here what when where who why how".split()
)


def key_tokens(text: str) -> list[str]:
    """Numbers and capitalised words, lower-cased, less common function words."""
    return [t.lower() for t in _KEY.findall(text) if t.lower() not in _FUNCTION]


def key_token_support(answer: str, chunks: Sequence[str]) -> float:
    """Share of the answer's key tokens found in the context (1 when it has none)."""
    keys = key_tokens(answer)
    if not keys:
        return 1.0
    context = {t.lower() for t in _KEY.findall(" ".join(chunks))} | set(tokenize(" ".join(chunks)))
    return sum(k in context for k in keys) / len(keys)


def grounding_score(answer: str, chunks: Sequence[str]) -> float | None:
    """Lexical grounding times key-token support; None without answer or chunks."""
    lexical = lexical_grounding(answer, chunks)
    if lexical is None:
        return None
    return lexical * key_token_support(answer, chunks)


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

"""Offline attribution proxies: ROUGE-1, ROUGE-L, cosine, per-sentence support (METHODS.md §5.6).

Used when no log-probabilities are available. Lexical overlap suits extractive answers and is
blind to paraphrase; similarity is not use (a chunk can be similar and ignored).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llmpulse.domain.errors import InvalidInput

_TOKEN = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

SupportScore = Callable[[str, str], float]
"""Score of how well a chunk (first argument) supports an answer sentence (second)."""


@dataclass(frozen=True)
class Overlap:
    """Precision, recall and F1 of a candidate against a reference (Lin 2004, §5.6)."""

    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class SentenceSupport:
    """The chunks supporting one answer sentence, best first (§5.6).

    Attributes:
        sentence: The answer sentence.
        chunks: (chunk index, score) pairs by decreasing score, ties by index.
    """

    sentence: str
    chunks: tuple[tuple[int, float], ...]


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (runs of letters, digits and underscores)."""
    return _TOKEN.findall(text.lower())


def split_sentences(text: str) -> list[str]:
    """Split text into sentences after '.', '!' or '?' followed by whitespace; drop empties."""
    return [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]


def _overlap(matches: int, n_candidate: int, n_reference: int) -> Overlap:
    precision = matches / n_candidate if n_candidate else 0.0
    recall = matches / n_reference if n_reference else 0.0
    total = precision + recall
    f1 = 2 * precision * recall / total if total > 0 else 0.0
    return Overlap(precision, recall, f1)


def rouge_1(reference: str, candidate: str) -> Overlap:
    """ROUGE-1: clipped unigram overlap; P = overlap/|candidate|, R = overlap/|reference| (§5.6).

    Args:
        reference: Reference text.
        candidate: Candidate text.

    Returns:
        Precision, recall and F1 (0 for empty text).
    """
    ref, cand = tokenize(reference), tokenize(candidate)
    overlap = sum((Counter(ref) & Counter(cand)).values())
    return _overlap(overlap, len(cand), len(ref))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences (O(|a|·|b|))."""
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b):
            current.append(previous[j] + 1 if token == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l(reference: str, candidate: str) -> Overlap:
    """ROUGE-L: P = LCS/|candidate|, R = LCS/|reference|, F1 = 2PR/(P + R) (§5.6).

    Args:
        reference: Reference text.
        candidate: Candidate text.

    Returns:
        Precision, recall and F1 (0 for empty text).
    """
    ref, cand = tokenize(reference), tokenize(candidate)
    return _overlap(lcs_length(ref, cand), len(cand), len(ref))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (§5.6).

    Raises:
        InvalidInput: If lengths differ or either vector is zero.
    """
    if len(a) != len(b):
        raise InvalidInput(f"vectors must have equal length, got {len(a)} and {len(b)}")
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    if norm == 0.0:
        raise InvalidInput("vectors must not be zero")
    return math.fsum(x * y for x, y in zip(a, b, strict=True)) / norm


def rouge_l_precision(chunk: str, sentence: str) -> float:
    """Share of the sentence's tokens in an LCS with the chunk (default support score)."""
    return rouge_l(chunk, sentence).precision


def sentence_support(
    answer: str, chunks: Sequence[str], score: SupportScore = rouge_l_precision
) -> list[SentenceSupport]:
    """Per answer sentence, the chunks ranked by support score (§5.6).

    Args:
        answer: The answer text; split with :func:`split_sentences`.
        chunks: The retrieved chunks.
        score: Support score of (chunk, sentence); ROUGE-L precision by default.

    Returns:
        One entry per sentence, chunks best first.
    """
    result = []
    for sentence in split_sentences(answer):
        scored = [(j, float(score(chunk, sentence))) for j, chunk in enumerate(chunks)]
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        result.append(SentenceSupport(sentence, tuple(scored)))
    return result


def chunk_scores(
    answer: str, chunks: Sequence[str], score: SupportScore = rouge_l_precision
) -> list[float]:
    """Chunk attribution = max over answer sentences of its support score (§5.6).

    Args:
        answer: The answer text.
        chunks: The retrieved chunks.
        score: Support score of (chunk, sentence).

    Returns:
        One score per chunk (0 when the answer has no sentence).
    """
    best = [0.0] * len(chunks)
    for support in sentence_support(answer, chunks, score):
        for j, value in support.chunks:
            best[j] = max(best[j], value)
    return best

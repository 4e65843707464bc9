"""A small deterministic language model: a cache mixture over word tokens.

The fake OpenAI-compatible server needs a model that computes real log-probabilities and
depends on its context the way a language model does: text that appears earlier in the prompt
becomes more likely later. This one mixes, for the next token ``t`` after history ``h``,

    P(t | h) = a * bigram_h(t | last token) + b * unigram_h(t) + c / VOCAB_SIZE

where ``bigram_h`` and ``unigram_h`` are relative frequencies in the history (the bigram share
goes to the unigram when the last token was never followed by anything), and ``a + b + c = 1``.
Tokens are GPT-style: a word or a run of punctuation with its leading whitespace, so the
concatenation of the tokens is the text and ``text_offset`` is exact.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]+|\s+")
VOCAB_SIZE = 50_000
FILLER = (" the", ",", ".", " and", " of", " to", " a", " in", " is", " that")
"""Tokens offered after the history's own in ``top_logprobs`` (uniform floor only)."""


def tokenize(text: str) -> list[str]:
    """Split text into tokens whose concatenation is the text."""
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class Weights:
    """Mixture weights of the bigram, unigram and uniform parts (they sum to 1)."""

    bigram: float = 0.6
    unigram: float = 0.3
    uniform: float = 0.1


class CacheLM:
    """Scores and generates tokens given a growing history (deterministic)."""

    def __init__(self, weights: Weights | None = None) -> None:
        """Start with an empty history."""
        self.w = weights or Weights()
        self._uni: Counter[str] = Counter()
        self._bi: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._last: str | None = None
        self._n = 0

    def feed(self, tokens: Sequence[str]) -> None:
        """Append tokens to the history."""
        for tok in tokens:
            if self._last is not None:
                self._bi[self._last][tok] += 1
            self._uni[tok] += 1
            self._last = tok
            self._n += 1

    def prob(self, tok: str) -> float:
        """P(tok | history)."""
        floor = self.w.uniform / VOCAB_SIZE
        if self._n == 0:
            return 1.0 / VOCAB_SIZE
        follow = self._bi.get(self._last or "")
        uni = self._uni[tok] / self._n
        if follow:
            bi = follow[tok] / sum(follow.values())
            return self.w.bigram * bi + self.w.unigram * uni + floor
        return (self.w.bigram + self.w.unigram) * uni + floor

    def logprob(self, tok: str) -> float:
        """Natural log of `prob`."""
        return math.log(self.prob(tok))

    def top(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` most likely next tokens with log-probs, best first (ties by text)."""
        candidates = set(self._uni) | set(FILLER)
        scored = sorted(((t, self.logprob(t)) for t in candidates), key=lambda p: (-p[1], p[0]))
        return scored[:k]


def score(prompt: str, continuation: str) -> list[tuple[str, float, list[tuple[str, float]]]]:
    """Log-prob of each continuation token after the prompt, with the top-5 alternatives."""
    lm = CacheLM()
    lm.feed(tokenize(prompt))
    out = []
    for tok in tokenize(continuation):
        out.append((tok, lm.logprob(tok), lm.top(5)))
        lm.feed([tok])
    return out


def generate(prompt: str, max_tokens: int, stop: Sequence[str] = ()) -> list[tuple[str, float]]:
    """Greedy generation: the most likely token each step, until ``max_tokens`` or a stop."""
    lm = CacheLM()
    lm.feed(tokenize(prompt))
    out: list[tuple[str, float]] = []
    text = ""
    for _ in range(max_tokens):
        tok, lp = lm.top(1)[0]
        if any(s and s in text + tok for s in stop):
            break
        out.append((tok, lp))
        text += tok
        lm.feed([tok])
    return out

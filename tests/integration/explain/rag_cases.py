"""Planted RAG cases: the answer copies one known chunk (hard negatives share answer words)."""

from __future__ import annotations

import random

from llmpulse.explain.rag_case import RagCase

VOCAB = [f"w{i}" for i in range(400)]
N_CHUNKS = 5


def planted_case(rng: random.Random) -> tuple[RagCase, int]:
    """A case whose answer is a sentence copied from chunk ``key`` (returned with it)."""
    chunks = [rng.sample(VOCAB, rng.randint(8, 18)) for _ in range(N_CHUNKS)]
    key = rng.randrange(N_CHUNKS)
    start = rng.randrange(len(chunks[key]) - 5)
    copied = chunks[key][start : start + 6]
    for j in range(N_CHUNKS):
        if j != key:  # hard negatives: each distractor holds three answer words, out of order
            for word in rng.sample(copied, 3):
                chunks[j][rng.randrange(len(chunks[j]))] = word
    texts = tuple(" ".join(c) + "." for c in chunks)
    question = "what about " + " ".join(rng.sample(VOCAB, 3)) + "?"
    return RagCase(question=question, answer=" ".join(copied) + ".", chunks=texts), key

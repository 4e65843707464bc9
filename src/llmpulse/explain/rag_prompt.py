"""The prompt a RAG answer is scored or regenerated under, given the chunks kept."""

from __future__ import annotations

from collections.abc import Sequence

SYSTEM = "Answer the question using only the context."


def context_block(chunks: Sequence[str], kept: Sequence[int]) -> str:
    """The kept chunks, numbered as in the full retrieval (``[1] text``)."""
    return "\n".join(f"[{i + 1}] {chunks[i]}" for i in sorted(kept))


def scoring_prefix(question: str, chunks: Sequence[str], kept: Sequence[int]) -> str:
    """Prompt before the answer for teacher forcing; it ends without whitespace, and the answer
    is scored as ``" " + answer`` so the first answer token starts exactly at its end."""
    return f"{SYSTEM}\nContext:\n{context_block(chunks, kept)}\nQuestion: {question}\nAnswer:"


def chat_messages(
    question: str, chunks: Sequence[str], kept: Sequence[int]
) -> list[dict[str, str]]:
    """Chat messages that ask for the answer given the kept chunks (the what-if)."""
    user = f"Context:\n{context_block(chunks, kept)}\n\nQuestion: {question}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]

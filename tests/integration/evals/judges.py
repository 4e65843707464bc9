"""Judges the fake OpenAI-compatible server plays in tests: each answers from the prompt.

`grounding_judge` labels an answer "factual" when most of its words occur in the reference
text (a stand-in for a real model's reading), so planted grounded and ungrounded answers get
the verdicts they should; the others answer a fixed reply to test parsing and rails.
"""

from __future__ import annotations

import re
from typing import Any


def _between(text: str, start: str, end: str) -> str:
    m = re.search(re.escape(start) + r"(.*?)" + re.escape(end), text, re.S)
    return m.group(1) if m else ""


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def grounding_judge(messages: list[dict[str, Any]]) -> str:
    prompt = str(messages[-1]["content"])
    context = _words(_between(prompt, "[Reference text]:", "[Answer]:"))
    answer = _words(_between(prompt, "[Answer]:", "\n\nAnswer in exactly"))
    share = len(answer & context) / max(1, len(answer))
    label = "factual" if share >= 0.6 else "hallucinated"
    return f"EXPLANATION: {share:.0%} of the answer's words are in the reference.\nLABEL: {label}"


def relevance_judge(messages: list[dict[str, Any]]) -> str:
    prompt = str(messages[-1]["content"])
    question = _words(_between(prompt, "[Question]:", "[Document]:")) - {"the", "a", "is", "what"}
    doc = _words(_between(prompt, "[Document]:", "\n\nAnswer in exactly"))
    label = "relevant" if len(question & doc) >= 2 else "unrelated"
    return f"EXPLANATION: shares {len(question & doc)} words.\nLABEL: {label}"


def fixed(reply: str) -> Any:
    return lambda messages: reply

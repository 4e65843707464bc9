"""Which way is worse for each metric (METHODS.md R7, §4.11).

Lower is better for latency, errors, HTTP 4xx/5xx, cost, tokens and for annotations that
measure something bad (thumbs-down, hallucination, toxicity, ...); higher is better for
thumbs-up, correctness, relevance, retrieval scores and other annotation scores. Callers may
still pass an explicit direction; this is the default every analysis starts from.
"""

from __future__ import annotations

from llmpulse.analysis.types import Direction
from llmpulse.domain.metrics import MetricField, Source

_BAD_WORDS = (
    "down", "bad", "halluc", "toxic", "incorrect", "wrong", "error", "fail", "unsafe",
    "irrelevant", "negative", "reject", "harm", "bias", "pii", "leak",
)  # fmt: skip
_GOOD_WORDS = (
    "up", "good", "correct", "relevan", "pass", "helpful", "faithful", "grounded", "accept",
    "positive", "like", "resolved", "success",
)  # fmt: skip


def _names_bad(text: str) -> bool | None:
    t = text.lower()
    for word in _BAD_WORDS:  # "incorrect" before "correct", "thumbs_down" before "up"
        if word in t:
            return True
    for word in _GOOD_WORDS:
        if word in t:
            return False
    return None


def metric_direction(field: MetricField) -> Direction:
    """The direction in which ``field`` gets worse (module docstring).

    An annotation label or score is judged by its name and label (``feedback.label=thumbs_down``
    is bad, ``correctness.label=correct`` is good); one that names neither is taken as a
    quality score (higher is better) when it is a score and as a bad outcome when it is a label;
    an unnamed span attribute is taken as a cost (higher is worse).
    """
    src = field.source
    if src in (Source.COLUMN, Source.ERROR, Source.HTTP_CLASS, Source.COUNT):
        return "higher_is_worse"
    if src is Source.DOCUMENT_SCORE:
        return "lower_is_worse"
    if src is Source.ANNOTATION_LABEL:
        bad = _names_bad(field.label or "")
        if bad is None:
            bad = _names_bad(field.key or "")
        return "lower_is_worse" if bad is False else "higher_is_worse"
    bad = _names_bad(field.key or "")
    if bad is None:  # an unnamed annotation score is a quality score; an attribute, a cost
        bad = src is Source.ATTRIBUTE
    return "higher_is_worse" if bad else "lower_is_worse"


def favourable(direction: Direction) -> str:
    """How the favourable outcome reads: "lower" or "higher" is better."""
    return "lower" if direction == "higher_is_worse" else "higher"


def unit_of_measure(field: MetricField) -> str:
    """What a value of ``field`` is measured in: "ms", "USD", "tokens", "fraction", "score"."""
    if field.is_outcome:
        return "fraction"
    column = field.column or ""
    if column.endswith("_ms"):
        return "ms"
    if column.endswith("_usd"):
        return "USD"
    if column.endswith("tokens"):
        return "tokens"
    if field.source is Source.COUNT:
        return "spans"
    return "score"

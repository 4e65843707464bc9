"""Evaluation rules: which evaluator runs on which spans of a project (issue 13, items 1-2).

An `EvalRule` pairs an `EvaluatorSpec` (a built-in judge template, a custom template with its
rails and scores, or an offline evaluator) with a `TriggeringPolicy` (which spans). Rules are
authored through REST, the SDK, the UI or a ``kind: EvalRuleList`` YAML file; the same model
validates all four, and its errors name the field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from llmpulse.domain.triggering import TriggeringPolicy

JUDGE_KINDS = ("hallucination", "qa_correctness", "document_relevance", "toxicity", "custom")
OFFLINE_KINDS = ("lexical_grounding", "embedding_similarity")
EvaluatorKind = Literal[
    "hallucination",
    "qa_correctness",
    "document_relevance",
    "toxicity",
    "custom",
    "lexical_grounding",
    "embedding_similarity",
]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class EvaluatorSpec(_Model):
    """What to evaluate and how; ``name`` is the annotation name (default: the kind)."""

    kind: EvaluatorKind
    name: str | None = Field(None, pattern=NAME_PATTERN, description="annotation name")
    prompt: str | None = Field(None, max_length=20_000, description="custom template prompt")
    rails: tuple[str, ...] = Field((), description="custom template labels")
    scores: dict[str, float] = Field(default_factory=dict, description="label → score")
    reference_key: str = Field(
        "metadata.reference", min_length=1, description="attribute holding the reference answer"
    )

    @model_validator(mode="after")
    def _custom_needs_prompt(self) -> EvaluatorSpec:
        if self.kind == "custom" and (not self.prompt or len(self.rails) < 2):
            raise ValueError("a custom evaluator needs a prompt and at least two rails")
        if self.kind != "custom" and (self.prompt or self.rails):
            raise ValueError("prompt and rails are for kind: custom only")
        return self

    @property
    def annotation_name(self) -> str:
        """The name its annotations carry."""
        return self.name or self.kind

    @property
    def uses_judge(self) -> bool:
        """True when it calls the LLM judge."""
        return self.kind in JUDGE_KINDS


class ReviewRoute(_Model):
    """Send the rule's evaluated spans to a human review queue (issue 13, item 8).

    Every span the rule evaluated goes to ``queue`` when ``labels`` is empty; otherwise only
    those whose verdict label is one of ``labels`` (e.g. the judge flagged it ``hallucinated``).
    """

    queue: str = Field(pattern=NAME_PATTERN, description="the review queue's name")
    labels: tuple[str, ...] = Field((), description="verdict labels routed; empty: every one")

    def wants(self, label: str | None) -> bool:
        """Whether a verdict with ``label`` goes to the queue."""
        return not self.labels or (label is not None and label in self.labels)


class EvalRule(_Model):
    """One project's rule: evaluator + which spans, run online (as spans arrive) or not."""

    name: str = Field(pattern=NAME_PATTERN)
    evaluator: EvaluatorSpec
    policy: TriggeringPolicy = TriggeringPolicy()
    online: bool = Field(True, description="evaluate matching spans as they arrive")
    review: ReviewRoute | None = Field(None, description="route verdicts to a review queue")


class EvalRuleList(_Model):
    """A project's evaluation rules as config-as-code (``kind: EvalRuleList``)."""

    api_version: Literal["llmpulse/v1"] = "llmpulse/v1"
    kind: Literal["EvalRuleList"] = "EvalRuleList"
    project: str = Field(min_length=1, max_length=200)
    rules: tuple[EvalRule, ...] = ()

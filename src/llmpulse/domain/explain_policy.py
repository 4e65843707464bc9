"""`ExplainPolicy`: which spans a project explains (issue 13, item 7), as YAML or REST body::

    api_version: llmpulse/v1
    kind: ExplainPolicy
    project: credit
    target: predictions          # or answers (RAG attribution of LLM spans)
    policy: {confidence_below: 0.3, sample_rate: 1.0}
    review_queue: low-confidence   # optional: explained spans go to this review queue

The policy model is the one online evaluation uses (`llmpulse.domain.triggering`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from llmpulse.domain.triggering import TriggeringPolicy


class ExplainPolicy(BaseModel):
    """A project's explanation triggering policy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_version: Literal["llmpulse/v1"] = "llmpulse/v1"
    kind: Literal["ExplainPolicy"] = "ExplainPolicy"
    project: str = Field(min_length=1, max_length=200)
    target: Literal["predictions", "answers"] = "predictions"
    policy: TriggeringPolicy = Field(default_factory=TriggeringPolicy)
    review_queue: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="send every explained span, with its explanation, to this review queue",
    )

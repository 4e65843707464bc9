"""`ReasonCodes`: the configurable table that maps top contributors to human-readable reasons.

YAML (``kind: ReasonCodes``), REST body and SDK argument alike::

    api_version: llmpulse/v1
    kind: ReasonCodes
    project: credit
    reasons:
      - {feature: debt_ratio, direction: increase, code: R01, text: "Debt is high"}
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ReasonSpec(BaseModel):
    """One reason: a feature (and the direction it pushed the output) → code and text."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    feature: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=500)
    direction: Literal["increase", "decrease", "any"] = "any"


class ReasonCodes(BaseModel):
    """A project's reason-code table (``kind: ReasonCodes``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_version: Literal["llmpulse/v1"] = "llmpulse/v1"
    kind: Literal["ReasonCodes"] = "ReasonCodes"
    project: str = Field(min_length=1, max_length=200)
    reasons: tuple[ReasonSpec, ...] = Field(default=(), max_length=1000)

    @field_validator("reasons")
    @classmethod
    def _one_entry_per_feature_direction(
        cls, value: tuple[ReasonSpec, ...]
    ) -> tuple[ReasonSpec, ...]:
        seen: dict[tuple[str, str], int] = {}
        for index, r in enumerate(value):
            key = (r.feature, r.direction)
            if key in seen:
                raise ValueError(
                    f"reasons[{index}] repeats feature {r.feature!r} with direction "
                    f"{r.direction!r} of reasons[{seen[key]}]"
                )
            seen[key] = index
        return value

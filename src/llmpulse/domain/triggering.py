"""Triggering policy: which spans an evaluator (or an explainer) runs on (issue 13, item 7).

A project configures it once per rule: evaluate or explain **all** spans, a **sample**, only
**low-confidence** predictions, or **specific workflows**, optionally narrowed to span kinds,
span names and attribute values. Every condition set must hold (they are AND-ed); an empty
condition holds for every span.

Sampling is deterministic: a span is in the sample when ``sha256(seed + ":" + span_id)``, read
as a number in [0, 1), is below ``sample_rate``, so re-running a backfill, or a second server
replica, picks exactly the same spans, and two rules with different seeds sample independently.

`decide` is pure: it takes a `TriggerTarget` (built from a `Span` by `target_of`, or by hand
for predictions) and returns a `TriggerDecision` with the reason, so a UI can show why a span
was or was not picked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from llmpulse.domain.spans import Span, SpanKind

DEFAULT_CONFIDENCE_KEY = "prediction.score"
DEFAULT_WORKFLOW_KEY = "metadata.workflow"


class TriggeringPolicy(BaseModel):
    """Which spans to evaluate or explain; every set condition must hold."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    sample_rate: float = Field(1.0, ge=0.0, le=1.0, description="share of spans picked")
    seed: str = Field("", max_length=200, description="sampling seed; rules differ by seed")
    confidence_below: float | None = Field(
        None, description="pick only spans whose confidence is below this value"
    )
    confidence_key: str = Field(
        DEFAULT_CONFIDENCE_KEY, min_length=1, description="attribute holding the confidence"
    )
    workflows: tuple[str, ...] = Field((), description="pick only these workflows")
    workflow_key: str = Field(
        DEFAULT_WORKFLOW_KEY, min_length=1, description="attribute naming the workflow"
    )
    span_kinds: tuple[SpanKind, ...] = Field((), description="pick only these span kinds")
    span_names: tuple[str, ...] = Field((), description="pick only these span names")
    attributes: dict[str, str] = Field(
        default_factory=dict, description="attribute key → required value (as text)"
    )


@dataclass(frozen=True, slots=True)
class TriggerTarget:
    """What the policy looks at: a span's id, kind, name and attributes (flat keys)."""

    span_id: str
    kind: SpanKind = SpanKind.UNKNOWN
    name: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TriggerDecision:
    """Whether the span is picked and, if not, the first condition it failed."""

    selected: bool
    reason: str


def sample_point(seed: str, span_id: str) -> float:
    """The span's deterministic position in [0, 1) for sampling."""
    digest = hashlib.sha256(f"{seed}:{span_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def attribute_of(span: Span, key: str) -> Any:
    """A span value by flat key: ``metadata.x`` from metadata, else the attribute ``key``."""
    if key.startswith("metadata."):
        found = span.metadata.get(key[len("metadata.") :])
        if found is not None:
            return found
    return span.attributes.get(key)


def target_of(span: Span, policy: TriggeringPolicy) -> TriggerTarget:
    """The `TriggerTarget` of a stored span, with the keys ``policy`` reads."""
    keys = {policy.confidence_key, policy.workflow_key, *policy.attributes}
    attrs = {k: v for k in keys if (v := attribute_of(span, k)) is not None}
    return TriggerTarget(span.span_id, span.kind, span.name, attrs, span.tags)


def _confidence(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _filter_reason(policy: TriggeringPolicy, t: TriggerTarget) -> str | None:
    if policy.span_kinds and t.kind not in policy.span_kinds:
        return f"kind {t.kind} not in {', '.join(policy.span_kinds)}"
    if policy.span_names and t.name not in policy.span_names:
        return f"name {t.name!r} not selected"
    for key, want in policy.attributes.items():
        got = t.attributes.get(key)
        if got is None or _text(got) != want:
            return f"{key} is not {want!r}"
    if policy.workflows:
        flow = t.attributes.get(policy.workflow_key)
        if (flow is None or _text(flow) not in policy.workflows) and not (
            set(t.tags) & set(policy.workflows)
        ):
            return f"workflow not in {', '.join(policy.workflows)}"
    return None


def decide(policy: TriggeringPolicy, target: TriggerTarget) -> TriggerDecision:
    """Apply the policy to one span (pure)."""
    reason = _filter_reason(policy, target)
    if reason is not None:
        return TriggerDecision(False, reason)
    if policy.confidence_below is not None:
        conf = _confidence(target.attributes.get(policy.confidence_key))
        if conf is None:
            return TriggerDecision(False, f"no confidence ({policy.confidence_key})")
        if conf >= policy.confidence_below:
            return TriggerDecision(False, f"confidence {conf:g} >= {policy.confidence_below:g}")
    if policy.sample_rate < 1.0 and sample_point(policy.seed, target.span_id) >= policy.sample_rate:
        return TriggerDecision(False, f"not in the {policy.sample_rate:g} sample")
    return TriggerDecision(True, "selected")

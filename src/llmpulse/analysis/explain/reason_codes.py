"""Reason codes: top contributors of a decision mapped to human-readable reasons (item 3).

Adverse-action style: the features that pushed the decision the way it went are ranked by the
size of their contribution (SHAP value), and each is looked up in a table of reasons. A table
entry may apply to a direction: ``increase`` (the feature pushed the output up), ``decrease``
(down) or ``any``. Features with no entry keep a generic reason, so nothing is hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ReasonEntry:
    """One row of a reason table."""

    feature: str
    code: str
    text: str
    direction: str = "any"  # increase | decrease | any


@dataclass(frozen=True)
class Reason:
    """One reason given for a decision."""

    feature: str
    contribution: float
    code: str
    text: str


def reason_codes(
    contributions: Mapping[str, float],
    table: Sequence[ReasonEntry],
    *,
    toward_positive: bool,
    top_k: int = 4,
) -> list[Reason]:
    """The top contributors toward the decision taken, with their reasons.

    Args:
        contributions: SHAP value per feature (positive pushes the raw output up).
        table: Reason entries.
        toward_positive: True when the decision was the positive one (so positive
            contributions explain it), False for the negative decision.
        top_k: How many reasons at most.

    Returns:
        Reasons, largest contribution toward the decision first; contributions of 0 or
        against the decision are never reasons.
    """
    sign = 1.0 if toward_positive else -1.0
    ranked = sorted(
        ((f, v) for f, v in contributions.items() if sign * v > 0),
        key=lambda fv: (-abs(fv[1]), fv[0]),
    )
    out = []
    for feature, value in ranked[:top_k]:
        direction = "increase" if value > 0 else "decrease"
        entry = next(
            (e for e in table if e.feature == feature and e.direction in (direction, "any")),
            None,
        )
        if entry is None:
            out.append(Reason(feature, value, f"{feature}.{direction}", f"{feature} ({direction})"))
        else:
            out.append(Reason(feature, value, entry.code, entry.text))
    return out

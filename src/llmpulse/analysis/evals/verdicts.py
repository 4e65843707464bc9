"""Parse a judge's reply into a verdict, enforcing the template's rails.

Accepted replies: the template's two-line format (``EXPLANATION: ...`` then ``LABEL: ...``, in
either order, case-insensitive, surrounding quotes, asterisks and a final period ignored), or a
JSON object with ``label`` and ``explanation``. A label outside the rails, a reply with no label
and an empty reply are **error verdicts** (``label`` None, ``error`` set): never coerced into
the nearest rail, never silently accepted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from llmpulse.analysis.evals.templates import JudgeTemplate

_LINE = re.compile(r"^\s*[*_#>\-\s]*(label|explanation)\s*[*_]*\s*:\s*(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """One judged item: label (one of the rails) and score, or an error."""

    label: str | None
    score: float | None
    explanation: str
    error: str | None = None


def _clean(label: str) -> str:
    return label.strip().strip("*_`'\". ").lower()


def _from_json(text: str) -> tuple[str | None, str] | None:
    raw = text.strip()
    if raw.startswith("```"):
        raw = raw.strip("`").removeprefix("json").strip()
    if not raw.startswith("{"):
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    label = doc.get("label")
    return (str(label) if label is not None else None, str(doc.get("explanation") or ""))


def _from_lines(text: str) -> tuple[str | None, str]:
    label: str | None = None
    explanation: list[str] = []
    current = None
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            current = m.group(1).lower()
            if current == "label":
                label = m.group(2)
            else:
                explanation = [m.group(2).strip()]
        elif current == "explanation" and line.strip():
            explanation.append(line.strip())
    return label, " ".join(explanation).strip()


def parse_verdict(text: str, template: JudgeTemplate) -> Verdict:
    """Read the judge's reply (see the module docstring)."""
    if not text.strip():
        return Verdict(None, None, "", "empty reply")
    found = _from_json(text) or _from_lines(text)
    raw_label, explanation = found
    if raw_label is None:
        return Verdict(None, None, explanation or text.strip(), "no LABEL in the reply")
    label = _clean(raw_label)
    if label not in template.rails:
        rails = ", ".join(template.rails)
        return Verdict(
            None, None, explanation, f"label {label!r} is not one of the rails ({rails})"
        )
    return Verdict(label, template.scores.get(label), explanation)

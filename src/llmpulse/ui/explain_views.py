"""Pure view models of the explanations page: importance bars, waterfall, attribution heat-map.

Every function turns an explanation (the JSON the REST API returns) into numbers a template
draws as SVG or table cells: percentages of a track, never pixels computed in the template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: a label, its value and its length in % of the longest."""

    label: str
    value: float
    pct: float


@dataclass(frozen=True)
class Step:
    """One waterfall step: from ``start_pct`` to ``end_pct`` of the axis; up or down."""

    label: str
    value: float
    start_pct: float
    end_pct: float
    up: bool
    text: str = ""


@dataclass(frozen=True)
class Heatmap:
    """Sentence x chunk attribution: ``cells[i][j]`` is the shade (0..1) of sentence i, chunk j."""

    chunks: list[dict[str, Any]]
    chunk_scores: list[float]
    chunk_shades: list[float]
    sentences: list[str]
    cells: list[list[float]]


def short(value: object) -> str:
    """A feature value for display: numbers to four significant digits, others as text."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def importance_bars(importance: Mapping[str, float], top: int = 15) -> list[Bar]:
    """Bars for the ``top`` most important features (mean |SHAP|)."""
    items = list(importance.items())[:top]
    biggest = max((v for _, v in items), default=0.0) or 1.0
    return [Bar(k, v, 100.0 * v / biggest) for k, v in items]


def waterfall(exp: Mapping[str, Any], top: int = 12) -> tuple[list[Step], float, float]:
    """Steps from the base value through each contribution to the output.

    Contributions beyond ``top`` are summed into one "other features" step. Client SHAP
    values have no base value: the walk then starts at 0.

    Returns:
        (steps, base value, final value).
    """
    contributions = list(exp.get("contributions", []))
    base = float(exp.get("base_value") or 0.0)
    shown = contributions[:top]
    rest = sum(float(c["contribution"]) for c in contributions[top:])
    rows = [(str(c["feature"]), float(c["contribution"]), c.get("value")) for c in shown]
    if contributions[top:]:
        rows.append((f"{len(contributions) - top} other features", rest, None))
    points = [base]
    for _, v, _ in rows:
        points.append(points[-1] + v)
    lo, hi = min(points), max(points)
    span = (hi - lo) or 1.0

    def pct(x: float) -> float:
        return 100.0 * (x - lo) / span

    steps = []
    for i, (label, v, value) in enumerate(rows):
        a, b = points[i], points[i + 1]
        text = short(value)
        steps.append(Step(label, v, pct(min(a, b)), pct(max(a, b)), v >= 0, text))
    return steps, base, points[-1]


def heatmap(exp: Mapping[str, Any]) -> Heatmap:
    """The chunk attribution heat-map of a RAG explanation (scores shaded per row)."""
    chunks = sorted(exp.get("chunks", []), key=lambda c: int(c["index"]))
    scores = [float(c["score"]) for c in chunks]
    top = max((s for s in scores if s > 0), default=0.0) or 1.0
    sentences: Sequence[Mapping[str, Any]] = exp.get("sentences", [])
    cells = []
    for s in sentences:
        row = [0.0] * len(chunks)
        best = max((float(c["score"]) for c in s.get("chunks", [])), default=0.0) or 1.0
        for c in s.get("chunks", []):
            j = int(c["index"])
            if 0 <= j < len(row):
                row[j] = max(0.0, float(c["score"]) / best)
        cells.append(row)
    return Heatmap(
        chunks=list(chunks),
        chunk_scores=scores,
        chunk_shades=[max(0.0, s / top) for s in scores],
        sentences=[str(s.get("text", "")) for s in sentences],
        cells=cells,
    )

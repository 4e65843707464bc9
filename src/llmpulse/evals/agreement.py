"""Judge-versus-human agreement on one annotation name (issue 13, item 8; METHODS.md §5.9).

For every span of the project in the window carrying both an evaluator's label (an LLM judge,
``LLM``, or an offline evaluator, ``CODE``) and a human (``HUMAN``) label under the annotation
name, the newest label of each kind is paired; the
pairs give raw agreement, the judge x human confusion matrix and Cohen's kappa
(`llmpulse.analysis.explain.agreement`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmpulse.analysis.explain.agreement import cohen_kappa, confusion_matrix
from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.domain.spans import Annotation
from llmpulse.query.service import QueryService
from llmpulse.store.api import SpanQuery, TimeRange

PAGE = 1000
MAX_SPANS = 50_000
ALL_TIME = TimeRange()


def pairs_of(annotations: Sequence[Annotation], name: str) -> list[tuple[str, str]]:
    """(judge label, human label) per span with both, the newest of each kind (oldest first in)."""
    judge: dict[str, str] = {}
    human: dict[str, str] = {}
    for a in annotations:
        if a.name != name or a.label is None or a.span_id is None:
            continue
        if a.annotator_kind in ("LLM", "CODE"):
            judge[a.span_id] = a.label
        elif a.annotator_kind == "HUMAN":
            human[a.span_id] = a.label
    return [(judge[s], human[s]) for s in judge if s in human]


def agreement_of(pairs: Sequence[tuple[str, str]], name: str) -> dict[str, Any]:
    """Raw agreement, confusion counts and Cohen's kappa of (judge, human) label pairs."""
    if not pairs:
        return {"name": name, "items": 0, "agreement": None, "kappa": None,
                "labels": [], "confusion": []}  # fmt: skip
    matrix = confusion_matrix([j for j, _ in pairs], [h for _, h in pairs])
    agree = sum(1 for j, h in pairs if j == h)
    return {
        "name": name,
        "items": len(pairs),
        "agreement": agree / len(pairs),
        "kappa": cohen_kappa(matrix),
        "labels": list(matrix.labels),
        "confusion": [list(row) for row in matrix.counts],
    }


async def judge_human_agreement(
    query: QueryService, project: ProjectName, name: str, time: TimeRange = ALL_TIME
) -> dict[str, Any]:
    """Agreement between judge and human labels named ``name`` on the project's spans.

    Args:
        query: Reads spans and their annotations.
        project: The project.
        name: The annotation name (the judge rule's ``evaluator.annotation_name``).
        time: The spans' window (every span when unset), at most ``MAX_SPANS`` spans.

    Returns:
        ``{"name", "items", "agreement", "kappa", "labels", "confusion"}``; ``confusion[i][j]``
        counts spans the judge labelled ``labels[i]`` and the human ``labels[j]``.
    """
    (out,) = await judge_human_agreements(query, project, [name], time)
    return out


async def judge_human_agreements(
    query: QueryService, project: ProjectName, names: Sequence[str], time: TimeRange = ALL_TIME
) -> list[dict[str, Any]]:
    """`judge_human_agreement` of each of ``names``, in order, from one pass over the spans
    and their annotations (none when ``names`` is empty)."""
    pairs: dict[str, list[tuple[str, str]]] = {n: [] for n in names}
    cursor: str | None = None
    seen = 0
    while pairs and seen < MAX_SPANS:
        page = await query.list_spans(
            SpanQuery(project, time=time, limit=PAGE, cursor=cursor), keep=False
        )
        seen += len(page.items)
        ids = [SpanId(s.span_id) for s in page.items]
        if ids:
            annotations = await query.list_annotations(ids)
            for name, found in pairs.items():
                found.extend(pairs_of(annotations, name))
        cursor = page.next_cursor
        if cursor is None:
            break
    return [agreement_of(pairs[n], n) for n in names]

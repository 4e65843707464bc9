"""Judge-versus-human agreement from annotations: pairing and Cohen's kappa (issue 13)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.domain.spans import Annotation
from llmpulse.evals.agreement import (
    agreement_of,
    judge_human_agreement,
    judge_human_agreements,
    pairs_of,
)
from llmpulse.store.api import Page, SpanQuery
from support.aio import run

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _note(span: str, kind: str, label: str, minute: int, name: str = "hallucination") -> Annotation:
    return Annotation(
        id=f"{span}-{kind}-{minute}", project=ProjectName("p"), span_id=SpanId(span),
        prediction_id=None, name=name, annotator_kind=kind,
        created_at=T0 + timedelta(minutes=minute), label=label,
    )  # fmt: skip


def test_pairs_take_the_newest_label_of_each_kind_and_skip_unpaired_spans() -> None:
    notes = [
        _note("a", "LLM", "factual", 0),
        _note("a", "HUMAN", "factual", 1),
        _note("a", "HUMAN", "hallucinated", 2),  # the reviewer changed their mind
        _note("b", "LLM", "factual", 0),  # no human label
        _note("c", "HUMAN", "factual", 0),  # no judge label
        _note("d", "LLM", "x", 0, name="other"),
        _note("d", "HUMAN", "y", 0, name="other"),
        _note("e", "CODE", "factual", 0),
    ]
    assert pairs_of(notes, "hallucination") == [("factual", "hallucinated")]


def test_kappa_matches_a_hand_computation() -> None:
    # judge x human: [[20, 5], [10, 15]] -> p_o = 0.7, p_e = 0.5*0.6 + 0.5*0.4 = 0.5, kappa 0.4
    pairs = [("f", "f")] * 20 + [("f", "h")] * 5 + [("h", "f")] * 10 + [("h", "h")] * 15
    out = agreement_of(pairs, "n")
    assert out["items"] == 50
    assert out["labels"] == ["f", "h"]
    assert out["confusion"] == [[20, 5], [10, 15]]
    assert out["agreement"] == pytest.approx(0.7)
    assert out["kappa"] == pytest.approx(0.4)


def test_perfect_agreement_is_one_and_planted_flips_lower_kappa_as_expected() -> None:
    rng = random.Random(7)
    judge = [rng.choice(["factual", "hallucinated"]) for _ in range(2000)]
    flip = {"factual": "hallucinated", "hallucinated": "factual"}
    assert agreement_of(list(zip(judge, judge, strict=True)), "n")["kappa"] == 1.0
    flipped = [flip[j] if rng.random() < 0.3 else j for j in judge]
    out = agreement_of(list(zip(judge, flipped, strict=True)), "n")
    # balanced labels, 30 % flips: p_o ~ 0.7, p_e ~ 0.5 -> kappa ~ 0.4
    assert out["agreement"] == pytest.approx(0.7, abs=0.03)
    assert out["kappa"] == pytest.approx(0.4, abs=0.06)


def test_no_pairs_gives_no_kappa() -> None:
    assert agreement_of([], "n") == {"name": "n", "items": 0, "agreement": None, "kappa": None,
                                     "labels": [], "confusion": []}  # fmt: skip


class _Spans:
    """A query stub: ``pages`` of span ids, their annotations, and how often each was read."""

    def __init__(self, pages: list[list[str]], notes: list[Annotation]) -> None:
        self.pages, self.notes = pages, notes
        self.span_reads = self.annotation_reads = 0

    async def list_spans(self, q: SpanQuery, *, keep: bool = True) -> Page[Any]:
        self.span_reads += 1
        i = int(q.cursor or 0)
        items = [SimpleNamespace(span_id=s) for s in self.pages[i]]
        return Page(items, str(i + 1) if i + 1 < len(self.pages) else None)

    async def list_annotations(self, ids: list[SpanId]) -> list[Annotation]:
        self.annotation_reads += 1
        return [n for n in self.notes if n.span_id in ids]


def test_agreement_of_several_names_reads_the_spans_once_and_matches_one_name_at_a_time() -> None:
    notes = [
        _note("a", "LLM", "factual", 0), _note("a", "HUMAN", "factual", 1),
        _note("b", "LLM", "factual", 0), _note("b", "HUMAN", "hallucinated", 1),
        _note("c", "LLM", "toxic", 0, name="toxicity"),
        _note("c", "HUMAN", "toxic", 1, name="toxicity"),
    ]  # fmt: skip
    names = ["hallucination", "toxicity", "unused"]
    many = _Spans([["a", "b"], ["c", "d"]], notes)
    together = run(judge_human_agreements(many, ProjectName("p"), names))  # type: ignore[arg-type]
    assert (many.span_reads, many.annotation_reads) == (2, 2)  # one pass, not one per name
    one = _Spans([["a", "b"], ["c", "d"]], notes)
    alone = [run(judge_human_agreement(one, ProjectName("p"), n)) for n in names]  # type: ignore[arg-type]
    assert together == alone
    assert [a["items"] for a in together] == [2, 1, 0]
    assert together[0]["agreement"] == 0.5
    none = _Spans([["a"]], notes)
    assert run(judge_human_agreements(none, ProjectName("p"), [])) == []  # type: ignore[arg-type]
    assert none.span_reads == 0

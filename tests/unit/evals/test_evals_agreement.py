"""Judge-versus-human agreement from annotations: pairing and Cohen's kappa (issue 13)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.domain.ids import ProjectName, SpanId
from llmpulse.domain.spans import Annotation
from llmpulse.evals.agreement import agreement_of, pairs_of

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

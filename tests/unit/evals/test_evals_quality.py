"""Offline evaluators on a planted set: do they separate grounded from ungrounded answers?

AUC = P(score of a grounded answer > score of an ungrounded one). The figures in
docs/how-to/evaluations.md come from these cases (300, seed 13).
"""

from __future__ import annotations

import random

import pytest
from planted_grounding import Case, cases

from llmpulse.analysis.evals.grounding import auc, grounding_score, lexical_grounding

CASES = cases(300)


def _auc(score: object, kind: str | None) -> float:
    f = score  # (answer, chunks) -> float | None
    scored = [(f(c.answer, c.context), c) for c in CASES]  # type: ignore[operator]
    pos = [s for s, c in scored if c.grounded]
    neg = [s for s, c in scored if not c.grounded and (kind is None or c.kind == kind)]
    return auc(pos, neg)


def test_planted_set_has_every_kind() -> None:
    kinds = {c.kind for c in CASES}
    assert kinds == {"paraphrase", "swapped", "relation", "invented"}
    assert sum(c.grounded for c in CASES) == 150


def test_grounding_score_separates_invented_and_swapped_facts() -> None:
    assert _auc(grounding_score, "invented") >= 0.95
    assert _auc(grounding_score, "swapped") >= 0.95


def test_key_tokens_are_what_catches_swapped_facts() -> None:
    # ROUGE-L alone ranks a copied sentence with one wrong fact above a paraphrase
    assert _auc(lexical_grounding, "swapped") < 0.2
    assert _auc(grounding_score, "swapped") - _auc(lexical_grounding, "swapped") > 0.7


def test_the_documented_blind_spot_a_changed_relation_is_not_caught() -> None:
    # "X sold Y in 1990" keeps every name and number of "Y was founded in 1990 by X"
    assert _auc(grounding_score, "relation") < 0.6


def test_null_two_halves_of_grounded_answers_are_not_separated() -> None:
    grounded = [c for c in CASES if c.grounded]
    rng = random.Random(5)
    rng.shuffle(grounded)
    a, b = grounded[:75], grounded[75:]
    value = auc([grounding_score(c.answer, c.context) or 0 for c in a],
                [grounding_score(c.answer, c.context) or 0 for c in b])  # fmt: skip
    assert abs(value - 0.5) < 0.12


def test_auc_oracle() -> None:
    assert auc([3, 2], [1, 0]) == 1.0
    assert auc([1], [1]) == 0.5
    assert auc([0, 2], [1]) == 0.5
    with pytest.raises(ValueError, match="at least one"):
        auc([], [1])


def test_cases_are_deterministic() -> None:
    assert cases(10) == cases(10)
    assert isinstance(cases(1)[0], Case)

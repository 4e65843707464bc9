"""Judge-versus-human agreement against the METHODS.md §5.9 oracle."""

from __future__ import annotations

import pytest

from llmpulse.analysis.explain.agreement import cohen_kappa, confusion_matrix
from llmpulse.domain.errors import InvalidInput


def _planted(table: list[list[int]], labels: list[str]) -> tuple[list[str], list[str]]:
    judge: list[str] = []
    human: list[str] = []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            judge += [labels[i]] * count
            human += [labels[j]] * count
    return judge, human


def test_kappa_oracle_on_planted_disagreements() -> None:
    judge, human = _planted([[20, 5], [10, 15]], ["fail", "pass"])
    matrix = confusion_matrix(judge, human, ["fail", "pass"])
    assert matrix.counts == ((20, 5), (10, 15))
    assert cohen_kappa(matrix) == pytest.approx(0.4)


def test_perfect_and_chance_agreement() -> None:
    assert cohen_kappa(confusion_matrix(["a", "b", "a"], ["a", "b", "a"])) == pytest.approx(1.0)
    judge, human = _planted([[25, 25], [25, 25]], ["x", "y"])
    assert cohen_kappa(confusion_matrix(judge, human)) == pytest.approx(0.0)


def test_bad_input_names_the_field() -> None:
    with pytest.raises(InvalidInput, match="equal length"):
        confusion_matrix(["a"], [])
    with pytest.raises(InvalidInput, match="labels"):
        confusion_matrix(["a"], ["z"], labels=["a"])

"""Surrogate TreeSHAP (issue 13, item 3): efficiency, planted importance, verified flips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmpulse.analysis.explain.reason_codes import ReasonEntry, reason_codes
from llmpulse.analysis.explain.surrogate import (
    Surrogate,
    encode,
    fit_surrogate,
    mean_abs_importance,
)
from llmpulse.analysis.explain.tabular_counterfactual import find_counterfactual
from llmpulse.domain.errors import InvalidInput

N = 400


def _planted(seed: int = 3) -> tuple[list[dict[str, object]], list[float], list[str]]:
    """The decision is driven by ``income`` (a strong logistic term); ``noise``, ``region`` and
    ``flag`` do not enter it at all, ``tenure`` only a little."""
    rng = np.random.default_rng(seed)
    rows, scores, labels = [], [], []
    for _ in range(N):
        income = float(rng.normal(50, 15))
        tenure = float(rng.integers(0, 20))
        row: dict[str, object] = {
            "income": income,
            "tenure": tenure,
            "noise": float(rng.normal()),
            "region": str(rng.choice(["eu", "us", "apac"])),
            "flag": bool(rng.integers(0, 2)),
        }
        p = 1.0 / (1.0 + math.exp(-(0.25 * (income - 50) + 0.02 * (tenure - 10))))
        rows.append(row)
        scores.append(p)
        labels.append("approve" if p >= 0.5 else "deny")
    return rows, scores, labels


@pytest.fixture(scope="module")
def planted() -> tuple[list[dict[str, object]], list[float], list[str]]:
    """The planted data set."""
    return _planted()


@pytest.fixture(scope="module")
def score_surrogate(planted: tuple[list[dict[str, object]], list[float], list[str]]) -> Surrogate:
    """A surrogate of the planted scores, fitted once for the module."""
    rows, scores, _ = planted
    return fit_surrogate(rows, scores, [None] * N)


Planted = tuple[list[dict[str, object]], list[float], list[str]]


def test_treeshap_sums_to_prediction_minus_expected_value_for_a_score_surrogate(
    planted: Planted, score_surrogate: Surrogate
) -> None:
    rows, _, _ = planted
    sur = score_surrogate
    x = encode(rows, sur.codecs)
    phi = sur.shap_matrix(x)
    raw = sur.raw(x)
    assert np.allclose(phi.sum(axis=1) + sur.expected_value, raw, atol=1e-6)
    one = sur.explain(rows[7])
    assert math.isclose(sum(one.values.values()), one.output - one.expected_value, abs_tol=1e-6)
    assert sur.fidelity > 0.9


def test_treeshap_sums_to_log_odds_minus_expected_value_for_a_label_surrogate() -> None:
    rows, _, labels = _planted()
    sur = fit_surrogate(rows, [None] * N, labels, positive_label="approve")
    x = encode(rows, sur.codecs)
    assert np.allclose(sur.shap_matrix(x).sum(axis=1) + sur.expected_value, sur.raw(x), atol=1e-6)
    assert sur.positive_label == "approve"
    assert sur.target == "label"
    # The surrogate's decision agrees with the logged label on the training rows.
    agree = np.mean(sur.decide(x) == np.array([lab == "approve" for lab in labels]))
    assert agree == pytest.approx(sur.fidelity)
    assert agree > 0.95


def test_planted_driver_ranks_first_and_unused_features_rank_low(
    planted: Planted, score_surrogate: Surrogate
) -> None:
    rows, _scores, _ = planted
    sur = score_surrogate
    matrix = sur.shap_matrix(encode(rows, sur.codecs))
    ranking = mean_abs_importance(
        [dict(zip(sur.features, map(float, m), strict=True)) for m in matrix]
    )
    names = list(ranking)
    assert names[0] == "income"
    assert ranking["income"] > 5 * max(ranking["noise"], ranking["region"], ranking["flag"])


def test_planted_driver_swapped_to_another_feature_moves_the_ranking() -> None:
    """The null of the previous test: when ``noise`` drives the decision, it ranks first."""
    rows, _, _ = _planted(seed=4)
    scores = [1.0 / (1.0 + math.exp(-4.0 * float(r["noise"]))) for r in rows]  # type: ignore[arg-type]
    sur = fit_surrogate(rows, scores, [None] * N)
    matrix = sur.shap_matrix(encode(rows, sur.codecs))
    ranking = mean_abs_importance(
        [dict(zip(sur.features, map(float, m), strict=True)) for m in matrix]
    )
    assert next(iter(ranking)) == "noise"


def test_counterfactual_flips_the_surrogate_decision_by_changing_the_driver(
    planted: Planted, score_surrogate: Surrogate
) -> None:
    rows, scores, _ = planted
    sur = score_surrogate
    data = encode(rows, sur.codecs)
    denied = next(i for i, s in enumerate(scores) if s < 0.2)
    x = data[denied]
    cf = find_counterfactual(
        x, data, sur.decide, categorical=[not c.numeric for c in sur.codecs],
        actionable=list(range(len(sur.codecs))),
    )  # fmt: skip
    assert cf is not None
    changed = x.copy()
    for c in cf.changes:
        changed[c.column] = c.new
    assert not sur.decide(x[None, :])[0]
    assert sur.decide(changed[None, :])[0]  # verified flip
    assert [sur.features[c.column] for c in cf.changes] == ["income"]
    assert cf.changes[0].new > cf.changes[0].old


def test_counterfactual_is_none_when_only_irrelevant_features_may_change(
    planted: Planted, score_surrogate: Surrogate
) -> None:
    rows, scores, _ = planted
    sur = score_surrogate
    data = encode(rows, sur.codecs)
    very_low = min(range(N), key=lambda i: scores[i])
    cf = find_counterfactual(
        data[very_low], data, sur.decide, categorical=[not c.numeric for c in sur.codecs],
        actionable=[sur.features.index("noise"), sur.features.index("region")],
    )  # fmt: skip
    assert cf is None


def test_counterfactual_picks_the_smallest_normalised_change() -> None:
    """Oracle: decide = x0 + x1 ≥ 10 on a grid 0..10 each; from (2, 0) the cheapest flip in
    IQR units: x0's IQR is 8 - 2 = 6 and x1's (values 0, 1, 2, 3, 8) is 3 - 1 = 2, so x0 → 10
    costs 8/6 and x1 → 8 costs 8/2 = 4: x0 is chosen."""
    data = np.array([[float(a), float(b)] for a in range(11) for b in (0, 1, 2, 3, 8)])
    cf = find_counterfactual(
        np.array([2.0, 0.0]), data, lambda m: m[:, 0] + m[:, 1] >= 10,
        categorical=[False, False], actionable=[0, 1],
    )  # fmt: skip
    assert cf is not None
    assert [(c.column, c.new) for c in cf.changes] == [(0, 10.0)]
    assert cf.distance == pytest.approx(8 / 6)


def test_reason_codes_give_the_contributors_toward_the_decision_with_table_text() -> None:
    table = [
        ReasonEntry("income", "R01", "Income is too low", "decrease"),
        ReasonEntry("income", "R02", "Income is high", "increase"),
        ReasonEntry("debt", "R03", "Debt is high", "any"),
    ]
    contributions = {"income": -0.4, "debt": -0.2, "tenure": 0.3, "age": -0.05}
    denied = reason_codes(contributions, table, toward_positive=False, top_k=2)
    assert [(r.code, r.text) for r in denied] == [
        ("R01", "Income is too low"),
        ("R03", "Debt is high"),
    ]
    approved = reason_codes(contributions, table, toward_positive=True)
    assert [(r.feature, r.code) for r in approved] == [("tenure", "tenure.increase")]


def test_a_surrogate_refuses_too_few_rows_and_a_single_class() -> None:
    rows, scores, labels = _planted()
    with pytest.raises(InvalidInput) as few:
        fit_surrogate(rows[:5], scores[:5], labels[:5])
    assert few.value.errors[0].path == "predictions"
    with pytest.raises(InvalidInput) as one:
        fit_surrogate(rows, [None] * N, ["deny"] * N)
    assert one.value.errors[0].path == "prediction_label"

"""Gradient-boosted surrogate of a logged decision, explained by TreeSHAP (METHODS.md §5.1-5.2).

When a client logs features and predictions but no SHAP values, a surrogate model is fitted
on the logged features → the logged prediction (score, or the indicator of a positive label)
and explained with ``shap.TreeExplainer``: exact, path-dependent TreeSHAP, so each row's values
sum to the surrogate's raw output minus the explainer's expected value (efficiency, §5.1).
Features are encoded one column each (numbers as they are, booleans as 0/1, text as sorted
category codes, missing as NaN), so a SHAP value belongs to one logged feature. Category codes
are split as ordered numbers (a tree isolates a category with two splits): scikit-learn's native
categorical splits are bitsets that shap's tree parser reads as thresholds, which breaks the
efficiency property, so they are not used. ``shap`` and
``scikit-learn`` are the optional extra ``llmpulse[explain]`` and are imported on first use.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from llmpulse.domain.errors import FieldError, InvalidInput

FloatArray = npt.NDArray[np.float64]
Row = Mapping[str, object]

MIN_ROWS = 20
SEED = 0


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run scikit-learn's OpenMP loops on one thread.

    Gradient boosting of a few thousand rows gains nothing from threads, and on a busy machine
    OpenMP's spinning workers made one fit 50x slower (9 s against 0.18 s on 400 rows here).
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@dataclass(frozen=True)
class FeatureCodec:
    """How one logged feature becomes one numeric column.

    Attributes:
        name: The feature name.
        categories: Sorted categories of a text feature (codes are their indices); empty
            for a numeric feature.
    """

    name: str
    categories: tuple[str, ...] = ()

    @property
    def numeric(self) -> bool:
        """True for a numeric (or boolean) feature."""
        return not self.categories

    def encode(self, value: object) -> float:
        """The column value of ``value`` (NaN when missing or an unseen category)."""
        if value is None:
            return math.nan
        if self.categories:
            text = str(value)
            return float(self.categories.index(text)) if text in self.categories else math.nan
        if isinstance(value, bool):
            return 1.0 if value else 0.0
        if isinstance(value, int | float):
            return float(value)
        return math.nan

    def decode(self, column_value: float) -> object:
        """The logged value of a column value (a category name for text features)."""
        if math.isnan(column_value):
            return None
        if self.categories:
            return self.categories[round(column_value)]
        return column_value


def build_codecs(rows: Sequence[Row], features: Sequence[str] | None = None) -> list[FeatureCodec]:
    """One codec per feature: text if any logged value is a string, else numeric.

    Args:
        rows: Feature mappings, one per prediction.
        features: Which features (default: every name seen, sorted).
    """
    names = list(features) if features is not None else sorted({k for r in rows for k in r})
    codecs = []
    for name in names:
        texts = {str(r[name]) for r in rows if isinstance(r.get(name), str)}
        codecs.append(FeatureCodec(name, tuple(sorted(texts))))
    return codecs


def encode(rows: Sequence[Row], codecs: Sequence[FeatureCodec]) -> FloatArray:
    """The design matrix, shape (rows, features)."""
    out = np.empty((len(rows), len(codecs)), dtype=np.float64)
    for i, row in enumerate(rows):
        for j, codec in enumerate(codecs):
            out[i, j] = codec.encode(row.get(codec.name))
    return out


@dataclass(frozen=True)
class Explanation:
    """TreeSHAP explanation of one row.

    Attributes:
        values: SHAP value per feature (raw-output units).
        expected_value: The explainer's expected (base) value.
        output: The surrogate's raw output for the row; ``sum(values) + expected_value``.
    """

    values: dict[str, float]
    expected_value: float
    output: float


class Surrogate:
    """A fitted gradient-boosted surrogate with its TreeSHAP explainer.

    Use `fit_surrogate`. ``raw`` is the regression output (score target) or the log-odds of
    the positive label (label target); ``threshold`` is where the decision flips (0.5 for a
    score, 0 log-odds for a label).
    """

    def __init__(
        self,
        model: Any,
        explainer: Any,
        codecs: list[FeatureCodec],
        target: str,
        threshold: float,
        fidelity: float,
        n_rows: int,
        positive_label: str | None,
    ) -> None:
        """Keep the fitted parts (see `fit_surrogate`)."""
        self.model = model
        self.explainer = explainer
        self.codecs = codecs
        self.target = target
        self.threshold = threshold
        self.fidelity = fidelity
        self.n_rows = n_rows
        self.positive_label = positive_label

    @property
    def features(self) -> list[str]:
        """Feature names in column order."""
        return [c.name for c in self.codecs]

    @property
    def expected_value(self) -> float:
        """The explainer's base value (mean raw output over the training data)."""
        return float(np.ravel(self.explainer.expected_value)[-1])

    def raw(self, x: FloatArray) -> FloatArray:
        """Raw surrogate output per row of an encoded matrix."""
        with _one_thread():
            if self.target == "score":
                out: FloatArray = np.asarray(self.model.predict(x), dtype=np.float64)
            else:
                out = np.asarray(self.model.decision_function(x), dtype=np.float64)
        return out

    def decide(self, x: FloatArray) -> npt.NDArray[np.bool_]:
        """The surrogate's decision per row (raw output ≥ threshold)."""
        return self.raw(x) >= self.threshold

    def shap_matrix(self, x: FloatArray) -> FloatArray:
        """TreeSHAP values, shape (rows, features), in raw-output units."""
        values = self.explainer.shap_values(x, check_additivity=False)
        arr = np.asarray(values[-1] if isinstance(values, list) else values, dtype=np.float64)
        if arr.ndim == 3:  # (rows, features, classes) from some shap versions
            arr = arr[:, :, -1]
        return arr

    def explain(self, features: Row) -> Explanation:
        """SHAP values of one logged feature mapping."""
        x = encode([features], self.codecs)
        values = self.shap_matrix(x)[0]
        return Explanation(
            {c.name: float(v) for c, v in zip(self.codecs, values, strict=True)},
            self.expected_value,
            float(self.raw(x)[0]),
        )


def _target(
    scores: Sequence[float | None], labels: Sequence[str | None], positive_label: str | None
) -> tuple[str, FloatArray, str | None]:
    if all(s is not None for s in scores) and scores:
        return "score", np.asarray(scores, dtype=np.float64), None
    if any(label is None for label in labels):
        raise InvalidInput(
            "every prediction needs a score or a label",
            [FieldError("prediction_score", "missing on some predictions (and labels too)")],
        )
    classes = sorted({str(v) for v in labels})
    if len(classes) < 2:
        raise InvalidInput(
            "the logged labels have one class only",
            [FieldError("prediction_label", f"only {classes} logged; a surrogate needs two")],
        )
    positive = positive_label or (classes[-1] if len(classes) == 2 else None)
    if positive is None or positive not in classes:
        raise InvalidInput(
            "positive_label is needed",
            [FieldError("positive_label", f"name one of {classes}")],
        )
    y = np.asarray([1.0 if v == positive else 0.0 for v in labels], dtype=np.float64)
    return "label", y, positive


def fit_surrogate(
    rows: Sequence[Row],
    scores: Sequence[float | None],
    labels: Sequence[str | None],
    *,
    features: Sequence[str] | None = None,
    positive_label: str | None = None,
    threshold: float | None = None,
    max_iter: int = 100,
) -> Surrogate:
    """Fit a gradient-boosted surrogate of the logged decision and its TreeSHAP explainer.

    Args:
        rows: Logged features, one mapping per prediction.
        scores: Logged prediction scores (the target when every row has one).
        labels: Logged prediction labels (the target otherwise: positive label vs the rest).
        features: Features to use (default every feature seen).
        positive_label: The label whose log-odds are explained (needed beyond two classes).
        threshold: Decision threshold on the raw output (default 0.5 for scores, 0 log-odds).
        max_iter: Boosting iterations.

    Returns:
        The surrogate, with its fidelity (R² for scores, accuracy for labels) on the rows.

    Raises:
        InvalidInput: Too few rows, no features, or no usable target.
    """
    if len(rows) < MIN_ROWS:
        raise InvalidInput(
            f"a surrogate needs at least {MIN_ROWS} predictions, got {len(rows)}",
            [FieldError("predictions", f"at least {MIN_ROWS} with features")],
        )
    codecs = build_codecs(rows, features)
    if not codecs:
        raise InvalidInput("no features logged", [FieldError("features", "none logged")])
    x = encode(rows, codecs)
    target, y, positive = _target(scores, labels, positive_label)
    import shap  # type: ignore[import-untyped]

    with _one_thread():
        model, fidelity, cut = _fit(x, y, target, threshold, max_iter)
    explainer = shap.TreeExplainer(model)
    return Surrogate(model, explainer, codecs, target, cut, fidelity, len(rows), positive)


def _fit(
    x: FloatArray, y: FloatArray, target: str, threshold: float | None, max_iter: int
) -> tuple[Any, float, float]:
    from sklearn.ensemble import (  # type: ignore[import-untyped]
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )

    if target == "score":
        model: Any = HistGradientBoostingRegressor(max_iter=max_iter, random_state=SEED)
        model.fit(x, y)
        pred = model.predict(x)
        ss = float(((y - y.mean()) ** 2).sum())
        fidelity = 1.0 - float(((y - pred) ** 2).sum()) / ss if ss > 0 else 1.0
        cut = 0.5 if threshold is None else threshold
    else:
        model = HistGradientBoostingClassifier(max_iter=max_iter, random_state=SEED)
        model.fit(x, y)
        fidelity = float((model.predict(x) == y).mean())
        cut = 0.0 if threshold is None else threshold
    return model, fidelity, cut


def mean_abs_importance(
    shap_rows: Sequence[Mapping[str, float]],
) -> dict[str, float]:
    """Global importance: mean |SHAP| per feature over rows (a feature absent from a row
    counts as 0 there), sorted by decreasing importance."""
    if not shap_rows:
        return {}
    names = sorted({k for r in shap_rows for k in r})
    n = len(shap_rows)
    means = {k: math.fsum(abs(r.get(k, 0.0)) for r in shap_rows) / n for k in names}
    return dict(sorted(means.items(), key=lambda kv: (-kv[1], kv[0])))

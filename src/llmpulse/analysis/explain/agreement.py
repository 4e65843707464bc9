"""Judge-versus-human agreement: confusion matrix and Cohen's kappa (METHODS.md §5.9)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmpulse.domain.errors import InvalidInput


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of (judge label, human label) pairs over a shared label set (§5.9).

    Attributes:
        labels: The label set, in row/column order.
        counts: counts[i][j] = items the judge labelled labels[i] and the human labels[j].
    """

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    @property
    def total(self) -> int:
        """Number of items."""
        return sum(sum(row) for row in self.counts)


def confusion_matrix(
    judge: Sequence[str], human: Sequence[str], labels: Sequence[str] | None = None
) -> ConfusionMatrix:
    """Tabulate judge labels (rows) against human labels (columns) (§5.9).

    Args:
        judge: The judge's label per item.
        human: The human label per item, aligned with ``judge``.
        labels: The label order; defaults to the sorted union of labels seen.

    Returns:
        The confusion matrix.

    Raises:
        InvalidInput: If lengths differ, there are no items, or a label is not in ``labels``.
    """
    if len(judge) != len(human):
        raise InvalidInput(
            f"judge and human must have equal length, got {len(judge)}, {len(human)}"
        )
    if not judge:
        raise InvalidInput("judge and human must not be empty")
    order = tuple(labels) if labels is not None else tuple(sorted(set(judge) | set(human)))
    index = {label: i for i, label in enumerate(order)}
    grid = [[0] * len(order) for _ in order]
    for j_label, h_label in zip(judge, human, strict=True):
        if j_label not in index or h_label not in index:
            raise InvalidInput(f"labels: {j_label!r} or {h_label!r} is not in {list(order)}")
        grid[index[j_label]][index[h_label]] += 1
    return ConfusionMatrix(order, tuple(tuple(row) for row in grid))


def cohen_kappa(matrix: ConfusionMatrix) -> float:
    """Cohen's κ = (p_o - p_e)/(1 - p_e), agreement beyond chance (§5.9).

    Args:
        matrix: A judge x human confusion matrix.

    Returns:
        κ; 1.0 when both raters put every item in one and the same class (p_e = 1).

    Raises:
        InvalidInput: If the matrix is empty.
    """
    n = matrix.total
    if n == 0:
        raise InvalidInput("matrix must contain at least one item")
    k = len(matrix.labels)
    p_o = sum(matrix.counts[i][i] for i in range(k)) / n
    rows = [sum(matrix.counts[i]) / n for i in range(k)]
    cols = [sum(matrix.counts[i][j] for i in range(k)) / n for j in range(k)]
    p_e = sum(r * c for r, c in zip(rows, cols, strict=True))
    if p_e >= 1.0:
        return 1.0 if p_o >= 1.0 else 0.0
    return (p_o - p_e) / (1.0 - p_e)

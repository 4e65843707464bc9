"""Find the rows that cannot be stored, so that one bad span never sinks its neighbours.

Turning a batch into columns (`rows_to_arrow`) and pricing it (`CostEnricher.enrich_rows`)
work on the whole batch at once, which is what makes them fast; a value one column cannot
take (a token count past int64, metadata nested deeper than the JSON encoder goes, …) fails
the batch. Only then does `split_storable` bisect the batch: halves that encode are kept
whole, and the search narrows to single rows, so k bad rows in n cost about 2·k·log2(n)
extra encodings and a clean batch costs nothing extra.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.spans import Annotation
from llmpulse.store.events.codec import SpanRow, annotations_to_arrow, rows_to_arrow

_T = TypeVar("_T")
Unstorable = tuple[int, str, str]
"""A row that cannot be stored: its index in the batch, the field, and why."""


def _problem(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, InvalidInput) and exc.errors:
        err = exc.errors[0]
        return err.path, f"cannot store field {err.path}: {err.message}"
    if isinstance(exc, RecursionError):
        return "attributes", "values are nested too deeply to store"
    return "attributes", f"cannot store the span: {exc}"


def split_storable(
    rows: Sequence[_T], check: Callable[[Sequence[_T]], object]
) -> tuple[list[int], list[Unstorable]]:
    """The indexes of the items ``check`` accepts and, for the others, what it said.

    Args:
        rows: the batch (span rows, annotations).
        check: raises for a group of items that cannot be stored (e.g. `rows_to_arrow`).

    Returns:
        The kept indexes in order, and one `Unstorable` per refused row.
    """
    kept: list[int] = []
    bad: list[Unstorable] = []

    def visit(lo: int, hi: int) -> None:
        try:
            check(rows[lo:hi])
        except (InvalidInput, RecursionError, pa.ArrowException, ValueError, TypeError) as exc:
            if hi - lo == 1:
                bad.append((lo, *_problem(exc)))
                return
            mid = (lo + hi) // 2
            visit(lo, mid)
            visit(mid, hi)
            return
        kept.extend(range(lo, hi))

    if rows:
        visit(0, len(rows))
    return kept, bad


def encode_rows(rows: Sequence[SpanRow]) -> pa.Table:
    """`rows_to_arrow`, refusing what the store could hold but no metric should: a cost that
    is NaN or infinite (one would turn every sum and mean of its project into NaN).

    Raises:
        InvalidInput: a row cannot be stored, naming the field.
    """
    table = rows_to_arrow(rows)
    cost = table.column("cost_usd")
    if cost.null_count < len(cost) and not pc.all(pc.is_finite(cost)).as_py():
        bad = next(v for v in cost.to_pylist() if v is not None and not math.isfinite(v))
        reason = f"must be a finite number, got {bad}"
        raise InvalidInput(
            f"cannot store field cost_usd: {reason}", [FieldError("cost_usd", reason)]
        )
    return table


def storable_table(rows: list[SpanRow]) -> tuple[pa.Table | None, list[int], list[Unstorable]]:
    """The Arrow table of the storable rows, their indexes, and the refused rows.

    The common case, every row storable, encodes the batch once.
    """
    if not rows:
        return None, [], []
    try:
        return encode_rows(rows), list(range(len(rows))), []
    except InvalidInput:
        pass
    kept, bad = split_storable(rows, encode_rows)
    table = encode_rows([rows[i] for i in kept]) if kept else None
    return table, kept, bad


def storable_annotations(annotations: Sequence[Annotation]) -> tuple[list[int], list[Unstorable]]:
    """Which annotations encode (metadata JSON, score, …): checked before the write batch."""
    try:
        annotations_to_arrow(annotations)
    except InvalidInput:
        return split_storable(annotations, annotations_to_arrow)
    return list(range(len(annotations))), []

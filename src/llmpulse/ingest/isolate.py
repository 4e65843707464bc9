"""Find the rows that cannot be stored, so that one bad span never sinks its neighbours.

Turning a batch into columns (`rows_to_arrow`) and pricing it (`CostEnricher.enrich_rows`)
work on the whole batch at once, which is what makes them fast; a value one column cannot
take (a token count past int64, metadata nested deeper than the JSON encoder goes, …) fails
the batch. Only then does `split_storable` bisect the batch: halves that encode are kept
whole, and the search narrows to single rows, so k bad rows in n cost about 2·k·log2(n)
extra encodings and a clean batch costs nothing extra.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyarrow as pa

from llmpulse.domain.errors import InvalidInput
from llmpulse.store.events.codec import SpanRow, rows_to_arrow

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
    rows: Sequence[SpanRow], check: Callable[[Sequence[SpanRow]], object] = rows_to_arrow
) -> tuple[list[int], list[Unstorable]]:
    """The indexes of the rows ``check`` accepts and, for the others, what it said.

    Args:
        rows: the batch.
        check: raises for a group of rows that cannot be stored (default: `rows_to_arrow`).

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


def storable_table(rows: list[SpanRow]) -> tuple[pa.Table | None, list[int], list[Unstorable]]:
    """The Arrow table of the storable rows, their indexes, and the refused rows.

    The common case, every row storable, encodes the batch once.
    """
    if not rows:
        return None, [], []
    try:
        return rows_to_arrow(rows), list(range(len(rows))), []
    except InvalidInput:
        pass
    kept, bad = split_storable(rows)
    table = rows_to_arrow([rows[i] for i in kept]) if kept else None
    return table, kept, bad

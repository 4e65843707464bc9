"""Reading, changing and deleting one annotation by id (human annotators edit their own).

Annotations are appended by the ingest writer; an edit changes the label, score, explanation
and metadata of the row in place and a delete removes it, each one statement (its own
transaction) on a reader's cursor, as `purge` does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from llmpulse.domain.spans import Annotation
from llmpulse.store.events.codec import row_to_annotation
from llmpulse.store.events.columns import ANNOTATION_COLUMN_NAMES

Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
_COLS = ", ".join(ANNOTATION_COLUMN_NAMES)


def get(query: Query, annotation_id: str) -> Annotation | None:
    """One annotation by id, or None."""
    rows = query(f"SELECT {_COLS} FROM annotations WHERE id = ? LIMIT 1", [annotation_id])
    return row_to_annotation(rows[0]) if rows else None


def edit(query: Query, annotation_id: str, new: Annotation | None) -> bool:
    """Give the annotation ``new``'s label, score, explanation and metadata, or delete it
    (``new`` None). False when no annotation has that id."""
    if new is None:
        rows = query("DELETE FROM annotations WHERE id = ?", [annotation_id])
    else:
        rows = query(
            "UPDATE annotations SET label = ?, score = ?, explanation = ?, metadata = ? "
            "WHERE id = ?",
            [new.label, new.score, new.explanation, orjson.dumps(new.metadata).decode(),
             annotation_id],
        )  # fmt: skip
    return bool(rows and rows[0][0])

"""Deleting a project's spans, or those older than a cut-off, without stalling ingest.

A delete runs in chunks of `CHUNK` rows, each its own transaction on a reader's cursor rather
than under the store's write lock: DuckDB's MVCC lets appends of other rows commit meanwhile,
so ingest of other projects goes on (ADR 0026; tested in
`tests/contract/test_event_store_purge.py`), and the chunks keep each transaction's undo data
small. The store checkpoints afterwards: the
ingest journal still holds the deleted rows of recent batches, and re-opening after a crash
would otherwise put them back (`journal.reconcile`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from llmpulse.domain.ids import ProjectName

CHUNK = 20_000
Write = Callable[[str, Sequence[Any]], int]
"""Runs one statement in its own transaction; returns the row count."""


def where_of(project: ProjectName, before: datetime | None) -> tuple[str, list[Any]]:
    """The predicate of the spans to delete: the project's, or those older than ``before``
    (a naive UTC value, as stored)."""
    if before is None:
        return "project = ?", [project]
    return "project = ? AND start_time < ?", [project, before]


def delete_spans(write: Write, where: str, params: list[Any], chunk: int = CHUNK) -> int:
    """Delete the matching spans ``chunk`` rows at a time; returns how many went."""
    total = 0
    while True:
        n = write(
            f"DELETE FROM spans WHERE rowid IN (SELECT rowid FROM spans WHERE {where} "
            f"LIMIT {int(chunk)})",
            params,
        )
        total += n
        if n < chunk:
            return total


def delete_annotations(write: Write, project: ProjectName) -> int:
    """Delete every annotation of a project (its spans' and its predictions')."""
    return write("DELETE FROM annotations WHERE project = ?", [project])

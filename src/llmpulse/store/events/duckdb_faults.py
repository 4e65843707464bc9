"""How the DuckDB event store meets write faults: journalled inserts, errors, re-attaching.

- `insert_journalled`: one transaction that commits only once the ingest journal holds the
  batch too (see `journal`); the journal's sync overlaps DuckDB's insert. It and
  `insert_committed` (no journal) run the ``COMMIT`` alone inside what the caller brackets it
  with (ADR 0050).
- `write_error`: the 503 for a failed write, naming a full disk as such (ingest resumes by
  itself once space is back, so the client is told to retry).
- `reattach`: DuckDB invalidates a database whose checkpoint failed (a full disk) until it
  is detached and attached again; re-attaching replays the write-ahead log, so every
  committed row is back.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import duckdb

from llmpulse.domain.errors import Unavailable
from llmpulse.store.events.columns import SPAN_COLUMN_NAMES
from llmpulse.store.events.duckdb_open import CATALOG, attach
from llmpulse.store.events.journal import ANNOTATIONS, SPANS, IngestJournal
from llmpulse.store.events.layout import brought_columns, derived_select

NO_SPACE = "No space left on device"


Committing = Callable[[], AbstractContextManager[None]]
"""What a write's ``COMMIT`` runs inside (the summaries' guard around a commit of spans and
its queueing, ADR 0050); the work before it is invisible to readers until it commits."""


def commit(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB's ``COMMIT`` of a write's transaction (one place, so that a fault test can make
    it fail after it wrote)."""
    con.commit()


def insert_committed(
    con: duckdb.DuckDBPyConnection, table: str, batch: Any, committing: Committing = nullcontext
) -> None:
    """`insert_rows` in a transaction whose ``COMMIT`` runs inside ``committing()``.

    Raises:
        duckdb.Error: DuckDB could not insert or commit.
    """
    con.begin()
    try:
        insert_rows(con, table, batch)
    except BaseException:
        _rollback(con)
        raise
    with committing():
        commit(con)


def insert_journalled(
    con: duckdb.DuckDBPyConnection,
    journal: IngestJournal,
    journal_thread: Executor,
    table: str,
    batch: Any,
    committing: Committing = nullcontext,
) -> None:
    """Insert ``batch`` in a transaction that commits only once the journal holds it too;
    the ``COMMIT`` runs inside ``committing()``.

    The journal record is written and synced on ``journal_thread`` while DuckDB does the
    insert. A journal that cannot be written rolls the insert back (503, nothing stored); a
    DuckDB commit that fails cuts the journal record off again (the journal holds
    acknowledged rows only).

    Raises:
        Unavailable: the journal could not be written.
        duckdb.Error: DuckDB could not insert or commit.
    """
    kind = SPANS if table == "spans" else ANNOTATIONS
    # The journal holds the span columns alone: its replay derives the rest in SQL.
    record = batch.select(SPAN_COLUMN_NAMES) if kind == SPANS else batch
    pending = journal_thread.submit(journal.append, kind, record)
    con.begin()
    try:
        insert_rows(con, table, batch)
        mark = pending.result()
    except OSError as exc:
        _rollback(con)
        raise journal_failed(exc) from exc
    except BaseException:
        _rollback(con)
        _undo(journal, pending)
        raise
    with committing():
        try:
            commit(con)
        except BaseException:
            journal.rollback(mark)
            raise


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, ignoring a database that is past it (invalidated): the caller re-raises."""
    try:
        con.rollback()
    except duckdb.Error:
        return


def _undo(journal: IngestJournal, pending: Future[int]) -> None:
    """Cut off a journal record whose insert failed (a failed append cut itself off)."""
    try:
        mark = pending.result()
    except OSError:
        return
    journal.rollback(mark)


def journal_failed(exc: OSError) -> Unavailable:
    """The 503 for a journal that could not be written."""
    if exc.errno == errno.ENOSPC:
        return Unavailable(
            f"the data directory's disk is full ({exc}); ingest resumes by itself once "
            "space is freed",
            retry_after_s=10,
        )
    return Unavailable(f"the ingest journal could not be written: {exc}")


def write_error(exc: BaseException) -> Unavailable:
    """The 503 for a failed DuckDB write (a full disk says so, with a longer Retry-After)."""
    if NO_SPACE in str(exc):
        return Unavailable(
            f"the data directory's disk is full ({first_line(exc)}); ingest resumes by "
            "itself once space is freed",
            retry_after_s=10,
        )
    return Unavailable(f"the event store could not write: {first_line(exc)}")


def invalidated(exc: BaseException) -> bool:
    """True for DuckDB's "database has been invalidated" (after a failed checkpoint)."""
    return "has been invalidated" in str(exc)


def first_line(exc: BaseException) -> str:
    """The first line of an error's text (DuckDB appends hints and stack traces)."""
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def reattach(con: duckdb.DuckDBPyConnection, path: Path | None) -> bool:
    """Detach and attach the event database again; False when it was usable already.

    Raises:
        Unavailable: the file cannot be attached again (yet).
    """
    try:
        con.execute(f"SELECT count(*) FROM {CATALOG}.annotations").fetchall()
        return False  # another thread re-attached it already
    except duckdb.Error:
        pass
    try:
        # From a fresh cursor: the write connection can neither leave (USE) nor detach an
        # invalidated default database; a new cursor starts outside it.
        helper = con.cursor()
        try:
            helper.execute(f"DETACH DATABASE IF EXISTS {CATALOG}")
            attach(helper, path)
        finally:
            helper.close()
        con.execute(f"USE {CATALOG}")
    except duckdb.Error as exc:
        raise Unavailable(f"the event store cannot be re-opened yet: {exc}") from exc
    return True


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, batch: Any) -> None:
    """Insert an Arrow batch; spans get the store's derived columns appended (`layout`), but
    those the batch brings (ADR 0059: deriving them here cost ~5 ms each per commit).

    The relation API, not INSERT … SELECT from a registered view: same rows, but under a
    busy Python thread a 300-span insert took 8 ms instead of 12 (DuckDB takes the GIL back
    between tasks). Columns go by position: the Arrow tables are built from the same column
    list as the migrations (a contract test).
    """
    rel = con.from_arrow(batch)
    if table == "spans":
        brought = brought_columns(batch.column_names)
        if brought is None:
            raise ValueError(f"span batch columns {batch.column_names} are not the span columns")
        select = derived_select(brought)
        if select is not None:
            rel = rel.project(select)
    rel.insert_into(table)

"""The traces' totals kept across a clean restart (ADR 0074).

The traces' totals (`trace_sums`) live in a file beside the events. At 10M spans building
them takes 3.9 s of the build behind an open, and until they are built a page of roots reads
its traces' totals from the spans (180-440 ms, ADR 0072). A clean close now keeps the file
when it provably holds every stored span, and the next open uses it instead of building it.

**The proof is a stamp in both files.** A clean close, once no commit can come (the store
is closed to writers) and the backlog is added to the totals, writes a new random stamp into
the totals' file, with the definition of the totals and the number of stored spans,
checkpoints that file, and then writes the same stamp into the events' database. An open
reads the events' stamp and deletes it, committed, before anything else writes the events.
So a stamp present at an open was written by a clean close after the last write, and any
write since an open (a crash later, whatever it did) leaves no stamp for the next one.

The totals are used when the events' stamp equals the totals' one (the file beside is the
one that close wrote, not a copy from elsewhere), the definition is this code's
(`trace_sums.SHAPE`), and the stored spans number what the stamp says and what the totals
sum to (a cheap check against a writer outside the store: `count(*)` reads row-group
counts). Otherwise, or after a damaged log's replay or a restore from the ingest journal,
the file is removed and built again, as before.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from pathlib import Path

import duckdb

from llmpulse.store.events import trace_sums
from llmpulse.store.events.duckdb_open import CATALOG, transaction

log = logging.getLogger(__name__)

STAMPS = f"{CATALOG}.main.trace_sums_kept"
"""The events' stamp: one row written by a clean close, deleted by the next open."""
_OWN = f"{trace_sums.CATALOG}.main.kept_stamp"
"""The totals' own stamp, with the definition they were built by, the stored spans' count
and the events' schema version."""


def take(con: duckdb.DuckDBPyConnection) -> str | None:
    """The events' stamp, deleted (committed) if there was one: call it at the open, before
    anything writes the events."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?",
        [CATALOG, STAMPS.rsplit(".", 1)[1]],
    ).fetchall()[0][0]
    if not exists:
        return None
    try:
        with transaction(con):
            rows = con.execute(f"SELECT stamp FROM {STAMPS}").fetchall()
            con.execute(f"DELETE FROM {STAMPS}")
    except duckdb.Error:  # (a full disk: the store must still open; no totals are kept,
        log.warning("the events' stamp could not be taken; the traces' totals are built")
        return None  # and a fresh file has no stamp that a later open could match)
    if rows:
        # Into the file at once: with the delete left in the log, a store of a 16 MB memory
        # limit then ran out of memory reading a page of 20 full rows of 8 kB. (The delete
        # is committed: a failed checkpoint changes nothing here.)
        with contextlib.suppress(duckdb.Error):
            con.execute(f"CHECKPOINT {CATALOG}")
    return str(rows[0][0]) if len(rows) == 1 else None


def reopen(con: duckdb.DuckDBPyConnection, events: Path | None, stamp: str | None) -> bool:
    """ATTACH the totals' database (`trace_sums.attach`): the kept file when ``stamp`` (the
    one `take` read, None when the open must not trust the file) proves it holds every stored
    span, and True then; else a fresh one to build, and False."""
    if events is not None and stamp is not None and trace_sums.file_of(events).exists():
        try:
            trace_sums.attach(con, events, fresh=False)
        except duckdb.Error:
            log.info("the kept traces' totals could not be attached; they are built again")
        else:
            if _holds(con, stamp):
                log.info("the traces' totals kept from the last close are used")
                return True
            log.info("the kept traces' totals do not prove to hold the spans; built again")
            con.execute(f"DETACH {trace_sums.CATALOG}")
    trace_sums.attach(con, events, fresh=True)
    return False


def _holds(con: duckdb.DuckDBPyConnection, stamp: str) -> bool:
    """Whether the attached totals are those the events' ``stamp`` names, of this code's
    definition and the events' schema version, and sum every stored span."""
    try:
        own = con.execute(f"SELECT stamp, shape, spans, schema FROM {_OWN}").fetchall()
        totals = con.execute(f"SELECT sum(spans) FROM {trace_sums.TABLE}").fetchall()[0][0]
    except duckdb.Error:
        return False
    spans = _spans(con)
    return own == [(stamp, trace_sums.SHAPE, spans, _schema(con))] and (totals or 0) == spans


def _schema(con: duckdb.DuckDBPyConnection) -> int:
    """The events' schema version: a migration run by the open (before `take`) may rewrite
    the spans."""
    return int(
        con.execute(f"SELECT max(version) FROM {CATALOG}.main.schema_version").fetchall()[0][0]
    )


def _spans(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute(f"SELECT count(*) FROM {CATALOG}.main.spans").fetchall()[0][0])


def keep(con: duckdb.DuckDBPyConnection) -> bool:
    """Stamp the totals' file and the events at a clean close (under the writer's lock, no
    commit to come, the totals holding every stored span); False when the totals live in
    memory (no room for their file at the open) and are not kept."""
    path = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = ?", [trace_sums.CATALOG]
    ).fetchall()
    if not path or not path[0][0]:
        return False
    stamp = uuid.uuid4().hex
    spans = _spans(con)
    with transaction(con):
        con.execute(
            f"CREATE OR REPLACE TABLE {_OWN} "
            "(stamp VARCHAR, shape VARCHAR, spans BIGINT, schema INTEGER)"
        )
        con.execute(
            f"INSERT INTO {_OWN} VALUES (?, ?, ?, ?)",
            [stamp, trace_sums.SHAPE, spans, _schema(con)],
        )
    con.execute(f"CHECKPOINT {trace_sums.CATALOG}")
    with transaction(con):  # (last: a close cut short before this leaves no stamp)
        con.execute(f"CREATE TABLE IF NOT EXISTS {STAMPS} (stamp VARCHAR NOT NULL)")
        con.execute(f"DELETE FROM {STAMPS}")
        con.execute(f"INSERT INTO {STAMPS} VALUES (?)", [stamp])
    return True

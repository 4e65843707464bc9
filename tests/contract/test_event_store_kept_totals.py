"""EventStore contract: the traces' totals kept across a clean restart (ADR 0074).

A clean close stamps the totals' file and the events; the next open uses the file instead
of building it, and every page and every trace's totals then equal what the planted spans
give (`_check`, the trace-sums suite's brute-force oracle). Whatever could make the file
disagree with the spans (a crash after the open, a file of another store, another
definition, a span written outside the store, a torn file, a change that failed) builds it
again, and the pages are right either way.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from store_factories import T0
from test_event_store_trace_sums import P, _check, _store, _traces

from llmpulse.domain.errors import Unavailable
from llmpulse.domain.spans import Span
from llmpulse.store.events import kept_totals, summaries, summary_upkeep, trace_sums
from llmpulse.store.events.duckdb import DuckDBEventStore


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the traces' totals' builds (one entry per build)."""
    done: list[int] = []
    real = trace_sums.build

    def counted(con: duckdb.DuckDBPyConnection) -> None:
        done.append(1)
        real(con)

    monkeypatch.setattr(trace_sums, "build", counted)
    return done


def _spans(seed: int, n: int, first: int = 1) -> list[Span]:
    return [s for t in _traces(seed=seed, n=n, first=first) for s in t]


def _open(path: Path) -> DuckDBEventStore:
    return DuckDBEventStore(path / "events.duckdb", search_index=False)


def _reopened_right(path: Path, stored: list[Span], *, kept: bool) -> None:
    """Open the store at ``path``: its totals kept (or built, not ``kept``), and every page
    and trace's totals right once the build is done; then close it."""
    store = _open(path)
    assert store.totals_kept is kept
    store.catch_up()
    _check(store, stored, ranked=True)
    store.close()


def _closed_store(path: Path, spans: list[Span]) -> None:
    """A store of ``spans``, closed cleanly (its totals kept), with a last batch still in the
    summaries' backlog at the close."""
    with pytest.MonkeyPatch.context() as m:  # (the upkeep leaves the last batch waiting)
        m.setattr(summary_upkeep, "PAUSE_S", 1e9)
        m.setattr(summary_upkeep, "MAX_LAG_S", 1e9)
        store = _store(path, spans[:-30], caught_up=True)
        store.append_spans(spans[-30:])
        assert not store.summary_upkeep.caught_up
        store.close()


def test_a_clean_close_keeps_the_totals_and_the_next_open_does_not_build_them(
    tmp_path: Path, builds: list[int]
) -> None:
    stored = _spans(seed=21, n=60)
    _closed_store(tmp_path, stored)
    assert builds == [1]
    assert trace_sums.file_of(tmp_path / "events.duckdb").exists()

    store = _open(tmp_path)
    assert store.totals_kept
    store.catch_up()
    assert builds == [1]  # not built again
    _check(store, stored, ranked=True)
    more = _spans(seed=22, n=20, first=500)
    store.append_spans(more)
    _check(store, stored + more, ranked=True)  # (the backlog's spans added to the totals)
    cut = T0 + timedelta(minutes=45)
    store.delete_spans(P, before=cut)  # (the project's totals summed again)
    stored = [s for s in stored + more if s.project != P or s.start_time >= cut]
    assert store.compact() is not None  # (the new connection attaches the totals' file)
    store.close()

    store = _open(tmp_path)  # kept again, with what the last session changed
    assert store.totals_kept
    store.catch_up()
    assert builds == [1]
    _check(store, stored, ranked=True)
    store.close()


def test_a_close_that_interrupts_the_first_build_keeps_nothing(
    tmp_path: Path, builds: list[int]
) -> None:
    stored = _spans(seed=35, n=60)
    reached, release = threading.Event(), threading.Event()

    def interrupted(con: duckdb.DuckDBPyConnection) -> None:
        builds.append(1)
        reached.set()
        assert release.wait(20)
        raise duckdb.InterruptException("INTERRUPT Error: interrupted")  # (as `stop` does)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(trace_sums, "build", interrupted)
        store = _store(tmp_path, stored)
        assert reached.wait(20)
        _close_during_hold(store, release)
    assert not trace_sums.file_of(tmp_path / "events.duckdb").exists()  # (not kept)
    _reopened_right(tmp_path, stored, kept=False)
    assert builds == [1, 1]


def _hold(m: pytest.MonkeyPatch, owner: Any, name: str) -> tuple[threading.Event, threading.Event]:
    """``owner.name`` waits until the second event returned is set (120 s at most: a check of
    every page may take a while); the first is set once it is reached."""
    reached, release = threading.Event(), threading.Event()
    real = getattr(owner, name)

    def held(*args: Any, **kwargs: Any) -> Any:
        reached.set()
        assert release.wait(120)
        return real(*args, **kwargs)

    m.setattr(owner, name, held)
    return reached, release


HOLDS = [
    pytest.param(summary_upkeep.SummaryUpkeep, "_build", id="before-the-build-pins-its-snapshot"),
    pytest.param(summaries, "build", id="after-the-snapshot-during-the-build"),
]


def _reopened_held(
    m: pytest.MonkeyPatch, path: Path, owner: Any, name: str, seed: int
) -> tuple[DuckDBEventStore, list[Span], list[Span], threading.Event]:
    """A store closed cleanly, then opened with its build held at ``owner.name``, and spans
    committed during the hold: the store, the spans before and during, the hold's release."""
    stored = _spans(seed=seed, n=60)
    _closed_store(path, stored)
    early = _spans(seed=seed + 1, n=20, first=500)
    reached, release = _hold(m, owner, name)
    store = _open(path)
    assert store.totals_kept
    assert reached.wait(20)
    store.append_spans(early)
    return store, stored, early, release


def _close_during_hold(store: DuckDBEventStore, release: threading.Event) -> None:
    """Close ``store`` while its build is held, then let the build go on (interrupted)."""
    closing = threading.Thread(target=store.close)
    closing.start()
    assert store.summary_upkeep._stop.wait(20)  # (close stops the build ...)
    release.set()  # (... which then goes on, interrupted)
    closing.join(10)
    assert not closing.is_alive()


@pytest.mark.parametrize(("owner", "name"), HOLDS)
def test_spans_committed_while_the_kept_totals_open_are_added_to_them(
    tmp_path: Path, builds: list[int], owner: Any, name: str
) -> None:
    with pytest.MonkeyPatch.context() as m:
        store, stored, early, release = _reopened_held(m, tmp_path, owner, name, seed=23)
        assert not store.sketch_guard.usable  # the other summaries are not built yet ...
        _check(store, stored + early, ranked=True)  # ... the kept totals answer already
        assert _state(store) == {
            "summaries_ready": 0,
            "trace_totals_ready": 1,
            "trace_totals_kept": 1,
            "summaries_backlog_spans": len(early),
        }  # (as `/metrics` shows them)
        release.set()
        store.catch_up()
    assert builds == [1]
    _check(store, stored + early, ranked=True)
    assert _state(store) == {
        "summaries_ready": 1,
        "trace_totals_ready": 1,
        "trace_totals_kept": 1,
        "summaries_backlog_spans": 0,
    }
    store.close()


def _state(store: DuckDBEventStore) -> dict[str, int]:
    keys = ("summaries_ready", "trace_totals_ready", "trace_totals_kept", "summaries_backlog_spans")
    extra = store.stats().extra
    return {k: extra[k] for k in keys}


@pytest.mark.parametrize(("owner", "name"), HOLDS)
def test_a_close_during_the_build_still_keeps_the_totals_and_what_came_since(
    tmp_path: Path, builds: list[int], owner: Any, name: str
) -> None:
    with pytest.MonkeyPatch.context() as m:
        store, stored, early, release = _reopened_held(m, tmp_path, owner, name, seed=25)
        _close_during_hold(store, release)
    _reopened_right(tmp_path, stored + early, kept=True)
    assert builds == [1]


def test_a_close_while_a_delete_is_in_flight_keeps_nothing(
    tmp_path: Path, builds: list[int]
) -> None:
    """A delete's chunks run outside the writer's lock: the close does not stamp totals that
    a chunk still in flight might change after it."""
    stored = _spans(seed=37, n=60)
    store = _store(tmp_path, stored, caught_up=True)
    with pytest.MonkeyPatch.context() as m:
        reached, release = _hold(m, store, "_delete_sql")
        deleting = threading.Thread(target=lambda: _deleted_or_closed(store))
        deleting.start()
        assert reached.wait(20)
        closing = threading.Thread(target=store.close)
        closing.start()
        closing.join(10)
        assert not closing.is_alive()
        release.set()
        deleting.join(10)
        assert not deleting.is_alive()
    assert not trace_sums.file_of(tmp_path / "events.duckdb").exists()  # (not kept)
    store = _open(tmp_path)
    assert not store.totals_kept
    store.catch_up()
    _check(store, stored, ranked=True)  # (the delete never ran: the store closed first)
    store.close()


def _deleted_or_closed(store: DuckDBEventStore) -> None:
    with contextlib.suppress(Unavailable):
        store.delete_spans(P)


def _plant_stale_totals(file: Path, like: Span) -> None:
    """A totals' file that ranks a trace no span holds first."""
    stale = duckdb.connect(str(file))
    stale.execute(f"CREATE OR REPLACE TABLE trace_sums ({trace_sums._COLUMNS})")
    stale.execute(
        "INSERT INTO trace_sums VALUES (?, ('0x' || ?)::UHUGEINT, 1, ('0x' || ?)::UBIGINT, "
        "epoch_us(?::TIMESTAMP), 1e30, 1e9, epoch_us(?::TIMESTAMP), epoch_us(?::TIMESTAMP) "
        "+ 1e12, 0, 1, 0, NULL, ('0x' || ?)::UBIGINT, 1e30, 'OK')",
        [like.project, "f" * 32, "f" * 16, *[like.start_time.replace(tzinfo=None)] * 3, "f" * 16],
    )
    stale.close()


@pytest.mark.parametrize("left", ["as the crash left it", "stale totals", "a torn file"])
def test_after_a_crash_the_totals_are_built_again(
    tmp_path: Path, builds: list[int], left: str
) -> None:
    live, crashed = tmp_path / "live", tmp_path / "crashed"
    live.mkdir()
    stored = _spans(seed=27, n=60)
    _closed_store(live, stored)
    store = _open(live)  # (takes the stamp)
    more = _spans(seed=28, n=20, first=500)
    store.append_spans(more)
    store.catch_up()
    shutil.copytree(live, crashed)  # the files as a crash right now would leave them
    store.close()
    sums = trace_sums.file_of(crashed / "events.duckdb")
    if left == "a torn file":
        sums.write_bytes(random.Random(3).randbytes(70_000))
    elif left == "stale totals":
        _plant_stale_totals(sums, stored[0])
    _reopened_right(crashed, stored + more, kept=False)
    assert builds == [1, 1]


def _other_stores_file(tmp_path: Path, events: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    # As many spans (the counts agree), other costs, and a stamp of its own.
    _closed_store(other, [replace(s, cost_usd=(s.cost_usd or 0) + 0.5) for s in _STORED])
    shutil.copy(trace_sums.file_of(other / "events.duckdb"), trace_sums.file_of(events))


def _other_definition(tmp_path: Path, events: Path) -> None:
    con = duckdb.connect(str(trace_sums.file_of(events)))
    con.execute("UPDATE kept_stamp SET shape = 'code-of-another-day'")
    con.close()


def _another_schema(tmp_path: Path, events: Path) -> None:
    """As if closed at the schema before: the open's migration may have rewritten spans."""
    con = duckdb.connect(str(trace_sums.file_of(events)))
    con.execute("UPDATE kept_stamp SET schema = schema - 1")
    con.close()


def _span_deleted_outside(tmp_path: Path, events: Path) -> None:
    con = duckdb.connect(str(events))
    con.execute("DELETE FROM spans WHERE span_id = ?", [str(_STORED[7].span_id)])
    con.close()


def _torn(tmp_path: Path, events: Path) -> None:
    trace_sums.file_of(events).write_bytes(random.Random(5).randbytes(70_000))


def _spoiled(tmp_path: Path, events: Path) -> None:
    pass  # (the store's guard is spoiled before its close, below)


_STORED = _spans(seed=29, n=60)


@pytest.mark.parametrize(
    "change",
    [
        _other_stores_file,
        _other_definition,
        _another_schema,
        _span_deleted_outside,
        _torn,
        _spoiled,
    ],
    ids=lambda f: f.__name__.strip("_").replace("_", "-"),
)
def test_totals_that_do_not_prove_to_hold_the_spans_are_built_again(
    tmp_path: Path, builds: list[int], change: Any
) -> None:
    events = tmp_path / "events.duckdb"
    store = _store(tmp_path, _STORED, caught_up=True)
    if change is _spoiled:  # a change failed: the summaries are out of use for good
        assert not any("out of use" in w for w in store.warnings())
        store.sketch_guard.spoil()
        assert any("out of use" in w for w in store.warnings())
        assert _state(store)["summaries_ready"] == _state(store)["trace_totals_ready"] == 0
    store.close()
    assert trace_sums.file_of(events).exists() is (change is not _spoiled)
    change(tmp_path, events)
    stored = [s for s in _STORED if change is not _span_deleted_outside or s != _STORED[7]]
    store = _open(tmp_path)
    assert not store.totals_kept
    store.catch_up()
    _check(store, stored, ranked=True)
    assert builds.count(1) == (3 if change is _other_stores_file else 2)
    store.close()


def test_an_open_that_cannot_take_the_stamp_builds_the_totals_and_opens(
    tmp_path: Path, builds: list[int]
) -> None:
    """A full disk at the open: deleting the events' stamp fails. The store still opens and
    builds the totals (its fresh file has no stamp a later open could match); the next clean
    close stamps again."""
    stored = _spans(seed=39, n=40)
    _closed_store(tmp_path, stored)

    @contextlib.contextmanager
    def full_disk(con: Any, committing: Any = None) -> Iterator[None]:
        raise duckdb.IOException("IO Error: No space left on device")
        yield  # (a generator: the context manager's shape)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(kept_totals, "transaction", full_disk)
        store = _open(tmp_path)
    assert not store.totals_kept
    store.catch_up()
    _check(store, stored, ranked=True)
    store.close()  # (stamps again: the disk has room by then)
    assert builds == [1, 1]
    _reopened_right(tmp_path, stored, kept=True)


def test_the_stamp_is_taken_by_the_open(tmp_path: Path) -> None:
    """The events' stamp lives from a clean close to the next open only."""
    events = tmp_path / "events.duckdb"
    _closed_store(tmp_path, _spans(seed=33, n=10))
    con = duckdb.connect(str(events))
    assert len(con.execute(f"SELECT * FROM {kept_totals.STAMPS.rsplit('.', 1)[1]}").fetchall()) == 1
    con.close()
    store = _open(tmp_path)
    assert store.totals_kept
    assert (
        store._read(lambda cur: cur.execute(f"SELECT * FROM {kept_totals.STAMPS}").fetchall()) == []
    )
    store.close()

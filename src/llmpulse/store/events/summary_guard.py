"""The summaries' guard: readers see the summaries and their backlog of one moment (ADR 0039).

The in-memory summaries (`summaries`) and the traces' totals (`trace_sums`) lag the
committed spans by a backlog of batches (`summary_upkeep`). `SketchGuard` is the sequence
lock between the changes of the spans and of the summaries and the readers that add the
backlog to the summaries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

_T = TypeVar("_T")
_P = TypeVar("_P")
_M = TypeVar("_M")


class SketchGuard:
    """Whether the summaries hold exactly what readers may add to them: a sequence lock.

    Every change of the spans or of the summaries (a commit and its queueing for the
    summaries, applying queued batches, a delete and its recount) runs inside `changing`,
    which counts it as in flight until it is over. `read` runs a summary query only while no
    change is in flight and keeps its answer only if no change began meanwhile (it waits for
    a change to end and asks again a few times before giving up). A change that raises
    spoils the summaries for good: the spans may have changed (DuckDB can fail a commit after
    writing it, e.g. at a checkpoint on a full disk) while the summaries did not, so counts
    come from the spans until the store is opened again and the summaries rebuilt. Until
    `ready` (the summaries are built behind the open, ADR 0039) nothing reads them either,
    but the traces' totals kept from the last close (`open_totals`, ADR 0074).

    A commit is a change of the spans alone (``changing(summaries=False)``): it adds spans
    and queues them for the summaries. A reader whose answer comes from one summary and the
    backlog taken once at its start (the traces' totals) is exact at that moment whatever
    is committed after it, so it reads with ``commits=False``: it still starts only when no
    commit is in flight (a commit half done has its spans stored but not queued), but only
    the changes of the totals (the COMMIT of the backlog applied to them with its removal
    from the backlog, a delete, a recount) meanwhile make it ask again. At 10M spans a trace
    page reads for ~25 ms, and commits of a stream come several times a second. Applying a
    backlog adds it to the in-memory summaries first (``changing(totals=False)``, tens of
    milliseconds after a bulk load), then to the totals, whose statements other cursors do
    not see before their COMMIT: only that COMMIT and the backlog's removal make a
    ``commits=False`` reader wait (ADR 0055).

    Applying a backlog (a round) moves spans from the backlog into the summaries: what the
    two hold together stays the same. Readers of memory alone (ADR 0068) therefore read, while
    a round is in flight and until the copies of the summaries are taken again after it,
    what they would have read when it began (`keep`, `read_memory`, ADR 0071), as long as no
    commit was queued and nothing else changed since.
    """

    ATTEMPTS = 2
    WAIT_S = 0.01
    """How long `read` waits for a change in flight to end, per attempt (a commit of a few
    hundred spans takes about that long; then the spans answer)."""
    PINNED_ATTEMPTS = 3
    """`read_pinned`'s attempts: a pinned one fails only when every moment was busy."""
    APPLY_WAIT_S = 0.05
    """The same for a ``commits=False`` read: applying a backlog to the traces' totals takes
    20-40 ms at 1-10M spans, and their reader's fallback to the spans costs 0.2-2 s there."""

    def __init__(self, ready: bool = True) -> None:
        """A guard over summaries that hold every committed span (``ready``) or not yet."""
        self._cond = threading.Condition()
        self._busy = 0
        self._totals_busy = 0  # commits and changes of the totals in flight
        self._seq = 0
        self._own_seq = 0  # the summaries' own changes (not commits) begun or ended
        self._sketch_seq = 0  # changes of the summaries (not commits) begun or ended
        self._memory_busy = 0  # changes of the summaries and commits' queueing in flight
        self._memory_seq = 0  # ... begun or ended
        self._content_busy = 0  # changes of what the summaries and backlog hold together in
        self._content_seq = 0  # flight (commits' queueing, deletes; not rounds), begun or ended
        self._kept: tuple[Any, int] | None = None  # (a moment `keep` kept, its content seq)
        self._ready = ready
        self._totals_ready = ready  # (built after the others, ADR 0072)
        self._spoiled = False

    def _step(
        self,
        busy: int,
        spoil: bool = False,
        own: bool = True,
        totals: bool = True,
        summaries: bool = True,
        content: bool = True,
    ) -> None:
        with self._cond:
            self._busy += busy
            if summaries and content:
                self._content_busy += busy
            if (summaries and content) or spoil:
                self._content_seq += 1
            if totals:
                self._totals_busy += busy
            self._seq += 1
            if summaries:
                self._memory_busy += busy
            if summaries or spoil:
                self._sketch_seq += 1
                self._memory_seq += 1
            if own or spoil:  # a failed change clears the backlog after it: no reader keeps
                self._own_seq += 1  # an answer it began before (ADR 0055)
            self._spoiled |= spoil
            if not self._busy or not self._totals_busy or not self._memory_busy:
                self._cond.notify_all()

    @property
    def usable(self) -> bool:
        """Built and never spoiled (a change in flight aside)."""
        return self._ready and not self._spoiled

    @property
    def totals_usable(self) -> bool:
        """The traces' totals answer: built (or kept from the last close and opened before
        the other summaries, `open_totals`) and never spoiled."""
        return self._totals_ready and not self._spoiled  # (ready before the others: kept)

    def open_totals(self) -> None:
        """The traces' totals hold, with the backlog, every committed span before the other
        summaries are built (kept from the last close, ADR 0074): their readers may read."""
        with self._cond:
            self._totals_ready = True

    @property
    def changes_in_flight(self) -> bool:
        """Whether a change of the spans or of the summaries (a commit, a round, a delete and
        its recount) has begun and not ended."""
        return self._busy > 0

    @property
    def spoiled(self) -> bool:
        """A change failed (or the build did): the summaries are out of use for good."""
        return self._spoiled

    def spoil(self) -> None:
        """Put the summaries out of use for good."""
        self._step(0, spoil=True)

    def set_ready(self, totals: bool = True) -> None:
        """The summaries were built and hold, with the backlog, every committed span
        (``totals``: the traces' totals too; False: those are still being built, and
        ``read(commits=False)``, their readers' read, declines until this is called again,
        ADR 0072)."""
        with self._cond:
            self._seq += 1
            self._own_seq += 1
            self._sketch_seq += 1
            self._memory_seq += 1
            self._content_seq += 1
            self._kept = None
            self._ready = True
            self._totals_ready = totals

    @contextmanager
    def changing(
        self, summaries: bool = True, totals: bool = True, content: bool = True
    ) -> Iterator[None]:
        """Bracket a change of the spans or of the summaries (``summaries``: False for a
        commit, which only adds spans and queues them; ``totals``: False for a change of
        the in-memory summaries that leaves the traces' totals and the backlog as they are,
        which ``commits=False`` readers do not wait for; ``content``: False for a round's
        changes, which move spans from the backlog into the summaries, see `keep`)."""
        own = summaries and totals
        waits = totals or not summaries
        flags = {"own": own, "totals": waits, "summaries": summaries, "content": content}
        self._step(+1, **flags)
        try:
            yield
        except BaseException:
            self._step(-1, spoil=True, **flags)
            raise
        self._step(-1, **flags)

    @contextmanager
    def queueing(self) -> Iterator[None]:
        """Bracket a commit's queueing (inside its `changing`, after its COMMIT): the moment
        the backlog and the rows held in memory take its spans, which readers of memory
        alone wait for (``read(memory=True)``)."""
        with self._cond:
            self._memory_busy += 1
            self._memory_seq += 1
            self._content_busy += 1
            self._content_seq += 1
        try:
            yield
        finally:
            with self._cond:
                self._memory_busy -= 1
                self._memory_seq += 1
                self._content_busy -= 1
                self._content_seq += 1
                if not self._memory_busy:
                    self._cond.notify_all()

    @property
    def version(self) -> int:
        """Moves when a change begins and when it ends: summaries and spans read while it
        stays the same, and no change is in flight, are those of one moment."""
        return self._seq

    @property
    def sketch_version(self) -> int:
        """`version` without the commits: moves when a change of the summaries begins and
        when it ends. A commit only adds spans to the backlog, so summaries read at one
        sketch version plus the backlog of a quiet moment at that version are every
        committed span (`sketch_copy`, ADR 0064)."""
        return self._sketch_seq

    def read(
        self,
        query: Callable[[], _T],
        *,
        commits: bool = True,
        wait: bool = True,
        memory: bool = False,
    ) -> _T | None:
        """``query()`` when it read summaries that held what it expects, else None;
        ``commits=False``: a commit meanwhile does not matter to it (see the class);
        ``wait=False``: one attempt, and none when a change is in flight; ``memory``: it
        reads only what commits change in their queueing (the backlog, the rows held in
        memory, besides the summaries' own state, ADR 0068), so only the summaries' changes
        and commits' queueing matter to it, not a commit's write to the spans."""
        if not commits and not self.totals_usable:
            return None  # (the traces' totals are still being built)
        wait_s = (self.WAIT_S if commits else self.APPLY_WAIT_S) if wait else 0.0

        def seq() -> int:
            if memory:
                return self._memory_seq
            return self._seq if commits else self._own_seq

        for _ in range(self.ATTEMPTS if wait else 1):
            with self._cond:
                if not self._quiet(wait_s, totals=not commits, memory=memory):
                    if not (self.usable if commits else self.totals_usable):
                        return None
                    continue
                before = seq()
            answer = query()
            if seq() == before:
                return answer
        return None

    def keep(self, moment: object | None) -> None:
        """Keep ``moment``: what readers of memory alone read (the backlog, the edge spans,
        the span sketch's version), taken by a round before its first change, under the
        writer's lock (no commit is queued meanwhile). `read_memory` answers from it while
        that round's changes are in flight and after them, until a commit is queued or
        anything else changes what the summaries and the backlog hold together (a delete, a
        spoil). None: keep none (a moment is kept only when no such change is in flight)."""
        with self._cond:
            usable = moment is not None and self.usable and not self._content_busy
            self._kept = (moment, self._content_seq) if usable else None

    @property
    def kept(self) -> object | None:
        """The moment `keep` kept last (None: none), whether it still holds or not."""
        kept = self._kept
        return None if kept is None else kept[0]

    def forget(self, moment: object | None) -> None:
        """Keep no moment if the one kept is ``moment`` (a moment kept since stays)."""
        with self._cond:
            if moment is not None and self._kept is not None and self._kept[0] is moment:
                self._kept = None

    def _kept_now(self) -> tuple[Any, int] | None:
        """(Under ``_cond``.) The kept moment and its content seq when it still holds what
        the summaries and the backlog hold together now, else None."""
        if self._kept is None or self._content_busy or not self.usable:
            return None
        return self._kept if self._kept[1] == self._content_seq else None

    def read_memory(self, query: Callable[[_M | None], _T], *, live: bool = True) -> _T | None:
        """A reader of memory alone (``read(memory=True, wait=False)``, ADR 0068) that need
        not wait for a round: ``query(None)`` reads the summaries and the backlog as they are,
        at a quiet moment (no change of the summaries nor commit's queueing in flight);
        while a round's change is in flight or moved the state meanwhile (or ``live`` is
        False: the caller's copies of the summaries are not taken again yet after a round),
        ``query(kept)`` reads the moment a round kept (`keep`, ADR 0071), when it still
        holds. None when neither can answer; no wait (the event loop asks it)."""
        with self._cond:
            if not self.usable:
                return None
            quiet = live and not self._memory_busy
            before = self._memory_seq
            kept = None if quiet else self._kept_now()
        if quiet:
            answer = query(None)
            if self._memory_seq == before:
                return answer
            with self._cond:
                kept = self._kept_now()
        if kept is None:
            return None
        answer = query(kept[0])
        with self._cond:  # (a commit's rows held meanwhile must not meet the kept backlog)
            return answer if self._content_seq == kept[1] else None

    def read_pinned(
        self, pin: Callable[[int, bool], _P], query: Callable[[_P], _T]
    ) -> tuple[bool, _T | None]:
        """``(True, query(pin(sketch_version, snapshot)))`` read at a moment when no change was in
        flight; ``(False, None)`` when no such moment came (the summaries are out of use, or
        changes kept them busy).

        The first attempt reads as `read` does (``snapshot`` False: ``pin`` takes the
        backlog at that moment) and is kept only if no change began meanwhile. The others
        pin the moment (``snapshot`` True, ADR 0050: a DuckDB transaction whose snapshot
        ``pin`` takes with the backlog, while no change can begin), so nothing after it, a
        commit, an apply, a delete, changes the answer: it is kept. Pinning costs ~1 ms, so
        only a read that a change overlapped pays it. ``sketch_version`` is `sketch_version`
        at that moment."""
        for attempt in range(self.PINNED_ATTEMPTS):
            snapshot = attempt > 0
            with self._cond:
                if not self._quiet(self.WAIT_S):
                    if not self.usable:
                        return False, None
                    continue
                before = self._seq
                pinned = pin(self._sketch_seq, snapshot)
            answer = query(pinned)
            if snapshot or self._seq == before:
                return True, answer
        return False, None

    def _quiet(self, wait_s: float, totals: bool = False, memory: bool = False) -> bool:
        """(Under ``_cond``.) Whether the summaries are usable and no change is in flight
        (``totals``: none that a ``commits=False`` reader waits for; ``memory``: none that a
        ``memory=True`` reader does), after waiting up to ``wait_s`` for one to end."""

        def idle() -> bool:
            if memory:
                return not self._memory_busy
            return not (self._totals_busy if totals else self._busy)

        usable = self.totals_usable if totals else self.usable
        if usable:
            self._cond.wait_for(idle, timeout=wait_s)
        return (self.totals_usable if totals else self.usable) and idle()

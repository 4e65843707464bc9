"""The monitor scheduler: each monitor on its interval, states kept in the state store.

`MonitorScheduler.tick(now)` evaluates every monitor due at ``now`` (one engine pass per
instant), steps each alert series' state machine, stores states, transitions and cursors in
one transaction, and hands the transitions to the sink (the alert dispatcher). After a
restart, the instants missed since each monitor's cursor are caught up, at most
``max_catch_up`` per monitor (older ones are skipped and counted). One failing monitor (bad
spec, failing query or detector) becomes that monitor's `error` evaluations; the others run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from llmpulse.clock import Clock
from llmpulse.domain.errors import LlmpulseError
from llmpulse.monitors.engine import Engine, SeriesEvaluation
from llmpulse.monitors.history import floor_to
from llmpulse.monitors.judge import Segment, prepare
from llmpulse.monitors.labels import alert_labels, series_key
from llmpulse.monitors.policy import StatePolicy
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.monitors.state_codec import dump_state, evidence_json, load_state
from llmpulse.monitors.states import AlertState, AlertStatus, Transition, step
from llmpulse.store.alerts_api import AlertStore, CursorRow, CycleWrite, SeriesRow, TransitionRow

log = logging.getLogger(__name__)


class MonitorSource(Protocol):
    """A `MonitorSource` tells the scheduler which monitors exist (state store, YAML, memory)."""

    async def list_monitors(self, project: str | None = None) -> list[MonitorSpec]:
        """Every monitor (of one project when given), disabled ones too (they are skipped)."""
        ...


@dataclass(frozen=True, slots=True)
class SeriesChange:
    """A transition of one alert series, with what the alert pipeline needs."""

    spec: MonitorSpec
    segment: Segment
    labels: dict[str, str]
    transition: Transition
    state: AlertState


Sink = Callable[[list[SeriesChange], datetime], Awaitable[None]]
Examples = Callable[[MonitorSpec, Segment, datetime, datetime], Awaitable[tuple[str, ...]]]
"""Finds a few span ids of one series' window (monitor, segment, window start, window end)."""


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one `tick` did."""

    at: datetime
    instants: int
    evaluations: int
    transitions: int
    queries: int
    errors: int
    skipped: int
    duration_s: float


@dataclass
class SchedulerStatus:
    """The scheduler's own health (for `/healthz` and Prometheus)."""

    cycles: int = 0
    failures: int = 0
    evaluations: int = 0
    transitions: int = 0
    queries: int = 0
    skipped: int = 0
    last_tick_at: datetime | None = None
    last_duration_s: float = 0.0
    lag_s: float = 0.0
    last_error: str = ""
    durations: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly view."""
        return {
            "cycles": self.cycles,
            "failures": self.failures,
            "evaluations": self.evaluations,
            "transitions": self.transitions,
            "queries": self.queries,
            "skipped_instants": self.skipped,
            "last_tick_at": None if self.last_tick_at is None else self.last_tick_at.isoformat(),
            "last_duration_s": round(self.last_duration_s, 4),
            "lag_s": round(self.lag_s, 3),
            "last_error": self.last_error,
        }


class MonitorScheduler:
    """Evaluates due monitors on each `tick`; `start` runs ticks in a loop on the clock."""

    def __init__(
        self,
        source: MonitorSource,
        engine: Engine,
        store: AlertStore,
        clock: Clock,
        sink: Sink | None = None,
        *,
        max_catch_up: int = 60,
        poll: timedelta = timedelta(seconds=5),
        examples: Examples | None = None,
    ) -> None:
        """Create a scheduler (``max_catch_up``: instants per monitor caught up at most;
        ``examples``: finds a few spans of a window for transitions into pending or firing)."""
        self._examples = examples
        self._source = source
        self._engine = engine
        self._store = store
        self._clock = clock
        self._sink = sink
        self._max_catch_up = max(1, max_catch_up)
        self._poll = poll
        self._states: dict[tuple[str, str], AlertState] | None = None
        self._cursors: dict[tuple[str, str], datetime] = {}
        self._task: asyncio.Task[None] | None = None
        self.status = SchedulerStatus()

    async def _load(self) -> dict[tuple[str, str], AlertState]:
        if self._states is None:
            rows = await asyncio.to_thread(self._store.series)
            self._states = {(r.project, r.series_key): load_state(r.state) for r in rows}
            cursors = await asyncio.to_thread(self._store.cursors)
            self._cursors = {(c.project, c.monitor): c.last_eval_at for c in cursors}
        return self._states

    def current_states(self, project: str) -> dict[str, AlertStatus]:
        """Per monitor of ``project``: its worst series status (firing > pending > ... > ok)."""
        order = list(_SEVERITY)
        if self._states is None:  # before the first tick (just restarted): the stored states
            pairs = [(r.monitor, AlertStatus(r.status)) for r in self._store.series(project)]
        else:
            pairs = [
                (key.split("|", 1)[0], state.status)
                for (p, key), state in self._states.items()
                if p == project
            ]
        out: dict[str, AlertStatus] = {}
        for name, status in pairs:
            prev = out.get(name, AlertStatus.OK)
            out[name] = status if order.index(status) < order.index(prev) else prev
        return out

    async def _monitors(self) -> list[MonitorSpec]:
        return [s for s in await self._source.list_monitors() if s.enabled]

    def _due(
        self, specs: Sequence[MonitorSpec], now: datetime
    ) -> tuple[dict[datetime, list[MonitorSpec]], int]:
        due: dict[datetime, list[MonitorSpec]] = {}
        skipped = 0
        for spec in specs:
            latest = floor_to(now, spec.every)
            cursor = self._cursors.get((spec.project, spec.name))
            if cursor is None:
                instants = [latest]
            else:
                first = floor_to(cursor, spec.every) + spec.every
                count = (latest - first) // spec.every + 1 if latest >= first else 0
                if count > self._max_catch_up:
                    skipped += count - self._max_catch_up
                    first = latest - (self._max_catch_up - 1) * spec.every
                    count = self._max_catch_up
                instants = [first + i * spec.every for i in range(count)]
            for t in instants:
                due.setdefault(t, []).append(spec)
        return due, skipped

    async def tick(self, now: datetime, specs: Sequence[MonitorSpec] | None = None) -> TickReport:
        """Evaluate every monitor due at ``now`` (and missed instants since its cursor);
        ``specs``: the enabled monitors when the caller has just read them (else read here)."""
        started = time.perf_counter()
        states = await self._load()
        if specs is None:
            specs = await self._monitors()
        due, skipped = self._due(specs, now)
        n_evals = n_trans = n_queries = n_errors = 0
        for at in sorted(due):
            batch = due[at]
            active = self._active(batch)
            t0 = time.perf_counter()
            report = await self._engine.evaluate(batch, at, active)
            elapsed_ms = (time.perf_counter() - t0) * 1000
            write, changes = self._apply(batch, report.evaluations, states, at, elapsed_ms)
            await self._add_examples(batch, write)
            await asyncio.to_thread(self._store.write_cycle, write)
            for c in write.cursors:
                self._cursors[(c.project, c.monitor)] = c.last_eval_at
            n_evals += len(report.evaluations)
            n_trans += len(changes)
            n_queries += report.queries
            n_errors += sum(e.evaluation.outcome.value == "error" for e in report.evaluations)
            if changes and self._sink is not None:
                await self._sink(changes, at)
        duration = time.perf_counter() - started
        self._record(now, duration, n_evals, n_trans, n_queries, skipped)
        return TickReport(now, len(due), n_evals, n_trans, n_queries, n_errors, skipped, duration)

    async def _add_examples(self, specs: Sequence[MonitorSpec], write: CycleWrite) -> None:
        """Put a few example span ids into the evidence of transitions into pending/firing."""
        if self._examples is None:
            return
        by_name = {s.name: s for s in specs}
        for i, tr in enumerate(write.transitions):
            if tr.to_status not in ("pending", "firing"):
                continue
            e = tr.evidence
            segment = tuple(sorted(e.get("segment", {}).items()))
            window = (datetime.fromisoformat(e["window_start"]), tr.at)
            try:
                ids = await self._examples(by_name[tr.monitor], segment, *window)
            except Exception:  # examples are a courtesy: never fail the cycle for them
                log.exception("example spans for %s failed", tr.monitor)
                continue
            write.transitions[i] = replace(tr, evidence={**e, "example_span_ids": list(ids)})

    def _record(
        self, now: datetime, duration: float, evals: int, trans: int, queries: int, skipped: int
    ) -> None:
        s = self.status
        s.cycles += 1
        s.evaluations += evals
        s.transitions += trans
        s.queries += queries
        s.skipped += skipped
        s.last_tick_at = now
        s.last_duration_s = duration
        s.lag_s = max(0.0, (self._clock.now() - now).total_seconds()) + duration
        s.durations = [*s.durations[-99:], duration]

    def _active(self, specs: Sequence[MonitorSpec]) -> dict[str, set[Segment]]:
        states = self._states or {}
        out: dict[str, set[Segment]] = {}
        names = {(s.project, s.name) for s in specs}
        for (project, key), state in states.items():
            name = key.split("|", 1)[0]
            if (project, name) in names and state.status is not AlertStatus.OK:
                out.setdefault(name, set()).add(_segment_of_key(key))
        return out

    def _apply(
        self,
        specs: Sequence[MonitorSpec],
        evaluations: Sequence[SeriesEvaluation],
        states: dict[tuple[str, str], AlertState],
        at: datetime,
        elapsed_ms: float,
    ) -> tuple[CycleWrite, list[SeriesChange]]:
        by_name = {s.name: s for s in specs}
        policies = {s.name: _policy(s) for s in specs}
        write = CycleWrite()
        changes: list[SeriesChange] = []
        errors: dict[str, str] = {}
        for se in evaluations:
            spec = by_name[se.monitor]
            key = series_key(spec.name, se.segment)
            prev = states.get((spec.project, key), AlertState())
            new, transitions = step(prev, se.evaluation, policies[spec.name])
            states[(spec.project, key)] = new
            labels = alert_labels(spec, se.segment)
            if se.evaluation.outcome.value == "error":
                errors[spec.name] = se.evaluation.evidence.detail
            write.series.append(
                SeriesRow(spec.project, key, spec.name, labels, new.status.value, new.since,
                          dump_state(new), at)
            )  # fmt: skip
            for tr in transitions:
                write.transitions.append(
                    TransitionRow(
                        spec.project, spec.name, key, tr.at, tr.from_status.value,
                        tr.to_status.value, tr.reason, labels, evidence_json(tr.evidence),
                        tr.evidence.value,
                    )
                )  # fmt: skip
                changes.append(SeriesChange(spec, se.segment, labels, tr, new))
        per_monitor = elapsed_ms / max(1, len(specs))
        write.cursors.extend(
            CursorRow(s.project, s.name, at, errors.get(s.name, ""), per_monitor) for s in specs
        )
        return write, changes

    def next_due(self, now: datetime, specs: Sequence[MonitorSpec]) -> datetime:
        """The next instant a monitor is due after ``now`` (at most ``poll`` away)."""
        soonest = now + self._poll
        for spec in specs:
            soonest = min(soonest, floor_to(now, spec.every) + spec.every)
        return soonest

    async def run_forever(self) -> None:
        """Tick on the clock until cancelled; a failing tick is logged and counted."""
        while True:
            now = self._clock.now()
            specs: list[MonitorSpec] = []
            try:
                specs = await self._monitors()
                await self.tick(now, specs)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # the loop must outlive any one tick
                self.status.failures += 1
                self.status.last_error = f"{type(err).__name__}: {err}"
                log.exception("monitor scheduler tick failed")
            await self._clock.sleep_until(self.next_due(now, specs))

    async def start(self) -> None:
        """Run the loop in a task."""
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever())

    async def stop(self) -> None:
        """Cancel the loop and wait for it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


_SEVERITY = (
    AlertStatus.FIRING,
    AlertStatus.ERROR,
    AlertStatus.NO_DATA,
    AlertStatus.PENDING,
    AlertStatus.RESOLVED,
    AlertStatus.OK,
)


def _policy(spec: MonitorSpec) -> StatePolicy:
    try:
        return prepare(spec).policy
    except LlmpulseError:
        return spec.state_policy


def _segment_of_key(key: str) -> Segment:
    parts = key.split("|")[1:]
    return tuple(tuple(p.split("=", 1)) for p in parts)  # type: ignore[misc]

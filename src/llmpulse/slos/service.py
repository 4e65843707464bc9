"""`SloService`: SLO definitions in the state store, their status from the event store.

Every status of a project comes from one `CountQuery` (one grouped scan for all its SLOs);
`evaluate_slos` is the scheduler's per-cycle entry point: statuses plus the burn-rate alerts
firing now, ready for the alert pipeline.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from llmpulse.alerts.model import Alert
from llmpulse.analysis.slo import month_bounds
from llmpulse.clock import Clock
from llmpulse.domain.errors import FieldError, InvalidInput, NotFound
from llmpulse.domain.ids import ProjectName
from llmpulse.slos.evaluate import SloStatus, evaluate
from llmpulse.slos.sli import count_spec
from llmpulse.slos.spec import LatencyQuantileSli, SloSpec
from llmpulse.slos.windows import project_bucket, rules_for, window_table
from llmpulse.store.api import EventStore, StateStore
from llmpulse.store.slo_api import CountQuery, Counts

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def align_up(t: datetime, bucket: timedelta) -> datetime:
    """The first bucket boundary (epoch-aligned) at or after ``t``."""
    return EPOCH + bucket * math.ceil((t - EPOCH) / bucket)


def align_down(t: datetime, bucket: timedelta) -> datetime:
    """The last bucket boundary at or before ``t``."""
    return EPOCH + bucket * ((t - EPOCH) // bucket)


def span_of(bucket: timedelta, specs: list[SloSpec]) -> timedelta:
    """The least multiple of the bucket and of every slice width (the range's step)."""
    minutes = int(bucket.total_seconds()) // 60
    for s in specs:
        if isinstance(s.sli, LatencyQuantileSli):
            minutes = math.lcm(minutes, int(s.sli.slice.total_seconds()) // 60)
    return timedelta(minutes=minutes)


def lookback(spec: SloSpec, at: datetime) -> timedelta:
    """How far before ``at`` the SLO's status needs data: its period and its longest window."""
    longest = max(r.long for r in window_table(spec))
    if isinstance(spec.window, timedelta):
        return max(spec.window, longest)
    return max(at - month_bounds(at)[0], longest)


def canonical(spec: SloSpec) -> str:
    """The stored form: the manifest as JSON with sorted keys (equal specs, equal text)."""
    return orjson.dumps(spec.to_manifest(), option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True)
class SloCycle:
    """One evaluation of a project's SLOs: the alerts firing now and every status."""

    alerts: list[Alert]
    statuses: list[SloStatus]


@dataclass
class ApplyPlan:
    """What applying a list of SLOs changed (or would change, on a dry run)."""

    create: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def changes(self) -> bool:
        """True when the plan creates, updates or deletes anything."""
        return bool(self.create or self.update or self.delete)


class SloService:
    """SLO definitions (CRUD, apply/export) and their computed status."""

    def __init__(self, events: EventStore, state: StateStore, clock: Clock) -> None:
        self._events = events
        self._state = state
        self._clock = clock

    async def specs(self, project: str) -> list[SloSpec]:
        """The project's SLOs, by name."""
        records = await asyncio.to_thread(self._state.list_slos, project)
        return [SloSpec.from_manifest(orjson.loads(r.spec)) for r in records]

    async def projects(self) -> list[str]:
        """Projects that have at least one SLO."""
        return sorted({project for project, _, _ in await self.definitions()})

    async def definitions(self) -> tuple[tuple[str, str, str], ...]:
        """Every stored SLO as ``(project, name, manifest JSON)``, by project and name.

        Equal from one call to the next exactly while no definition changed, whichever path
        wrote it (this service, the generic ``apply``, another server on the same store).
        """
        records = await asyncio.to_thread(self._state.list_slos, None)
        return tuple((r.project, r.name, r.spec) for r in records)

    async def spec(self, project: str, name: str) -> SloSpec:
        """One SLO.

        Raises:
            NotFound: no such SLO.
        """
        for s in await self.specs(project):
            if s.name == name:
                return s
        raise NotFound(f"project {project!r} has no SLO {name!r}")

    async def put(self, spec: SloSpec) -> SloSpec:
        """Create or replace one SLO."""
        now = self._clock.now()
        await asyncio.to_thread(
            self._state.apply_slos, spec.project, {spec.name: canonical(spec)}, (), now
        )
        return spec

    async def delete(self, project: str, name: str) -> None:
        """Delete one SLO.

        Raises:
            NotFound: no such SLO.
        """
        await self.spec(project, name)
        await asyncio.to_thread(self._state.apply_slos, project, {}, (name,), self._clock.now())

    async def apply(
        self, project: str, specs: list[SloSpec], *, prune: bool = False, dry_run: bool = False
    ) -> ApplyPlan:
        """Make the project's SLOs match ``specs`` in one transaction (all or nothing).

        Raises:
            InvalidInput: a name repeats, or a spec belongs to another project (the error
                names ``documents[i]``).
        """
        seen: dict[str, int] = {}
        for i, s in enumerate(specs):
            if s.project != project:
                msg = f"belongs to project {s.project!r}, not {project!r}"
                raise InvalidInput(msg, [FieldError(f"documents[{i}].metadata.project", msg)])
            if s.name in seen:
                msg = f"SLO {s.name!r} is defined twice (documents[{seen[s.name]}] and [{i}])"
                raise InvalidInput(msg, [FieldError(f"documents[{i}].metadata.name", msg)])
            seen[s.name] = i
        current = {s.name: canonical(s) for s in await self.specs(project)}
        plan = ApplyPlan()
        puts = {}
        for s in specs:
            body = canonical(s)
            if s.name not in current:
                plan.create.append(s.name)
            elif current[s.name] != body:
                plan.update.append(s.name)
            else:
                plan.unchanged.append(s.name)
                continue
            puts[s.name] = body
        if prune:
            plan.delete = sorted(set(current) - set(seen))
        if not dry_run and plan.changes:
            await asyncio.to_thread(
                self._state.apply_slos, project, puts, plan.delete, self._clock.now()
            )
        plan.applied = not dry_run
        return plan

    async def counts(
        self,
        project: str,
        specs: list[SloSpec],
        start: datetime,
        end: datetime,
        bucket: timedelta,
        until: datetime | None = None,
    ) -> list[Counts]:
        """Good/valid series of ``specs`` over ``[start, end)`` (spans before ``until``)."""
        specs_q = tuple(count_spec(s) for s in specs)
        q = CountQuery(ProjectName(project), start, end, bucket, specs_q, until)
        return await asyncio.to_thread(self._events.good_valid, q)

    async def evaluate_slos(self, project: str, now: datetime | None = None) -> SloCycle:
        """Evaluate every SLO of ``project`` at ``now``: statuses and the alerts firing.

        One store query for the whole project. Buckets are counted back from ``now``, so the
        newest bucket ends at ``now`` and a burst is seen as soon as it happens.
        """
        return await self._evaluate(project, await self.specs(project), now)

    async def _evaluate(self, project: str, specs: list[SloSpec], now: datetime | None) -> SloCycle:
        now = now or self._clock.now()
        if not specs:
            return SloCycle([], [])
        bucket = project_bucket(specs)
        # Buckets end at `now`: every window is whole buckets ending now, so no window ends
        # with a bucket that has only begun to fill (a 1-minute short window at second 2 of
        # the minute would otherwise hold 2 seconds of traffic).
        step = span_of(bucket, specs)
        need = max(lookback(s, now) for s in specs)
        start = now - step * math.ceil(need / step)
        counts = await self.counts(project, specs, start, now, bucket)
        statuses = []
        for spec, c in zip(specs, counts, strict=True):
            statuses.append(evaluate(spec, c, rules_for(spec, bucket), now))
        return SloCycle([a for s in statuses for a in s.alerts], statuses)

    async def status(self, project: str, name: str, now: datetime | None = None) -> SloStatus:
        """One SLO's status (computed with the project's others: one query).

        Raises:
            NotFound: no such SLO.
        """
        specs = await self.specs(project)
        if all(s.name != name for s in specs):
            raise NotFound(f"project {project!r} has no SLO {name!r}")
        cycle = await self._evaluate(project, specs, now)
        return next(s for s in cycle.statuses if s.name == name)

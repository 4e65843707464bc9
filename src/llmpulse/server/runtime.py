"""The monitor runtime of one server process: scheduler, dispatcher and their sources.

`MonitorRuntime` is a Service: `start` runs the scheduler's loop and, each as its own task, a
flush loop for the dispatcher (group_wait and group_interval ticks between evaluations), the
SLO burn-rate loop and the scheduled-reports loop; `stop` cancels them.
Monitors and routing come from the stored configuration (`config.source.StoredConfigSource`:
what ``llmpulse apply``, the REST API and the UI saved) combined with the YAML file of
``LLMPULSE_MONITORS_FILE`` and the demo's default monitors (`CombinedSource`). Reads are
uncached: every evaluation runs its queries on the event store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from llmpulse.alerts.dispatch import Dispatcher
from llmpulse.alerts.source import RoutingConfig, StaticSource, load_monitor_file
from llmpulse.clock import Clock
from llmpulse.config.source import StoredConfigSource
from llmpulse.domain.errors import LlmpulseError, Unavailable
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import StatusCode
from llmpulse.monitors.backtest import BacktestResult, backtest
from llmpulse.monitors.engine import Engine
from llmpulse.monitors.filters import span_filter
from llmpulse.monitors.judge import Segment
from llmpulse.monitors.scheduler import MonitorScheduler, MonitorSource
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.monitors.states import AlertStatus
from llmpulse.server.reports import ReportRunner
from llmpulse.server.settings import ServerSettings
from llmpulse.slos.feed import SloAlertFeed
from llmpulse.store.alerts_api import AlertStore
from llmpulse.store.api import AttrEquals, EventStore, SpanQuery, StateStore, TimeRange
from llmpulse.store.metric_api import MetricColumns, MetricFrame, MetricQuery
from llmpulse.store.state.alerts_sql import SqlAlertStore
from llmpulse.store.state.config_store import config_store_for
from llmpulse.store.state.sql import SqlStateStore

log = logging.getLogger(__name__)
FLUSH_EVERY = timedelta(seconds=5)
SLO_EVERY = timedelta(minutes=1)  # burn-rate rules' shortest window is 5 minutes


class FileAndMemorySource(StaticSource):
    """Monitors from a YAML file (re-read when it changes) plus monitors added in code."""

    def __init__(self, path: Path | None = None) -> None:
        """Read monitors from ``path`` (if given) on every call, when the file changed."""
        super().__init__()
        self._path = path
        self._stamp: float | None = None
        self._from_file: list[MonitorSpec] = []
        self.added: list[MonitorSpec] = []
        self.added_source: dict[tuple[str, str], str] = {}
        self.file_error = ""

    def _refresh(self) -> None:
        if self._path is None:
            return
        try:
            stamp = self._path.stat().st_mtime
        except OSError:
            return
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._from_file = load_monitor_file(self._path)
            except LlmpulseError as err:  # keep the last good monitors; say why
                self.file_error = err.detail + "".join(
                    f"; {e.path}: {e.message}" for e in err.errors
                )
                log.warning("monitors file %s not loaded: %s", self._path, self.file_error)
            else:
                self.file_error = ""

    async def list_monitors(self, project: str | None = None) -> list[MonitorSpec]:
        """The file's monitors (re-read when it changed) and those added in code."""
        await asyncio.to_thread(self._refresh)
        self.monitors = [*self._from_file, *self.added]
        return await super().list_monitors(project)

    def source_of(self, spec: MonitorSpec) -> str:
        """Where a local monitor comes from: ``file`` (the monitors file), else what added it
        (``demo`` for the demo's defaults)."""
        return self.added_source.get((spec.project, spec.name), "file")


class CombinedSource:
    """Monitors and routing from the stored configuration (``llmpulse apply``, REST, UI) and
    from the monitors file and code; a stored monitor wins over a file one of the same name."""

    def __init__(self, stored: StoredConfigSource | None, local: FileAndMemorySource) -> None:
        """Combine ``stored`` (read on a worker thread) with ``local``."""
        self._stored = stored
        self._local = local

    async def list_monitors(self, project: str | None = None) -> list[MonitorSpec]:
        """Every monitor (of one project when given)."""
        stored = [] if self._stored is None else await asyncio.to_thread(
            self._stored.list_monitors, project
        )  # fmt: skip
        names = {(m.project, m.name) for m in stored}
        local = await self._local.list_monitors(project)
        return [*stored, *(m for m in local if (m.project, m.name) not in names)]

    async def routing_config(self, project: str) -> RoutingConfig | None:
        """The stored routing tree, receivers and silences of the project, else the local one."""
        cfg = None
        if self._stored is not None:
            cfg = await asyncio.to_thread(self._stored.routing_config, project)
        return cfg or await self._local.routing_config(project)


class MonitorRuntime:
    """Scheduler + dispatcher + backtests over one event store and alert store."""

    def __init__(
        self,
        events: EventStore,
        alerts: AlertStore,
        clock: Clock,
        *,
        monitors: MonitorSource | None = None,
        routing: FileAndMemorySource | None = None,
        stored: StoredConfigSource | None = None,
        external_url: str = "",
        enabled: bool = True,
        slo_feed: SloAlertFeed | None = None,
        reports: ReportRunner | None = None,
    ) -> None:
        """Wire the runtime (``enabled=False``: backtests and reads only, no scheduler loop)."""
        self.events = events
        self.alerts = alerts
        self.clock = clock
        self.local = routing or FileAndMemorySource()
        self.stored = stored
        combined = CombinedSource(stored, self.local)
        self.source: MonitorSource = monitors or combined
        self.engine = Engine(self.read, read_many=self.read_many)
        self.dispatcher = Dispatcher(combined, alerts, clock, external_url)
        self.scheduler = MonitorScheduler(
            self.source, self.engine, alerts, clock, self.dispatcher.receive,
            examples=self.examples,
        )  # fmt: skip
        self.enabled = enabled
        self.slo_feed = slo_feed
        self.reports = reports
        self.slo_cycles = 0
        self.slo_failures = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def read(self, q: MetricQuery) -> MetricFrame:
        """One uncached metric query on a worker thread."""
        return await asyncio.to_thread(self.events.metric, q)

    async def read_many(self, qs: Sequence[MetricQuery]) -> list[MetricColumns]:
        """A cycle's uncached metric queries in one call on a worker thread (ADR 0033)."""
        return await asyncio.to_thread(self.events.metric_columns, qs)

    async def examples(
        self, spec: MonitorSpec, segment: Segment, start: datetime, end: datetime
    ) -> tuple[str, ...]:
        """Three spans of a series' window: errors for a rate, else the slowest."""
        where = span_filter(spec.filters)
        metric = parse_metric(spec.metric)
        q = SpanQuery(
            ProjectName(spec.project), TimeRange(start, end), kinds=where.kinds,
            status=StatusCode.ERROR if metric.field.is_outcome else where.status,
            models=where.models, names=where.names,
            attributes=(*where.attributes, *(AttrEquals(k, v) for k, v in segment)),
            root_only=where.root_only, limit=3, sort="latency",
        )  # fmt: skip
        page = await asyncio.to_thread(self.events.list_spans, q)
        return tuple(s.span_id for s in page.items)

    def add_monitors(self, specs: list[MonitorSpec], source: str = "demo") -> None:
        """Add monitors defined in code (the demo's defaults), shown as coming from ``source``."""
        self.local.added.extend(specs)
        self.local.added_source.update({(m.project, m.name): source for m in specs})

    async def local_monitors(self, project: str) -> list[tuple[MonitorSpec, str]]:
        """The project's monitors that are not stored configuration (from the monitors file or
        added in code) and that no stored monitor of the same name overrides, with their source.

        The scheduler evaluates them; they are read-only (edit the file, or store a monitor of
        the same name to override one).
        """
        stored: set[str] = set()
        if self.stored is not None:
            found = await asyncio.to_thread(self.stored.list_monitors, project)
            stored = {m.name for m in found}
        local = await self.local.list_monitors(project)
        return [(m, self.local.source_of(m)) for m in local if m.name not in stored]

    def set_routing(self, project: str, config: RoutingConfig) -> None:
        """Route a project's alerts (``*``: every project without its own)."""
        self.local.routing[project] = config

    async def backtest(self, spec: MonitorSpec, start: datetime, end: datetime) -> BacktestResult:
        """Run ``spec`` over ``[start, end]`` (see `monitors.backtest`)."""
        return await backtest(spec, start, end, self.read, self.engine.history.horizon)

    def current_states(self, project: str) -> dict[str, AlertStatus]:
        """Per monitor name: its worst alert series status (for the monitors list page)."""
        return self.scheduler.current_states(project)

    async def slo_tick(self, now: datetime) -> int:
        """Evaluate every SLO's burn-rate rules at ``now`` and hand the alerts (firing and
        newly resolved) to the alert pipeline; return how many alerts were handed over."""
        if self.slo_feed is None:
            return 0
        tick = await self.slo_feed.tick(now)
        by_project = tick.by_project()
        await self.dispatcher.receive_alerts(by_project, now)
        self.slo_cycles += 1
        return sum(len(a) for a in by_project.values())

    async def _slo_round(self, now: datetime) -> None:
        try:
            await self.slo_tick(now)
        except Exception:
            self.slo_failures += 1
            raise

    async def _every(
        self, interval: timedelta, tick: Callable[[datetime], Awaitable[object]], what: str
    ) -> None:
        """Run ``tick`` every ``interval`` of the clock; a failed round is logged, never fatal."""
        while True:
            now = self.clock.now()
            try:
                await tick(now)
            except Exception:
                log.exception("%s failed", what)
            await self.clock.sleep_until(now + interval)

    async def start(self) -> None:
        """Start the scheduler and the loops: dispatcher flush, SLO burn-rate rules, scheduled
        reports (each its own task, so a slow report never delays an SLO page)."""
        if not self.enabled:
            return
        await self.scheduler.start()
        loops: list[tuple[timedelta, Callable[[datetime], Awaitable[object]], str]] = [
            (FLUSH_EVERY, self.dispatcher.flush, "alert dispatcher flush")
        ]
        if self.slo_feed is not None:
            loops.append((SLO_EVERY, self._slo_round, "SLO burn-rate evaluation"))
        if self.reports is not None:
            loops.append((SLO_EVERY, self.reports.tick, "scheduled reports"))
        self._tasks = [asyncio.create_task(self._every(*loop)) for loop in loops]

    async def stop(self) -> None:
        """Stop the scheduler and the loops."""
        await self.scheduler.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []


def monitor_runtime(
    settings: ServerSettings,
    events: EventStore,
    state: StateStore,
    clock: Clock,
    slo_feed: SloAlertFeed | None = None,
    reports: ReportRunner | None = None,
) -> MonitorRuntime:
    """The runtime a server's settings ask for (monitors file, scheduler on or off).

    Raises:
        Unavailable: the state store is not the SQL one (alert state lives in its database).
    """
    if not isinstance(state, SqlStateStore):
        raise Unavailable("the monitor runtime needs the SQL state store")
    local = FileAndMemorySource(settings.monitors_file)
    return MonitorRuntime(
        events,
        SqlAlertStore(state),
        clock,
        routing=local,
        stored=StoredConfigSource(config_store_for(state)),
        external_url=f"http://{settings.host}:{settings.port}",
        enabled=settings.scheduler,
        slo_feed=slo_feed,
        reports=reports,
    )

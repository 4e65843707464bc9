"""The monitor runtime's own metrics as a prometheus-client collector.

Register it on the `/metrics` registry with one line:
``registry.register(RuntimeCollector(services.runtime))``. Families: scheduler cycles,
failures, evaluations, transitions, queries and skipped (caught-up-too-late) instants;
last cycle duration and lag; notifications sent and failed, and delivery attempts; SLO
burn-rate rounds and their failures; scheduled reports delivered and failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from llmpulse.server.runtime import MonitorRuntime


class RuntimeCollector(Collector):
    """Reads the scheduler's status and the dispatcher's counters at each scrape."""

    def __init__(self, runtime: MonitorRuntime) -> None:
        """Collect from ``runtime``."""
        self._runtime = runtime

    def collect(self) -> Iterator[Metric]:
        """The current values (counters are totals since the process started)."""
        s = self._runtime.scheduler.status
        c = self._runtime.dispatcher.counters
        r = self._runtime.reports
        counters: tuple[tuple[str, str, float], ...] = (
            ("llmpulse_monitor_cycles", "Scheduler ticks run.", s.cycles),
            ("llmpulse_monitor_cycle_failures", "Scheduler ticks that failed.", s.failures),
            ("llmpulse_monitor_evaluations", "Alert series evaluations.", s.evaluations),
            ("llmpulse_monitor_transitions", "Alert series status changes.", s.transitions),
            ("llmpulse_monitor_queries", "Metric queries run by the scheduler.", s.queries),
            (
                "llmpulse_monitor_skipped_instants",
                "Missed evaluation instants past the catch-up bound.",
                s.skipped,
            ),
            ("llmpulse_notifications_sent", "Notifications delivered.", c.sent),
            ("llmpulse_notifications_failed", "Notifications that failed.", c.failed),
            (
                "llmpulse_notification_attempts",
                "Requests made to deliver notifications.",
                c.attempts,
            ),
            ("llmpulse_slo_cycles", "SLO burn-rate rounds run.", self._runtime.slo_cycles),
            (
                "llmpulse_slo_cycle_failures",
                "SLO burn-rate rounds that failed.",
                self._runtime.slo_failures,
            ),
            ("llmpulse_reports_sent", "Scheduled reports delivered.", 0 if r is None else r.sent),
            (
                "llmpulse_reports_failed",
                "Scheduled report deliveries that failed.",
                0 if r is None else r.failed,
            ),
        )
        for name, doc, value in counters:
            family = CounterMetricFamily(name, doc)
            family.add_metric([], float(value))
            yield family
        gauges: tuple[tuple[str, str, float], ...] = (
            (
                "llmpulse_monitor_cycle_seconds",
                "Duration of the last scheduler tick.",
                s.last_duration_s,
            ),
            (
                "llmpulse_monitor_lag_seconds",
                "Delay from an instant being due to its evaluation finishing (last tick).",
                s.lag_s,
            ),
        )
        for name, doc, value in gauges:
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], float(value))
            yield gauge

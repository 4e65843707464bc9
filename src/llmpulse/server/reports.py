"""Scheduled reports (issue 11, item 6): each stored `kind: ReportSchedule` sends the project's
health digest (SLO status and budget spent, incidents, worst segments, requests and cost; a
`compliance` schedule sends the same digest, which carries each SLO's attainment and budget
used) through its receivers, once per slot.

Slots missed while the server was down collapse into one send (`slos.schedule.due_run`). The
last slot sent is kept in memory: after a restart the latest slot is sent once more.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from llmpulse.config.receiver_kind import build_notifier
from llmpulse.config.report_schedule_kind import schedule_of
from llmpulse.config.source import StoredConfigSource
from llmpulse.domain.errors import LlmpulseError
from llmpulse.query.service import QueryService
from llmpulse.slos.digest import Digest, DigestPeriod, build_digest, send_digest
from llmpulse.slos.schedule import due_run
from llmpulse.slos.service import SloService

log = logging.getLogger(__name__)


class ReportRunner:
    """Sends due scheduled reports; call `tick` every minute."""

    def __init__(self, source: StoredConfigSource, slos: SloService, query: QueryService) -> None:
        """Read schedules and receivers from ``source``; build digests from ``slos``/``query``."""
        self._source = source
        self._slos = slos
        self._query = query
        self.last_sent: dict[tuple[str, str], datetime] = {}
        self.sent = 0
        self.failed = 0

    async def tick(self, now: datetime) -> int:
        """Send every schedule whose slot has come; return how many deliveries succeeded."""
        schedules = await asyncio.to_thread(self._source.objects, "ReportSchedule")
        receivers = {r.name: r for r in await asyncio.to_thread(self._source.objects, "Receiver")}
        ok = 0
        # A digest and a compliance schedule of one project at one slot send the same digest:
        # build it once per tick.
        digests: dict[tuple[str, datetime, DigestPeriod], Digest] = {}
        for resource in schedules:
            schedule = schedule_of(resource)
            key = (resource.project, resource.name)
            slot = due_run(schedule, self.last_sent.get(key), now)
            if slot is None:
                continue
            period: DigestPeriod = "week" if schedule.every == "weekly" else "day"
            which = (resource.project, slot, period)
            if which not in digests:
                digests[which] = await build_digest(
                    self._slos, self._query, resource.project, slot, period
                )
            digest = digests[which]
            for name in schedule.receivers:
                receiver = receivers.get(name)
                if receiver is None:
                    self.failed += 1
                    log.warning("report %s/%s: no receiver %r", *key, name)
                    continue
                try:
                    notifier = build_notifier(receiver, self._source.env)
                except LlmpulseError as err:  # e.g. its secret's variable is not set
                    self.failed += 1
                    log.warning("report %s/%s: receiver %s: %s", *key, name, err)
                    continue
                delivery = await send_digest(digest, notifier, name)
                if delivery.ok:
                    ok += 1
                    self.sent += 1
                else:
                    self.failed += 1
                    log.warning("report %s/%s to %s failed: %s", *key, name, delivery.detail)
            self.last_sent[key] = slot
        return ok

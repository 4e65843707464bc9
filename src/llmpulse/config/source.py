"""`StoredConfigSource`: the scheduler's view of the stored configuration (synchronous).

It answers the runtime's two questions from the configuration-object store: which monitors a
project has (`list_monitors`, with `projects`) and how its alerts are routed
(`routing_config`, the dispatcher's `alerts.source.RoutingConfig`). The scheduler calls it on
a worker thread, as it does its other stores.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping

from llmpulse.alerts.notifiers import Notifier
from llmpulse.alerts.routing import build_route
from llmpulse.alerts.source import RoutingConfig
from llmpulse.config.inhibit_rules import inhibit_rules_of
from llmpulse.config.monitor_kind import monitor_of
from llmpulse.config.receiver_kind import build_notifier
from llmpulse.config.resources import Resource
from llmpulse.config.route_kind import ROUTE_NAME, route_node
from llmpulse.config.silence_kind import silence_of
from llmpulse.domain.errors import InvalidInput
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.store.config_api import ConfigObjectStore

log = logging.getLogger(__name__)


class StoredConfigSource:
    """Monitors and routing as stored by ``llmpulse apply``, the REST API and the UI."""

    def __init__(self, store: ConfigObjectStore, env: Mapping[str, str] | None = None) -> None:
        """Read ``store``; receivers' secrets come from ``env`` (the process environment)."""
        self._store = store
        self._env = os.environ if env is None else env

    def objects(self, kind: str, project: str | None = None) -> list[Resource]:
        """The stored objects of ``kind`` (of ``project`` when given)."""
        rows = self._store.list_objects(kind, project)
        return [Resource(r.kind, r.project, r.name, json.loads(r.spec)) for r in rows]

    @property
    def env(self) -> Mapping[str, str]:
        """Where receivers' secrets are read from."""
        return self._env

    def projects(self) -> list[str]:
        """Projects that have at least one monitor."""
        return sorted({r.project for r in self.objects("Monitor")})

    def list_monitors(self, project: str | None = None) -> list[MonitorSpec]:
        """Every monitor of ``project`` (of all projects when None), disabled ones too."""
        return [monitor_of(r) for r in self.objects("Monitor", project)]

    def routing_config(self, project: str) -> RoutingConfig | None:
        """The project's routing tree, the receivers' notifiers, its silences and inhibition
        rules; None without a tree."""
        row = self._store.get_object("AlertRoute", project, ROUTE_NAME)
        if row is None:
            return None
        spec = json.loads(row.spec)
        return RoutingConfig(
            build_route(route_node(spec).route_spec()),
            self.notifiers(),
            tuple(silence_of(r) for r in self.objects("Silence", project)),
            inhibit_rules_of(spec),
        )

    def notifiers(self) -> dict[str, Notifier]:
        """Every receiver's notifier, secrets read from ``env``; a receiver whose secret is
        missing is logged and left out (its notifications fail as undeliverable instead of
        stopping the others)."""
        out: dict[str, Notifier] = {}
        for resource in self.objects("Receiver"):
            try:
                out[resource.name] = build_notifier(resource, self._env)
            except InvalidInput as exc:
                log.warning("receiver %s is unusable: %s", resource.name, exc.detail)
        return out

"""`StoredConfigSource`: the scheduler's view of the stored configuration (synchronous).

It answers the runtime's two questions from the configuration-object store: which monitors a
project has (`list_monitors`, with `projects`) and how its alerts are routed
(`routing_config`). The scheduler calls it on a worker thread, as it does its other stores.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from llmpulse.alerts.routing import build_route
from llmpulse.config.inhibit_rules import inhibit_rules_of
from llmpulse.config.monitor_kind import monitor_of
from llmpulse.config.resources import Resource
from llmpulse.config.route_kind import ROUTE_NAME, route_node
from llmpulse.config.routing_config import RoutingConfig
from llmpulse.config.silence_kind import silence_of
from llmpulse.monitors.spec import MonitorSpec
from llmpulse.store.config_api import ConfigObjectStore


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
        """The project's routing tree, the receivers and its silences; None without a tree."""
        row = self._store.get_object("AlertRoute", project, ROUTE_NAME)
        if row is None:
            return None
        spec = json.loads(row.spec)
        root = route_node(spec)
        receivers = {r.name: r for r in self.objects("Receiver")}
        silences = tuple(silence_of(r) for r in self.objects("Silence", project))
        return RoutingConfig(
            project,
            build_route(root.route_spec()),
            receivers,
            silences,
            self._env,
            inhibit_rules_of(spec),
        )

"""Where the runtime takes monitors and routing from: a `RoutingSource` and simple sources.

`RoutingConfig` is what the dispatcher needs for one project: the routing tree, the
notifiers by receiver name, silences and inhibition rules. `StaticSource` serves monitors and
routing from memory (tests, the demo) and `load_monitor_file` reads a ``kind: Monitor`` YAML
file; the stored configuration (`config.source.StoredConfigSource`: what ``llmpulse apply``,
the REST API and the UI saved) builds the same `RoutingConfig`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import yaml

from llmpulse.alerts.inhibition import InhibitRule
from llmpulse.alerts.notifiers.base import Notifier
from llmpulse.alerts.routing import Route
from llmpulse.alerts.silences import Silence
from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.monitors.spec import MonitorSpec


@dataclass(frozen=True)
class RoutingConfig:
    """One project's routing: tree, receivers, silences, inhibition rules."""

    route: Route
    receivers: Mapping[str, Notifier]
    silences: tuple[Silence, ...] = ()
    inhibit_rules: tuple[InhibitRule, ...] = ()


class RoutingSource(Protocol):
    """A `RoutingSource` gives the dispatcher a project's routing (None: nobody is notified)."""

    async def routing_config(self, project: str) -> RoutingConfig | None:
        """The project's routing configuration, if any."""
        ...


@dataclass
class StaticSource:
    """Monitors and routing held in memory (both `MonitorSource` and `RoutingSource`)."""

    monitors: list[MonitorSpec] = field(default_factory=list)
    routing: dict[str, RoutingConfig] = field(default_factory=dict)

    async def list_monitors(self, project: str | None = None) -> list[MonitorSpec]:
        """The monitors (of one project when given)."""
        return [m for m in self.monitors if project is None or m.project == project]

    async def routing_config(self, project: str) -> RoutingConfig | None:
        """The project's routing (or the ``*`` entry, for every project)."""
        return self.routing.get(project) or self.routing.get("*")


def load_monitor_file(path: Path) -> list[MonitorSpec]:
    """Every ``kind: Monitor`` document of a YAML file (``---``-separated).

    Raises:
        InvalidInput: unreadable YAML or an invalid monitor (paths ``doc[i].spec.<field>``).
    """
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except (OSError, yaml.YAMLError) as err:
        raise InvalidInput(f"cannot read {path}: {err}", [FieldError("file", str(err))]) from err
    return parse_monitors(docs)


def parse_monitors(docs: Sequence[object]) -> list[MonitorSpec]:
    """Monitor manifests (a single manifest or a list); errors name ``doc[i]`` when several."""
    if len(docs) == 1:
        return [MonitorSpec.from_manifest(docs[0])]
    return [MonitorSpec.from_manifest(d, f"doc[{i}]") for i, d in enumerate(docs)]

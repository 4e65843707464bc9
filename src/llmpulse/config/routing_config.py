"""`RoutingConfig`: what the alert pipeline of one project needs, read from the stored config.

The scheduler takes it from `ConfigService.routing_config(project)` (None when the project has
no ``AlertRoute``): the built routing tree, the receivers by name (built into notifiers on
demand, their secrets read from the environment then), the project's silences and its
inhibition rules.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from llmpulse.alerts.inhibition import InhibitRule
from llmpulse.alerts.notifiers import Notifier
from llmpulse.alerts.routing import Route
from llmpulse.alerts.silences import Silence, SilenceState
from llmpulse.config.receiver_kind import build_notifier
from llmpulse.config.resources import Resource
from llmpulse.domain.errors import InvalidInput, NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """A project's routing tree, the receivers, the project's silences and inhibition rules."""

    project: str
    route: Route
    receivers: Mapping[str, Resource] = field(default_factory=dict)
    silences: tuple[Silence, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    inhibit_rules: tuple[InhibitRule, ...] = ()

    def notifier(self, receiver: str) -> Notifier:
        """The notifier of a receiver, secrets read from the server's environment.

        Raises:
            NotFound: no such receiver.
            InvalidInput: a secret's environment variable is not set.
        """
        resource = self.receivers.get(receiver)
        if resource is None:
            raise NotFound(f"receiver {receiver!r} does not exist")
        return build_notifier(resource, self.env)

    def notifiers(self) -> dict[str, Notifier]:
        """Every receiver's notifier; a receiver whose secret is missing is logged and left out
        (its notifications fail as undeliverable instead of stopping the others)."""
        out: dict[str, Notifier] = {}
        for name in self.receivers:
            try:
                out[name] = self.notifier(name)
            except InvalidInput as exc:
                log.warning("receiver %s is unusable: %s", name, exc.detail)
        return out

    def active_silences(self, now: datetime) -> tuple[Silence, ...]:
        """The silences in force at ``now``."""
        return tuple(s for s in self.silences if s.state(now) is SilenceState.ACTIVE)

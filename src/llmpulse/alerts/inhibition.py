"""Inhibition: a firing source alert mutes target alerts that agree on the `equal` labels.

Alertmanager semantics (`inhibit/inhibit.go`): a target alert matching `target_matchers` is
muted while some firing alert matching `source_matchers` has the same values for every
label in `equal` (a missing label counts as the empty value). When the target also matches
the source matchers, sources that also match the target matchers are ignored, so an alert
matching both sides cannot inhibit itself (or its peers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from llmpulse.alerts.matchers import LabelSet, Matcher, matches_all
from llmpulse.alerts.model import Alert, fingerprint
from llmpulse.domain.errors import InvalidInput


@dataclass(frozen=True)
class InhibitRule:
    """One inhibition rule.

    Attributes:
        source_matchers: What the muting alert must match.
        target_matchers: What the muted alert must match.
        equal: Labels whose values must agree between source and target.
    """

    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.source_matchers:
            raise InvalidInput("inhibit_rule.source_matchers: at least one matcher is required")
        if not self.target_matchers:
            raise InvalidInput("inhibit_rule.target_matchers: at least one matcher is required")

    def source_for(self, target: LabelSet, sources: Iterable[Alert], now: datetime) -> str | None:
        """Return the fingerprint of a firing source muting ``target``, or ``None``."""
        if not matches_all(self.target_matchers, target):
            return None
        both_sides = matches_all(self.source_matchers, target)
        own = fingerprint(target)
        for source in sources:
            if source.resolved(now) or source.fingerprint == own:
                continue
            if not matches_all(self.source_matchers, source.labels):
                continue
            if both_sides and matches_all(self.target_matchers, source.labels):
                continue
            if all(source.labels.get(n, "") == target.get(n, "") for n in self.equal):
                return source.fingerprint
        return None


def inhibited_by(
    rules: Iterable[InhibitRule], target: LabelSet, alerts: Iterable[Alert], now: datetime
) -> str | None:
    """Return the fingerprint of an alert inhibiting ``target`` at ``now`` under any rule."""
    pool = list(alerts)
    for rule in rules:
        got = rule.source_for(target, pool, now)
        if got is not None:
            return got
    return None

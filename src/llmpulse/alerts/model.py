"""An alert as the pipeline sees it: a label set with a start and, once resolved, an end."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from llmpulse.domain.errors import InvalidInput


def fingerprint(labels: Mapping[str, str]) -> str:
    """Return the stable dedup key of a label set (hex SHA-256 of the sorted pairs).

    Order of insertion does not matter; names and values are length-prefixed so that no two
    distinct label sets share an encoding.
    """
    h = hashlib.sha256()
    for name, value in sorted(labels.items()):
        for part in (name, value):
            raw = part.encode()
            h.update(len(raw).to_bytes(4, "big"))
            h.update(raw)
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Alert:
    """One alert series at one moment.

    Attributes:
        labels: The identifying labels (rule, severity, segment, ...).
        starts_at: When it started firing.
        ends_at: When it resolved; ``None`` while still firing.
        annotations: Descriptive, non-identifying text (summary, value, ...).
    """

    labels: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ends_at is not None and self.ends_at < self.starts_at:
            raise InvalidInput("alert: ends_at must not be before starts_at")
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        object.__setattr__(self, "annotations", MappingProxyType(dict(self.annotations)))

    @property
    def fingerprint(self) -> str:
        """The dedup key: a function of the labels only."""
        return fingerprint(self.labels)

    def resolved(self, now: datetime) -> bool:
        """Return whether the alert has ended at ``now``."""
        return self.ends_at is not None and self.ends_at <= now

    def merge(self, newer: Alert) -> Alert:
        """Combine two reports of the same series (same fingerprint), keeping the newest state.

        The earliest start is kept; the newer report's end (or lack of one) wins, so a
        re-fired alert is firing again.
        """
        if newer.fingerprint != self.fingerprint:
            raise InvalidInput("alert: cannot merge alerts with different labels")
        return Alert(
            labels=self.labels,
            starts_at=min(self.starts_at, newer.starts_at),
            ends_at=newer.ends_at,
            annotations=newer.annotations,
        )

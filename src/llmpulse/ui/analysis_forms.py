"""The query values of the segment, fairness and comparison pages, and the scope they imply.

The names follow the REST routes (``metric``, ``key``, ``direction``, ``unit``,
``min_support``, ``threshold``, ``baseline``, ``candidate``, ``root_only``) plus the UI's ``window``
(see `llmpulse.ui.windows`) and ``discover=1`` for slice discovery over several keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from llmpulse.domain.errors import FieldError, InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.query.segments import Direction, Scope
from llmpulse.store.api import SpanFilter
from llmpulse.store.metric_api import Unit
from llmpulse.ui.windows import Window

AUTO = "auto"
"""The metric's own direction (errors, latency, cost: higher is worse)."""
DIRECTIONS: tuple[str, ...] = (AUTO, "higher_is_worse", "lower_is_worse")
UNITS: tuple[Unit, ...] = ("trace", "session", "user", "span")
TRUE_WORDS = ("1", "true", "on", "yes")


@dataclass(frozen=True, slots=True)
class AnalysisForm:
    """Raw form values, re-shown as typed when they cannot be read."""

    metrics: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    discover: bool = False
    window: str = "all"
    root_only: bool = False
    direction: str = AUTO
    unit: str = "trace"
    min_support: str = "30"
    threshold: str = "0.8"
    baseline: str = ""
    candidate: str = ""

    @classmethod
    def from_params(cls, params: Iterable[tuple[str, str]]) -> AnalysisForm:
        """Collect the fields from query-string pairs; blank values take the defaults."""
        multi: dict[str, list[str]] = {}
        for k, v in params:
            if v.strip():
                multi.setdefault(k, []).append(v.strip())

        def one(key: str, default: str = "") -> str:
            return multi.get(key, [default])[0]

        return cls(
            metrics=tuple(multi.get("metric", [])),
            keys=tuple(dict.fromkeys(multi.get("key", []))),
            discover=one("discover").lower() in TRUE_WORDS,
            window=one("window", "all"),
            root_only=one("root_only").lower() in TRUE_WORDS,
            direction=one("direction", AUTO),
            unit=one("unit", "trace"),
            min_support=one("min_support", "30"),
            threshold=one("threshold", "0.8"),
            baseline=one("baseline"),
            candidate=one("candidate"),
        )

    @property
    def metric(self) -> str:
        """The first metric (pages that take one)."""
        return self.metrics[0] if self.metrics else ""

    def parsed_direction(self) -> Direction | None:
        """The direction, checked; None for ``auto`` (the metric's own).

        Raises:
            InvalidInput: not ``auto``, ``higher_is_worse`` or ``lower_is_worse``.
        """
        if self.direction == AUTO:
            return None
        if self.direction == "higher_is_worse":
            return "higher_is_worse"
        if self.direction == "lower_is_worse":
            return "lower_is_worse"
        raise InvalidInput(
            "unknown direction", [FieldError("direction", f"one of {', '.join(DIRECTIONS)}")]
        )

    def parsed_unit(self) -> Unit:
        """The unit of analysis, checked.

        Raises:
            InvalidInput: not one of trace, session, user, span.
        """
        for u in UNITS:
            if u == self.unit:
                return u
        raise InvalidInput("unknown unit", [FieldError("unit", f"one of {', '.join(UNITS)}")])

    def parsed_min_support(self) -> int:
        """The minimum support, a whole number ≥ 1.

        Raises:
            InvalidInput: anything else.
        """
        try:
            value = int(self.min_support)
        except ValueError:
            value = 0
        if value < 1:
            msg = f"{self.min_support!r} is not a whole number ≥ 1"
            raise InvalidInput(msg, [FieldError("min_support", msg)])
        return value

    def parsed_threshold(self) -> float:
        """The four-fifths threshold, in (0, 1].

        Raises:
            InvalidInput: anything else.
        """
        try:
            value = float(self.threshold)
        except ValueError:
            value = -1.0
        if not 0.0 < value <= 1.0:
            msg = f"{self.threshold!r} is not a number in (0, 1]"
            raise InvalidInput(msg, [FieldError("threshold", msg)])
        return value


def scope_of(project: ProjectName, window: Window, root_only: bool) -> Scope:
    """The spans an analysis reads: the window (``all`` is unbounded) and the root filter."""
    return Scope(project, window.time_range(bounded=False), SpanFilter(root_only=root_only))


def api_query(form: AnalysisForm, window: Window, extra: Iterable[tuple[str, str]]) -> str:
    """The REST query string equivalent to what the page shows (for download links)."""
    params: list[tuple[str, str]] = list(extra)
    if window.key != "all" and window.start is not None and window.end is not None:
        params += [("start", window.start.isoformat()), ("end", window.end.isoformat())]
    if form.root_only:
        params.append(("root_only", "true"))
    return urlencode(params)

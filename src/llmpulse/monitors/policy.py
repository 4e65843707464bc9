"""The timers and no-data / error handling of one monitor's alert series (METHODS.md §1.12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from llmpulse.domain.errors import FieldError, InvalidInput


class NoDataPolicy(StrEnum):
    """What a `no_data` evaluation does (Grafana's No Data handling; R3)."""

    NO_DATA = "no_data"  # enter the `no_data` state (the default: never silent)
    OK = "ok"  # read it as normal
    ALERTING = "alerting"  # read it as breached (the metric should never go quiet)
    KEEP_LAST = "keep_last"  # change nothing


class ErrorPolicy(StrEnum):
    """What an `error` evaluation does (Grafana's Error handling)."""

    ERROR = "error"  # enter the `error` state (the default)
    OK = "ok"
    ALERTING = "alerting"
    KEEP_LAST = "keep_last"


@dataclass(frozen=True, slots=True)
class StatePolicy:
    """How one alert series moves between states.

    Attributes:
        for_duration: The condition must hold at every evaluation for this long before
            pending becomes firing (Prometheus `for`; 0 fires on the first breach).
        keep_firing_for: A firing alert stays firing this long after the condition was last
            true (Prometheus `keep_firing_for`).
        no_data: Handling of `no_data` evaluations.
        on_error: Handling of `error` evaluations.
        flap_max_starts: The flapping guard: an alert that started firing this many times
            within `flap_window` is flapping (0 turns the guard off).
        flap_window: The window in which firing starts are counted.
        flap_hold: While flapping, a firing alert resolves only after the condition has been
            false for this long (one long incident instead of a storm of short ones).
    """

    for_duration: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)
    no_data: NoDataPolicy = NoDataPolicy.NO_DATA
    on_error: ErrorPolicy = ErrorPolicy.ERROR
    flap_max_starts: int = 3
    flap_window: timedelta = timedelta(hours=1)
    flap_hold: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        errors = [
            FieldError(name, "must not be negative")
            for name in ("for_duration", "keep_firing_for", "flap_window", "flap_hold")
            if getattr(self, name) < timedelta(0)
        ]
        if self.flap_max_starts < 0:
            errors.append(FieldError("flap_max_starts", "must not be negative"))
        if errors:
            raise InvalidInput("invalid alert state policy", errors)

"""One evaluation of one alert series: its outcome and the evidence behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from llmpulse.analysis.detectors.base import Verdict
from llmpulse.domain.errors import InvalidInput


class Outcome(StrEnum):
    """What an evaluation found (R3: `no_data` is never read as `normal`)."""

    BREACHED = "breached"
    NORMAL = "normal"
    NO_DATA = "no_data"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why an evaluation came out as it did; every transition carries one.

    Attributes:
        value: The window's value in the metric's units (None without data).
        baseline: The baseline's centre.
        lower: Lowest normal value (None: unbounded on that side).
        upper: Highest normal value (None: unbounded on that side).
        score: The detector's statistic.
        window_start: Start of the judged data window (inclusive).
        window_end: End of the judged data window (exclusive).
        segment: The alert series' labels, e.g. `(("metadata.region", "eu"),)`; empty for an
            unsegmented monitor.
        detector: The detector's registry name.
        detail: The detector's (or the error's) short explanation.
        example_span_ids: A few spans from the window, for the alert's links.
    """

    value: float | None
    baseline: float | None
    lower: float | None
    upper: float | None
    score: float | None
    window_start: datetime
    window_end: datetime
    segment: tuple[tuple[str, str], ...] = ()
    detector: str = ""
    detail: str = ""
    example_span_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation of one alert series at instant `at`."""

    at: datetime
    outcome: Outcome
    evidence: Evidence

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise InvalidInput("evaluation time must be timezone-aware")

    @classmethod
    def from_verdict(
        cls,
        at: datetime,
        verdict: Verdict,
        *,
        window: tuple[datetime, datetime],
        detector: str,
        segment: tuple[tuple[str, str], ...] = (),
        example_span_ids: tuple[str, ...] = (),
    ) -> Evaluation:
        """Wrap a detector verdict (`insufficient_data` becomes `no_data`)."""
        outcome = {
            "breached": Outcome.BREACHED,
            "normal": Outcome.NORMAL,
            "insufficient_data": Outcome.NO_DATA,
        }[verdict.status]
        evidence = Evidence(
            verdict.value,
            verdict.baseline,
            verdict.lower,
            verdict.upper,
            verdict.score,
            window[0],
            window[1],
            segment,
            detector,
            verdict.detail,
            example_span_ids,
        )
        return cls(at, outcome, evidence)

    @classmethod
    def failed(
        cls,
        at: datetime,
        error: str,
        *,
        window: tuple[datetime, datetime],
        detector: str,
        segment: tuple[tuple[str, str], ...] = (),
    ) -> Evaluation:
        """An evaluation that could not run (query failed, bad data): outcome `error`."""
        evidence = Evidence(
            None, None, None, None, None, window[0], window[1], segment, detector, error
        )
        return cls(at, Outcome.ERROR, evidence)

"""The alert state machine, pure: `step(prev, evaluation, policy) -> (state, transitions)`.

One state per alert series (monitor x segment labels, the dedup key of METHODS.md §1.12):

    ok ──breach──▶ pending ──held for `for`──▶ firing ──clear (after keep_firing_for)──▶ resolved
     ▲               │ clear                     │                                        │
     └───────────────┴───────────────────────────┴──── normal ◀─────────────────────────┘

plus `no_data` and `error`, entered from any state when the policy says so and left on the
next evaluation that has data. Prometheus semantics (§1.12): pending → firing once the
condition held at every evaluation and `now - active_at >= for`; a false evaluation while
pending returns to ok and the timer restarts from scratch. Without `for` the first breach
fires. A transition is emitted exactly when the status changes, with the evaluation's
evidence. Leaving `firing` (to resolved, no_data or error) ends the firing episode.

Flapping guard: a series that started firing `flap_max_starts` times within `flap_window`
is flapping; while it is, a firing alert resolves only after the condition has been false for
`flap_hold` (one incident instead of a storm of fire/resolve pairs).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from llmpulse.monitors.evaluation import Evaluation, Evidence, Outcome
from llmpulse.monitors.policy import ErrorPolicy, NoDataPolicy, StatePolicy


class AlertStatus(StrEnum):
    """Where one alert series stands."""

    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"
    NO_DATA = "no_data"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class AlertState:
    """The state of one alert series between evaluations (what the scheduler stores).

    Attributes:
        status: Current status.
        since: When the current status was entered.
        active_at: First breached evaluation of the current pending/firing episode.
        fired_at: When the current (or last) firing episode began.
        last_true_at: Last breached evaluation.
        cleared_at: First clear evaluation while firing; `keep_firing_for` and the flap hold
            count from it (Prometheus' `KeepFiringSince`).
        last_eval_at: Last evaluation applied.
        fire_starts: Firing starts within the flap window, oldest first.
        flapping: Whether the flapping guard is holding this series.
        evidence: The last evaluation's evidence.
    """

    status: AlertStatus = AlertStatus.OK
    since: datetime | None = None
    active_at: datetime | None = None
    fired_at: datetime | None = None
    last_true_at: datetime | None = None
    cleared_at: datetime | None = None
    last_eval_at: datetime | None = None
    fire_starts: tuple[datetime, ...] = ()
    flapping: bool = False
    evidence: Evidence | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """A status change of one alert series, with the evidence that caused it.

    Attributes:
        at: Evaluation instant.
        from_status: Status before.
        to_status: Status after.
        reason: Why, in words.
        evidence: The evaluation's evidence (value, baseline, bounds, window, segment).
        active_at: Start of the episode (pending/firing), if any.
        flapping: Whether the flapping guard holds the series.
    """

    at: datetime
    from_status: AlertStatus
    to_status: AlertStatus
    reason: str
    evidence: Evidence
    active_at: datetime | None = None
    flapping: bool = False


def step(
    prev: AlertState, ev: Evaluation, policy: StatePolicy
) -> tuple[AlertState, list[Transition]]:
    """Apply one evaluation to one alert series.

    Args:
        prev: The series' state before `ev` (`AlertState()` for a new series).
        ev: The evaluation; evaluations must arrive in time order.
        policy: Timers and no-data / error handling.

    Returns:
        The new state and the transitions it took (empty when the status did not change).
    """
    if prev.last_eval_at is not None and ev.at < prev.last_eval_at:
        return prev, []  # a late duplicate of an evaluation already applied
    outcome = _effective(ev.outcome, policy)
    if outcome is None:  # keep_last
        return replace(prev, last_eval_at=ev.at), []
    base = replace(prev, last_eval_at=ev.at, evidence=ev.evidence)
    if outcome is Outcome.BREACHED:
        new, reason = _on_breach(base, ev.at, policy)
    elif outcome is Outcome.NORMAL:
        new, reason = _on_normal(base, ev.at, policy)
    else:
        status = AlertStatus.NO_DATA if outcome is Outcome.NO_DATA else AlertStatus.ERROR
        new = replace(base, status=status, active_at=None, cleared_at=None)
        reason = ev.evidence.detail or status.value
    if new.status is prev.status:
        return new, []
    new = replace(new, since=ev.at)
    return new, [
        Transition(ev.at, prev.status, new.status, reason, ev.evidence, new.active_at, new.flapping)
    ]


def _effective(outcome: Outcome, policy: StatePolicy) -> Outcome | None:
    """The outcome after the no-data / error policy; None means keep the last state."""
    if outcome is Outcome.NO_DATA:
        return {
            NoDataPolicy.NO_DATA: Outcome.NO_DATA,
            NoDataPolicy.OK: Outcome.NORMAL,
            NoDataPolicy.ALERTING: Outcome.BREACHED,
            NoDataPolicy.KEEP_LAST: None,
        }[policy.no_data]
    if outcome is Outcome.ERROR:
        return {
            ErrorPolicy.ERROR: Outcome.ERROR,
            ErrorPolicy.OK: Outcome.NORMAL,
            ErrorPolicy.ALERTING: Outcome.BREACHED,
            ErrorPolicy.KEEP_LAST: None,
        }[policy.on_error]
    return outcome


def _on_breach(s: AlertState, at: datetime, policy: StatePolicy) -> tuple[AlertState, str]:
    s = replace(s, last_true_at=at, cleared_at=None)
    if s.status is AlertStatus.FIRING:
        return s, "still breached"
    if s.status is AlertStatus.PENDING and s.active_at is not None:
        if at - s.active_at >= policy.for_duration:
            return _fire(s, at, policy), f"breached at every evaluation for {at - s.active_at}"
        return s, "pending"
    # A new episode: ok, resolved, no_data or error.
    s = replace(s, active_at=at)
    if policy.for_duration.total_seconds() == 0:
        return _fire(s, at, policy), "breached (no `for` duration)"
    return replace(s, status=AlertStatus.PENDING), "breached; pending for the `for` duration"


def _fire(s: AlertState, at: datetime, policy: StatePolicy) -> AlertState:
    starts = (*(t for t in s.fire_starts if at - t < policy.flap_window), at)
    flapping = policy.flap_max_starts > 0 and len(starts) >= policy.flap_max_starts
    return replace(s, status=AlertStatus.FIRING, fired_at=at, fire_starts=starts, flapping=flapping)


def _on_normal(s: AlertState, at: datetime, policy: StatePolicy) -> tuple[AlertState, str]:
    if s.status is AlertStatus.FIRING:
        cleared = s.cleared_at if s.cleared_at is not None else at
        s = replace(s, cleared_at=cleared)
        hold = (
            max(policy.keep_firing_for, policy.flap_hold) if s.flapping else policy.keep_firing_for
        )
        if at - cleared < hold:
            flap_holds = s.flapping and policy.flap_hold > policy.keep_firing_for
            return s, f"held firing by {'the flapping guard' if flap_holds else 'keep_firing_for'}"
        starts = tuple(t for t in s.fire_starts if at - t < policy.flap_window)
        flapping = policy.flap_max_starts > 0 and len(starts) >= policy.flap_max_starts
        return (
            replace(
                s,
                status=AlertStatus.RESOLVED,
                cleared_at=None,
                active_at=None,
                fire_starts=starts,
                flapping=flapping,
            ),
            "condition cleared",
        )
    if s.status is AlertStatus.OK:
        return s, ""
    reason = {
        AlertStatus.PENDING: "condition cleared before the `for` duration",
        AlertStatus.RESOLVED: "normal after resolution",
        AlertStatus.NO_DATA: "data again, normal",
        AlertStatus.ERROR: "evaluation succeeded, normal",
    }[s.status]
    return replace(s, status=AlertStatus.OK, active_at=None), reason

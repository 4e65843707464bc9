"""The alert state machine, table-driven on a manual clock (METHODS.md §1.12)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from llmpulse.analysis.detectors.base import Verdict
from llmpulse.clock import ManualClock
from llmpulse.domain.errors import InvalidInput
from llmpulse.monitors.evaluation import Evaluation, Outcome
from llmpulse.monitors.policy import ErrorPolicy, NoDataPolicy, StatePolicy
from llmpulse.monitors.states import AlertState, AlertStatus, Transition, step

T0 = datetime(2026, 11, 14, tzinfo=UTC)
MIN = timedelta(minutes=1)
SEGMENT = (("metadata.region", "eu"),)

# B = breached, . = normal, N = no data, E = error
CODES = {"B": "breached", ".": "normal", "N": "insufficient_data"}


def _evaluation(clock: ManualClock, code: str) -> Evaluation:
    at = clock.now()
    window = (at - 10 * MIN, at)
    if code == "E":
        return Evaluation.failed(at, "query timed out", window=window, detector="zscore")
    status = CODES[code]
    value = None if code == "N" else (900.0 if code == "B" else 200.0)
    verdict = Verdict(status, value, 210.0, None, 450.0, 3.4, "z 3.4")  # type: ignore[arg-type]
    return Evaluation.from_verdict(at, verdict, window=window, detector="zscore", segment=SEGMENT)


def run(
    codes: str, policy: StatePolicy, every: timedelta = MIN
) -> tuple[list[AlertStatus], list[Transition]]:
    """Evaluate `codes` one per interval on a manual clock; statuses after each step."""
    clock = ManualClock(T0)
    state = AlertState()
    statuses: list[AlertStatus] = []
    transitions: list[Transition] = []
    for code in codes:
        state, out = step(state, _evaluation(clock, code), policy)
        statuses.append(state.status)
        transitions += out
        clock.advance(every)
    return statuses, transitions


def _letters(statuses: Sequence[AlertStatus]) -> str:
    short = {
        "ok": "o",
        "pending": "p",
        "firing": "F",
        "resolved": "r",
        "no_data": "n",
        "error": "e",
    }
    return "".join(short[s.value] for s in statuses)


@pytest.mark.parametrize(
    ("codes", "policy", "want"),
    [
        # METHODS.md §1.12 oracle: for 300 s at 60 s: pending at 0..240, firing at 300
        ("BBBBBB", StatePolicy(for_duration=5 * MIN), "pppppF"),
        # false at 180 restarts the timer: new activeAt 240, firing at 540
        ("BBB.BBBBBB", StatePolicy(for_duration=5 * MIN), "pppoppppp" + "F"),
        # without `for` the first breach fires
        ("B", StatePolicy(), "F"),
        ("..BB..", StatePolicy(), "ooFFro"),
        # keep_firing_for 2 min holds a firing alert through two clear evaluations
        ("BB...B..", StatePolicy(keep_firing_for=2 * MIN), "FFFFrFFF"),
        ("BB....", StatePolicy(keep_firing_for=2 * MIN), "FFFFro"),
        # no data: its own state by default, left on the next evaluation with data
        ("BNN.", StatePolicy(), "Fnno"),
        ("pN", StatePolicy(), "on"),
        ("BNB", StatePolicy(no_data=NoDataPolicy.KEEP_LAST), "FFF"),
        ("BN.", StatePolicy(no_data=NoDataPolicy.OK), "Fro"),
        ("NN", StatePolicy(no_data=NoDataPolicy.ALERTING, for_duration=MIN), "pF"),
        # a pending alert does not survive a gap in the data (R3: no data is not a breach)
        ("BNB", StatePolicy(for_duration=MIN), "pnp"),
        # errors
        ("BE.", StatePolicy(), "Feo"),
        ("BEB", StatePolicy(on_error=ErrorPolicy.KEEP_LAST), "FFF"),
        ("E", StatePolicy(on_error=ErrorPolicy.ALERTING), "F"),
        ("E", StatePolicy(on_error=ErrorPolicy.OK), "o"),
    ],
)
def test_step_follows_prometheus_semantics_when_driven_by_a_manual_clock(
    codes: str, policy: StatePolicy, want: str
) -> None:
    codes = codes.replace("p", ".")
    statuses, _ = run(codes, policy)
    assert _letters(statuses) == want


def test_transitions_carry_evidence_and_are_emitted_only_on_change() -> None:
    statuses, transitions = run("BBBBBB..", StatePolicy(for_duration=5 * MIN))
    assert [(t.from_status, t.to_status) for t in transitions] == [
        (AlertStatus.OK, AlertStatus.PENDING),
        (AlertStatus.PENDING, AlertStatus.FIRING),
        (AlertStatus.FIRING, AlertStatus.RESOLVED),
        (AlertStatus.RESOLVED, AlertStatus.OK),
    ]
    firing = transitions[1]
    assert firing.at == T0 + 5 * MIN
    assert firing.active_at == T0
    ev = firing.evidence
    assert (ev.value, ev.baseline, ev.lower, ev.upper, ev.score) == (900.0, 210.0, None, 450.0, 3.4)
    assert (ev.window_start, ev.window_end) == (T0 - 5 * MIN, T0 + 5 * MIN)
    assert ev.segment == SEGMENT
    assert ev.detector == "zscore"
    assert transitions[2].evidence.value == 200.0  # the clearing evaluation's evidence
    assert statuses[-1] is AlertStatus.OK


def test_flapping_guard_holds_a_flapping_alert_as_one_incident() -> None:
    # Alternating breach/clear: without the guard every second minute is a new incident
    codes = "B.B.B.B.B.B." + "." * 20
    off = StatePolicy(flap_max_starts=0)
    _, plain = run(codes, off)
    assert sum(t.to_status is AlertStatus.FIRING for t in plain) == 6
    guard = StatePolicy(flap_max_starts=3, flap_window=timedelta(hours=1), flap_hold=15 * MIN)
    statuses, held = run(codes, guard)
    fires = [t for t in held if t.to_status is AlertStatus.FIRING]
    assert len(fires) == 3  # the third start marks it flapping; then it stays firing
    assert fires[-1].flapping
    resolved = [t for t in held if t.to_status is AlertStatus.RESOLVED]
    # resolves once 15 minutes have passed since the first clear evaluation (minute 11)
    assert resolved[-1].at == T0 + 26 * MIN
    assert statuses[-1] is AlertStatus.OK


def test_flapping_counts_only_starts_inside_the_window() -> None:
    # Three starts 40 minutes apart are not flapping in a 1 h window (only 2 inside)
    codes = ("B." + "." * 38) * 3
    _, transitions = run(codes, StatePolicy(flap_max_starts=3, flap_window=timedelta(hours=1)))
    assert not any(t.flapping for t in transitions)
    assert sum(t.to_status is AlertStatus.FIRING for t in transitions) == 3


def test_late_evaluation_is_ignored_and_policy_is_validated() -> None:
    clock = ManualClock(T0 + MIN)
    state, _ = step(AlertState(), _evaluation(clock, "B"), StatePolicy())
    late = ManualClock(T0)
    again, out = step(state, _evaluation(late, "."), StatePolicy())
    assert (again, out) == (state, [])
    with pytest.raises(InvalidInput) as err:
        StatePolicy(for_duration=-MIN)
    assert err.value.errors[0].path == "for_duration"
    with pytest.raises(InvalidInput):
        Evaluation(datetime(2026, 1, 1), Outcome.NORMAL, state.evidence)  # type: ignore[arg-type]

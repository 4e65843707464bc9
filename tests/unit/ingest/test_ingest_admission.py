"""`ByteBudget`: request body bytes in flight against a bound (#9, item 7)."""

from __future__ import annotations

from llmpulse.ingest.admission import ByteBudget


def test_reservations_fit_until_the_bound_then_are_refused_and_counted() -> None:
    budget = ByteBudget(limit=1000)
    assert budget.try_reserve(600)
    assert budget.try_reserve(400)
    assert not budget.try_reserve(1)
    assert budget.in_flight == 1000
    assert budget.refused == 1
    budget.release(400)
    assert budget.try_reserve(300)
    assert budget.in_flight == 900


def test_a_body_larger_than_the_bound_is_taken_only_when_nothing_is_in_flight() -> None:
    budget = ByteBudget(limit=1000)
    assert budget.try_reserve(5000)
    assert not budget.try_reserve(10)
    budget.release(5000)
    assert budget.in_flight == 0
    assert budget.try_reserve(10)
    assert not budget.try_reserve(5000)


def test_release_never_goes_below_zero_and_empty_bodies_always_fit() -> None:
    budget = ByteBudget(limit=10)
    budget.release(50)
    assert budget.in_flight == 0
    assert budget.try_reserve(10)
    assert budget.try_reserve(0)
    assert budget.refused == 0


def test_retry_after_grows_with_the_backlog_within_1_to_30_seconds() -> None:
    budget = ByteBudget(limit=100)
    assert budget.retry_after_s() == 1
    budget.try_reserve(5000)
    assert budget.retry_after_s() == 30
    budget.release(4850)
    assert budget.retry_after_s() == 2

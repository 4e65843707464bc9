"""EventStore contract: sessions and users views, on planted sessions.

Planted: session ``s-a`` (user ``u-1``) has three turns, each a trace of a root and an LLM
child, planted out of order; session ``s-b`` (user ``u-1``) has one failing turn; session
``s-c`` (user ``u-2``) one turn with feedback (one judgement replaced by a later one of the
same name); and a trace with no session or user at all.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_factories import T0, make_annotation, make_span, span_id, trace_id

from llmpulse.domain.cohorts import Condition
from llmpulse.domain.errors import InvalidInput
from llmpulse.domain.ids import ProjectName
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Span, SpanKind, StatusCode
from llmpulse.store.api import AttrEquals, EventStore, SpanQuery, TimeRange
from llmpulse.store.metric_api import MetricQuery
from llmpulse.store.sessions_api import SessionQuery, SessionSort

P = ProjectName("default")


def _turn(
    t: int, minute: int, session: str | None, user: str | None, **child: object
) -> list[Span]:
    start = T0 + timedelta(minutes=minute)
    root = make_span(
        t * 10,
        trace_id=trace_id(t),
        name="chat",
        kind=SpanKind.CHAIN,
        start_time=start,
        end_time=start + timedelta(seconds=2),
        session_id=session,
        user_id=user,
        input_value=f"question {t}",
        output_value=f"answer {t}",
    )
    llm = make_span(
        t * 10 + 1,
        trace_id=trace_id(t),
        parent_span_id=span_id(t * 10),
        start_time=start + timedelta(milliseconds=100),
        end_time=start + timedelta(seconds=1),
        session_id=session,
        user_id=user,
        total_tokens=100 * t,
        cost_usd=0.001 * t,
        **child,
    )
    return [llm, root]  # the child first: a turn is shown by its root, whatever the order


@pytest.fixture
def store(event_store: EventStore) -> EventStore:
    spans = [
        *_turn(3, 30, "s-a", "u-1"),
        *_turn(1, 10, "s-a", "u-1"),
        *_turn(2, 20, "s-a", "u-1"),
        *_turn(4, 40, "s-b", "u-1", status_code=StatusCode.ERROR),
        *_turn(5, 50, "s-c", "u-2"),
        *_turn(6, 60, None, None),
    ]
    event_store.append_spans(spans)
    event_store.append_annotations(
        [
            make_annotation(50, id="ann-50-old", created_at=T0, score=0.2),  # replaced:
            make_annotation(50, score=1.0),  # the latest of its name on its span counts
            make_annotation(51, id="ann-51b", score=0.0),
        ]
    )
    return event_store


def test_sessions_count_turns_and_sum_totals(store: EventStore) -> None:
    rows = {r.session_id: r for r in store.sessions(SessionQuery(P))}
    assert set(rows) == {"s-a", "s-b", "s-c"}  # the trace without a session is no session
    a = rows["s-a"]
    assert (a.turns, a.spans, a.user_id) == (3, 6, "u-1")
    assert a.total_tokens == 600
    assert a.cost_usd == pytest.approx(0.006)
    assert a.first_seen == T0 + timedelta(minutes=10)
    assert a.last_seen == T0 + timedelta(minutes=30, seconds=2)
    assert (a.errors, rows["s-b"].errors) == (0, 1)
    c = rows["s-c"]
    assert c.feedback.count == 2
    assert c.feedback.mean_score == pytest.approx(0.5)
    assert (a.feedback.count, a.feedback.mean_score) == (0, None)


@pytest.mark.parametrize(
    ("sort", "descending", "expected"),
    [
        (SessionSort.LAST_SEEN, True, ["s-c", "s-b", "s-a"]),
        (SessionSort.FIRST_SEEN, False, ["s-a", "s-b", "s-c"]),
        (SessionSort.TURNS, True, ["s-a", "s-b", "s-c"]),
        (SessionSort.TOKENS, True, ["s-a", "s-c", "s-b"]),
        (SessionSort.COST, False, ["s-b", "s-c", "s-a"]),
        (SessionSort.ERRORS, True, ["s-b", "s-a", "s-c"]),
        (SessionSort.FEEDBACK, True, ["s-c", "s-a", "s-b"]),
    ],
)
def test_sessions_sort_both_ways(
    store: EventStore, sort: SessionSort, descending: bool, expected: list[str]
) -> None:
    rows = store.sessions(SessionQuery(P, sort=sort, descending=descending))
    assert [r.session_id for r in rows] == expected


def test_sessions_of_one_user_within_a_time_range_and_limit(store: EventStore) -> None:
    assert [r.session_id for r in store.sessions(SessionQuery(P, user_id="u-1"))] == [
        "s-b",
        "s-a",
    ]
    late = TimeRange(start=T0 + timedelta(minutes=35))
    assert [r.session_id for r in store.sessions(SessionQuery(P, time=late))] == ["s-c", "s-b"]
    assert len(store.sessions(SessionQuery(P, limit=1))) == 1
    with pytest.raises(InvalidInput) as err:
        store.sessions(SessionQuery(P, limit=0))
    assert err.value.errors[0].path == "limit"


def test_session_turns_come_in_order_with_input_output_and_trace(store: EventStore) -> None:
    turns = store.session_turns(P, "s-a")
    assert [t.trace_id for t in turns] == [trace_id(1), trace_id(2), trace_id(3)]
    assert [t.span_id for t in turns] == [span_id(10), span_id(20), span_id(30)]
    assert [(t.input_value, t.output_value) for t in turns] == [
        ("question 1", "answer 1"),
        ("question 2", "answer 2"),
        ("question 3", "answer 3"),
    ]
    assert [t.total_tokens for t in turns] == [100, 200, 300]
    assert store.session_turns(P, "s-b")[0].errors == 1
    assert store.session_turns(P, "no-such-session") == []
    assert store.session_turns(ProjectName("other"), "s-a") == []


def test_users_sum_their_sessions(store: EventStore) -> None:
    rows = {r.user_id: r for r in store.users(SessionQuery(P, sort=SessionSort.TOKENS))}
    assert set(rows) == {"u-1", "u-2"}
    u1 = rows["u-1"]
    assert (u1.sessions, u1.traces, u1.spans, u1.errors) == (2, 4, 8, 1)
    assert u1.total_tokens == 1000
    assert u1.cost_usd == pytest.approx(0.010)
    assert rows["u-2"].feedback.count == 2
    ordered = store.users(SessionQuery(P, sort=SessionSort.TOKENS, descending=False))
    assert [r.user_id for r in ordered] == ["u-2", "u-1"]
    assert [r.user_id for r in store.users(SessionQuery(P, user_id="u-2"))] == ["u-2"]


@pytest.mark.parametrize(("alias", "column"), [("session.id", "s-a"), ("user.id", "u-2")])
def test_openinference_names_work_as_filter_keys(
    store: EventStore, alias: str, column: str
) -> None:
    page = store.list_spans(SpanQuery(P, attributes=(AttrEquals(alias, column),)))
    expected = 6 if alias == "session.id" else 2
    assert len(page.items) == expected


@pytest.mark.parametrize(
    ("alias", "column"), [("session.id", "session_id"), ("user.id", "user_id")]
)
def test_openinference_names_group_like_their_columns(
    store: EventStore, alias: str, column: str
) -> None:
    def groups(key: str) -> dict[tuple[str | None, ...], int]:
        frame = store.metric(MetricQuery(P, (parse_metric("count"),), group_by=(key,)))
        return {r.group: r.n for r in frame.rows}

    assert groups(alias) == groups(column)
    assert groups(alias)[("u-1",) if alias == "user.id" else ("s-a",)] > 0


def test_openinference_names_work_in_cohort_conditions(store: EventStore) -> None:
    def count(key: str) -> int:
        cond = Condition(key, "in", ("u-2", "s-b"))
        return len(store.list_spans(SpanQuery(P, conditions=(cond,))).items)

    assert count("user.id") == count("user_id") == 2
    assert count("session.id") == count("session_id") == 2

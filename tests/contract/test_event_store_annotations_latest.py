"""EventStore contract: a span's latest annotation gives its label and its score together."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_factories import T0, make_span

from llmpulse.domain.ids import PredictionId, ProjectName, SpanId
from llmpulse.domain.metrics import parse_metric
from llmpulse.domain.spans import Annotation
from llmpulse.store.api import EventStore
from llmpulse.store.metric_api import MetricQuery

P = ProjectName("default")


def _note(
    id_: str,
    *,
    span: int | None = None,
    prediction: str | None = None,
    minutes: int,
    label: str | None,
    score: float | None,
) -> Annotation:
    return Annotation(
        id=id_,
        project=P,
        span_id=None if span is None else SpanId(make_span(span).span_id),
        prediction_id=None if prediction is None else PredictionId(prediction),
        name="quality",
        annotator_kind="HUMAN",
        created_at=T0 + timedelta(minutes=minutes),
        label=label,
        score=score,
    )


def test_label_and_score_come_from_the_same_latest_annotation(event_store: EventStore) -> None:
    event_store.append_spans(
        [make_span(1), make_span(2), make_span(3), make_span(4, prediction_id="p-4")]
    )
    event_store.append_annotations(
        [
            # span 1: the newer verdict has a label and no score: no score, not the old one
            _note("a-old", span=1, minutes=1, label="good", score=0.9),
            _note("a-new", span=1, minutes=5, label="bad", score=None),
            # span 2: two verdicts at the same instant: the id breaks the tie, for both fields
            _note("b-1", span=2, minutes=3, label="bad", score=1.0),
            _note("b-2", span=2, minutes=3, label="fine", score=2.0),
            # span 3: the newer verdict has a score and no label
            _note("c-old", span=3, minutes=1, label="good", score=0.8),
            _note("c-new", span=3, minutes=2, label=None, score=0.1),
            # span 4: a newer verdict on its prediction id supersedes the one on the span
            _note("d-span", span=4, minutes=1, label="good", score=1.0),
            _note("d-pred", prediction="p-4", minutes=9, label="bad", score=0.0),
        ]
    )
    q = MetricQuery(
        P,
        (
            parse_metric("annotation.quality.label=bad:rate"),
            parse_metric("annotation.quality.score:mean"),
        ),
    )
    (row,) = event_store.metric(q).rows
    # latest labels: bad, fine, (none), bad; latest scores: (none), 2.0, 0.1, 0.0
    assert row.support == (3, 3)
    assert row.values[0] == pytest.approx(2 / 3)
    assert row.values[1] == pytest.approx((2.0 + 0.1 + 0.0) / 3)

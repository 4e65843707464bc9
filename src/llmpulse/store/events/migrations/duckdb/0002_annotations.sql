-- Annotations: labels, scores and explanations on a span or on a prediction id.
-- Column names and order follow llmpulse.store.events.columns.ANNOTATION_COLUMNS.
CREATE TABLE annotations (
    id             VARCHAR NOT NULL,
    project        VARCHAR NOT NULL,
    span_id        VARCHAR,
    prediction_id  VARCHAR,
    name           VARCHAR NOT NULL,
    annotator_kind VARCHAR NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    label          VARCHAR,
    score          DOUBLE,
    explanation    VARCHAR,
    metadata       JSON
);

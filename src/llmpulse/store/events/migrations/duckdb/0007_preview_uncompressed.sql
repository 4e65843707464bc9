-- Spans, physical layout v8 (docs/adr/0047-scattered-rows-read-plain-previews.md): the same
-- columns, with input_preview stored uncompressed. Pages sorted by latency, tokens, cost or a
-- trace's totals read ~100 rows scattered over the table. Read by row id, a preview in
-- DuckDB's dictionary+FSST strings costs ~0.2 ms per row group touched, however few of its
-- rows are read (~14 ms of such a page at 1M spans); uncompressed, ~0.02 ms. Existing rows
-- are copied in their stored order, as in 0006.
CREATE TABLE spans_v8 (
    project             VARCHAR NOT NULL,
    trace_id            VARCHAR NOT NULL,
    span_id             VARCHAR NOT NULL,
    parent_span_id      VARCHAR,
    name                VARCHAR NOT NULL,
    kind                VARCHAR NOT NULL,
    start_time          TIMESTAMP NOT NULL,
    end_time            TIMESTAMP NOT NULL,
    latency_ms          DOUBLE NOT NULL,
    status_code         VARCHAR NOT NULL,
    status_message      VARCHAR USING COMPRESSION zstd NOT NULL,
    model               VARCHAR,
    provider            VARCHAR,
    prompt_tokens       BIGINT,
    completion_tokens   BIGINT,
    total_tokens        BIGINT,
    cost_usd            DOUBLE,
    session_id          VARCHAR,
    user_id             VARCHAR,
    environment         VARCHAR,
    version             VARCHAR,
    prediction_id       VARCHAR,
    http_status         BIGINT,
    input_value         VARCHAR USING COMPRESSION zstd,
    output_value        VARCHAR USING COMPRESSION zstd,
    exception_type      VARCHAR,
    exception_message   VARCHAR USING COMPRESSION zstd,
    input_messages      JSON USING COMPRESSION zstd,
    output_messages     JSON USING COMPRESSION zstd,
    documents           JSON USING COMPRESSION zstd,
    events              JSON USING COMPRESSION zstd,
    metadata            JSON,
    attributes          JSON USING COMPRESSION zstd,
    resource_attributes JSON USING COMPRESSION zstd,
    tags                VARCHAR[],
    metadata_kv         VARCHAR[],
    search_text         VARCHAR,
    input_preview       VARCHAR USING COMPRESSION uncompressed
);
INSERT INTO spans_v8 SELECT * FROM spans;
DROP TABLE spans;
ALTER TABLE spans_v8 RENAME TO spans;

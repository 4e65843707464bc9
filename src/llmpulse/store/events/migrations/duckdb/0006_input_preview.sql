-- Spans, physical layout v7 (docs/adr/0045-narrow-listing-rows.md): adds input_preview, the
-- start of a span's input value (or of its last input message's content), which
-- the store also derives on insert (llmpulse.store.events.layout.INPUT_PREVIEW_SQL). A table of
-- spans sorted by latency, tokens or cost reads it instead of the bulky zstd columns. Existing
-- rows are copied in their stored order, without a sort: the table is already in about
-- (project, start_time) order, and a sort of a large table spills as much again to disk.
-- The preview is stored uncompressed (docs/adr/0047-scattered-rows-read-plain-previews.md):
-- read by row id, a compressed string costs ~0.2 ms per row group touched, and a sorted page
-- reads 100 rows scattered over the table. Tables this made before that line was added keep
-- compressed previews until a compaction (`llmpulse db compact`), whose new file is made by
-- these migrations; both layouts hold the same values.
CREATE TABLE spans_v7 (
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
INSERT INTO spans_v7 SELECT *, left(coalesce(nullif(input_value, ''), json_extract_string(input_messages, '$[#-1].content')), 161) FROM spans;
DROP TABLE spans;
ALTER TABLE spans_v7 RENAME TO spans;

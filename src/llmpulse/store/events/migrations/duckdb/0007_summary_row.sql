-- Spans, physical layout v8 (docs/adr/0057-summary-rows-in-one-column.md): replaces
-- input_preview by summary_row, a span's summary row (the columns a table of spans shows, the
-- input as its preview) as one JSON array, which the store also derives on insert
-- (llmpulse.store.events.layout.SUMMARY_ROW_SQL). A page read by row id (sorted by latency,
-- tokens or cost, traces by their totals, search matches) then reads one column's segment per
-- row instead of ~26. Existing rows are copied in their stored order, without a sort, as in
-- 0006; the file keeps the old table's blocks free until a compaction (`llmpulse db compact`,
-- or the automatic one once the file is fragmented).
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
    summary_row         VARCHAR
);
INSERT INTO spans_v8 SELECT * EXCLUDE (input_preview), json_array(project, trace_id, span_id, parent_span_id, name, kind, epoch_us(start_time), epoch_us(end_time), latency_ms, status_code, model, provider, prompt_tokens, completion_tokens, total_tokens, cost_usd, session_id, user_id, environment, version, prediction_id, http_status, left(coalesce(nullif(input_value, ''), json_extract_string(input_messages, '$[#-1].content')), 161), exception_type, metadata::VARCHAR, tags) FROM spans;
DROP TABLE spans;
ALTER TABLE spans_v8 RENAME TO spans;

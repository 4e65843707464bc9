-- Spans, physical layout v3 (docs/adr/0010-per-column-compression.md and
-- docs/adr/0011-promoted-metadata-pairs.md); the logical columns are unchanged.
-- * zstd only for the bulky text and JSON columns (prompts, answers, documents, attributes);
--   ids, names, project, parent_span_id and the small metadata JSON keep DuckDB's own choice
--   (dictionary/FSST), so filters on them read a few kB per row group instead of
--   decompressing every value.
-- * metadata_kv: every top-level metadata entry whose key a query may name, as
--   key || chr(31) || json_extract_string(metadata, key), filled by the store on insert, so
--   an equality filter on a metadata key is a list lookup rather than a JSON parse per row.
-- Existing rows are copied in (project, start_time) order, which also packs the file.
CREATE TABLE spans_v3 (
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
    metadata_kv         VARCHAR[]
);
INSERT INTO spans_v3 SELECT *, list_transform(list_filter(json_keys(metadata), lambda k: regexp_full_match(k, '[A-Za-z0-9_][A-Za-z0-9_.:/@-]{0,255}')), lambda k: k || chr(31) || json_extract_string(metadata, '$."' || k || '"')) FROM spans ORDER BY project, start_time;
DROP TABLE spans;
ALTER TABLE spans_v3 RENAME TO spans;

-- Spans stored twice before copies were dropped on the append path (an exporter's retry; see
-- store/events/dedupe.py and ADR 0014): keep the first stored row of each
-- (project, trace_id, span_id, start_time), so that old data also counts each span once.
DELETE FROM spans WHERE rowid IN (
    SELECT rowid FROM (
        SELECT rowid, row_number() OVER (
            PARTITION BY project, trace_id, span_id, start_time ORDER BY rowid
        ) AS copy
        FROM spans
    ) WHERE copy > 1
);

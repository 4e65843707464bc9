-- Span counts per 10-minute slot, root or not, and latency bin (docs/adr/0021-span-sketch.md):
-- metric queries of counts, and approximate latency quantiles, read these for the whole
-- slots of their time range. The store adds each batch's counts in the transaction that
-- inserts it (store/events/sketch.py holds the same expressions; a test checks the text).
CREATE TABLE span_sketch (
    project VARCHAR NOT NULL,
    slot    BIGINT NOT NULL,
    root    BOOLEAN NOT NULL,
    bin     INTEGER NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (project, slot, root, bin)
);
INSERT INTO span_sketch SELECT project, ((epoch_us(start_time) + 62135596800000000) // 600000000) AS slot, (parent_span_id IS NULL) AS root, CASE WHEN latency_ms > 0 THEN CAST(ceil(ln(latency_ms) / 0.020000666706669435) AS INTEGER) ELSE -1000000 END AS bin, count(*) AS n FROM spans GROUP BY ALL ON CONFLICT DO UPDATE SET n = n + EXCLUDED.n;

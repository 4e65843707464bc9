-- The highest ingest-journal sequence whose spans this database holds (store/journal.py):
-- updated in the same transaction as the spans, so a replay after a crash adds each record once.
CREATE TABLE ingest_journal (
    id          INTEGER PRIMARY KEY,
    applied_seq BIGINT NOT NULL
);
INSERT INTO ingest_journal VALUES (1, 0);

-- Records without a unique index of every id. That index was the spool's dedup of a re-delivered
-- batch, and it cost about a sixth of the extension's CPU: each append wrote an entry of 45 to 60
-- bytes into it beside each row, and each settle deleted it again (BENCHMARKS.md, 2026-12-07
-- (tenth)). A re-delivered batch is known by its digest, which ingest keeps in applied_deliveries
-- (migration 0005): its records are counted as duplicates and never appended. Only keyed records
-- are indexed by id: those whose id a later delivery or process makes again (an invocation's
-- summary, a health document), kept once while one waits, and found by it when one replaces it.
-- A document stored twice anyway (a re-delivery older than the digests kept) is refused by
-- OpenSearch for its id (`create`): OpenSearch indexes each id once.

CREATE TABLE records_0010 (
    seq         INTEGER PRIMARY KEY,
    -- The deterministic OpenSearch _id.
    doc_id      TEXT    NOT NULL,
    index_name  TEXT    NOT NULL,
    event_time  INTEGER NOT NULL, -- ms since the epoch, from the event
    received_at INTEGER NOT NULL, -- ms since the epoch
    -- When a record may be leased: its arrival for a fresh record, the next attempt's time after a
    -- retry. Leases themselves live in the owning process: a lease never outlives its shipper.
    due_at      INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    bytes       INTEGER NOT NULL, -- UTF-8 length of document
    -- 1: shipped with `index` (it overwrites the document of its id), else with `create`.
    replaces    INTEGER NOT NULL DEFAULT 0,
    -- 1: its id is unique among the waiting records (records_keyed_ids).
    keyed       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO records_0010 (seq, doc_id, index_name, event_time, received_at, due_at, attempts, last_error, bytes, replaces)
    SELECT seq, doc_id, index_name, event_time, received_at, due_at, attempts, last_error, bytes, replaces FROM records;
DROP TABLE records;
ALTER TABLE records_0010 RENAME TO records;
CREATE INDEX records_retry_due ON records (due_at) WHERE attempts > 0;
CREATE UNIQUE INDEX records_keyed_ids ON records (doc_id) WHERE keyed = 1;

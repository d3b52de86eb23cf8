-- The spool: every accepted telemetry document, kept until OpenSearch has answered for it.
-- seq is the rowid and is never reused (counters.last_seq): the table is in arrival order, and a
-- record appended later always sorts after every record handed out before.
CREATE TABLE records (
    seq         INTEGER PRIMARY KEY,
    -- The deterministic OpenSearch _id, and the dedup key of a re-delivered batch. Ids begin with
    -- the event time, so this index grows at its right edge like the table does.
    doc_id      TEXT    NOT NULL UNIQUE,
    index_name  TEXT    NOT NULL,
    event_time  INTEGER NOT NULL, -- ms since the epoch, from the event
    received_at INTEGER NOT NULL, -- ms since the epoch
    -- When a record may be leased: its arrival for a fresh record, the next attempt's time after a
    -- retry. Leases themselves live in the owning process: a lease never outlives its shipper.
    due_at      INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    bytes       INTEGER NOT NULL, -- UTF-8 length of document
    document    TEXT    NOT NULL  -- the JSON document as it will be indexed
);
-- Fresh records are leased in seq order from the table itself; only retried records need an index
-- on their due time, so an append maintains the table and the id index and nothing else.
CREATE INDEX records_retry_due ON records (due_at) WHERE attempts > 0;

-- Monotonic counters that survive restarts; updated in the same transaction as what they count.
CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO counters (name) VALUES
    ('received'), ('stored'), ('duplicate'), ('shipped'), ('retried'), ('dropped'),
    ('left_at_shutdown'), ('quarantined'),
    ('last_seq'); -- the highest seq ever assigned; not a statistic

-- Facts about this spool, such as when it was created.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

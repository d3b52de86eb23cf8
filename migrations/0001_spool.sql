-- The spool: every accepted telemetry document, kept until OpenSearch has answered for it.
-- Rows are appended in arrival order; seq is the rowid, so the table itself is in that order.
CREATE TABLE records (
    seq         INTEGER PRIMARY KEY,
    -- The deterministic OpenSearch _id, and the dedup key of a re-delivered batch. Ids begin with
    -- the event time, so this index grows at its right edge like the table does.
    doc_id      TEXT    NOT NULL UNIQUE,
    index_name  TEXT    NOT NULL,
    event_time  INTEGER NOT NULL, -- ms since the epoch, from the event
    received_at INTEGER NOT NULL, -- ms since the epoch
    -- A record may be leased once due_at <= now; a retry moves it to the next attempt's time.
    -- Leases themselves live in the owning process: a lease never outlives its shipper.
    due_at      INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    bytes       INTEGER NOT NULL, -- UTF-8 length of document
    document    TEXT    NOT NULL  -- the JSON document as it will be indexed
);
CREATE INDEX records_due ON records (due_at, seq);

-- Monotonic counters that survive restarts; updated in the same transaction as what they count.
CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO counters (name) VALUES
    ('received'), ('stored'), ('duplicate'), ('shipped'), ('retried'), ('dropped'),
    ('left_at_shutdown'), ('quarantined');

-- Facts about this spool, such as when it was created.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The whole schema after migration 0010, for a new spool file: the platform gives every new
-- execution environment an empty /tmp, so most cold starts create the spool. Applying the nine
-- migrations one by one there took 13.7 ms of a 23 ms cold start (the renames and dropped
-- columns of 0008 and 0009 make SQLite parse the schema again each time); this script makes the
-- same file in one transaction. Sluice records migrations 1 to 10 as applied with it, and applies
-- any later migration after it as usual. Its statements are the schema's own text (sqlite_master)
-- and rows of a file migrated one by one; MigrationTests checks that the two files are the same.
-- A new migration needs no change here.

CREATE TABLE "records" (
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
CREATE INDEX records_retry_due ON records (due_at) WHERE attempts > 0;
CREATE UNIQUE INDEX records_keyed_ids ON records (doc_id) WHERE keyed = 1;
CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY,
    doc_id      TEXT    NOT NULL,
    index_name  TEXT    NOT NULL,
    event_time  INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    died_at     INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    error_type  TEXT,
    reason      TEXT    NOT NULL,
    bytes       INTEGER NOT NULL,
    document    TEXT    NOT NULL
, echo_key TEXT, echo_at INTEGER, replaces INTEGER NOT NULL DEFAULT 0);
CREATE TABLE totals (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    rows       INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    dead_rows  INTEGER NOT NULL,
    dead_bytes INTEGER NOT NULL
);
CREATE TABLE invocation_marks (
    at          INTEGER NOT NULL,  -- event time, ms since the epoch
    kind        TEXT NOT NULL,     -- 'init', 'start' or 'shutdown'
    request_id  TEXT NOT NULL DEFAULT '',
    trace_id    TEXT,
    detail      TEXT,              -- the initialization type of an init
    PRIMARY KEY (at, kind, request_id)
) WITHOUT ROWID;
CREATE TABLE open_invocations (
    request_id  TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (request_id, started_at)
) WITHOUT ROWID;
CREATE TABLE applied_deliveries (
    id      INTEGER PRIMARY KEY,
    digest  TEXT NOT NULL UNIQUE
);
CREATE TABLE segments (
    slot      INTEGER PRIMARY KEY CHECK (slot BETWEEN 0 AND 7),
    first_seq INTEGER NOT NULL UNIQUE
);
CREATE TABLE "documents_0" (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
CREATE TABLE "documents_1" (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
CREATE TABLE "documents_2" (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
CREATE TABLE "documents_3" (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
CREATE TABLE "documents_4" (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
CREATE TABLE "documents_5" (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
CREATE TABLE "documents_6" (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
CREATE TABLE "documents_7" (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);

INSERT INTO counters (name) VALUES
    ('received'), ('stored'), ('duplicate'), ('shipped'), ('retried'), ('dropped'),
    ('left_at_shutdown'), ('quarantined'), ('last_seq'), ('dead_lettered'), ('requeued'), ('malformed');
INSERT INTO meta (key, value) VALUES ('environment_id', lower(hex(randomblob(8))));
INSERT INTO totals (id, rows, bytes, dead_rows, dead_bytes) VALUES (1, 0, 0, 0, 0);
INSERT INTO segments (slot, first_seq) VALUES (0, 0);

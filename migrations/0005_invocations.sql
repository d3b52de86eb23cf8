-- The invocation view's state, changed in the same transaction as the delivery that changes it, so
-- that a start seen by one process and a report seen by the next (a kill -9 between) still join.

-- Where each log line belongs: the phase boundaries the platform announced (an init or restore
-- began, an invocation started) and the SHUTDOWN the extension received. A line belongs to the
-- newest mark at or before its time. Only the newest few are kept.
CREATE TABLE invocation_marks (
    at          INTEGER NOT NULL,  -- event time, ms since the epoch
    kind        TEXT NOT NULL,     -- 'init', 'start' or 'shutdown'
    request_id  TEXT NOT NULL DEFAULT '',
    trace_id    TEXT,
    detail      TEXT,              -- the initialization type of an init
    PRIMARY KEY (at, kind, request_id)
) WITHOUT ROWID;

-- The join: invocations whose summary is not written yet, with what is known of them so far (a
-- JSON object written and read by ingest).
CREATE TABLE open_invocations (
    request_id  TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (request_id, started_at)
) WITHOUT ROWID;

-- Deliveries whose changes to the state above were made: a re-delivered batch (a lost 200) makes
-- them once. The newest few hundred are kept.
CREATE TABLE applied_deliveries (
    id      INTEGER PRIMARY KEY,
    digest  TEXT NOT NULL UNIQUE
);

-- Records OpenSearch refused for good (mapping or parse errors) or that ran out of attempts or age,
-- kept with the reason and the original document so they can be inspected and requeued.
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
);

INSERT INTO counters (name) VALUES ('dead_lettered'), ('requeued');

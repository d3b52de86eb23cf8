-- A delivery's documents in one row (a run) instead of one row each: a run holds the documents of
-- consecutive seqs from first_seq on, count of them, each an entry of the body:
--     <stored length> <echo_at, 0 for none> <echo_key, empty for none>\n<document>
-- (decimal numbers, one space between the fields), and crc the body's CRC-32: SQLite checks its
-- pages' structure, not their bytes, and a run's bytes are mostly in overflow pages, where a
-- damaged page would otherwise read as documents (NULL for a run made here, not checked). An
-- append inserted a row per record here; a row per delivery takes less CPU per record to write,
-- and a lease reads one row instead of hundreds (BENCHMARKS.md, 2026-12-07 (fourth)). A document
-- of an older spool becomes a run of one.

CREATE TABLE runs_0 (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
INSERT INTO runs_0 (first_seq, count, body)
    SELECT seq, 1, CAST(printf('%d %d %s', length(CAST(document AS BLOB)), coalesce(echo_at, 0), coalesce(echo_key, ''))
        || char(10) || document AS BLOB)
    FROM documents_0;
DROP TABLE documents_0;
ALTER TABLE runs_0 RENAME TO documents_0;

CREATE TABLE runs_1 (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
INSERT INTO runs_1 (first_seq, count, body)
    SELECT seq, 1, CAST(printf('%d %d %s', length(CAST(document AS BLOB)), coalesce(echo_at, 0), coalesce(echo_key, ''))
        || char(10) || document AS BLOB)
    FROM documents_1;
DROP TABLE documents_1;
ALTER TABLE runs_1 RENAME TO documents_1;

CREATE TABLE runs_2 (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
INSERT INTO runs_2 (first_seq, count, body)
    SELECT seq, 1, CAST(printf('%d %d %s', length(CAST(document AS BLOB)), coalesce(echo_at, 0), coalesce(echo_key, ''))
        || char(10) || document AS BLOB)
    FROM documents_2;
DROP TABLE documents_2;
ALTER TABLE runs_2 RENAME TO documents_2;

CREATE TABLE runs_3 (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
INSERT INTO runs_3 (first_seq, count, body)
    SELECT seq, 1, CAST(printf('%d %d %s', length(CAST(document AS BLOB)), coalesce(echo_at, 0), coalesce(echo_key, ''))
        || char(10) || document AS BLOB)
    FROM documents_3;
DROP TABLE documents_3;
ALTER TABLE runs_3 RENAME TO documents_3;

CREATE TABLE runs_4 (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
INSERT INTO runs_4 (first_seq, count, body)
    SELECT seq, 1, CAST(printf('%d %d %s', length(CAST(document AS BLOB)), coalesce(echo_at, 0), coalesce(echo_key, ''))
        || char(10) || document AS BLOB)
    FROM documents_4;
DROP TABLE documents_4;
ALTER TABLE runs_4 RENAME TO documents_4;

CREATE TABLE runs_5 (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
INSERT INTO runs_5 (first_seq, count, body)
    SELECT seq, 1, CAST(printf('%d %d %s', length(CAST(document AS BLOB)), coalesce(echo_at, 0), coalesce(echo_key, ''))
        || char(10) || document AS BLOB)
    FROM documents_5;
DROP TABLE documents_5;
ALTER TABLE runs_5 RENAME TO documents_5;

CREATE TABLE runs_6 (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
INSERT INTO runs_6 (first_seq, count, body)
    SELECT seq, 1, CAST(printf('%d %d %s', length(CAST(document AS BLOB)), coalesce(echo_at, 0), coalesce(echo_key, ''))
        || char(10) || document AS BLOB)
    FROM documents_6;
DROP TABLE documents_6;
ALTER TABLE runs_6 RENAME TO documents_6;

CREATE TABLE runs_7 (first_seq INTEGER PRIMARY KEY, count INTEGER NOT NULL, body BLOB NOT NULL, crc INTEGER);
INSERT INTO runs_7 (first_seq, count, body)
    SELECT seq, 1, CAST(printf('%d %d %s', length(CAST(document AS BLOB)), coalesce(echo_at, 0), coalesce(echo_key, ''))
        || char(10) || document AS BLOB)
    FROM documents_7;
DROP TABLE documents_7;
ALTER TABLE runs_7 RENAME TO documents_7;

-- Documents apart from their records, in 8 tables that are cleared whole. A shipped record's row
-- goes at its settle; its document stays in its table until every record of that table's seqs is
-- settled, and the table is then emptied with one `DELETE` without `WHERE`, which frees its pages
-- without writing them. Deleting the rows of 2,800 documents of 1 KB wrote about 200 pages of the
-- WAL (SQLite writes every page a delete changes, also one that ends free), where emptying a table
-- writes 4; the rows left in `records` are small, so a settle deletes few pages of them.

CREATE TABLE documents_0 (seq INTEGER PRIMARY KEY, document TEXT NOT NULL, echo_key TEXT, echo_at INTEGER);
CREATE TABLE documents_1 (seq INTEGER PRIMARY KEY, document TEXT NOT NULL, echo_key TEXT, echo_at INTEGER);
CREATE TABLE documents_2 (seq INTEGER PRIMARY KEY, document TEXT NOT NULL, echo_key TEXT, echo_at INTEGER);
CREATE TABLE documents_3 (seq INTEGER PRIMARY KEY, document TEXT NOT NULL, echo_key TEXT, echo_at INTEGER);
CREATE TABLE documents_4 (seq INTEGER PRIMARY KEY, document TEXT NOT NULL, echo_key TEXT, echo_at INTEGER);
CREATE TABLE documents_5 (seq INTEGER PRIMARY KEY, document TEXT NOT NULL, echo_key TEXT, echo_at INTEGER);
CREATE TABLE documents_6 (seq INTEGER PRIMARY KEY, document TEXT NOT NULL, echo_key TEXT, echo_at INTEGER);
CREATE TABLE documents_7 (seq INTEGER PRIMARY KEY, document TEXT NOT NULL, echo_key TEXT, echo_at INTEGER);

-- Which table holds which seqs: each from its first_seq up to the next one's, the newest from its
-- first_seq on. A table not named here is empty.
CREATE TABLE segments (
    slot      INTEGER PRIMARY KEY CHECK (slot BETWEEN 0 AND 7),
    first_seq INTEGER NOT NULL UNIQUE
);

-- What waits now goes into the first table, which then holds every seq.
INSERT INTO documents_0 (seq, document, echo_key, echo_at) SELECT seq, document, echo_key, echo_at FROM records;
INSERT INTO segments (slot, first_seq) VALUES (0, 0);
ALTER TABLE records DROP COLUMN document;
ALTER TABLE records DROP COLUMN echo_key;
ALTER TABLE records DROP COLUMN echo_at;

-- A record that replaces the document of its id (an invocation's summary written `incomplete` at
-- SHUTDOWN, then completed by a report that came later): appended in place of a row with its id
-- still in the spool, and shipped with an `index` action, which overwrites one already indexed,
-- instead of `create`, which keeps the first. 0 for every other record.
ALTER TABLE records ADD COLUMN replaces INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN replaces INTEGER NOT NULL DEFAULT 0;

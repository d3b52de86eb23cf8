-- A member a document repeats (a text line's `record` repeats its `message`, a JSON line's
-- `fields` its `record`) is stored once: the document is kept without it, and these two columns
-- say which key repeats the value of the document's last member and where that value begins. The
-- spool hands out the whole document; NULL is a document stored whole.
ALTER TABLE records ADD COLUMN echo_key TEXT;
ALTER TABLE records ADD COLUMN echo_at INTEGER;
ALTER TABLE dead_letters ADD COLUMN echo_key TEXT;
ALTER TABLE dead_letters ADD COLUMN echo_at INTEGER;

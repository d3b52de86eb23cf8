-- What the telemetry listener needs from the spool.
-- Deliveries refused as malformed (answered 400, nothing stored).
INSERT INTO counters (name) VALUES ('malformed');

-- A random id for the execution environment that owns this file. Document ids carry it, so two
-- environments of one function that receive the same log line at the same millisecond never
-- produce the same id. /tmp belongs to one environment, so one spool file means one environment.
INSERT INTO meta (key, value) VALUES ('environment_id', lower(hex(randomblob(8))));

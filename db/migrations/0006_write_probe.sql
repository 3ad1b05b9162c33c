-- The write probe's row. GET /health proves that the database can be written by updating it
-- (at most once a second per handler process, core/write_probe.cpp), so a read-only or failing
-- database shows there before a submission fails. Always this one row: the probe never grows
-- the database.
CREATE TABLE write_probe (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at TEXT NOT NULL  -- the last probe that committed
);

INSERT INTO write_probe (id, probed_at) VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

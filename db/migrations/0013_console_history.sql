-- The console's chart of the last hour (GET /api/v1/metrics/history): tasks started a minute,
-- read as an index range over the hour instead of a scan of the whole table (those finished a
-- minute are ranges of retention's tasks_finished, 0012). Partial: a queued task has no start.
CREATE INDEX tasks_by_started ON tasks (started_at) WHERE started_at IS NOT NULL;

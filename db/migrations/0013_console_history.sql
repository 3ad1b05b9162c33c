-- The console's chart of the last hour (GET /api/v1/metrics/history): tasks started and
-- finished a minute, read as index ranges over the hour instead of a scan of the whole table.
-- Partial: a queued task has neither time, and is in neither index until it has.
CREATE INDEX tasks_by_started ON tasks (started_at) WHERE started_at IS NOT NULL;
CREATE INDEX tasks_by_finished ON tasks (finished_at) WHERE finished_at IS NOT NULL;

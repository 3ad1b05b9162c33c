-- Retention (core/retention.cpp): finished tasks are deleted by their end time, per status, so
-- the pruner reads one range of this index per status, oldest first, instead of the table.
-- Only ended tasks are in it (finished_at is set exactly when a task ends), so the queue's
-- writes never touch it: a task costs one entry here, written once, when it ends.
CREATE INDEX tasks_finished ON tasks (status, finished_at) WHERE finished_at IS NOT NULL;

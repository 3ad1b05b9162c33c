-- What each POST /api/v1/tasks writes beside its task row (issue 10). A task's first
-- transition (none -> queued at its created_at) was a row of its own in task_transitions,
-- written by a trigger on every insert: about a third of an insert's work in the group commit
-- (16.7k against 24.5k inserts/s, 50 to a transaction) and some 120 bytes a task (the row and
-- its index entry) saying what the task row says already. The table now keeps the changes after
-- the submission, and task_transitions is a view that gives the submission from the task row,
-- so every query of it answers as before.
DROP TRIGGER tasks_record_submission;

-- Submissions that say no more than the task row; any other (a task inserted in another status)
-- stays stored, and the view then gives that one instead of making one up.
DELETE FROM task_transitions
WHERE from_status IS NULL AND to_status = 'queued'
  AND at = (SELECT created_at FROM tasks WHERE tasks.id = task_transitions.task_id);

-- The runner's trigger (tasks_record_transition) follows the rename.
ALTER TABLE task_transitions RENAME TO task_status_changes;
DROP INDEX task_transitions_by_task;
CREATE INDEX task_status_changes_by_task ON task_status_changes (task_id, id);

-- id is NULL for the submission, which is not a stored row: ORDER BY id still lists a task's
-- transitions oldest first. Across tasks, order by at, then id.
CREATE VIEW task_transitions AS
SELECT NULL AS id, t.id AS task_id, NULL AS from_status, 'queued' AS to_status,
       t.created_at AS at
FROM tasks t
WHERE NOT EXISTS (SELECT 1 FROM task_status_changes c
                  WHERE c.task_id = t.id AND c.from_status IS NULL)
UNION ALL
SELECT id, task_id, from_status, to_status, at FROM task_status_changes;

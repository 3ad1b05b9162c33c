-- Views for an auditor with sqlite3 (docs/audit.md asks its questions through them): what ran,
-- which commands and files it touched, who changed the configuration and the keys, and what
-- failed. They read what the runner stores anyway (each step's input JSON and output text), so
-- auditing adds no work to the runner's writes; they only read, so
-- `sqlite3 -readonly` works on a live database.
--
-- Parsed outputs rely on text the runner itself writes before anything a tool returns:
-- run_command's output starts with "exit code N", "killed by signal N (...)" or "timed out
-- after ..." (runner/tools/run_command.cpp), on a line of its own, ahead of the command's stdout.

-- Who made a key and who revoked it (the local user running `task-runner keys`), written in the
-- same statement as the key's own row, so a key change is never without its author.
ALTER TABLE api_keys ADD COLUMN created_by TEXT;
ALTER TABLE api_keys ADD COLUMN revoked_by TEXT;

-- One row per task: what it was asked, for whom, run how, and what it cost. Tokens are summed
-- over the model-call steps of every attempt (the steps' own columns: metrics' shape may change).
CREATE VIEW audit_tasks AS
SELECT t.id AS task_id,
       t.task,
       t.owner,                                 -- the submitting key's owner; NULL: no auth
       t.batch_id,
       t.priority,
       t.status,
       t.provider,
       t.model,
       t.created_at,
       t.started_at,
       t.finished_at,
       CAST(round((julianday(t.finished_at) - julianday(t.started_at)) * 86400000) AS INTEGER)
           AS duration_ms,
       t.attempts,
       (SELECT count(*) FROM steps s WHERE s.task_id = t.id AND s.tool IS NOT NULL) AS tool_calls,
       coalesce((SELECT sum(s.tokens_input) FROM steps s WHERE s.task_id = t.id), 0)
           AS tokens_input,
       coalesce((SELECT sum(s.tokens_output) FROM steps s WHERE s.task_id = t.id), 0)
           AS tokens_output,
       t.error_code,
       t.error_message,
       json_extract(t.context, '$.working_directory') AS working_directory, -- NULL: the default
       t.metadata
FROM tasks t;

-- Every command a task asked to run, in the order it ran: refused ones too (exit_code NULL,
-- the refusal in error), and ones whose runner died (outcome 'interrupted').
CREATE VIEW audit_commands AS
SELECT s.task_id,
       t.owner,
       s.attempt,
       s.step_number,
       s.timestamp AS at,
       json_extract(s.input, '$.command') AS command,
       s.status AS outcome,                     -- completed, failed, interrupted, running
       CASE WHEN substr(s.output, 1, 10) = 'exit code '
            THEN CAST(substr(s.output, 11) AS INTEGER) END AS exit_code,
       CASE WHEN substr(s.output, 1, 17) = 'killed by signal '
            THEN CAST(substr(s.output, 18) AS INTEGER) END AS signal,
       substr(s.output, 1, 16) = 'timed out after ' AS timed_out,
       s.execution_time_ms AS duration_ms,
       s.error
FROM steps s JOIN tasks t ON t.id = s.task_id
WHERE s.tool = 'run_command';

-- Every file a task read, wrote, appended to or listed (paths as the task named them, relative
-- to its working directory). bytes: for a write, what was written; for a read, the text the
-- task received (tools.max_output_bytes at most, then a note); NULL when the step failed.
CREATE VIEW audit_files AS
SELECT s.task_id,
       t.owner,
       s.attempt,
       s.step_number,
       s.timestamp AS at,
       CASE s.tool WHEN 'read_file' THEN 'read'
                   WHEN 'list_files' THEN 'list'
                   ELSE CASE WHEN json_extract(s.input, '$.append') THEN 'append' ELSE 'write' END
       END AS operation,
       CASE WHEN s.tool = 'list_files' THEN coalesce(json_extract(s.input, '$.path'), '.')
            ELSE json_extract(s.input, '$.path') END AS path,
       CASE WHEN s.status <> 'completed' OR s.tool = 'list_files' THEN NULL
            WHEN s.tool = 'read_file' THEN length(CAST(s.output AS BLOB))
            ELSE length(CAST(json_extract(s.input, '$.content') AS BLOB)) END AS bytes,
       s.status AS outcome,
       s.error
FROM steps s JOIN tasks t ON t.id = s.task_id
WHERE s.tool IN ('read_file', 'write_file', 'list_files');

-- Configuration changes one setting a row (PUT /api/v1/config and its model spelling, from
-- config_changes), then keys made and revoked. previous_value is the setting's last value set
-- through the API before this one (NULL: the file's or the default). Secrets appear only as
-- "(set)" or "(cleared)".
CREATE VIEW audit_changes AS
WITH settings AS (
    SELECT c.id, c.at, c.key_id, c.section,
           CASE WHEN c.section = 'model' THEN 'model.' ELSE '' END ||
               replace(substr(j.fullkey, 3), '"', '') AS setting,
           CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
                       WHEN 'array' THEN j.value ELSE json_quote(j.value) END AS value
    FROM config_changes c, json_tree(c.change) j
    WHERE j.type <> 'object' AND typeof(j.key) = 'text'  -- leaves; a list is one value
      AND j.path NOT LIKE '%[%'                            -- not inside a list
      -- PUT /api/v1/config records its model settings twice, in its own row and in the row of
      -- the model store (same time, same key): counted once, from the latter.
      AND NOT (c.section = 'config' AND j.path = '$.model' AND EXISTS (
          SELECT 1 FROM config_changes m
          WHERE m.section = 'model' AND m.at = c.at AND m.key_id IS c.key_id
            AND json_type(m.change, '$."' || j.key || '"') IS NOT NULL))
)
SELECT s.at,
       CASE WHEN s.key_id IS NULL THEN 'no key (service.require_api_key was off)'
            ELSE 'key ' || s.key_id || coalesce(' (' || k.owner || ')', '') END AS who,
       s.key_id,
       k.owner,
       CASE WHEN s.setting LIKE 'model.%' THEN 'model' ELSE 'config' END AS kind,
       s.setting AS what,
       s.value,
       lag(s.value) OVER (PARTITION BY s.setting ORDER BY s.at, s.id) AS previous_value
FROM settings s LEFT JOIN api_keys k ON k.id = s.key_id
UNION ALL
SELECT created_at, coalesce(created_by, 'unknown (made before 0007)'), NULL, NULL, 'api_key',
       'created key ' || id,
       json_object('owner', owner, 'scopes', scopes, 'description', description), NULL
FROM api_keys
UNION ALL
SELECT revoked_at, coalesce(revoked_by, 'unknown (revoked before 0007)'), NULL, NULL, 'api_key',
       'revoked key ' || id, json_object('owner', owner), NULL
FROM api_keys WHERE revoked_at IS NOT NULL;

-- Tasks that did not complete, counted by UTC day, error code and final status.
CREATE VIEW audit_failures AS
SELECT substr(finished_at, 1, 10) AS day,
       error_code,
       status,
       count(*) AS tasks,
       min(finished_at) AS first_at,
       max(finished_at) AS last_at
FROM tasks
WHERE status IN ('failed', 'timeout', 'cancelled')
GROUP BY day, error_code, status;

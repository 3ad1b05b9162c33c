-- The complete API: task listing, idempotent submission, batches, events for streaming, API
-- keys, persisted configuration overrides, and metrics that survive restarts.

ALTER TABLE tasks ADD COLUMN request_hash TEXT;  -- SHA-256 of the request: task_id is idempotent
ALTER TABLE tasks ADD COLUMN owner TEXT;         -- the submitting key's owner; NULL without auth
ALTER TABLE tasks ADD COLUMN batch_seq INTEGER;  -- position in its batch, from 1

-- Listing, newest first, by any one filter. Every index ends in the rowid implicitly, which
-- breaks ties within a millisecond, so (created_at, rowid) is the cursor.
CREATE INDEX tasks_newest ON tasks (created_at);
CREATE INDEX tasks_by_status ON tasks (status, created_at);
CREATE INDEX tasks_by_priority ON tasks (priority, created_at);
CREATE INDEX tasks_by_owner ON tasks (owner, created_at);
DROP INDEX tasks_batch;
CREATE INDEX tasks_by_batch ON tasks (batch_id, batch_seq) WHERE batch_id IS NOT NULL;

CREATE TABLE batches (
    id                TEXT PRIMARY KEY,
    mode              TEXT NOT NULL CHECK (mode IN ('parallel', 'sequential')),
    continue_on_error INTEGER NOT NULL CHECK (continue_on_error IN (0, 1)),
    owner             TEXT,
    task_count        INTEGER NOT NULL,
    created_at        TEXT NOT NULL
);

-- A sequential batch that should stop at a failure: the tasks after the one that did not
-- complete are cancelled, in the same transaction as that task's final status.
CREATE TRIGGER batches_stop_after_failure AFTER UPDATE OF status ON tasks
WHEN new.batch_id IS NOT NULL AND new.status IN ('failed', 'timeout', 'cancelled')
     AND old.status IS NOT new.status
BEGIN
    UPDATE tasks SET status = 'cancelled',
                     finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                     error_code = 'CANCELLED',
                     error_message = 'an earlier task of its sequential batch did not complete'
    WHERE batch_id = new.batch_id AND status = 'queued' AND batch_seq > new.batch_seq
      AND EXISTS (SELECT 1 FROM batches
                  WHERE id = new.batch_id AND mode = 'sequential' AND continue_on_error = 0);
END;

-- What a client following a task sees, in order: its status changes, its plan, each step as it
-- starts and ends. Written by triggers, so no writer can forget one; GET .../events replays
-- them from any id (Last-Event-ID). The first event, "queued" at submission, is not stored:
-- every task has it, and writing it would cost each submission another row (the stream sends
-- it as event 0).
CREATE TABLE task_events (
    id      INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL CHECK (kind IN ('status', 'plan', 'step')),
    data    TEXT NOT NULL CHECK (json_valid(data)),
    at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX task_events_by_task ON task_events (task_id, id);

CREATE TRIGGER task_events_status AFTER UPDATE OF status ON tasks
WHEN old.status IS NOT new.status
BEGIN
    INSERT INTO task_events (task_id, kind, data)
    VALUES (new.id, 'status', json_object('status', new.status, 'error',
            CASE WHEN new.error_code IS NULL THEN NULL
                 ELSE json_object('code', new.error_code, 'message', new.error_message) END));
END;

CREATE TRIGGER task_events_plan AFTER UPDATE OF plan ON tasks
WHEN new.plan IS NOT NULL AND old.plan IS NOT new.plan
BEGIN
    INSERT INTO task_events (task_id, kind, data) VALUES (new.id, 'plan', new.plan);
END;

CREATE TRIGGER task_events_step_started AFTER INSERT ON steps
BEGIN
    INSERT INTO task_events (task_id, kind, data)
    VALUES (new.task_id, 'step', json_object('step_number', new.step_number, 'step_type', new.step_type,
            'description', new.description, 'tool', new.tool, 'status', new.status,
            'timestamp', new.timestamp));
END;

CREATE TRIGGER task_events_step_ended AFTER UPDATE OF status ON steps
WHEN old.status IS NOT new.status
BEGIN
    INSERT INTO task_events (task_id, kind, data)
    VALUES (new.task_id, 'step', json_object('step_number', new.step_number, 'step_type', new.step_type,
            'description', new.description, 'tool', new.tool, 'status', new.status,
            'output', new.output, 'error', new.error, 'execution_time_ms', new.execution_time_ms,
            'tokens', CASE WHEN new.tokens_input IS NULL THEN NULL
                           ELSE json_object('input', new.tokens_input, 'output', new.tokens_output) END));
END;

-- API keys: the secret is stored only as its SHA-256; the id is the public half of the key.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    owner        TEXT NOT NULL,
    scopes       TEXT NOT NULL,                 -- comma-separated: read, submit, admin
    secret_hash  TEXT NOT NULL,
    description  TEXT,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

-- Settings changed through PUT /api/v1/config: applied over the file and the environment when a
-- component starts (model settings also live, through model_settings).
CREATE TABLE config_overrides (
    path       TEXT PRIMARY KEY,                -- "service.max_concurrent_tasks"
    value      TEXT NOT NULL CHECK (json_valid(value)),
    updated_at TEXT NOT NULL
);

-- Counters and histogram buckets that only grow, whichever process adds to them; Prometheus
-- rates stay right across restarts. Labels are rendered Prometheus text: 'tool="read_file"'.
CREATE TABLE metric_counters (
    name   TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '',
    value  REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (name, labels)
) WITHOUT ROWID;

-- Task counts, tokens, durations and tool outcomes, counted where they happen.
CREATE TRIGGER metrics_task_submitted AFTER INSERT ON tasks
BEGIN
    INSERT INTO metric_counters (name, value) VALUES ('ai_agent_tasks_total', 1)
    ON CONFLICT (name, labels) DO UPDATE SET value = value + 1;
END;

CREATE TRIGGER metrics_task_finished AFTER UPDATE OF status ON tasks
WHEN old.status IS NOT new.status AND new.status IN ('completed', 'failed', 'cancelled', 'timeout')
BEGIN
    INSERT INTO metric_counters (name, labels, value)
    VALUES ('ai_agent_tasks_finished_total', 'status="' || new.status || '"', 1)
    ON CONFLICT (name, labels) DO UPDATE SET value = value + 1;
    INSERT INTO metric_counters (name, labels, value)
    SELECT 'ai_agent_llm_tokens_total', 'direction="input"', json_extract(new.metrics, '$.tokens_used.input')
    WHERE json_extract(new.metrics, '$.tokens_used.input') > 0
    ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value;
    INSERT INTO metric_counters (name, labels, value)
    SELECT 'ai_agent_llm_tokens_total', 'direction="output"', json_extract(new.metrics, '$.tokens_used.output')
    WHERE json_extract(new.metrics, '$.tokens_used.output') > 0
    ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value;
    -- The duration histogram: every bucket whose bound the duration does not exceed, then sum and count.
    UPDATE metric_counters SET value = value + 1
    WHERE name = 'ai_agent_task_duration_seconds_bucket' AND new.started_at IS NOT NULL
      AND (labels = 'le="+Inf"' OR CAST(substr(labels, 5, length(labels) - 5) AS REAL) >=
                                   (julianday(new.finished_at) - julianday(new.started_at)) * 86400);
    UPDATE metric_counters
    SET value = value + round((julianday(new.finished_at) - julianday(new.started_at)) * 86400, 3)
    WHERE name = 'ai_agent_task_duration_seconds_sum' AND new.started_at IS NOT NULL;
    UPDATE metric_counters SET value = value + 1
    WHERE name = 'ai_agent_task_duration_seconds_count' AND new.started_at IS NOT NULL;
END;

CREATE TRIGGER metrics_tool_call AFTER UPDATE OF status ON steps
WHEN new.tool IS NOT NULL AND old.status = 'running' AND new.status IN ('completed', 'failed')
BEGIN
    INSERT INTO metric_counters (name, labels, value)
    VALUES ('ai_agent_tool_calls_total', 'tool="' || new.tool || '",outcome="' || new.status || '"', 1)
    ON CONFLICT (name, labels) DO UPDATE SET value = value + 1;
END;

CREATE TRIGGER metrics_model_call AFTER UPDATE OF status ON steps
WHEN new.tool IS NULL AND new.step_type IN ('planning', 'analysis') AND new.tokens_input IS NOT NULL
     AND old.status = 'running' AND new.status = 'completed'
BEGIN
    INSERT INTO metric_counters (name, value) VALUES ('ai_agent_llm_calls_total', 1)
    ON CONFLICT (name, labels) DO UPDATE SET value = value + 1;
END;

-- The duration buckets exist from the start, so the histogram is complete (and zero) at once.
INSERT INTO metric_counters (name, labels, value) VALUES
    ('ai_agent_task_duration_seconds_bucket', 'le="0.1"', 0),
    ('ai_agent_task_duration_seconds_bucket', 'le="0.5"', 0),
    ('ai_agent_task_duration_seconds_bucket', 'le="1"', 0),
    ('ai_agent_task_duration_seconds_bucket', 'le="5"', 0),
    ('ai_agent_task_duration_seconds_bucket', 'le="15"', 0),
    ('ai_agent_task_duration_seconds_bucket', 'le="60"', 0),
    ('ai_agent_task_duration_seconds_bucket', 'le="300"', 0),
    ('ai_agent_task_duration_seconds_bucket', 'le="1800"', 0),
    ('ai_agent_task_duration_seconds_bucket', 'le="+Inf"', 0),
    ('ai_agent_task_duration_seconds_sum', '', 0),
    ('ai_agent_task_duration_seconds_count', '', 0);

-- Counters start from what the database already holds.
INSERT INTO metric_counters (name, labels, value)
SELECT 'ai_agent_tasks_total', '', count(*) FROM tasks WHERE true
ON CONFLICT (name, labels) DO UPDATE SET value = excluded.value;
INSERT INTO metric_counters (name, labels, value)
SELECT 'ai_agent_tasks_finished_total', 'status="' || status || '"', count(*) FROM tasks
WHERE status IN ('completed', 'failed', 'cancelled', 'timeout') GROUP BY status;
INSERT INTO metric_counters (name, labels, value)
SELECT 'ai_agent_tool_calls_total', 'tool="' || tool || '",outcome="' || status || '"', count(*) FROM steps
WHERE tool IS NOT NULL AND status IN ('completed', 'failed') GROUP BY tool, status;

-- What each runner reports with its heartbeat, for /metrics and /api/v1/tools.
ALTER TABLE runners ADD COLUMN sandbox TEXT;
ALTER TABLE runners ADD COLUMN cpu_percent REAL;
ALTER TABLE runners ADD COLUMN memory_mb REAL;

-- Fencing by attempt. Every write a runner makes for a task names the attempt it holds
-- (tasks.attempts at its claim), so a runner that lost its lease cannot change anything of the
-- attempt that replaced it; a step is keyed by task, attempt and number. A step left open by an
-- attempt that was interrupted (its runner died or lost its lease) is 'interrupted', not
-- 'failed': what it did may or may not have taken effect.

CREATE TABLE steps_by_attempt (
    task_id           TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    step_number       INTEGER NOT NULL CHECK (step_number >= 1),
    attempt           INTEGER NOT NULL DEFAULT 1,
    step_type         TEXT NOT NULL
                      CHECK (step_type IN ('planning', 'tool_use', 'analysis', 'completion')),
    description       TEXT NOT NULL,
    tool              TEXT,
    input             TEXT CHECK (input IS NULL OR json_valid(input)),
    output            TEXT,
    status            TEXT NOT NULL
                      CHECK (status IN ('running', 'completed', 'failed', 'skipped', 'interrupted')),
    error             TEXT,
    tokens_input      INTEGER,
    tokens_output     INTEGER,
    execution_time_ms INTEGER,
    timestamp         TEXT NOT NULL,
    finished_at       TEXT,
    PRIMARY KEY (task_id, attempt, step_number)
) WITHOUT ROWID;
INSERT INTO steps_by_attempt SELECT task_id, step_number, attempt, step_type, description, tool,
    input, output, status, error, tokens_input, tokens_output, execution_time_ms, timestamp,
    finished_at FROM steps;
DROP TABLE steps; -- and its triggers, made again below
ALTER TABLE steps_by_attempt RENAME TO steps;

-- A task's steps in the order they were taken (the API lists them so).
CREATE INDEX steps_in_order ON steps (task_id, step_number);

CREATE TRIGGER task_events_step_started AFTER INSERT ON steps
BEGIN
    INSERT INTO task_events (task_id, kind, data)
    VALUES (new.task_id, 'step', json_object('step_number', new.step_number, 'step_type', new.step_type,
            'description', new.description, 'tool', new.tool, 'status', new.status,
            'timestamp', new.timestamp, 'attempt', new.attempt));
END;

CREATE TRIGGER task_events_step_ended AFTER UPDATE OF status ON steps
WHEN old.status IS NOT new.status
BEGIN
    INSERT INTO task_events (task_id, kind, data)
    VALUES (new.task_id, 'step', json_object('step_number', new.step_number, 'step_type', new.step_type,
            'description', new.description, 'tool', new.tool, 'status', new.status,
            'output', new.output, 'error', new.error, 'execution_time_ms', new.execution_time_ms,
            'attempt', new.attempt,
            'tokens', CASE WHEN new.tokens_input IS NULL THEN NULL
                           ELSE json_object('input', new.tokens_input, 'output', new.tokens_output) END));
END;

CREATE TRIGGER metrics_tool_call AFTER UPDATE OF status ON steps
WHEN new.tool IS NOT NULL AND old.status = 'running'
     AND new.status IN ('completed', 'failed', 'interrupted')
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

-- The fences' work, for /metrics: writes of an attempt that had lost its lease (refused), and
-- tasks taken back from a runner whose lease lapsed.
INSERT INTO metric_counters (name, labels, value) VALUES
    ('ai_agent_fenced_writes_total', '', 0),
    ('ai_agent_lease_recoveries_total', '', 0);

-- Restarts of the stack's components by the launcher (task-runner serve), for /api/v1/status.
CREATE TABLE component_restarts (
    component       TEXT PRIMARY KEY,            -- runner | fcgi | nginx
    restarts        INTEGER NOT NULL DEFAULT 0,
    last_exit       TEXT,                        -- "killed by signal 9 (Killed)"
    last_restart_at TEXT
);

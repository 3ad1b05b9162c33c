-- Task Runner schema, version 1: tasks, their steps and status transitions, and the runners
-- that execute them. Meant to be read and queried by hand with sqlite3 (see README, "Auditing").
--
-- Times are RFC 3339 UTC text with milliseconds ("2026-11-29T07:49:35.123Z"): readable as they
-- are, and since the width is fixed, their text order is their time order.
-- JSON columns hold valid JSON or NULL (checked); enums are checked against their values.

CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE tasks (
    id               TEXT PRIMARY KEY,          -- a UUID, or the caller's task_id
    task             TEXT NOT NULL CHECK (length(task) > 0),
    context          TEXT CHECK (context IS NULL OR json_valid(context)),
    priority         TEXT NOT NULL DEFAULT 'normal'
                     CHECK (priority IN ('low', 'normal', 'high', 'critical')),
    -- Claim order: higher rank first. Derived, so it can never disagree with priority.
    priority_rank    INTEGER GENERATED ALWAYS AS (
                         CASE priority WHEN 'critical' THEN 3 WHEN 'high' THEN 2
                                       WHEN 'normal' THEN 1 ELSE 0 END) VIRTUAL,
    metadata         TEXT CHECK (metadata IS NULL OR json_valid(metadata)),
    batch_id         TEXT,
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled',
                                       'timeout')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    plan             TEXT CHECK (plan IS NULL OR json_valid(plan)),
    result           TEXT CHECK (result IS NULL OR json_valid(result)),
    error_code       TEXT,                      -- e.g. TIMEOUT, TOOL_FAILED, PLANNING_FAILED
    error_message    TEXT,
    metrics          TEXT CHECK (metrics IS NULL OR json_valid(metrics)),
    provider         TEXT,                      -- which provider and model ran it
    model            TEXT,
    runner_id        TEXT,                      -- the runner that claimed it last
    lease_expires_at TEXT,                      -- set exactly while running
    cancel_requested_at TEXT,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at       TEXT,
    finished_at      TEXT,
    CHECK ((status = 'running') = (lease_expires_at IS NOT NULL))
);

-- The runners' queue: only queued rows are in it, in claim order.
CREATE INDEX tasks_queue ON tasks (priority_rank DESC, created_at) WHERE status = 'queued';
-- Lease renewal and recovery of a crashed runner's tasks.
CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status = 'running';
CREATE INDEX tasks_batch ON tasks (batch_id) WHERE batch_id IS NOT NULL;

-- One row per step, in the original's ExecutionStep shape, written when the step starts and
-- updated when it ends, so a client polling the task sees progress.
CREATE TABLE steps (
    task_id           TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    step_number       INTEGER NOT NULL CHECK (step_number >= 1),
    attempt           INTEGER NOT NULL DEFAULT 1,
    step_type         TEXT NOT NULL
                      CHECK (step_type IN ('planning', 'tool_use', 'analysis', 'completion')),
    description       TEXT NOT NULL,
    tool              TEXT,                     -- for tool_use steps
    input             TEXT CHECK (input IS NULL OR json_valid(input)),
    output            TEXT,
    status            TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'skipped')),
    error             TEXT,
    tokens_input      INTEGER,                  -- for model calls
    tokens_output     INTEGER,
    execution_time_ms INTEGER,
    timestamp         TEXT NOT NULL,            -- when the step started
    finished_at       TEXT,
    PRIMARY KEY (task_id, step_number)
) WITHOUT ROWID;

-- Every status change with its time, written by triggers so no writer can forget one.
CREATE TABLE task_transitions (
    id          INTEGER PRIMARY KEY,
    task_id     TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    from_status TEXT,                           -- NULL for the submission
    to_status   TEXT NOT NULL,
    at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX task_transitions_by_task ON task_transitions (task_id, id);

CREATE TRIGGER tasks_record_submission AFTER INSERT ON tasks
BEGIN
    INSERT INTO task_transitions (task_id, from_status, to_status, at)
    VALUES (new.id, NULL, new.status, new.created_at);
END;

CREATE TRIGGER tasks_record_transition AFTER UPDATE OF status ON tasks
WHEN old.status IS NOT new.status
BEGIN
    INSERT INTO task_transitions (task_id, from_status, to_status) VALUES (new.id, old.status, new.status);
END;

-- Runner processes, with a heartbeat; /health and /api/v1/status read them.
CREATE TABLE runners (
    id                   TEXT PRIMARY KEY,
    hostname             TEXT NOT NULL,
    pid                  INTEGER NOT NULL,
    version              TEXT NOT NULL,
    max_concurrent_tasks INTEGER NOT NULL,
    active_tasks         INTEGER NOT NULL DEFAULT 0,
    started_at           TEXT NOT NULL,
    heartbeat_at         TEXT NOT NULL,
    stopped_at           TEXT
);

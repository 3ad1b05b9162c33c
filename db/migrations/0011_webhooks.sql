-- Webhooks (issue 11): a task or batch may name a callback_url; when it ends, the runner POSTs
-- its final JSON there, signed with the secret of the API key that submitted it (or the
-- instance's secret, without keys), and records every attempt.

ALTER TABLE tasks ADD COLUMN callback_url TEXT;
ALTER TABLE tasks ADD COLUMN submitted_by_key TEXT; -- api_keys.id; NULL without authentication
ALTER TABLE batches ADD COLUMN callback_url TEXT;
ALTER TABLE batches ADD COLUMN submitted_by_key TEXT;

-- The secret that signs a key's callbacks. Kept in clear, unlike the key itself: the runner needs
-- it to sign, as the receiver does to verify. Keys made before this migration get one the first
-- time it is needed (core/webhook_store.cpp), from the kernel's random source.
ALTER TABLE api_keys ADD COLUMN webhook_secret TEXT;

-- Secrets of the instance itself: "webhook" signs the callbacks of tasks submitted without a key.
CREATE TABLE instance_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- One delivery per ending of a task or batch with a callback_url. Claimed by one runner at a
-- time with a lease, as tasks are: a runner that dies mid-delivery leaves a lease that lapses,
-- and another runner (or this one, restarted) delivers again: at least once.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,             -- sent as Task-Runner-Delivery
    task_id          TEXT REFERENCES tasks (id) ON DELETE CASCADE,
    batch_id         TEXT REFERENCES batches (id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    key_id           TEXT,                         -- whose secret signs; NULL: the instance's
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivering', 'delivered', 'failed')),
    body             TEXT,                         -- fixed at the first attempt, sent every time
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    next_attempt_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    lease_owner      TEXT,
    lease_expires_at TEXT,
    CHECK ((task_id IS NULL) <> (batch_id IS NULL))
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE state IN ('pending', 'delivering');
CREATE INDEX webhook_deliveries_by_task ON webhook_deliveries (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX webhook_deliveries_by_batch ON webhook_deliveries (batch_id)
    WHERE batch_id IS NOT NULL;

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          TEXT NOT NULL,
    http_status INTEGER,                           -- NULL: no HTTP answer (refused, timeout...)
    error       TEXT,                              -- NULL for a 2xx
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;

-- A trigger, so no path to a final status (the runner, a cancel, a batch's stop) can forget one.
CREATE TRIGGER webhook_task_ended AFTER UPDATE OF status ON tasks
WHEN new.callback_url IS NOT NULL AND old.status IS NOT new.status
     AND new.status IN ('completed', 'failed', 'cancelled', 'timeout')
BEGIN
    INSERT INTO webhook_deliveries (id, task_id, url, key_id)
    VALUES (lower(hex(randomblob(16))), new.id, new.callback_url, new.submitted_by_key);
END;

-- A batch ends with the last of its tasks; a batch that has a delivery has ended already.
CREATE TRIGGER webhook_batch_ended AFTER UPDATE OF status ON tasks
WHEN new.batch_id IS NOT NULL AND old.status IS NOT new.status
     AND new.status IN ('completed', 'failed', 'cancelled', 'timeout')
BEGIN
    INSERT INTO webhook_deliveries (id, batch_id, url, key_id)
    SELECT lower(hex(randomblob(16))), b.id, b.callback_url, b.submitted_by_key
    FROM batches b
    WHERE b.id = new.batch_id AND b.callback_url IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM tasks t
                      WHERE t.batch_id = b.id AND t.status IN ('queued', 'running'))
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.batch_id = b.id);
END;

-- Model settings changed through the API, their audit trail, and providers' rate-limit backoff
-- shared by every runner process.

-- One row: the model settings set through PUT /api/v1/config/model. A NULL column is not
-- overridden; the config file (or environment) value applies. Read by the runner per task.
CREATE TABLE model_settings (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    provider    TEXT,
    model_name  TEXT,
    api_key     TEXT,                           -- the one place a key is stored
    endpoint    TEXT,
    max_tokens  INTEGER,
    temperature REAL,
    updated_at  TEXT NOT NULL
);

-- Every configuration change, who made it (the API key's id, once keys exist) and what changed,
-- with secrets shown only as set or unset.
CREATE TABLE config_changes (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    key_id  TEXT,
    section TEXT NOT NULL,
    change  TEXT NOT NULL CHECK (json_valid(change))
);

-- A provider that answered 429 is left alone by every worker of every runner until `until`.
CREATE TABLE provider_backoff (
    endpoint   TEXT PRIMARY KEY,                -- the base URL: limits belong to an endpoint
    provider   TEXT NOT NULL,
    until      TEXT NOT NULL,
    status     INTEGER NOT NULL,
    reason     TEXT,
    updated_at TEXT NOT NULL
);

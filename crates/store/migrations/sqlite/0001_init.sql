-- The six resources of the Ingestion API, scoped by application. Timestamps are milliseconds
-- since the Unix epoch (INTEGER); `seq` gives insertion order (sort tie-breaker); `id` is the
-- public UUID. Configuration rows are soft-deleted (`deleted_at`).

CREATE TABLE authentications (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    app_id      TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    platform    TEXT,
    -- the input with every secret field null (what the API returns)
    input       TEXT    NOT NULL,
    -- the secret fields, sealed with the store's secret key
    secrets     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER
);
CREATE INDEX authentications_app ON authentications (app_id, created_at) WHERE deleted_at IS NULL;

CREATE TABLE destinations (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    id                TEXT    NOT NULL UNIQUE,
    app_id            TEXT    NOT NULL,
    type              TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    input             TEXT    NOT NULL,
    authentication_id TEXT REFERENCES authentications (id),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    deleted_at        INTEGER
);
CREATE INDEX destinations_app ON destinations (app_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX destinations_auth ON destinations (authentication_id) WHERE deleted_at IS NULL;

CREATE TABLE sources (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    id                TEXT    NOT NULL UNIQUE,
    app_id            TEXT    NOT NULL,
    type              TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    input             TEXT    NOT NULL,
    authentication_id TEXT REFERENCES authentications (id),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    deleted_at        INTEGER
);
CREATE INDEX sources_app ON sources (app_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX sources_auth ON sources (authentication_id) WHERE deleted_at IS NULL;

CREATE TABLE tasks (
    seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
    id                   TEXT    NOT NULL UNIQUE,
    app_id               TEXT    NOT NULL,
    source_id            TEXT    NOT NULL REFERENCES sources (id),
    destination_id       TEXT    NOT NULL REFERENCES destinations (id),
    trigger_type         TEXT    NOT NULL,
    cron                 TEXT,
    action               TEXT    NOT NULL,
    enabled              BOOLEAN NOT NULL,
    input                TEXT,
    failure_threshold    INTEGER NOT NULL,
    last_run             INTEGER,
    next_run             INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    deleted_at           INTEGER
);
CREATE INDEX tasks_app ON tasks (app_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX tasks_source ON tasks (source_id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_destination ON tasks (destination_id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_due ON tasks (next_run) WHERE deleted_at IS NULL AND enabled AND trigger_type = 'schedule';

CREATE TABLE runs (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    id                TEXT    NOT NULL UNIQUE,
    app_id            TEXT    NOT NULL,
    task_id           TEXT    NOT NULL REFERENCES tasks (id),
    status            TEXT    NOT NULL,
    type              TEXT    NOT NULL,
    outcome           TEXT,
    reason            TEXT,
    reason_code       TEXT,
    failure_threshold INTEGER,
    expected_events   INTEGER,
    received_events   INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    started_at        INTEGER,
    finished_at       INTEGER,
    attempt           INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_token       TEXT,
    lease_expires_at  INTEGER
);
CREATE INDEX runs_app ON runs (app_id, created_at);
CREATE INDEX runs_task ON runs (task_id, status);
CREATE INDEX runs_queue ON runs (status, seq);

CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    app_id       TEXT    NOT NULL,
    run_id       TEXT    NOT NULL REFERENCES runs (id),
    parent_id    TEXT,
    status       TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    data         TEXT,
    batch_size   INTEGER NOT NULL,
    published_at INTEGER NOT NULL
);
CREATE INDEX events_run ON events (run_id, published_at);

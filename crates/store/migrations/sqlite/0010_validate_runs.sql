-- no-transaction
-- Source validation (docs/api.md D6) records a finished run of type `validate` that belongs to no
-- task: `runs.task_id` becomes nullable. SQLite cannot drop a NOT NULL constraint in place, so
-- the table is rebuilt (the procedure of https://www.sqlite.org/lang_altertable.html#otheralter):
-- outside sqlx's transaction (this migration is marked no-transaction), with foreign keys off
-- while `runs` is swapped, in one transaction of its own. The counters of `run_counts` file a
-- run without a task under the task ID ''.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE runs_rebuilt (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    id                TEXT    NOT NULL UNIQUE,
    app_id            TEXT    NOT NULL,
    task_id           TEXT    REFERENCES tasks (id),
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
    lease_expires_at  INTEGER,
    trigger_payload   TEXT,
    run_metadata      TEXT,
    push_index        TEXT
);

INSERT INTO runs_rebuilt (seq, id, app_id, task_id, status, type, outcome, reason, reason_code,
    failure_threshold, expected_events, received_events, created_at, updated_at, started_at,
    finished_at, attempt, lease_owner, lease_token, lease_expires_at, trigger_payload,
    run_metadata, push_index)
SELECT seq, id, app_id, task_id, status, type, outcome, reason, reason_code,
    failure_threshold, expected_events, received_events, created_at, updated_at, started_at,
    finished_at, attempt, lease_owner, lease_token, lease_expires_at, trigger_payload,
    run_metadata, push_index
FROM runs;

DROP TABLE runs;
ALTER TABLE runs_rebuilt RENAME TO runs;

CREATE INDEX runs_app ON runs (app_id, created_at);
CREATE INDEX runs_task ON runs (task_id, status);
CREATE INDEX runs_queue ON runs (status, seq);
CREATE UNIQUE INDEX runs_open_push ON runs (task_id, push_index)
    WHERE status = 'started' AND push_index IS NOT NULL;
CREATE INDEX runs_app_task ON runs (app_id, task_id, created_at);
CREATE INDEX runs_app_status ON runs (app_id, status, created_at);
CREATE INDEX runs_app_type ON runs (app_id, type, created_at);
CREATE INDEX runs_app_updated ON runs (app_id, updated_at);
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;

CREATE TRIGGER runs_counted_insert AFTER INSERT ON runs
BEGIN
    INSERT INTO run_counts (app_id, task_id, status, type, n)
    VALUES (NEW.app_id, COALESCE(NEW.task_id, ''), NEW.status, NEW.type, 1)
    ON CONFLICT (app_id, task_id, status, type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER runs_counted_update AFTER UPDATE OF app_id, task_id, status, type ON runs
WHEN OLD.app_id IS NOT NEW.app_id OR OLD.task_id IS NOT NEW.task_id
  OR OLD.status IS NOT NEW.status OR OLD.type IS NOT NEW.type
BEGIN
    UPDATE run_counts SET n = n - 1
    WHERE app_id = OLD.app_id AND task_id = COALESCE(OLD.task_id, '')
      AND status = OLD.status AND type = OLD.type;
    INSERT INTO run_counts (app_id, task_id, status, type, n)
    VALUES (NEW.app_id, COALESCE(NEW.task_id, ''), NEW.status, NEW.type, 1)
    ON CONFLICT (app_id, task_id, status, type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER runs_counted_delete AFTER DELETE ON runs
BEGIN
    UPDATE run_counts SET n = n - 1
    WHERE app_id = OLD.app_id AND task_id = COALESCE(OLD.task_id, '')
      AND status = OLD.status AND type = OLD.type;
END;

COMMIT;
PRAGMA foreign_keys = ON;

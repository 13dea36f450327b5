-- Pushes (docs/api.md D4): each accepted `POST /1/push/{indexName}` body, kept until a worker has
-- applied it. `id` is also the ID of the event the push gets once applied. Pushes of one task
-- and index are applied in `seq` order, one lease holder at a time.
CREATE TABLE pushes (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    app_id           TEXT    NOT NULL,
    task_id          TEXT    NOT NULL REFERENCES tasks (id),
    run_id           TEXT    NOT NULL REFERENCES runs (id),
    index_name       TEXT    NOT NULL,
    action           TEXT    NOT NULL,
    records          TEXT    NOT NULL,
    record_count     INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    lease_token      TEXT,
    lease_expires_at INTEGER
);
CREATE INDEX pushes_group ON pushes (task_id, index_name, seq);

-- The index a push run collects (NULL for other runs): one open push run per task and index.
ALTER TABLE runs ADD COLUMN push_index TEXT;
CREATE UNIQUE INDEX runs_open_push ON runs (task_id, push_index)
    WHERE status = 'started' AND push_index IS NOT NULL;

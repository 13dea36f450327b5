-- History at volume (docs/api.md C21): lists of runs answer from indexes and counters, and
-- finished runs can be deleted by age.
--
-- `run_counts` holds how many runs each application has per task, status and type, kept by
-- triggers on `runs`, so a page's `nbItems` is a sum over a few counter rows instead of a count
-- over every run of the application.
CREATE TABLE run_counts (
    app_id  TEXT    NOT NULL,
    task_id TEXT    NOT NULL,
    status  TEXT    NOT NULL,
    type    TEXT    NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (app_id, task_id, status, type)
) WITHOUT ROWID;

INSERT INTO run_counts (app_id, task_id, status, type, n)
SELECT app_id, task_id, status, type, COUNT(*) FROM runs GROUP BY app_id, task_id, status, type;

CREATE TRIGGER runs_counted_insert AFTER INSERT ON runs
BEGIN
    INSERT INTO run_counts (app_id, task_id, status, type, n)
    VALUES (NEW.app_id, NEW.task_id, NEW.status, NEW.type, 1)
    ON CONFLICT (app_id, task_id, status, type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER runs_counted_update AFTER UPDATE OF app_id, task_id, status, type ON runs
WHEN OLD.app_id IS NOT NEW.app_id OR OLD.task_id IS NOT NEW.task_id
  OR OLD.status IS NOT NEW.status OR OLD.type IS NOT NEW.type
BEGIN
    UPDATE run_counts SET n = n - 1
    WHERE app_id = OLD.app_id AND task_id = OLD.task_id AND status = OLD.status AND type = OLD.type;
    INSERT INTO run_counts (app_id, task_id, status, type, n)
    VALUES (NEW.app_id, NEW.task_id, NEW.status, NEW.type, 1)
    ON CONFLICT (app_id, task_id, status, type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER runs_counted_delete AFTER DELETE ON runs
BEGIN
    UPDATE run_counts SET n = n - 1
    WHERE app_id = OLD.app_id AND task_id = OLD.task_id AND status = OLD.status AND type = OLD.type;
END;

-- The filters and sorts of `GET /1/runs` (SQLite appends the rowid, `seq`, to every index, which
-- breaks ties in the same order as the queries do).
CREATE INDEX runs_app_task ON runs (app_id, task_id, created_at);
CREATE INDEX runs_app_status ON runs (app_id, status, created_at);
CREATE INDEX runs_app_type ON runs (app_id, type, created_at);
CREATE INDEX runs_app_updated ON runs (app_id, updated_at);

-- Retention: finished (and skipped) runs by age; pushes by run (a run's delete checks them).
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX pushes_run ON pushes (run_id);

-- History at volume (docs/api.md C21): lists of runs answer from indexes and counters, and
-- finished runs can be deleted by age.
--
-- `run_counts` holds how many runs each application has per task, status and type, kept by
-- triggers on `runs`, so a page's `nbItems` is a sum over a few counter rows instead of a count
-- over every run of the application.
CREATE TABLE run_counts (
    app_id  TEXT   NOT NULL,
    task_id TEXT   NOT NULL,
    status  TEXT COLLATE "C" NOT NULL,
    type    TEXT COLLATE "C" NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (app_id, task_id, status, type)
);

LOCK TABLE runs IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO run_counts (app_id, task_id, status, type, n)
SELECT app_id, task_id, status, type, COUNT(*) FROM runs GROUP BY app_id, task_id, status, type;

CREATE FUNCTION runs_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE run_counts SET n = n - 1
        WHERE app_id = OLD.app_id AND task_id = OLD.task_id
          AND status = OLD.status AND type = OLD.type;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO run_counts (app_id, task_id, status, type, n)
        VALUES (NEW.app_id, NEW.task_id, NEW.status, NEW.type, 1)
        ON CONFLICT (app_id, task_id, status, type) DO UPDATE SET n = run_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER runs_counted_insert_delete AFTER INSERT OR DELETE ON runs
    FOR EACH ROW EXECUTE FUNCTION runs_counted();
CREATE TRIGGER runs_counted_update AFTER UPDATE OF app_id, task_id, status, type ON runs
    FOR EACH ROW
    WHEN (OLD.app_id IS DISTINCT FROM NEW.app_id OR OLD.task_id IS DISTINCT FROM NEW.task_id
          OR OLD.status IS DISTINCT FROM NEW.status OR OLD.type IS DISTINCT FROM NEW.type)
    EXECUTE FUNCTION runs_counted();

-- The filters and sorts of `GET /1/runs` and of a run's events, each ending in `seq`, which breaks
-- ties in the same order as the queries do.
DROP INDEX runs_app;
CREATE INDEX runs_app ON runs (app_id, created_at, seq);
CREATE INDEX runs_app_task ON runs (app_id, task_id, created_at, seq);
CREATE INDEX runs_app_status ON runs (app_id, status, created_at, seq);
CREATE INDEX runs_app_type ON runs (app_id, type, created_at, seq);
CREATE INDEX runs_app_updated ON runs (app_id, updated_at, seq);
DROP INDEX events_run;
CREATE INDEX events_run ON events (run_id, published_at, seq);

-- Retention: finished (and skipped) runs by age; pushes by run (a run's delete checks them).
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX pushes_run ON pushes (run_id);

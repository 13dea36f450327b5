-- Source validation (docs/api.md D6) records a finished run of type `validate` that belongs to no
-- task: `runs.task_id` becomes nullable, and the counters of `run_counts` file such a run under
-- the task ID ''.
ALTER TABLE runs ALTER COLUMN task_id DROP NOT NULL;

CREATE OR REPLACE FUNCTION runs_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE run_counts SET n = n - 1
        WHERE app_id = OLD.app_id AND task_id = COALESCE(OLD.task_id, '')
          AND status = OLD.status AND type = OLD.type;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO run_counts (app_id, task_id, status, type, n)
        VALUES (NEW.app_id, COALESCE(NEW.task_id, ''), NEW.status, NEW.type, 1)
        ON CONFLICT (app_id, task_id, status, type) DO UPDATE SET n = run_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

-- What each run did, summed as its events are written (the console's run page reads one row
-- instead of summing the run's events on every refresh; a push run open for a day has one event
-- per push). Kept by a trigger on `events`; a run's row goes with the run.
--   events        every event
--   fetches       `fetch` events that succeeded, and `fetched_bytes` their `data.bytes`
--   batches       `record` events that succeeded, `pushed` their records (`batch_size`) and
--                 `pushed_bytes` their `data.bytes`
--   retried       `record` events retried
--   rejected      records of failed `record` and `transform` events
CREATE TABLE run_totals (
    run_id        TEXT   PRIMARY KEY,
    events        BIGINT NOT NULL,
    fetches       BIGINT NOT NULL,
    fetched_bytes BIGINT NOT NULL,
    batches       BIGINT NOT NULL,
    pushed        BIGINT NOT NULL,
    pushed_bytes  BIGINT NOT NULL,
    retried       BIGINT NOT NULL,
    rejected      BIGINT NOT NULL
);

-- `data.bytes` of an event when it is a number, else 0.
CREATE FUNCTION run_event_bytes(data TEXT) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(data::jsonb -> 'bytes') = 'number'
                THEN trunc((data::jsonb ->> 'bytes')::numeric)::bigint ELSE 0 END
$$;

-- No event is written between the sums below and the trigger that keeps them.
LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO run_totals
SELECT run_id, COUNT(*),
       COUNT(*) FILTER (WHERE type = 'fetch' AND status = 'succeeded'),
       COALESCE(SUM(run_event_bytes(data)) FILTER (WHERE type = 'fetch' AND status = 'succeeded'), 0),
       COUNT(*) FILTER (WHERE type = 'record' AND status = 'succeeded'),
       COALESCE(SUM(batch_size) FILTER (WHERE type = 'record' AND status = 'succeeded'), 0),
       COALESCE(SUM(run_event_bytes(data)) FILTER (WHERE type = 'record' AND status = 'succeeded'), 0),
       COUNT(*) FILTER (WHERE type = 'record' AND status = 'retried'),
       COALESCE(SUM(batch_size)
                FILTER (WHERE type IN ('record', 'transform') AND status = 'failed'), 0)
FROM events GROUP BY run_id;

CREATE FUNCTION events_totalled() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fetched BOOLEAN := NEW.type = 'fetch' AND NEW.status = 'succeeded';
    pushed  BOOLEAN := NEW.type = 'record' AND NEW.status = 'succeeded';
    bytes   BIGINT  := 0;
BEGIN
    IF fetched OR pushed THEN
        bytes := run_event_bytes(NEW.data);
    END IF;
    INSERT INTO run_totals
    VALUES (
        NEW.run_id, 1,
        CASE WHEN fetched THEN 1 ELSE 0 END,
        CASE WHEN fetched THEN bytes ELSE 0 END,
        CASE WHEN pushed THEN 1 ELSE 0 END,
        CASE WHEN pushed THEN NEW.batch_size ELSE 0 END,
        CASE WHEN pushed THEN bytes ELSE 0 END,
        CASE WHEN NEW.type = 'record' AND NEW.status = 'retried' THEN 1 ELSE 0 END,
        CASE WHEN NEW.type IN ('record', 'transform') AND NEW.status = 'failed'
             THEN NEW.batch_size ELSE 0 END
    )
    ON CONFLICT (run_id) DO UPDATE SET
        events = run_totals.events + excluded.events,
        fetches = run_totals.fetches + excluded.fetches,
        fetched_bytes = run_totals.fetched_bytes + excluded.fetched_bytes,
        batches = run_totals.batches + excluded.batches,
        pushed = run_totals.pushed + excluded.pushed,
        pushed_bytes = run_totals.pushed_bytes + excluded.pushed_bytes,
        retried = run_totals.retried + excluded.retried,
        rejected = run_totals.rejected + excluded.rejected;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_totalled AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_totalled();

CREATE FUNCTION runs_totals_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM run_totals WHERE run_id = OLD.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER runs_totals_deleted AFTER DELETE ON runs
    FOR EACH ROW EXECUTE FUNCTION runs_totals_deleted();

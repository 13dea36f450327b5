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
    run_id        TEXT    PRIMARY KEY,
    events        INTEGER NOT NULL,
    fetches       INTEGER NOT NULL,
    fetched_bytes INTEGER NOT NULL,
    batches       INTEGER NOT NULL,
    pushed        INTEGER NOT NULL,
    pushed_bytes  INTEGER NOT NULL,
    retried       INTEGER NOT NULL,
    rejected      INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO run_totals
SELECT run_id, COUNT(*),
       SUM(type = 'fetch' AND status = 'succeeded'),
       SUM(CASE WHEN type = 'fetch' AND status = 'succeeded'
                THEN COALESCE(CAST(json_extract(data, '$.bytes') AS INTEGER), 0) ELSE 0 END),
       SUM(type = 'record' AND status = 'succeeded'),
       SUM(CASE WHEN type = 'record' AND status = 'succeeded' THEN batch_size ELSE 0 END),
       SUM(CASE WHEN type = 'record' AND status = 'succeeded'
                THEN COALESCE(CAST(json_extract(data, '$.bytes') AS INTEGER), 0) ELSE 0 END),
       SUM(type = 'record' AND status = 'retried'),
       SUM(CASE WHEN type IN ('record', 'transform') AND status = 'failed' THEN batch_size ELSE 0 END)
FROM events GROUP BY run_id;

CREATE TRIGGER events_totalled AFTER INSERT ON events
BEGIN
    INSERT INTO run_totals
    VALUES (
        NEW.run_id, 1,
        NEW.type = 'fetch' AND NEW.status = 'succeeded',
        CASE WHEN NEW.type = 'fetch' AND NEW.status = 'succeeded'
             THEN COALESCE(CAST(json_extract(NEW.data, '$.bytes') AS INTEGER), 0) ELSE 0 END,
        NEW.type = 'record' AND NEW.status = 'succeeded',
        CASE WHEN NEW.type = 'record' AND NEW.status = 'succeeded' THEN NEW.batch_size ELSE 0 END,
        CASE WHEN NEW.type = 'record' AND NEW.status = 'succeeded'
             THEN COALESCE(CAST(json_extract(NEW.data, '$.bytes') AS INTEGER), 0) ELSE 0 END,
        NEW.type = 'record' AND NEW.status = 'retried',
        CASE WHEN NEW.type IN ('record', 'transform') AND NEW.status = 'failed'
             THEN NEW.batch_size ELSE 0 END
    )
    ON CONFLICT (run_id) DO UPDATE SET
        events = events + excluded.events,
        fetches = fetches + excluded.fetches,
        fetched_bytes = fetched_bytes + excluded.fetched_bytes,
        batches = batches + excluded.batches,
        pushed = pushed + excluded.pushed,
        pushed_bytes = pushed_bytes + excluded.pushed_bytes,
        retried = retried + excluded.retried,
        rejected = rejected + excluded.rejected;
END;

CREATE TRIGGER runs_totals_deleted AFTER DELETE ON runs
BEGIN
    DELETE FROM run_totals WHERE run_id = OLD.id;
END;

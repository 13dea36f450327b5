-- The payload of the event that triggered a subscription run (`POST /1/tasks/{id}/webhook`):
-- JSON text, NULL for runs started otherwise.
ALTER TABLE runs ADD COLUMN trigger_payload TEXT;

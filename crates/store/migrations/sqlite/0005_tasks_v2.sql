-- Today's task fields (docs/api.md D2), all optional: the action of subscription-triggered runs,
-- the cursor, e-mail notifications (NULL: not set), and the failed runs in a row that disable
-- the task (NULL: the default, 5). Runs keep the `runMetadata` they were started with (JSON).
ALTER TABLE tasks ADD COLUMN subscription_action TEXT;
ALTER TABLE tasks ADD COLUMN cursor TEXT;
ALTER TABLE tasks ADD COLUMN email_notifications BOOLEAN;
ALTER TABLE tasks ADD COLUMN critical_threshold INTEGER;
ALTER TABLE runs ADD COLUMN run_metadata TEXT;

-- Rules accept fractional minutes; keep the window in whole seconds so the SMS can say "30 sec".
ALTER TABLE outbox ADD COLUMN window_seconds integer;
UPDATE outbox SET window_seconds = window_minutes * 60;
ALTER TABLE outbox ALTER COLUMN window_seconds SET NOT NULL;
ALTER TABLE outbox DROP COLUMN window_minutes;

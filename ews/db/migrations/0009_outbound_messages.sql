-- Retry by time: a delivery is retried until `retry_from` + EWS_DISPATCH_RETRY_FOR. It starts at the
-- delivery's creation; sending a dead letter again starts a fresh window.
ALTER TABLE deliveries ADD COLUMN retry_from timestamptz;
UPDATE deliveries SET retry_from = created_at;
ALTER TABLE deliveries ALTER COLUMN retry_from SET NOT NULL;
-- /healthz counts dead letters on every call.
CREATE INDEX deliveries_dead_idx ON deliveries (id) WHERE status = 'dead';

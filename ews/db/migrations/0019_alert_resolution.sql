-- Issue 15: a responder (by SMS: DONE 12 / IMEISHA 12) or an analyst (POST /api/v1/alerts/{id}/resolve)
-- says an alert is handled. This is the people's word, beside the engine's own state: `closed_at` stays the
-- engine's (levels fall back), `resolved_at` is "a person says it is dealt with"; both stop escalation and
-- repeats. By a responder (`resolved_by`) or by an API caller (`resolved_by_name`), never both; an ack
-- through the API likewise names its caller in `acknowledged_by_name`.
ALTER TABLE alerts
    ADD COLUMN resolved_at timestamptz,
    ADD COLUMN resolved_by bigint REFERENCES responders (id),
    ADD COLUMN resolved_by_name text CHECK (length(resolved_by_name) BETWEEN 1 AND 200),
    ADD COLUMN acknowledged_by_name text CHECK (length(acknowledged_by_name) BETWEEN 1 AND 200),
    ADD CONSTRAINT alerts_resolved_by_one CHECK (
        (resolved_at IS NULL AND resolved_by IS NULL AND resolved_by_name IS NULL)
        OR (resolved_at IS NOT NULL AND num_nonnulls(resolved_by, resolved_by_name) = 1)),
    -- A resolved alert is acknowledged too (what stops escalation reads acknowledged_at).
    ADD CONSTRAINT alerts_resolved_is_acknowledged CHECK (resolved_at IS NULL OR acknowledged_at IS NOT NULL);

-- DONE 12 is an inbound command like ACK 12.
ALTER TABLE inbound_commands DROP CONSTRAINT IF EXISTS inbound_commands_kind_check;
ALTER TABLE inbound_commands ADD CONSTRAINT inbound_commands_kind_check
    CHECK (kind IN ('stop', 'start', 'help', 'ack', 'resolve'));

-- Alerts reach people through the routing tree (issue 15): the engine no longer writes one outbox row per
-- level change for every responder of a county. A planner reads the open alerts, the routing file, the
-- silences and the notification log, and writes one outbox row per receiver and alert group: a firing
-- message (new, changed or repeated), a resolved one, or an escalation to a policy's next tier.

ALTER TABLE outbox
    ADD COLUMN receiver text,               -- the routing file's receiver name
    ADD COLUMN receiver_spec jsonb,         -- the receiver as planned: {"roles", "county", "channel"}
    ADD COLUMN group_key text,              -- "county=42"
    ADD COLUMN fingerprint text CHECK (fingerprint ~ '^[0-9a-f]{16}$'),
    ADD COLUMN notice text CHECK (notice IN ('firing', 'resolved', 'escalation')),
    ADD COLUMN reason text,                 -- new | changed | repeat | resolved | tier
    ADD COLUMN alert_levels jsonb,          -- [[alert id, level name], ...] as planned
    ADD COLUMN alert_ids bigint[],          -- the alerts it tells of (alert_id is the first, most severe)
    ADD COLUMN tier integer;                -- escalation: the tier told (1 = first)

-- Rows the engine wrote before this version stay as they were (their deliveries point at them); any not yet
-- expanded are dropped from the queue: the planner tells each receiver the current state instead.
UPDATE outbox SET expanded_at = now() WHERE kind = 'alert' AND expanded_at IS NULL;

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_fields;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_fields CHECK (CASE WHEN kind = 'alert' THEN
        alert_id IS NOT NULL AND num_nonnulls(reporter_contact_id, responder_contact_id, body) = 0
        AND (event IS NOT NULL  -- written by the engine before version 0023
             OR (receiver IS NOT NULL AND receiver_spec IS NOT NULL AND notice IS NOT NULL
                 AND alert_levels IS NOT NULL AND cardinality(alert_ids) > 0 AND alert_id = alert_ids[1]))
    ELSE
        event IS NULL AND body IS NOT NULL AND language IS NOT NULL
        AND num_nonnulls(reporter_contact_id, responder_contact_id) = 1
    END);
UPDATE outbox SET alert_ids = ARRAY[alert_id] WHERE alert_id IS NOT NULL AND alert_ids IS NULL;
CREATE INDEX outbox_alert_ids_idx ON outbox USING gin (alert_ids);

-- A queued firing message that a newer one about the same receiver and group made stale (after an outage
-- the receiver gets the current state once, not every step it missed) is superseded, not sent, not dead.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'superseded'));

-- Alerts go before receipts and questions, in expansion and in sending: their own partial indexes.
CREATE INDEX outbox_unexpanded_alerts_idx ON outbox (id) WHERE expanded_at IS NULL AND kind = 'alert';
CREATE INDEX deliveries_due_alerts_idx ON deliveries (next_attempt_at) WHERE status IN ('pending', 'sending')
    AND kind = 'alert';

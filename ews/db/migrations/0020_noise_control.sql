-- Noise control and escalation (issue 15): silences, the notification log, escalation timers, and the
-- routing file stored versioned as the rules are.

-- Silences mute the alerts their matchers match between starts_at and ends_at. Never deleted: expiring one
-- sets ends_at to the moment it was expired (and starts_at too, when it had not begun), so the history of
-- who muted what, and why, stays.
CREATE TABLE silences (
    id bigserial PRIMARY KEY,
    matchers jsonb NOT NULL CHECK (jsonb_typeof(matchers) = 'array' AND jsonb_array_length(matchers) > 0),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    author text NOT NULL CHECK (length(author) BETWEEN 1 AND 100),
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    created_at timestamptz NOT NULL,
    expired_by text CHECK (length(expired_by) BETWEEN 1 AND 100),
    expired_at timestamptz,
    CONSTRAINT silences_ends_after_start CHECK (ends_at >= starts_at),
    CONSTRAINT silences_expired_both CHECK ((expired_by IS NULL) = (expired_at IS NULL))
);
CREATE INDEX silences_ends_idx ON silences (ends_at);

-- What each receiver was last told about each alert group (Alertmanager's nflog): the group's fingerprint
-- (a hash of its alert ids and levels), the alerts, when, and whether it was the resolved message. One row
-- per (receiver, group key), replaced on every notification.
CREATE TABLE notification_log (
    receiver text NOT NULL,
    group_key text NOT NULL,
    fingerprint text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{16}$'),
    alerts jsonb NOT NULL,                  -- [[alert id, level], ...] as sent
    resolved boolean NOT NULL,
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (receiver, group_key)
);

-- One escalation per alert: the policy frozen (copied) when the alert opened, where it stands (tier, loop)
-- and when it next moves. The timers live here so a restart loses none.
CREATE TABLE alert_escalations (
    alert_id bigint PRIMARY KEY REFERENCES alerts (id),
    policy jsonb NOT NULL,
    tier integer NOT NULL CHECK (tier >= 0),
    loop integer NOT NULL CHECK (loop >= 0),
    notified_at timestamptz NOT NULL,       -- when the current tier was notified
    next_at timestamptz NOT NULL,
    stopped_at timestamptz,
    stop_reason text CHECK (stop_reason IN ('acknowledged', 'resolved', 'exhausted')),
    created_at timestamptz NOT NULL,
    CONSTRAINT alert_escalations_stopped_both CHECK ((stopped_at IS NULL) = (stop_reason IS NULL))
);
CREATE INDEX alert_escalations_due_idx ON alert_escalations (next_at) WHERE stopped_at IS NULL;

-- Routing files as they are activated, like rules_versions: every activation a row, the latest the active one.
CREATE TABLE routes_versions (
    id bigserial PRIMARY KEY,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    body text NOT NULL,
    receivers integer NOT NULL CHECK (receivers > 0),
    activated_by text NOT NULL CHECK (length(activated_by) BETWEEN 1 AND 100),
    activated_at timestamptz NOT NULL,
    note text NOT NULL DEFAULT ''
);
CREATE INDEX routes_versions_latest ON routes_versions (activated_at DESC, id DESC);

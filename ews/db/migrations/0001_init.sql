-- Foundation schema: counties, reports, rule state, alerts, outbox, responders, deliveries, audit.

CREATE TABLE counties (
    code smallint PRIMARY KEY CHECK (code BETWEEN 1 AND 47),
    name text NOT NULL UNIQUE
);

CREATE TABLE reports (
    id bigserial PRIMARY KEY,
    source text NOT NULL,
    external_id text NOT NULL,
    body text NOT NULL,
    -- keyed HMAC of the sender; the raw number is never stored
    sender_hash text NOT NULL,
    county_code smallint REFERENCES counties (code),
    language text NOT NULL CHECK (language IN ('en', 'sw')),
    received_at timestamptz NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reports_one_per_source_external_id UNIQUE (source, external_id)
);
CREATE INDEX reports_county_received_idx ON reports (county_code, received_at);
CREATE INDEX reports_received_idx ON reports (received_at);

CREATE TABLE responders (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    phone_hash text NOT NULL UNIQUE,
    -- Fernet ciphertext of the E.164 number: needed to send, never shown
    phone_enc bytea NOT NULL,
    county_code smallint REFERENCES counties (code),  -- NULL: national, receives every county
    role text NOT NULL,
    language text NOT NULL CHECK (language IN ('en', 'sw')),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX responders_county_idx ON responders (county_code) WHERE active;

CREATE TABLE rule_states (
    rule text NOT NULL,
    county_code smallint NOT NULL REFERENCES counties (code),
    level smallint NOT NULL DEFAULT 0 CHECK (level BETWEEN 0 AND 3),
    since timestamptz,
    calm_since timestamptz,
    last_count integer NOT NULL DEFAULT 0,
    evaluated_at timestamptz,
    PRIMARY KEY (rule, county_code)
);

CREATE TABLE alerts (
    id bigserial PRIMARY KEY,
    rule text NOT NULL,
    county_code smallint NOT NULL REFERENCES counties (code),
    level smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
    peak_level smallint NOT NULL CHECK (peak_level BETWEEN 1 AND 3),
    trigger_count integer NOT NULL,
    opened_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    closed_at timestamptz,
    acknowledged_at timestamptz,
    acknowledged_by bigint REFERENCES responders (id)
);
-- the invariant, as a constraint: at most one open alert per (rule, county)
CREATE UNIQUE INDEX alerts_one_open_per_rule_county ON alerts (rule, county_code) WHERE closed_at IS NULL;

CREATE TABLE level_transitions (
    id bigserial PRIMARY KEY,
    rule text NOT NULL,
    county_code smallint NOT NULL REFERENCES counties (code),
    from_level smallint NOT NULL,
    to_level smallint NOT NULL,
    trigger_count integer NOT NULL,
    at timestamptz NOT NULL,
    alert_id bigint REFERENCES alerts (id)
);
CREATE INDEX level_transitions_county_idx ON level_transitions (county_code, at);

CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    alert_id bigint NOT NULL REFERENCES alerts (id),
    event text NOT NULL CHECK (event IN ('raised', 'escalated', 'resolved')),
    level smallint NOT NULL,
    trigger_count integer NOT NULL,
    window_minutes integer NOT NULL,
    threshold integer NOT NULL,
    created_at timestamptz NOT NULL,
    expanded_at timestamptz
);
CREATE INDEX outbox_unexpanded_idx ON outbox (id) WHERE expanded_at IS NULL;

CREATE TABLE deliveries (
    id bigserial PRIMARY KEY,
    outbox_id bigint NOT NULL REFERENCES outbox (id),
    responder_id bigint NOT NULL REFERENCES responders (id),
    notifier text NOT NULL,
    body text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_until timestamptz,
    provider_id text,
    last_error text,
    created_at timestamptz NOT NULL,
    sent_at timestamptz,
    CONSTRAINT deliveries_one_per_outbox_responder UNIQUE (outbox_id, responder_id)
);
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');

CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    subject text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- The structured fields every channel and stage shares (names fixed by the second foundation pass), and
-- inbound commands (STOP, START, HELP, ACK 12) stored as durably as reports.

ALTER TABLE reports
    ADD COLUMN channel text NOT NULL DEFAULT 'twilio_sms'
        CHECK (channel IN ('twilio_sms', 'twilio_whatsapp', 'at_sms', 'at_ussd', 'web_form', 'partner_api',
                           'import')),
    ADD COLUMN constituency_code smallint CHECK (constituency_code BETWEEN 1 AND 290),
    -- IEBC ward codes are four digits with leading zeros kept ('0217'), so text, not a number.
    ADD COLUMN ward_code text CHECK (ward_code ~ '^[0-9]{4}$' AND ward_code BETWEEN '0001' AND '1450'),
    ADD COLUMN incident_type text CHECK (incident_type IN (
        'killing', 'physical_assault', 'armed_attack', 'arson_property', 'sgbv', 'threat_intimidation',
        'hate_speech_incitement', 'intercommunal_resource_conflict', 'cattle_raiding', 'election_malpractice',
        'protest_demonstration', 'displacement', 'peace_activity', 'not_incident')),
    ADD COLUMN casualties integer CHECK (casualties >= 0),
    ADD COLUMN occurred_at timestamptz,
    ADD COLUMN trust real CHECK (trust BETWEEN 0 AND 1);
-- Every report so far came through Twilio SMS; from now on intake always says which channel.
ALTER TABLE reports ALTER COLUMN channel DROP DEFAULT;

CREATE TABLE inbound_commands (
    id bigserial PRIMARY KEY,
    source text NOT NULL,
    external_id text NOT NULL,
    channel text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('stop', 'start', 'help', 'ack')),
    argument text NOT NULL DEFAULT '',
    sender_hash text NOT NULL,
    received_at timestamptz NOT NULL,
    outcome text NOT NULL,
    alert_id bigint REFERENCES alerts (id),
    CONSTRAINT inbound_commands_one_per_source_external_id UNIQUE (source, external_id)
);

-- Who asked not to be messaged (by keyed hash): later outbound messages to reporters must skip them.
CREATE TABLE opt_outs (
    sender_hash text PRIMARY KEY,
    since timestamptz NOT NULL
);

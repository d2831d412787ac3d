-- Retry by time: a delivery is retried until `retry_from` + EWS_DISPATCH_RETRY_FOR. It starts at the
-- delivery's creation; sending a dead letter again starts a fresh window.
ALTER TABLE deliveries ADD COLUMN retry_from timestamptz;
UPDATE deliveries SET retry_from = created_at;
ALTER TABLE deliveries ALTER COLUMN retry_from SET NOT NULL;
-- /healthz counts dead letters on every call.
CREATE INDEX deliveries_dead_idx ON deliveries (id) WHERE status = 'dead';

-- Contacts per channel. A responder has at most one address per channel kind (sms, email, webhook; later
-- issues add more), each kept as a keyed hash (to match replies) and Fernet ciphertext (to send).
CREATE TABLE responder_contacts (
    id bigserial PRIMARY KEY,
    responder_id bigint NOT NULL REFERENCES responders (id),
    channel text NOT NULL,
    address_hash text COLLATE "C" NOT NULL,
    address_enc bytea NOT NULL,
    notifier text,  -- preferred notifier (e.g. twilio_sms); NULL: the first configured one serving the channel
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT responder_contacts_one_per_channel UNIQUE (responder_id, channel)
);
CREATE INDEX responder_contacts_address_idx ON responder_contacts (address_hash);
INSERT INTO responder_contacts (responder_id, channel, address_hash, address_enc)
SELECT id, 'sms', phone_hash, phone_enc FROM responders;
-- The ciphertext lives once, with the contact; phone_hash stays as the responder's identity for imports.
ALTER TABLE responders DROP COLUMN phone_enc;

-- A reporter's address, kept only where a reply must reach them (receipts, questions), keyed by the same
-- keyed hash as reports.sender_hash.
CREATE TABLE reporter_contacts (
    id bigserial PRIMARY KEY,
    sender_hash text COLLATE "C" NOT NULL,
    channel text NOT NULL,
    address_enc bytea NOT NULL,
    language text NOT NULL CHECK (language IN ('en', 'sw')),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT reporter_contacts_one_per_sender_channel UNIQUE (sender_hash, channel)
);

-- The outbox carries every kind of outbound message. An alert names its alert and the figures the text is
-- rendered from, and goes to the county's responders; any other kind names its one recipient and carries
-- its text as written by the caller.
ALTER TABLE outbox
    ADD COLUMN kind text NOT NULL DEFAULT 'alert'
        CHECK (kind IN ('alert', 'receipt', 'question', 'ack_confirmation')),
    ADD COLUMN reporter_contact_id bigint REFERENCES reporter_contacts (id),
    ADD COLUMN responder_contact_id bigint REFERENCES responder_contacts (id),
    ADD COLUMN report_id bigint REFERENCES reports (id),
    ADD COLUMN body text,
    ADD COLUMN language text CHECK (language IN ('en', 'sw')),
    ALTER COLUMN alert_id DROP NOT NULL,
    ALTER COLUMN event DROP NOT NULL,
    ALTER COLUMN level DROP NOT NULL,
    ALTER COLUMN trigger_count DROP NOT NULL,
    ALTER COLUMN window_seconds DROP NOT NULL,
    ALTER COLUMN threshold DROP NOT NULL;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_fields CHECK (CASE WHEN kind = 'alert' THEN
        alert_id IS NOT NULL AND event IS NOT NULL AND level IS NOT NULL AND trigger_count IS NOT NULL
        AND window_seconds IS NOT NULL AND threshold IS NOT NULL
        AND num_nonnulls(reporter_contact_id, responder_contact_id, body) = 0
    ELSE
        event IS NULL AND body IS NOT NULL AND language IS NOT NULL
        AND num_nonnulls(reporter_contact_id, responder_contact_id) = 1
    END);

-- A delivery is one message to one contact (a responder's or a reporter's), through one notifier.
ALTER TABLE deliveries
    ADD COLUMN kind text NOT NULL DEFAULT 'alert'
        CHECK (kind IN ('alert', 'receipt', 'question', 'ack_confirmation')),
    ADD COLUMN channel text NOT NULL DEFAULT 'sms',
    ADD COLUMN language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'sw')),
    ADD COLUMN responder_contact_id bigint REFERENCES responder_contacts (id),
    ADD COLUMN reporter_contact_id bigint REFERENCES reporter_contacts (id);
UPDATE deliveries d SET responder_contact_id = c.id, language = r.language
FROM responder_contacts c JOIN responders r ON r.id = c.responder_id
WHERE c.responder_id = d.responder_id AND c.channel = 'sms';
ALTER TABLE deliveries
    DROP CONSTRAINT deliveries_one_per_outbox_responder,
    DROP COLUMN responder_id,
    ALTER COLUMN kind DROP DEFAULT,
    ALTER COLUMN channel DROP DEFAULT,
    ALTER COLUMN language DROP DEFAULT,
    ADD CONSTRAINT deliveries_one_recipient CHECK (num_nonnulls(responder_contact_id, reporter_contact_id) = 1);
CREATE UNIQUE INDEX deliveries_one_per_outbox_responder_contact ON deliveries (outbox_id, responder_contact_id)
    WHERE responder_contact_id IS NOT NULL;
CREATE UNIQUE INDEX deliveries_one_per_outbox_reporter_contact ON deliveries (outbox_id, reporter_contact_id)
    WHERE reporter_contact_id IS NOT NULL;

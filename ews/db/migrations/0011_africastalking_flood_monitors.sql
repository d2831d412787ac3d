-- Issue 8: Africa's Talking SMS (receipts by outbox, delivery reports, opt-out notifications), flood control,
-- near-duplicates, registered monitors, reporter contacts that expire.

-- Shared with other issues (created IF NOT EXISTS so either migration may come first).
ALTER TABLE reports ADD COLUMN IF NOT EXISTS repeat_of bigint;
ALTER TABLE reports ADD COLUMN IF NOT EXISTS flooding boolean NOT NULL DEFAULT false;

-- Trained community monitors, peace committee and community policing members. Their reports carry a trust
-- mark; their home place is the default when a report names none.
CREATE TABLE monitors (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    phone_hash text COLLATE "C" NOT NULL UNIQUE,
    phone_enc bytea NOT NULL,
    county_code smallint NOT NULL CHECK (county_code BETWEEN 1 AND 47),
    ward_code text CHECK (ward_code ~ '^[0-9]{4}$'),
    organisation text NOT NULL DEFAULT '',
    language text NOT NULL DEFAULT 'sw' CHECK (language IN ('en', 'sw')),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE reports ADD COLUMN monitor_id bigint REFERENCES monitors (id);

-- Flood control and near-duplicates look at one sender's recent reports at intake.
CREATE INDEX reports_sender_received_idx ON reports (sender_hash, received_at);

-- A reporter's kept address expires (EWS_CONTACT_RETENTION_DAYS); the purge job drops the ciphertext and
-- keeps the row, which outbox rows and deliveries still reference. `notifier`: the gateway the reporter
-- wrote through (an AT shortcode is answered through AT).
ALTER TABLE reporter_contacts
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN notifier text,
    ALTER COLUMN address_enc DROP NOT NULL;
CREATE INDEX reporter_contacts_expiry_idx ON reporter_contacts (expires_at) WHERE address_enc IS NOT NULL;

-- AT's linkId, for a reply on a premium on-demand service.
ALTER TABLE outbox ADD COLUMN link_id text;

-- What the gateway later says about a sent message (AT delivery reports), moved forward only.
ALTER TABLE deliveries
    ADD COLUMN provider_status text,
    ADD COLUMN provider_rank smallint NOT NULL DEFAULT 0,
    ADD COLUMN provider_reason text,
    ADD COLUMN provider_status_at timestamptz;
CREATE INDEX deliveries_provider_id_idx ON deliveries (provider_id) WHERE provider_id IS NOT NULL;

-- Why a number is on the suppression list: an SMS keyword, AT's opt-out notification, or a delivery report.
ALTER TABLE opt_outs ADD COLUMN reason text NOT NULL DEFAULT 'keyword';

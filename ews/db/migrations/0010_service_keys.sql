-- Fingerprints of the keys the database was filled with, so a start with another EWS_SENDER_KEY or
-- EWS_CONTACT_KEY is refused instead of silently breaking dedup, trust and sending. A fingerprint is an
-- HMAC-SHA256 of a fixed label under the key: it identifies the key and reveals nothing of it.
CREATE TABLE service_keys (
    name text PRIMARY KEY CHECK (name IN ('sender_key', 'contact_key')),
    fingerprint text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Issue 12: the web form, the partner API and bulk import of history.
-- Columns shared with other issues are created with IF NOT EXISTS, so either issue's migration may run first.

ALTER TABLE reports
    ADD COLUMN IF NOT EXISTS partner text,
    ADD COLUMN IF NOT EXISTS sensitive boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS severity text,
    ADD COLUMN IF NOT EXISTS latitude double precision CHECK (latitude BETWEEN -90 AND 90),
    ADD COLUMN IF NOT EXISTS longitude double precision CHECK (longitude BETWEEN -180 AND 180);

-- Exports and backtests read history by when it happened.
CREATE INDEX IF NOT EXISTS reports_occurred_idx ON reports (coalesce(occurred_at, received_at));

-- Partner API bearer tokens: only a SHA-256 of the token is kept (the token is shown once, at creation).
-- A token is 256 random bits, so an unkeyed hash cannot be reversed by guessing.
CREATE TABLE partner_tokens (
    id bigserial PRIMARY KEY,
    partner text NOT NULL CHECK (partner ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    token_hash text NOT NULL UNIQUE,
    hint text NOT NULL,  -- the token's first characters, so a partner can tell which token is which
    created_at timestamptz NOT NULL,
    revoked_at timestamptz,
    last_used_at timestamptz
);

-- Idempotency-Key per partner: the first answer, kept so that a repeat gets it again, and the body's hash so
-- that the same key with another body is refused.
CREATE TABLE partner_requests (
    partner text NOT NULL,
    idempotency_key text NOT NULL,
    body_hash text NOT NULL,
    status smallint NOT NULL,
    response jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (partner, idempotency_key)
);

-- Rules files (v2) as analysts activate them: every activation is a row, never edited or deleted, and the
-- latest one is the active version. `ews rules history` and `ews rules diff` read them; the live engine
-- switches to reading the active version when it moves to rules v2.
CREATE TABLE rules_versions (
    id bigserial PRIMARY KEY,
    version text NOT NULL,                  -- the file's own `version`, else its sha256
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    body text NOT NULL,
    rules integer NOT NULL CHECK (rules > 0),
    activated_by text NOT NULL CHECK (length(activated_by) BETWEEN 1 AND 100),
    activated_at timestamptz NOT NULL,
    note text NOT NULL DEFAULT ''
);
CREATE INDEX rules_versions_latest ON rules_versions (activated_at DESC, id DESC);

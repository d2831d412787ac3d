-- Issue 11: what happened and how serious. Type predictions with their model and confidence, severity,
-- the language as detected (en, sw, sheng, mixed), sensitive reports, incidents grouped from corroborating
-- reports, and review with corrections. Columns shared with other issues use ADD COLUMN IF NOT EXISTS so
-- either migration may come first.

-- The language as written; the reply language (en or sw) is derived from it.
ALTER TABLE reports DROP CONSTRAINT IF EXISTS reports_language_check;
ALTER TABLE reports ADD CONSTRAINT reports_language_check CHECK (language IN ('en', 'sw', 'sheng', 'mixed'));

ALTER TABLE reports
    ADD COLUMN IF NOT EXISTS sensitive boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS severity text CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    ADD COLUMN IF NOT EXISTS review_status text NOT NULL DEFAULT 'new'
        CHECK (review_status IN ('new', 'verified', 'rejected', 'duplicate')),
    ADD COLUMN IF NOT EXISTS type_confidence real CHECK (type_confidence BETWEEN 0 AND 1),
    ADD COLUMN IF NOT EXISTS needs_review boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS model_version text,
    -- where incident_type came from: the channel, the model, or an analyst's correction
    ADD COLUMN IF NOT EXISTS type_source text CHECK (type_source IN ('channel', 'model', 'analyst')),
    ADD COLUMN IF NOT EXISTS classified_at timestamptz,
    ADD COLUMN IF NOT EXISTS incident_id bigint,
    ADD COLUMN IF NOT EXISTS duplicate_of_report bigint REFERENCES reports (id),
    ADD COLUMN IF NOT EXISTS duplicate_of_incident bigint,
    ADD COLUMN IF NOT EXISTS reviewed_by text,
    ADD COLUMN IF NOT EXISTS reviewed_at timestamptz;

-- The classification stage's queue: reports not yet classified, oldest first.
CREATE INDEX IF NOT EXISTS reports_unclassified_idx ON reports (id) WHERE classified_at IS NULL;
CREATE INDEX IF NOT EXISTS reports_incident_idx ON reports (incident_id) WHERE incident_id IS NOT NULL;

-- Reports of one type group at one place within a window. `place_level` says how fine the place is:
-- ward, else constituency, else (until places resolve finer) county.
CREATE TABLE incidents (
    id bigserial PRIMARY KEY,
    type_group text NOT NULL CHECK (type_group IN ('violence', 'sgbv', 'tension', 'communal', 'election', 'peace')),
    place_level text NOT NULL CHECK (place_level IN ('ward', 'constituency', 'county')),
    place_code text NOT NULL,
    county_code smallint,
    first_at timestamptz NOT NULL,
    last_at timestamptz NOT NULL,
    reports integer NOT NULL DEFAULT 0,
    -- distinct senders: a reporter's own repeats never corroborate
    senders integer NOT NULL DEFAULT 0,
    sensitive boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incidents_place_idx ON incidents (type_group, place_level, place_code, last_at);
ALTER TABLE reports ADD CONSTRAINT reports_incident_fk FOREIGN KEY (incident_id) REFERENCES incidents (id);
ALTER TABLE reports ADD CONSTRAINT reports_duplicate_of_incident_fk
    FOREIGN KEY (duplicate_of_incident) REFERENCES incidents (id);

-- Every correction of a report by an analyst: what changed, from what, to what, by whom, when. The type
-- corrections are also what `ews model train --with-corrections` learns from.
CREATE TABLE report_corrections (
    id bigserial PRIMARY KEY,
    report_id bigint NOT NULL REFERENCES reports (id),
    field text NOT NULL,
    old_value text,
    new_value text,
    actor text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX report_corrections_report_idx ON report_corrections (report_id, at);

-- Issue 10: where a report happened, how sure we are, what text said so; place corrections; ask-back questions.

-- Shared column names (see the coordinator's list): either issue's migration may come first.
ALTER TABLE reports
    ADD COLUMN IF NOT EXISTS place_confidence real CHECK (place_confidence BETWEEN 0 AND 1),
    ADD COLUMN IF NOT EXISTS place_span text,
    ADD COLUMN IF NOT EXISTS flooding boolean NOT NULL DEFAULT false,
    -- Issue 11 owns it; corrections exported for evaluation leave sensitive (SGBV) reports out.
    ADD COLUMN IF NOT EXISTS sensitive boolean NOT NULL DEFAULT false;
-- Where the place came from: the channel's own field, the text, the reporter's answer, or an analyst.
ALTER TABLE reports
    ADD COLUMN place_source text CHECK (place_source IN ('channel', 'text', 'answer', 'correction'));

-- Every hand correction of a report's place: who, when, before and after (the evaluation and the alias
-- table learn from these; the audit log also has a line for each).
CREATE TABLE place_corrections (
    id bigserial PRIMARY KEY,
    report_id bigint NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    corrected_by text NOT NULL CHECK (length(corrected_by) BETWEEN 1 AND 200),
    corrected_at timestamptz NOT NULL,
    before_county smallint, before_constituency smallint, before_ward text,
    after_county smallint CHECK (after_county BETWEEN 1 AND 47),
    after_constituency smallint CHECK (after_constituency BETWEEN 1 AND 290),
    after_ward text CHECK (after_ward ~ '^[0-9]{4}$'),
    note text NOT NULL DEFAULT ''
);
CREATE INDEX place_corrections_report ON place_corrections (report_id);

-- "Where did this happen?": at most one question per report (the primary key), the answer attached to it.
CREATE TABLE place_questions (
    report_id bigint PRIMARY KEY REFERENCES reports (id) ON DELETE CASCADE,
    sender_hash text NOT NULL,
    reporter_contact_id bigint NOT NULL REFERENCES reporter_contacts (id),
    outbox_id bigint REFERENCES outbox (id),
    asked_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    answered_at timestamptz,
    answer_source text,
    answer_external_id text,
    answer_body text,  -- phone numbers redacted, like a report's body
    CONSTRAINT place_questions_one_answer_per_message UNIQUE (answer_source, answer_external_id)
);
-- The lookup each short SMS makes: an open question for this sender?
CREATE INDEX place_questions_open ON place_questions (sender_hash, expires_at) WHERE answered_at IS NULL;

-- A sender's latest reports (the history that settles an ambiguous place, and an answer's context) without
-- scanning the table backwards. IF NOT EXISTS: issue 8's flood control may create the same one.
CREATE INDEX IF NOT EXISTS reports_sender_idx ON reports (sender_hash, id);

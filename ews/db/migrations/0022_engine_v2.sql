-- The live engine on rules file v2 (issue 14): one state per (rule, county, type group), alerts and level
-- changes that carry their explanation, and outbox rows that carry the engine's "why" line instead of the
-- window count's figures. The window count's own state table goes: it is one detector kind now.

DROP TABLE rule_states;

CREATE TABLE engine_states (
    rule text NOT NULL,
    county_code smallint NOT NULL REFERENCES counties (code),
    grp text NOT NULL,
    level smallint NOT NULL DEFAULT 0 CHECK (level BETWEEN 0 AND 3),
    since timestamptz,
    -- rules.escalation.State: a higher level reached since (pending), a calmer one since (calm)
    pending_since timestamptz,
    pending_level smallint NOT NULL DEFAULT 0 CHECK (pending_level BETWEEN 0 AND 3),
    calm_since timestamptz,
    calm_level smallint NOT NULL DEFAULT 0 CHECK (calm_level BETWEEN 0 AND 3),
    judged_through timestamptz,             -- the start of the last complete period stepped
    statistic double precision,             -- the last look: what explains the level on a console
    observed double precision,
    rules_version text,
    evaluated_at timestamptz,
    PRIMARY KEY (rule, county_code, grp)
);
CREATE INDEX engine_states_county_idx ON engine_states (county_code);

ALTER TABLE alerts
    ADD COLUMN grp text NOT NULL DEFAULT 'none',
    ADD COLUMN rules_version text,
    ADD COLUMN explanation jsonb;
DROP INDEX alerts_one_open_per_rule_county;
-- The invariant, as a constraint: at most one open alert per (rule, county, type group).
CREATE UNIQUE INDEX alerts_one_open_per_rule_county_group ON alerts (rule, county_code, grp) WHERE closed_at IS NULL;

ALTER TABLE level_transitions
    ADD COLUMN grp text NOT NULL DEFAULT 'none',
    ADD COLUMN rules_version text,
    ADD COLUMN explanation jsonb;
CREATE INDEX level_transitions_alert_idx ON level_transitions (alert_id);

ALTER TABLE outbox ADD COLUMN why_en text, ADD COLUMN why_sw text;
UPDATE outbox SET why_en = trigger_count || ' reports in ' || (window_seconds / 60) || ' min',
                  why_sw = 'ripoti ' || trigger_count || ' ndani ya dakika ' || (window_seconds / 60)
WHERE kind = 'alert';
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_fields;
ALTER TABLE outbox DROP COLUMN window_seconds, DROP COLUMN threshold, DROP COLUMN count_unit;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_fields CHECK (CASE WHEN kind = 'alert' THEN
        alert_id IS NOT NULL AND event IS NOT NULL AND level IS NOT NULL AND trigger_count IS NOT NULL
        AND why_en IS NOT NULL AND why_sw IS NOT NULL
        AND num_nonnulls(reporter_contact_id, responder_contact_id, body) = 0
    ELSE
        event IS NULL AND body IS NOT NULL AND language IS NOT NULL
        AND num_nonnulls(reporter_contact_id, responder_contact_id) = 1
    END);

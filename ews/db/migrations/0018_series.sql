-- The engine's series (issue 14), kept incrementally: what each counted unit (an incident, or a report in
-- none) adds, and the sums per county x incident-type group x period that the live engine reads.
--
-- A trigger on reports marks the units a change touches (the old and the new one, when a report moves
-- between incidents); ews/db/repo/series.py `apply_pending` recomputes those units from their reports with
-- the same Python as the backtest (rules/series.py) and moves the cells by the difference, in the
-- transaction that made the change. Evaluation therefore reads a few cells, whatever the history's length.

CREATE TABLE series_units (
    unit text PRIMARY KEY,                  -- 'r<report id>' or 'i<incident id>'
    county_code smallint NOT NULL REFERENCES counties (code),
    grp text NOT NULL,
    at timestamptz NOT NULL,                -- when it happened (the first report's occurred_at, else received)
    weight double precision NOT NULL CHECK (weight > 0),
    report_id bigint NOT NULL,              -- its first report (for explanations)
    reports integer NOT NULL,               -- how many counted reports it holds
    -- What the immediate rules look at (rules.detectors.immediate.Candidate).
    incident_type text NOT NULL,
    severity text,
    casualties integer,
    verified boolean NOT NULL,
    corroborated boolean NOT NULL,
    imported boolean NOT NULL               -- every report of it came from `ews import`
);
CREATE INDEX series_units_cell_idx ON series_units (county_code, grp, at);

CREATE TABLE series_cells (
    county_code smallint NOT NULL REFERENCES counties (code),
    period text NOT NULL CHECK (period IN ('hour', 'day', 'week')),
    grp text NOT NULL,
    period_start timestamptz NOT NULL,
    -- Imported history feeds baselines and backtests; the live engine never counts it in the periods it
    -- judges, so an import never raises a live level.
    imported boolean NOT NULL,
    weight double precision NOT NULL,
    PRIMARY KEY (county_code, period, grp, period_start, imported)
);

-- Units whose reports changed since they were last counted (no key: concurrent writers never wait on it).
CREATE TABLE series_pending (unit text NOT NULL);

CREATE FUNCTION series_mark_unit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO series_pending (unit)
        VALUES (CASE WHEN OLD.incident_id IS NULL THEN 'r' || OLD.id ELSE 'i' || OLD.incident_id END);
    END IF;
    IF TG_OP = 'INSERT' OR OLD.incident_id IS DISTINCT FROM NEW.incident_id THEN
        INSERT INTO series_pending (unit)
        VALUES (CASE WHEN NEW.incident_id IS NULL THEN 'r' || NEW.id ELSE 'i' || NEW.incident_id END);
    END IF;
    RETURN NULL;
END $$;

-- A report with no county or no type counts nowhere yet: its insert marks nothing (most SMS are typed by
-- the classification stage after they are stored, and that update marks them).
CREATE TRIGGER reports_series_insert AFTER INSERT ON reports FOR EACH ROW
    WHEN (NEW.county_code IS NOT NULL AND NEW.incident_type IS NOT NULL)
    EXECUTE FUNCTION series_mark_unit();
CREATE TRIGGER reports_series_update AFTER UPDATE ON reports FOR EACH ROW
    WHEN (OLD.county_code IS DISTINCT FROM NEW.county_code OR OLD.incident_type IS DISTINCT FROM NEW.incident_type
          OR OLD.review_status IS DISTINCT FROM NEW.review_status OR OLD.flooding IS DISTINCT FROM NEW.flooding
          OR OLD.repeat_of IS DISTINCT FROM NEW.repeat_of
          OR OLD.duplicate_of_report IS DISTINCT FROM NEW.duplicate_of_report
          OR OLD.incident_id IS DISTINCT FROM NEW.incident_id OR OLD.occurred_at IS DISTINCT FROM NEW.occurred_at
          OR OLD.received_at IS DISTINCT FROM NEW.received_at OR OLD.trust IS DISTINCT FROM NEW.trust
          OR OLD.severity IS DISTINCT FROM NEW.severity OR OLD.casualties IS DISTINCT FROM NEW.casualties)
    EXECUTE FUNCTION series_mark_unit();

-- Existing reports: every unit with a county and a type is counted by the first apply_pending.
INSERT INTO series_pending (unit)
SELECT DISTINCT CASE WHEN incident_id IS NULL THEN 'r' || id ELSE 'i' || incident_id END
FROM reports WHERE county_code IS NOT NULL AND incident_type IS NOT NULL;

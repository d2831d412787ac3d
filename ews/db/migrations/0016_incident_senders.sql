-- The classification stage counts an incident's senders on from what it held: whether a new report's
-- sender is already among the incident's reports is one probe of this index (it replaces the index on
-- incident_id alone, which it covers).
CREATE INDEX IF NOT EXISTS reports_incident_sender_idx ON reports (incident_id, sender_hash)
    WHERE incident_id IS NOT NULL;
DROP INDEX IF EXISTS reports_incident_idx;

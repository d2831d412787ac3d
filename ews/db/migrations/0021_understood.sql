-- The acknowledgement no longer waits for the place read from the text, the severity and the sensitivity:
-- intake stores a report with understood = false (and sensitive = true, so it is hidden from uncleared
-- callers until its text is read), and the placing stage fills them in after the commit. Rows stored
-- before this migration were understood at intake, so the column's default for them is true.
ALTER TABLE reports ADD COLUMN IF NOT EXISTS understood boolean NOT NULL DEFAULT true;

-- The placing stage's queue: reports whose text is not yet read, oldest first.
CREATE INDEX IF NOT EXISTS reports_not_understood_idx ON reports (id) WHERE NOT understood;

-- What a rule counted when it fired: distinct senders (flood-resistant, the default) or raw reports.
ALTER TABLE outbox ADD COLUMN count_unit text NOT NULL DEFAULT 'reports'
    CHECK (count_unit IN ('reports', 'senders'));

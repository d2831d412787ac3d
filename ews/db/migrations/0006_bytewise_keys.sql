-- Sources, gateway ids and sender hashes are ASCII identifiers: compare them bytewise ("C") instead of
-- through the database locale. The unique (source, external_id) index and count(DISTINCT sender_hash)
-- compare them on every report and every evaluation.
ALTER TABLE reports
    ALTER COLUMN source TYPE text COLLATE "C",
    ALTER COLUMN external_id TYPE text COLLATE "C",
    ALTER COLUMN sender_hash TYPE text COLLATE "C";

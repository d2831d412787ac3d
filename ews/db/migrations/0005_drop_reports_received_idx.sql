-- Every query on reports filters by county first (reports_county_received_idx) or pages by id; the
-- received_at-only index was never used and cost every insert an extra index write.
DROP INDEX IF EXISTS reports_received_idx;

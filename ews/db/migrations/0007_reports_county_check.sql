-- County codes are fixed: the 47 counties of the Constitution's First Schedule, seeded by 0002 and never
-- changed. A CHECK says what the foreign key said without its per-row trigger. The foreign key checked
-- every new report by locking its county's row (SELECT ... FOR KEY SHARE), so under a flood each insert
-- also wrote a row lock, often a multixact, on the 47-row counties table.
ALTER TABLE reports DROP CONSTRAINT IF EXISTS reports_county_code_fkey;
ALTER TABLE reports ADD CONSTRAINT reports_county_code_valid CHECK (county_code BETWEEN 1 AND 47);

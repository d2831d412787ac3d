-- A reporter's answer to "where did this happen?" is stored on the request path and read for a place after
-- the commit (issue 10: matching runs after the commit). `answer_read_at`: when it was read (found or not).
ALTER TABLE place_questions ADD COLUMN answer_read_at timestamptz;
UPDATE place_questions SET answer_read_at = answered_at WHERE answered_at IS NOT NULL;
CREATE INDEX place_questions_unread ON place_questions (answered_at)
    WHERE answered_at IS NOT NULL AND answer_read_at IS NULL;

-- Issue 9 (WhatsApp): what a message carried besides its text. Only how many media and of which content
-- types; never the media or their URLs (the URLs are keys to the reporter's photos and voice notes at
-- Twilio). Whether the message was forwarded (WhatsApp's Forwarded / FrequentlyForwarded): a forwarded
-- message is someone else's words, not a witness's, which matters for rumours and hate speech.

ALTER TABLE reports
    ADD COLUMN media_count smallint NOT NULL DEFAULT 0 CHECK (media_count BETWEEN 0 AND 10),
    -- e.g. ["image/jpeg"]; as many entries as media_count
    ADD COLUMN media_types jsonb NOT NULL DEFAULT '[]'
        CHECK (jsonb_typeof(media_types) = 'array' AND jsonb_array_length(media_types) = media_count),
    ADD COLUMN forwarded text CHECK (forwarded IN ('forwarded', 'frequently_forwarded'));

-- A responder's message that one SMS gateway could not deliver tries the next configured gateway for its
-- channel (Africa's Talking out of credit on election day, Twilio still sending) before it is a dead letter.
-- The gateways already tried, in order; `notifier` is the one trying now.
ALTER TABLE deliveries ADD COLUMN tried_notifiers text[] NOT NULL DEFAULT '{}';

-- When a clock alert's WebSocket frame was written to its person's connection (a mail's hand-off
-- is its outbox row's sent_at).
ALTER TABLE clock_alerts ADD COLUMN handed_off_at BIGINT;

-- Delivery truth of each escalation notice. An e-mail's hand-off is its outbox row's
-- `sent_at` (the SMTP server accepted it); a WebSocket frame's is when a connection wrote
-- it, and it is delivered when the client confirmed receipt. Seen: the person opened the
-- incident's escalation (console or mail link). A mail's acknowledge link is single-use:
-- `link_used_at` is set by the one POST that acts on it.
ALTER TABLE escalation_notices ADD COLUMN outbox_id TEXT;
ALTER TABLE escalation_notices ADD COLUMN handed_off_at BIGINT;
ALTER TABLE escalation_notices ADD COLUMN delivered_at BIGINT;
ALTER TABLE escalation_notices ADD COLUMN seen_at BIGINT;
ALTER TABLE escalation_notices ADD COLUMN link_used_at BIGINT;

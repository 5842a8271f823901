ALTER TABLE escalation_notices DROP COLUMN link_used_at;
ALTER TABLE escalation_notices DROP COLUMN seen_at;
ALTER TABLE escalation_notices DROP COLUMN delivered_at;
ALTER TABLE escalation_notices DROP COLUMN handed_off_at;
ALTER TABLE escalation_notices DROP COLUMN outbox_id;

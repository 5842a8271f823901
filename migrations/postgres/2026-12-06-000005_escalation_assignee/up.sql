-- The person an escalation was reassigned to: the first level of its current round is that
-- person alone (the ladder climbs on from the second level as the policy says).
ALTER TABLE escalations ADD COLUMN assignee_id TEXT;

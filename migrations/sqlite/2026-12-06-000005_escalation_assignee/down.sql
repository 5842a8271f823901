ALTER TABLE escalations DROP COLUMN assignee_id;

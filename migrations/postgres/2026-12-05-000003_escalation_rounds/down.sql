ALTER TABLE escalations DROP COLUMN step_base;

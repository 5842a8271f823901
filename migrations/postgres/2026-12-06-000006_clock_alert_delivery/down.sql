ALTER TABLE clock_alerts DROP COLUMN handed_off_at;

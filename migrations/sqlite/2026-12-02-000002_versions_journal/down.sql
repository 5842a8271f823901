ALTER TABLE events DROP COLUMN object_hash;
DROP INDEX audit_log_action;
DROP TABLE disclosures;
DROP TABLE record_versions;

ALTER TABLE events DROP COLUMN object_hash;
DROP INDEX audit_log_action;
DROP TABLE disclosures;
DROP FUNCTION disclosures_append_only();
DROP TABLE record_versions;
DROP FUNCTION record_versions_append_only();

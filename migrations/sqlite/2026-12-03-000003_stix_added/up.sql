-- added_after polls read the versions added after an instant without walking the rest.
CREATE INDEX stix_versions_added ON stix_versions(added_at);

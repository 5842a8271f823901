DROP INDEX stix_versions_added;

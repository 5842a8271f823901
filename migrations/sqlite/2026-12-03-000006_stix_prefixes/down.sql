DROP TABLE stix_prefixes;

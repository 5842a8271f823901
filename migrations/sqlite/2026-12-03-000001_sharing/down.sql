DROP TABLE stix_shares;
DROP TABLE stix_versions;
DROP TABLE stix_objects;
DROP TABLE agreement_parties;
DROP TABLE agreements;

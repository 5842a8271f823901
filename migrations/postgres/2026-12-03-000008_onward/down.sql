ALTER TABLE stix_shares DROP COLUMN via;

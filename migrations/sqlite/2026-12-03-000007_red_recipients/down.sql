ALTER TABLE stix_objects DROP COLUMN named_recipients;

DROP INDEX disclosures_seen;

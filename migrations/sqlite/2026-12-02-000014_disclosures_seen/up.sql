-- "Has this actor been shown this version of this record?" (a personal feed discloses each
-- version once per token): answered from the index, not by reading every disclosure of the
-- record, which grows with every read of it.
CREATE INDEX disclosures_seen ON disclosures(object_type, object_id, actor_id, object_version);

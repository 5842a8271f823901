CREATE TABLE main.disclosures (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    organisation_id TEXT,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    object_version INTEGER,
    object_hash TEXT,
    channel TEXT NOT NULL,
    recipients TEXT,
    detail TEXT
);
INSERT INTO main.disclosures SELECT * FROM journal.disclosures;
DROP TABLE journal.disclosures;
CREATE INDEX main.disclosures_org ON disclosures(organisation_id, seq);
CREATE INDEX main.disclosures_object ON disclosures(object_type, object_id);
CREATE INDEX main.disclosures_seen ON disclosures(object_type, object_id, actor_id, object_version);
CREATE TRIGGER main.disclosures_no_update BEFORE UPDATE ON disclosures
BEGIN SELECT RAISE(ABORT, 'disclosures is append-only'); END;
CREATE TRIGGER main.disclosures_no_delete BEFORE DELETE ON disclosures
BEGIN SELECT RAISE(ABORT, 'disclosures is append-only'); END;

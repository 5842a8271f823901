-- The disclosure journal moves to a file of its own, attached to every connection as the
-- schema `journal` (cirhub.db -> cirhub-disclosures.db). Every read that discloses appends to
-- it; in one file, each of those commits changed the database every reader maps, and SQLite
-- drops a connection's whole page cache and memory map when the database changed since its
-- last read. In its own file, reads of the hub's records keep their cache.
-- Idempotent: a move interrupted between the two files is completed by running it again.
CREATE TABLE IF NOT EXISTS journal.disclosures (
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
INSERT OR IGNORE INTO journal.disclosures SELECT * FROM main.disclosures;
DROP TABLE main.disclosures;
CREATE INDEX IF NOT EXISTS journal.disclosures_org ON disclosures(organisation_id, seq);
CREATE INDEX IF NOT EXISTS journal.disclosures_object ON disclosures(object_type, object_id);
CREATE INDEX IF NOT EXISTS journal.disclosures_seen
    ON disclosures(object_type, object_id, actor_id, object_version);
CREATE TRIGGER IF NOT EXISTS journal.disclosures_no_update BEFORE UPDATE ON disclosures
BEGIN SELECT RAISE(ABORT, 'disclosures is append-only'); END;
CREATE TRIGGER IF NOT EXISTS journal.disclosures_no_delete BEFORE DELETE ON disclosures
BEGIN SELECT RAISE(ABORT, 'disclosures is append-only'); END;

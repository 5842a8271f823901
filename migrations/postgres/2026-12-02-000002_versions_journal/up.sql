-- Every version of a versioned record (incident, maintenance), as written: one canonical
-- serialisation (RFC 8785) and its SHA-256. Disclosures and audit entries name these.
CREATE TABLE record_versions (
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (object_type, object_id, version)
);
CREATE FUNCTION record_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'record_versions is append-only'; END $$;
CREATE TRIGGER record_versions_no_update BEFORE UPDATE OR DELETE ON record_versions
FOR EACH ROW EXECUTE FUNCTION record_versions_append_only();

-- The disclosure journal: written by group commit before the data leaves the server, sealed
-- into the audit chain in batches. A fan-out row lists its recipients.
CREATE TABLE disclosures (
    seq BIGSERIAL PRIMARY KEY,
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
CREATE INDEX disclosures_org ON disclosures(organisation_id, seq);
CREATE INDEX disclosures_object ON disclosures(object_type, object_id);
CREATE FUNCTION disclosures_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'disclosures is append-only'; END $$;
CREATE TRIGGER disclosures_no_update BEFORE UPDATE OR DELETE ON disclosures
FOR EACH ROW EXECUTE FUNCTION disclosures_append_only();

CREATE INDEX audit_log_action ON audit_log(action, seq);

-- The stored version an event announces.
ALTER TABLE events ADD COLUMN object_hash TEXT;

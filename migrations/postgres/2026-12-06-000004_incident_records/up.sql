-- Each party's own record of an incident (5W intake, contacts, related incidents, next
-- steps) as one JSON document, saved whole as a new version; its versions are stored in
-- record_versions under object type incident_record.
CREATE TABLE incident_records (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT,
    PRIMARY KEY (incident_id, organisation_id)
);

-- TAXII 2.1 status resources: what became of each envelope an organisation posted.
CREATE TABLE taxii_statuses (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX taxii_statuses_org ON taxii_statuses(organisation_id, created_at);

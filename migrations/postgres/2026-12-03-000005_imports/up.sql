-- Imports of indicator files through the API: the file is kept in chunks in the database
-- (so that any instance can run the import job), its progress, counts and refused records
-- (the first 1,000, JSON) on the row.
CREATE TABLE imports (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    state TEXT NOT NULL,
    format TEXT NOT NULL,
    file_name TEXT,
    tlp TEXT NOT NULL,
    share_under TEXT NOT NULL,
    counts TEXT NOT NULL,
    errors TEXT NOT NULL,
    failure TEXT,
    bytes_total BIGINT NOT NULL,
    heartbeat_at BIGINT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX imports_org ON imports(organisation_id, created_at);
CREATE TABLE import_chunks (
    import_id TEXT NOT NULL REFERENCES imports(id),
    n INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (import_id, n)
);

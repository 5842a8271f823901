-- Sharing agreements. The terms of each version are a record version (record_versions,
-- object_type 'agreement', RFC 8785 JSON); this row says which version is in force, which
-- waits for acceptance, and where the agreement stands. effective_from/until copy the
-- version in force, so expiry is a comparison, not a parse.
CREATE TABLE agreements (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    in_force_version INTEGER,
    pending_version INTEGER,
    latest_version INTEGER NOT NULL,
    effective_from BIGINT,
    effective_until BIGINT,
    suspended_by TEXT REFERENCES organisations(id),
    proposed_by TEXT NOT NULL REFERENCES organisations(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- The parties of every version and each one's acceptance of it: the index every "is this
-- organisation a party?" question reads.
CREATE TABLE agreement_parties (
    agreement_id TEXT NOT NULL REFERENCES agreements(id),
    version INTEGER NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    role TEXT NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT,
    PRIMARY KEY (agreement_id, version, organisation_id)
);
CREATE INDEX agreement_parties_org ON agreement_parties(organisation_id, agreement_id);

-- STIX 2.1 objects owned by organisations. STIX ids are unique per owner (two organisations
-- may hold the same public object, e.g. an ATT&CK pattern), so the hub keys objects by its
-- own key. Every version's body is a record version (record_versions, object_type 'stix');
-- this row holds the newest version's facts, which the exits filter on.
CREATE TABLE stix_objects (
    key TEXT PRIMARY KEY,
    stix_id TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES organisations(id),
    stix_type TEXT NOT NULL,
    category TEXT NOT NULL,
    tlp TEXT NOT NULL,
    version INTEGER NOT NULL,
    modified TEXT,
    revoked BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (owner_id, stix_id)
);
CREATE INDEX stix_objects_owner ON stix_objects(owner_id, updated_at);
-- Every version in the order it was added: seq is the stable cursor TAXII pages by.
CREATE TABLE stix_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    object_key TEXT NOT NULL REFERENCES stix_objects(key),
    version INTEGER NOT NULL,
    modified TEXT,
    revoked BOOLEAN NOT NULL,
    added_at BIGINT NOT NULL,
    UNIQUE (object_key, version)
);
-- The agreements an object is shared under (every version of it).
CREATE TABLE stix_shares (
    object_id TEXT NOT NULL REFERENCES stix_objects(key),
    agreement_id TEXT NOT NULL REFERENCES agreements(id),
    shared_at BIGINT NOT NULL,
    shared_by TEXT,
    PRIMARY KEY (object_id, agreement_id)
);
CREATE INDEX stix_shares_agreement ON stix_shares(agreement_id, object_id);

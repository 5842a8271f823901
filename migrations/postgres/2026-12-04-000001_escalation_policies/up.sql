-- Each organisation's escalation policy: the version in force; every version's body is a
-- record version (object type `escalation_policy`, id = the organisation), so an escalation
-- names the exact version it runs on by its hash.
CREATE TABLE escalation_policies (
    organisation_id TEXT PRIMARY KEY NOT NULL REFERENCES organisations(id),
    version INTEGER NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT
);

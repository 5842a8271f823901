-- Regulatory and contractual clocks. A party's decisions on an incident (one of each kind:
-- "aware", "classified_significant", ...) start its clocks; a clock runs one regime's
-- template (shipped in code) in its time zone and calendar; due times are computed from the
-- decisions and filings when read, so a corrected input never leaves a stale deadline.
CREATE TABLE clock_decisions (
    id TEXT PRIMARY KEY NOT NULL,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    decided_by TEXT,
    decided_by_name TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    UNIQUE (incident_id, organisation_id, kind)
);
CREATE TABLE clocks (
    id TEXT PRIMARY KEY NOT NULL,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    regime TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    -- JSON array of extra non-business days (YYYY-MM-DD).
    holidays TEXT NOT NULL,
    contract_hours INTEGER,
    malicious BOOLEAN NOT NULL,
    started_by TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (incident_id, organisation_id, regime)
);
-- A report filed for one deadline of a clock; a late one carries its reason.
CREATE TABLE clock_filings (
    clock_id TEXT NOT NULL REFERENCES clocks(id),
    deadline_key TEXT NOT NULL,
    filed_at BIGINT NOT NULL,
    filed_by TEXT,
    reference TEXT,
    late_reason TEXT,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (clock_id, deadline_key)
);

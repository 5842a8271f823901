-- An exercise (tabletop, drill) runs the whole response but stays out of the response
-- metrics, which contracts and regulators read.
ALTER TABLE incidents ADD COLUMN exercise BOOLEAN NOT NULL DEFAULT FALSE;

-- Every change of a lifecycle milestone after the fact, with who made it and why: the
-- response metrics are computed from these milestones, so their provenance is kept.
CREATE TABLE milestone_edits (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    incident_version INTEGER NOT NULL,
    milestone TEXT NOT NULL,
    old_at BIGINT,
    new_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX milestone_edits_incident ON milestone_edits (incident_id, at);

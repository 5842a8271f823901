-- One escalation per incident and party: the policy version it runs on (snapshotted when
-- it starts, so later edits never change it), the rule that routed it, and how it ended.
CREATE TABLE escalations (
    id TEXT PRIMARY KEY NOT NULL,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    policy_version INTEGER NOT NULL,
    policy_hash TEXT NOT NULL,
    rule_index INTEGER NOT NULL,
    state TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    ended_by TEXT,
    UNIQUE (incident_id, organisation_id)
);
-- Each person told at a step through a channel, once: the key makes a step that runs twice
-- (a crash between its work and its settling) tell no one twice.
CREATE TABLE escalation_notices (
    escalation_id TEXT NOT NULL REFERENCES escalations(id),
    step INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    level INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    pass INTEGER NOT NULL,
    due_at BIGINT NOT NULL,
    queued_at BIGINT NOT NULL,
    PRIMARY KEY (escalation_id, step, user_id, channel)
);

-- Invitations to join an organisation, mailed to the address and accepted through the link.
-- Only the token's hash is kept; accepted_at/revoked_at end it, expires_at bounds it.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    revoked_at BIGINT,
    user_id TEXT REFERENCES users(id)
);
CREATE INDEX invitations_org ON invitations(organisation_id, created_at);

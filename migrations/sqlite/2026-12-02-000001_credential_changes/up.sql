-- Changes of credentials that end live connections: a logout, a password change (every
-- session of the user but kept_session_id ends), a user's deletion or role change, an API
-- token's revocation. Written in the transaction of the change, numbered in commit order
-- like events (under the audit-chain lock); each instance's stream reads the rows after the
-- last it saw and closes the connections they name.
CREATE TABLE credential_changes (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT,
    session_id TEXT,
    kept_session_id TEXT,
    api_token_id TEXT
);

-- Refresh tokens already exchanged. A session keeps its id across rotations, so a token found
-- here names the session family to end when it comes back (reuse means it was copied).
CREATE TABLE used_refresh_tokens (
    refresh_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    used_at BIGINT NOT NULL
);
CREATE INDEX used_refresh_tokens_session ON used_refresh_tokens(session_id);

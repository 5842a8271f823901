-- Everything durable that happens later (sending a mail, composing digests, sealing the
-- disclosure journal, pruning) is one row here, run by one runner: one lease protocol, one
-- retry policy and one place to look, instead of a claim column per feature.
-- UNIQUE(kind, key) makes enqueueing idempotent (a mail gets one job however often it is
-- queued); (state, due_at) serves both the claim and the runner's "when is the next one".
-- max_attempts NULL means the kind's configured limit (CIRHUB_MAIL_MAX_ATTEMPTS for mail),
-- so a changed setting applies to jobs already queued, as it did to the outbox before.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    max_attempts INTEGER,
    lease_until BIGINT,
    leased_by TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    UNIQUE (kind, key)
);
CREATE INDEX jobs_due ON jobs(state, due_at);

-- Mails still waiting in the outbox were claimed by the old mail worker; from now on each
-- is a job, continuing its attempt count and its next attempt time.
INSERT INTO jobs (id, kind, key, payload, due_at, state, attempts, max_attempts,
                  lease_until, leased_by, last_error, created_at, finished_at)
SELECT 'mail-' || id, 'mail.send', id, '{}', next_attempt_at, 'pending', attempts, NULL,
       NULL, NULL, last_error, created_at, NULL
FROM mail_outbox WHERE status = 'pending';

-- Alerts of a deadline sent through the party's escalation ladder: one row per deadline,
-- alert (half, eighty, missed), the instant it was for, person and channel, so an alert
-- job that runs twice tells nobody twice, and a deadline moved by a later decision gets
-- its own alerts.
CREATE TABLE clock_alerts (
    clock_id TEXT NOT NULL REFERENCES clocks(id),
    deadline_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    instant BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    queued_at BIGINT NOT NULL,
    outbox_id TEXT,
    PRIMARY KEY (clock_id, deadline_key, kind, instant, user_id, channel)
);

-- Portable column types on purpose: ids are TEXT (UUIDs), times are BIGINT milliseconds since
-- the Unix epoch (UTC), enums are TEXT in their shared string form, JSON is TEXT. The same
-- diesel schema then serves SQLite and PostgreSQL.

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    is_provider BOOLEAN NOT NULL,
    is_customer BOOLEAN NOT NULL,
    priority_policy TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX users_org ON users(organisation_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    refresh_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    created_by TEXT REFERENCES users(id),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_org ON api_tokens(organisation_id);

-- Failed logins, counted per e-mail and per client address for rate limiting. Rows, not
-- process memory, so several server instances share the count.
CREATE TABLE login_attempts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    ip TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_attempts_email ON login_attempts(email, at);
CREATE INDEX login_attempts_ip ON login_attempts(ip, at);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE regions (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES organisations(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (provider_id, code)
);

CREATE TABLE services (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (provider_id, name)
);

CREATE TABLE component_groups (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (provider_id, name)
);

CREATE TABLE components (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES organisations(id),
    service_id TEXT NOT NULL REFERENCES services(id),
    region_id TEXT REFERENCES regions(id),
    group_id TEXT REFERENCES component_groups(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX components_provider ON components(provider_id);

-- Every status a component took, and when: the source of uptime bars.
CREATE TABLE component_status_events (
    id TEXT PRIMARY KEY,
    component_id TEXT NOT NULL REFERENCES components(id),
    status TEXT NOT NULL,
    at BIGINT NOT NULL,
    incident_id TEXT
);
CREATE INDEX component_status_events_component ON component_status_events(component_id, at);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    impact TEXT NOT NULL,
    urgency TEXT NOT NULL,
    priority TEXT NOT NULL,
    category TEXT NOT NULL,
    visibility TEXT NOT NULL,
    version INTEGER NOT NULL,
    occurred_at BIGINT,
    detected_at BIGINT,
    acknowledged_at BIGINT,
    contained_at BIGINT,
    recovered_at BIGINT,
    resolved_at BIGINT,
    monitoring_at BIGINT,
    scheduled_for BIGINT,
    scheduled_until BIGINT,
    response_due_at BIGINT,
    resolution_due_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX incidents_provider ON incidents(provider_id, created_at);

CREATE TABLE incident_components (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    component_id TEXT NOT NULL REFERENCES components(id),
    PRIMARY KEY (incident_id, component_id)
);

CREATE TABLE incident_updates (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    author_id TEXT,
    author_name TEXT NOT NULL,
    component_changes TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates(incident_id, created_at);

-- Append-only, hash-chained: each row's hash covers its fields and the previous row's hash.
-- seq is assigned by the writer while it holds the chain lock, so the chain has no gaps.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    organisation_id TEXT,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    object_version INTEGER,
    object_hash TEXT,
    channel TEXT,
    detail TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log(object_type, object_id);
CREATE INDEX audit_log_org ON audit_log(organisation_id, seq);

-- The application never updates or deletes audit rows; make the database refuse it too.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

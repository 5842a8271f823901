-- Customers: provider-customer relationships, what each customer sees and how it is told.

-- The layer an incident sits in (platform | application) decides, with the service model,
-- who drives it.
ALTER TABLE incidents ADD COLUMN layer TEXT NOT NULL DEFAULT 'platform';

-- A provider invites a customer organisation; the customer's admin accepts. status is
-- invited | active | ended.
CREATE TABLE relationships (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES organisations(id),
    customer_id TEXT NOT NULL REFERENCES organisations(id),
    service_model TEXT NOT NULL,
    status TEXT NOT NULL,
    invited_by TEXT,
    accepted_by TEXT,
    invited_at BIGINT NOT NULL,
    accepted_at BIGINT,
    ended_at BIGINT,
    version INTEGER NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (provider_id, customer_id)
);
CREATE INDEX relationships_customer ON relationships(customer_id);

-- The services x regions a relationship covers. An empty region_id ('') means every region.
CREATE TABLE relationship_scopes (
    relationship_id TEXT NOT NULL REFERENCES relationships(id),
    service_id TEXT NOT NULL REFERENCES services(id),
    region_id TEXT NOT NULL,
    PRIMARY KEY (relationship_id, service_id, region_id)
);

-- Named audience of an incident whose visibility is 'named'.
CREATE TABLE incident_audiences (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    customer_id TEXT NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (incident_id, customer_id)
);

-- A customer's own name for a provider component ("payments-prod").
CREATE TABLE resource_mappings (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    component_id TEXT NOT NULL REFERENCES components(id),
    created_at BIGINT NOT NULL,
    UNIQUE (customer_id, name, component_id)
);
CREATE INDEX resource_mappings_component ON resource_mappings(component_id);

-- Per-user dashboard layout (pinned services, filters, priority threshold) as JSON.
CREATE TABLE user_layouts (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    layout TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A customer's private notes on a provider's incident; the provider never sees them.
CREATE TABLE incident_notes (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    customer_id TEXT NOT NULL REFERENCES organisations(id),
    author_id TEXT,
    author_name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX incident_notes_incident ON incident_notes(incident_id, customer_id);

-- Who in a customer acknowledged an incident, when, and which version they had seen.
CREATE TABLE incident_acks (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    customer_id TEXT NOT NULL REFERENCES organisations(id),
    user_id TEXT,
    user_name TEXT NOT NULL,
    incident_version INTEGER NOT NULL,
    acknowledged_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, customer_id)
);

-- First time anyone of a customer was shown or sent an incident ("reached").
CREATE TABLE incident_reach (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    customer_id TEXT NOT NULL REFERENCES organisations(id),
    channel TEXT NOT NULL,
    reached_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, customer_id)
);

-- Revocable private feed tokens: Statuspage documents and Atom filtered to one customer.
CREATE TABLE feed_tokens (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES organisations(id),
    created_by TEXT,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX feed_tokens_customer ON feed_tokens(customer_id);

-- Alert subscriptions of a user (user_id) or of every user with a role (role). JSON arrays;
-- empty means "all". mode is immediate | digest.
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    user_id TEXT REFERENCES users(id),
    role TEXT,
    name TEXT NOT NULL,
    provider_ids TEXT NOT NULL,
    service_ids TEXT NOT NULL,
    region_ids TEXT NOT NULL,
    min_priority TEXT NOT NULL,
    channels TEXT NOT NULL,
    mode TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX subscriptions_org ON subscriptions(organisation_id);

-- A user who unsubscribed from a role-wide subscription.
CREATE TABLE subscription_optouts (
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    at BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, user_id)
);

-- The stream: every event a client may be pushed, in one order. seq is assigned under the
-- audit chain lock, so commits happen in seq order and a reader never sees a gap that later
-- fills. audience is the JSON array of customer organisation ids allowed to see it (the
-- provider always may); payload is the JSON event as sent.
CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    object_version INTEGER,
    provider_only BOOLEAN NOT NULL,
    audience TEXT NOT NULL,
    payload TEXT NOT NULL
);

-- Transactional outbox of e-mail: written with the change it announces, sent by a worker.
-- message_id is stable per (update, recipient), so a retry never makes a different mail.
-- status is pending | sent | failed.
CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    organisation_id TEXT NOT NULL,
    user_id TEXT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    thread_id TEXT,
    unsubscribe_url TEXT,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    object_version INTEGER,
    object_hash TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at);

-- Events waiting for a digest subscriber's next digest mail.
CREATE TABLE digest_items (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    subscription_id TEXT NOT NULL,
    event_seq BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX digest_items_user ON digest_items(user_id);
